import { describe, expect, it } from 'vitest';
import type { OpenLineField } from '../../server/contracts/open-lines';
import { openLineFieldWrites } from '../../server/domain/open-lines-fields';

const vars = { communication_id: 'chat:1763', utm_source: 'yandex', campaign: 'Бренд [b]', site: null, visitor_name: 'Иван' };
const map = (uisField: OpenLineField['uisField'], entity: OpenLineField['entity'], b24Field: string, alwaysUpdate = false): OpenLineField => ({ uisField, entity, b24Field, alwaysUpdate });

describe('«Доп. поля» of the «Открытые линии» tab (seed 002)', () => {
  it('a lead Open Lines just created gets every mapped field of the lead, nothing of other entities', () => {
    const m = [map('communication_id', 'lead', 'UF_CRM_FIRST'), map('utm_source', 'lead', 'UTM_SOURCE'), map('utm_source', 'deal', 'UTM_SOURCE')];
    expect(openLineFieldWrites(m, vars, 'lead', {})).toEqual({ UF_CRM_FIRST: 'chat:1763', UTM_SOURCE: 'yandex' });
  });

  it('«Обновлять всегда» off: a field that holds something keeps it; on: it takes the chat’s value', () => {
    const m = [map('utm_source', 'contact', 'UF_A'), map('campaign', 'contact', 'UF_B', true)];
    expect(openLineFieldWrites(m, vars, 'contact', { UF_A: 'google', UF_B: 'old' })).toEqual({ UF_B: 'Бренд [b]' });
    // an equal value is not written again
    expect(openLineFieldWrites(m, vars, 'contact', { UF_A: '', UF_B: 'Бренд [b]' })).toEqual({ UF_A: 'yandex' });
  });

  it('«ID первой коммуникации» is never changed where it is set, even with «Обновлять всегда»: the contact keeps the first chat', () => {
    const m = [map('communication_id', 'contact', 'UF_FIRST', true)];
    expect(openLineFieldWrites(m, vars, 'contact', { UF_FIRST: 'chat:1' })).toEqual({});
    expect(openLineFieldWrites(m, vars, 'contact', { UF_FIRST: null })).toEqual({ UF_FIRST: 'chat:1763' });
  });

  it('a value UIS did not give never clears a field; COMMENTS is BBCode, so brackets from the chat are defused', () => {
    const m = [map('site', 'lead', 'UF_SITE', true), map('campaign', 'lead', 'COMMENTS', true)];
    expect(openLineFieldWrites(m, vars, 'lead', { UF_SITE: 'shop.ru' })).toEqual({ COMMENTS: 'Бренд ［b］' });
  });
});
