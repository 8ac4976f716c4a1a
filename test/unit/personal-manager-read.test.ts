import { describe, expect, it } from 'vitest';
import { employeeNumbers } from '../../server/services/uis-employees';
import { toPmEntity } from '../../server/services/personal-manager/read-crm';

/**
 * What the personal-manager map takes from Bitrix24 list rows (legacy shapes: strings, null,
 * multifields) and from UIS get.employees rows (the numbers UIS can ring).
 */
describe('a CRM list row → the map\'s item', () => {
  it('a contact: its phones as E.164 digits whatever the formatting, its company, its responsible', () => {
    const row = { ID: '12', ASSIGNED_BY_ID: '3', DATE_CREATE: '2026-08-21T12:00:00+03:00', COMPANY_ID: '7', PHONE: [{ ID: '1', VALUE: '8 (916) 111-22-33', VALUE_TYPE: 'WORK' }, { ID: '2', VALUE: '+7 916 111-22-33', VALUE_TYPE: 'MOBILE' }, { ID: '3', VALUE: 'нет', VALUE_TYPE: 'OTHER' }] };
    expect(toPmEntity('contact', row)).toEqual({ type: 'contact', id: 12, responsibleId: 3, closed: false, createdAt: Date.parse('2026-08-21T09:00:00Z'), contactId: null, companyId: 7, leadId: null, phones: ['79161112233'] });
  });

  it('a lead is closed when converted or junk; a deal when CLOSED=Y, with its lead; empty ids are null', () => {
    expect(toPmEntity('lead', { ID: '5', ASSIGNED_BY_ID: '1', STATUS_SEMANTIC_ID: 'S', CONTACT_ID: null, COMPANY_ID: '0' })).toMatchObject({ closed: true, contactId: null, companyId: null });
    expect(toPmEntity('lead', { ID: '6', ASSIGNED_BY_ID: '1', STATUS_SEMANTIC_ID: 'P' })).toMatchObject({ closed: false });
    expect(toPmEntity('deal', { ID: '8', ASSIGNED_BY_ID: '2', CLOSED: 'Y', CONTACT_ID: '12', LEAD_ID: '5' })).toMatchObject({ closed: true, contactId: 12, leadId: 5, phones: [] });
    expect(toPmEntity('deal', { ID: 'x' })).toBeNull();
  });
});

describe('a UIS employee → the numbers the answer names', () => {
  it('the active phone numbers in their order, digits only; without any, the extension; else none', () => {
    expect(employeeNumbers({ id: 1, phone_numbers: [{ phone_number: '0211001', status: 'active' }, { phone_number: '+7 926 111-00-02', status: 'inactive' }, { phone_number: '79261110003', status: 'active' }], extension: { extension_phone_number: '101' } })).toEqual(['0211001', '79261110003']);
    expect(employeeNumbers({ id: 2, phone_numbers: [{ phone_number: '79261110002', status: 'inactive' }], extension: { extension_phone_number: '102' } })).toEqual(['102']);
    expect(employeeNumbers({ id: 3, phone_numbers: [], extension: null })).toEqual([]);
  });
});
