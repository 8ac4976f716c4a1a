import type { Filter, FilterCondition, FilterParam } from '../../contracts/crm-rules';
import type { RequestFacts } from './types';

/** The value a filter parameter takes for this chat/request; null when UIS did not report it. */
export function paramValue(facts: RequestFacts, param: FilterParam): string | null {
  const n = (v: number | null) => (v === null ? null : String(v));
  switch (param) {
    case 'site_id': return n(facts.siteId);
    case 'channel_type': return facts.channelType;
    case 'channel_id': return facts.channelId;
    case 'campaign_id': return n(facts.campaignId);
    case 'first_campaign_id': return n(facts.firstCampaignId);
    case 'source_id': return n(facts.sourceId);
    case 'employee_id': return n(facts.employeeId);
    case 'form_name': return facts.formName;
    default: return facts.utm[param.slice(4) as keyof RequestFacts['utm']] ?? null;
  }
}

const norm = (s: string) => s.trim().toLowerCase();

/**
 * «Разрешен» holds when the value is listed, «Запрещен» when it is not (seed 002 «Распределение по
 * воронкам»). A parameter UIS did not report is never "listed": «Запрещен» holds for it.
 */
export function matchCondition(facts: RequestFacts, c: FilterCondition): boolean {
  const v = paramValue(facts, c.param);
  const listed = v !== null && c.values.some((x) => norm(x) === norm(v));
  return c.rule === 'allowed' ? listed : !listed;
}

/**
 * Groups of conditions joined by «И»/«ИЛИ» (seed 001 «Фильтрация»). A filter without conditions
 * lets everything through, as the seed's call filter does («По умолчанию все … пропускаются»).
 */
export function matchFilter(facts: RequestFacts, filter: Filter): boolean {
  const groups = filter.groups.filter((g) => g.conditions.length > 0);
  if (groups.length === 0) return true;
  const test = (g: (typeof groups)[number]) =>
    g.join === 'and' ? g.conditions.every((c) => matchCondition(facts, c)) : g.conditions.some((c) => matchCondition(facts, c));
  return filter.join === 'and' ? groups.every(test) : groups.some(test);
}
