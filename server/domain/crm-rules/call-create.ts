import type { CallVariable, TelephonySettings } from '../../contracts/telephony-settings';
import { chooseStage } from './choose-stage';
import { mappedFields } from './mapped-fields';
import { newest } from './pick-targets';
import { firstVirtualNumber, type CallFacts, type CallLink, type CrmMode } from './call-types';
import { callTitle } from './call-templates';
import type { CreateOp, EntityRef, Found } from './types';

export interface CallContext {
  s: TelephonySettings;
  f: CallFacts;
  vars: Record<CallVariable, string | null>;
  /** `call:<session>`: every idempotency key of the call starts with it */
  key: string;
}

/** The client's open working item: a lead or deal (classic CRM), a deal (simple CRM, where leads are not used). */
export function openItem(found: Found, mode: CrmMode): boolean {
  return !!newest(found.deals, false) || (mode === 'classic' && !!newest(found.leads, false));
}

/**
 * «Создавать лид/сделку для всех входящих/исходящих звонков» (seed 002 lines 58–67): a primary call
 * creates a lead, or a deal with its contact in the simple CRM mode («лид, либо
 * сделка/контакт/компания, в зависимости от режима CRM»), linked to the client's contact/company
 * when they exist; a repeat call only when the old items are closed (line 62). The lead carries the
 * number; «Передавать виртуальные номера как источник обращения» writes the virtual number into
 * «Дополнительно об источнике» (lines 71–78); «Доп. поля» fill what is created (line 213).
 */
export function planCallCreate(c: CallContext, mode: CrmMode, found: Found, responsibleId: number | null): { ops: CreateOp[]; created: CallLink['created'] } | null {
  const { s, f } = c;
  if (!(f.direction === 'in' ? s.processing.createForIncoming : s.processing.createForOutgoing)) return null;
  if (openItem(found, mode)) return null;
  const stage = chooseStage(s.funnels[f.direction === 'in' ? 'incoming' : 'outgoing'], f);
  const person = { name: f.contactName, phones: f.contactPhone ? [f.contactPhone] : [], emails: [] };
  const vn = firstVirtualNumber(f);
  const source: Record<string, string> = s.processing.virtualNumberAsSource && vn ? { SOURCE_DESCRIPTION: vn } : {};
  const fields = (type: 'lead' | 'deal' | 'contact'): Record<string, string> => ({ ...(type === 'contact' ? {} : source), ...mappedFields(s.fields, c.vars, type, 'create') });
  const foundContact = newest(found.contacts);
  const foundCompany = newest(found.companies);
  const company: EntityRef | undefined = foundCompany && { type: 'company', id: foundCompany.id };
  const ops: CreateOp[] = [];
  const created: CallLink['created'] = [];
  const make = (op: Omit<CreateOp, 'op' | 'key' | 'responsibleId'>) => {
    ops.push({ op: 'create', key: `${c.key}:create:${op.ref}`, responsibleId, ...op });
    created.push({ entity: { ref: op.ref }, responsibleId });
  };
  if (mode === 'classic') {
    const links = { ...(foundContact && { contact: { type: 'contact' as const, id: foundContact.id } }), ...(company && { company }) };
    make({ ref: 'lead', title: callTitle(s, f, 'lead', c.vars), stage: { leadStatusId: stage.leadStatusId }, contact: person, fields: fields('lead'), links });
    return { ops, created };
  }
  let contact: EntityRef | undefined = foundContact && { type: 'contact', id: foundContact.id };
  if (!contact) {
    make({ ref: 'contact', title: null, stage: null, contact: person, fields: fields('contact'), links: {} });
    contact = { ref: 'contact' };
  }
  const links = { contact, ...(company && { company }) };
  make({ ref: 'deal', title: callTitle(s, f, 'deal', c.vars), stage: { dealCategoryId: stage.dealCategoryId, dealStageId: stage.dealStageId }, contact: null, fields: fields('deal'), links });
  return { ops, created };
}

/**
 * The item `register` binds the call to, so `finish` writes the activity there: the lead this call
 * created, else the client's contact (Bitrix24 adds its open deals, docs/facts/telephony.md#register), company or
 * open lead. Deals cannot be bound (docs/facts/telephony.md#gotcha-8): a new deal gets the activity through its
 * contact. Null = Bitrix24 searches by the number.
 */
export function bindTarget(found: Found, created: CallLink['created']): EntityRef | null {
  const mine = (type: 'lead' | 'contact') => created.find((x) => ('ref' in x.entity ? x.entity.ref : x.entity.type) === type)?.entity;
  const lead = mine('lead');
  if (lead) return lead;
  const contact = mine('contact');
  if (contact) return contact;
  for (const [type, e] of [['contact', newest(found.contacts)], ['company', newest(found.companies)], ['lead', newest(found.leads, false)]] as const) {
    if (e) return { type, id: e.id };
  }
  return null;
}
