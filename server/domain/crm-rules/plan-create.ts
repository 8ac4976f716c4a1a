import { escapeBbcode } from '../bbcode';
import { chooseResponsible } from './choose-responsible';
import { chooseStage } from './choose-stage';
import { commentOps, lastMessageId, requestKey, type PlanContext } from './context';
import { hasContacts } from './gate';
import { mappedFields } from './mapped-fields';
import { newest } from './pick-targets';
import { renderTemplate } from './render-template';
import { DEFAULT_TEMPLATES, channelLabel } from './template-vars';
import type { CreateOp, Decision, EntityRef, Found, Operation } from './types';

type Apply = Extract<Decision, { action: 'apply' }>;

/**
 * A request that creates entities: per «Создание сущностей» a lead, a deal or both (the deal
 * linked to the lead), for the found contact/company or a new contact — none when there is no
 * contact data («не будет создан контакт, тк контактных данных нет», seed 002). The chat goes to
 * every created lead/deal; the activity to the deal when there is one (where the work happens).
 */
export function planCreate(c: PlanContext, kind: 'primary' | 'repeat', found: Found): Pick<Apply, 'ops' | 'link'> | null {
  const { s, f } = c;
  const action = s[kind];
  if (action.entities === 'none') return null;
  const key = requestKey(f);
  const responsibleId = chooseResponsible(s.responsible, f, found);
  const stage = chooseStage(s.funnels[kind], f);
  const ops: Operation[] = [];
  const foundContact = newest(found.contacts);
  const foundCompany = newest(found.companies);
  let contact: EntityRef | undefined = foundContact && { type: 'contact', id: foundContact.id };
  const company: EntityRef | undefined = foundCompany && { type: 'company', id: foundCompany.id };
  if (!contact && hasContacts(f)) {
    contact = { ref: 'contact' };
    const person = { name: f.visitor.name, phones: f.visitor.phones, emails: f.visitor.emails };
    ops.push({ op: 'create', key: `${key}:create:contact`, ref: 'contact', title: null, responsibleId, stage: null, contact: person, fields: mappedFields(s.fields, c.vars, 'contact', 'create'), links: {} });
  }
  const links = { ...(contact && { contact }), ...(company && { company }) };
  const title = (t: string) => renderTemplate(t.trim() === '' ? DEFAULT_TEMPLATES[f.kind] : t, c.vars) || `${channelLabel(f.channelType)} #${f.id}`;
  const created: EntityRef[] = [];
  const entity = (ref: 'lead' | 'deal', extra: Partial<CreateOp['links']>, st: CreateOp['stage']): CreateOp => {
    created.push({ ref });
    return { op: 'create', key: `${key}:create:${ref}`, ref, title: title(s.templates[ref]), responsibleId, stage: st, contact: null, fields: mappedFields(s.fields, c.vars, ref, 'create'), links: { ...links, ...extra } };
  };
  if (action.entities !== 'deal') ops.push(entity('lead', {}, { leadStatusId: stage.leadStatusId }));
  if (action.entities !== 'lead') {
    ops.push(entity('deal', action.entities === 'lead_deal' ? { lead: { ref: 'lead' } } : {}, { dealCategoryId: stage.dealCategoryId, dealStageId: stage.dealStageId }));
  }
  if (foundContact) pushUpdate(c, ops, 'contact', contact!);
  if (company) pushUpdate(c, ops, 'company', company);
  const copies = s.copyToContactCompany ? [contact, company].filter((r): r is EntityRef => !!r) : [];
  const targets = [...created].reverse();
  ops.push(...commentOps(c, [...targets, ...copies], false));
  if (action.activity) ops.push(activityOp(c, targets[0]!, responsibleId));
  if (s.notifyOnCreate && responsibleId) ops.push({ op: 'notify', key: `${key}:notify:${responsibleId}`, userId: responsibleId, entities: targets });
  return { ops, link: { targets: [...targets, ...copies], cursor: lastMessageId(c, null) } };
}

/** «Обновлять всегда» mappings on an entity that already exists. */
export function pushUpdate(c: PlanContext, ops: Operation[], type: 'lead' | 'deal' | 'contact' | 'company', target: EntityRef): void {
  const fields = mappedFields(c.s.fields, c.vars, type, 'update');
  if (Object.keys(fields).length > 0) ops.push({ op: 'update', key: `${requestKey(c.f)}:update:${type}:${c.messages.at(-1)?.id ?? 'start'}`, target, fields });
}

/** «Дело»: a to-do for the responsible, naming the chat/request and its first client message. */
export function activityOp(c: PlanContext, target: EntityRef, responsibleId: number | null): Operation {
  const what = c.f.kind === 'chat' ? `Чат ${channelLabel(c.f.channelType)}` : 'Офлайн заявка';
  const who = c.vars.visitor_name ?? c.vars.visitor_phone ?? c.vars.visitor_email ?? '';
  return {
    op: 'activity',
    key: `${requestKey(c.f)}:activity`,
    target,
    responsibleId,
    title: `${what} #${c.f.id}${who ? `: ${who}` : ''}`,
    // a to-do's description is BBCode: the client's words are escaped (its title is plain text)
    description: escapeBbcode(c.vars.request_text ?? ''),
  };
}
