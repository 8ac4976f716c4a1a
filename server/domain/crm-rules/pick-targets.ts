import type { CrmRulesSettings } from '../../contracts/crm-rules';
import type { CrmEntityType, Found, FoundEntity } from './types';

export interface Target {
  type: CrmEntityType;
  entity: FoundEntity;
}

/** The newest by DATE_CREATE (ties: the higher id), optionally only open or only closed ones. */
export function newest(list: readonly FoundEntity[], closed?: boolean): FoundEntity | undefined {
  return list
    .filter((e) => closed === undefined || e.closed === closed)
    .reduce<FoundEntity | undefined>((a, e) => (!a || e.createdAt > a.createdAt || (e.createdAt === a.createdAt && e.id > a.id) ? e : a), undefined);
}

export function isKnownClient(found: Found): boolean {
  return found.leads.length + found.deals.length + found.contacts.length + found.companies.length > 0;
}

/**
 * Where a repeat request that creates nothing (or only an activity) writes its chat — seed 002
 * «Создание сущностей»: «В сделки» looks for a deal, then a lead, then the contact/company; «В оба»
 * writes to the freshest deal and lead. Open entities come first («попадет в последние активные
 * сделки»); closed ones only with «Добавлять данные к закрытым лидам/сделкам», and then the last
 * closed one. Empty = nothing found: the request is handled as primary («значит это первичное
 * обращение»).
 */
export function commentTargets(s: Pick<CrmRulesSettings, 'commentPriority' | 'addToClosed'>, found: Found): Target[] {
  const pick = (type: 'deal' | 'lead', closed: boolean): Target | undefined => {
    if (closed && !s.addToClosed) return undefined;
    const e = newest(type === 'deal' ? found.deals : found.leads, closed);
    return e && { type, entity: e };
  };
  const deal = pick('deal', false);
  const lead = pick('lead', false);
  let chosen: Array<Target | undefined>;
  if (s.commentPriority === 'both') chosen = [deal ?? pick('deal', true), lead ?? pick('lead', true)];
  else {
    const order = s.commentPriority === 'deals' ? (['deal', 'lead'] as const) : (['lead', 'deal'] as const);
    const first = [...order.map((t) => (t === 'deal' ? deal : lead)), ...order.map((t) => pick(t, true))].find(Boolean);
    chosen = [first];
  }
  const out = chosen.filter((t): t is Target => !!t);
  if (out.length > 0) return out;
  const contact = newest(found.contacts);
  if (contact) return [{ type: 'contact', entity: contact }];
  const company = newest(found.companies);
  return company ? [{ type: 'company', entity: company }] : [];
}
