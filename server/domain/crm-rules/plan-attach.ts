import { chooseResponsible } from './choose-responsible';
import { commentOps, lastMessageId, type PlanContext } from './context';
import { activityOp, pushUpdate } from './plan-create';
import { newest, type Target } from './pick-targets';
import type { Decision, EntityRef, Found, Operation } from './types';

type Apply = Extract<Decision, { action: 'apply' }>;

/**
 * A repeat request that creates nothing, or only «Дело»: the chat goes to the entities the comment
 * priority chose («повторные чаты попадут в первую найденную сущность»), optionally copied to the
 * found contact/company; the activity goes to the first of them, for its responsible («дело
 * ставится на того, кто в старом лиде ответственный», seed 002 telephony examples). No
 * notification: nothing was created.
 */
export function planAttach(c: PlanContext, targets: readonly Target[], found: Found): Pick<Apply, 'ops' | 'link'> {
  const refs: EntityRef[] = targets.map((t) => ({ type: t.type, id: t.entity.id }));
  const ops: Operation[] = [];
  for (const t of targets) pushUpdate(c, ops, t.type, { type: t.type, id: t.entity.id });
  const copies: EntityRef[] = [];
  for (const [type, list] of [['contact', found.contacts], ['company', found.companies]] as const) {
    const e = newest(list);
    if (!e || targets.some((t) => t.type === type && t.entity.id === e.id)) continue;
    pushUpdate(c, ops, type, { type, id: e.id });
    if (c.s.copyToContactCompany) copies.push({ type, id: e.id });
  }
  ops.push(...commentOps(c, [...refs, ...copies], false));
  if (c.s.repeat.activity) {
    const first = targets[0]!;
    ops.push(activityOp(c, refs[0]!, first.entity.responsibleId ?? chooseResponsible(c.s.responsible, c.f, found)));
  }
  return { ops, link: { targets: [...refs, ...copies], cursor: lastMessageId(c, null) } };
}
