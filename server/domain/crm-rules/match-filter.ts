import type { FilterConditionOf, FilterOf, FilterParam } from '../../contracts/crm-rules';
import { phoneDigits } from '../phone';
import { callParamValues } from './call-params';
import type { Communication } from './communication';
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

/** Every value a parameter takes for a communication (a call's employees may be several). */
function values(c: Communication, param: string): string[] {
  if (c.kind === 'call') return callParamValues(c, param);
  const v = paramValue(c, param as FilterParam);
  return v === null ? [] : [v];
}

/** Values compare case-insensitively; phone numbers as digits, however they were written. */
const norm = (param: string, s: string) => (param === 'virtual_phone_number' ? (phoneDigits(s) ?? s.trim()) : s.trim().toLowerCase());

/**
 * «Разрешен» holds when the value is listed, «Запрещен» when it is not (seed 002 «Распределение по
 * воронкам»; calls: «Включить»/«Исключить», lines 104–107). A parameter UIS did not report is never
 * "listed": «Запрещен» holds for it.
 */
export function matchCondition(c: Communication, cond: FilterConditionOf): boolean {
  const listed = new Set(cond.values.map((x) => norm(cond.param, x)));
  const hit = values(c, cond.param).some((v) => listed.has(norm(cond.param, v)));
  return cond.rule === 'allowed' ? hit : !hit;
}

/**
 * Groups of conditions joined by «И»/«ИЛИ» (seed 001 «Фильтрация», seed 002 line 91). A filter
 * without conditions lets everything through («По умолчанию все звонки пропускаются», line 81).
 */
export function matchFilter(c: Communication, filter: FilterOf): boolean {
  const groups = filter.groups.filter((g) => g.conditions.length > 0);
  if (groups.length === 0) return true;
  const test = (g: (typeof groups)[number]) =>
    g.join === 'and' ? g.conditions.every((x) => matchCondition(c, x)) : g.conditions.some((x) => matchCondition(c, x));
  return filter.join === 'and' ? groups.every(test) : groups.some(test);
}

/** The parameters a filter tests (with at least one condition). */
export function filterParams<P extends string>(filter: FilterOf<P>): Set<P> {
  return new Set(filter.groups.flatMap((g) => g.conditions.map((c) => c.param)));
}
