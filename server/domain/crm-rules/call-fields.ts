import { refKey } from './context';
import { mappedFields } from './mapped-fields';
import { newest } from './pick-targets';
import type { CallContext } from './call-create';
import type { CallLink } from './call-types';
import type { CrmEntityType, EntityRef, Found, FoundEntity, UpdateOp } from './types';

type Typed = { type: CrmEntityType; entity: FoundEntity };

/** «Обновлять всегда» target: «первая найденная сущность по приоритету "Контакт", "Компания", "Лид"» (seed 002 line 214). */
export function firstByPriority(found: Found): Typed | null {
  const order: Array<[CrmEntityType, FoundEntity | undefined]> = [
    ['contact', newest(found.contacts)],
    ['company', newest(found.companies)],
    ['lead', newest(found.leads, false) ?? newest(found.leads)],
    ['deal', newest(found.deals, false) ?? newest(found.deals)],
  ];
  const hit = order.find(([, e]) => e);
  return hit ? { type: hit[0], entity: hit[1]! } : null;
}

/**
 * «ID первой коммуникации» of an existing item: filled when its field is empty («Если это поле
 * пустое … заполняем его последним полученным значением», seed 002 line 48), never overwritten;
 * left alone when the service did not read the field.
 */
function firstCommunication(c: CallContext, t: Typed): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of c.s.fields) {
    if (m.entity !== t.type || m.uisField !== 'communication_id' || !t.entity.fields) continue;
    const now = t.entity.fields[m.b24Field];
    const v = c.vars.communication_id;
    if ((now === null || now === undefined || now.trim() === '') && Object.hasOwn(t.entity.fields, m.b24Field) && v) out[m.b24Field] = v;
  }
  return out;
}

const update = (c: CallContext, target: EntityRef, fields: Record<string, string>): UpdateOp[] =>
  Object.keys(fields).length ? [{ op: 'update', key: `${c.key}:fields:${refKey(target)}`, target, fields }] : [];

/**
 * «Доп. поля» at the end of a call (seed 002 lines 209–214), once the call's data is complete:
 * - the items this call created at its start get the mappings whose values are known only now
 *   (the same values a creation writes: «только при автоматическом создании»);
 * - «Обновлять всегда» → the first found item by the priority, its type's mappings;
 * - «Использовать другую телефонию» (lines 40–48): only the items changed during the call get the
 *   mappings of their type («обновляем только в тех сущностях, в которых были произведены изменения
 *   во время звонка»; unchanged → nothing), the other integration having created them;
 * - «ID первой коммуникации» in every item updated, when it is empty.
 */
export function callFieldOps(c: CallContext, found: Found, other: boolean, createdBefore: CallLink['created']): UpdateOp[] {
  const ops: UpdateOp[] = [];
  for (const { entity } of createdBefore) {
    const type = 'ref' in entity ? entity.ref : entity.type;
    ops.push(...update(c, entity, mappedFields(c.s.fields, c.vars, type, 'create')));
  }
  if (other) {
    const from = c.f.startedAt;
    const till = c.f.endedAt ?? c.f.startedAt;
    const lists: Array<[CrmEntityType, FoundEntity[]]> = [['contact', found.contacts], ['company', found.companies], ['lead', found.leads], ['deal', found.deals]];
    for (const [type, list] of lists) {
      for (const e of list) {
        if (e.modifiedAt === undefined || e.modifiedAt < from || e.modifiedAt > till) continue;
        const t = { type, entity: e };
        const all = mappedFields(c.s.fields.filter((m) => m.uisField !== 'communication_id'), c.vars, type, 'create');
        ops.push(...update(c, { type, id: e.id }, { ...all, ...firstCommunication(c, t) }));
      }
    }
    return ops;
  }
  const t = firstByPriority(found);
  if (t) ops.push(...update(c, { type: t.type, id: t.entity.id }, { ...mappedFields(c.s.fields, c.vars, t.type, 'update'), ...firstCommunication(c, t) }));
  return ops;
}
