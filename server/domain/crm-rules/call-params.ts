import type { FilterOf } from '../../contracts/crm-rules';
import type { CallFilterParam, TelephonySettings } from '../../contracts/telephony-settings';
import { firstVirtualNumber, type CallFacts } from './call-types';

const n = (v: number | null): string[] => (v === null ? [] : [String(v)]);

/**
 * The values a filter parameter takes for a call (seed 002 lines 93–112; UIS fields:
 * docs/facts/telephony.md#call-fields). «Сотрудник» is the caller of an outgoing call and every employee who talked on an incoming
 * one (a transfer adds one): a condition lists him when any of them is listed.
 */
export function callParamValues(c: CallFacts, param: string): string[] {
  switch (param as CallFilterParam) {
    case 'virtual_phone_number': return firstVirtualNumber(c) ? [firstVirtualNumber(c)!] : [];
    case 'last_operation_id': return n(c.lastOperationId);
    case 'scenario_id': return n(c.scenarioId);
    case 'group_id': return n(c.groupId);
    case 'employee_id': return c.direction === 'out' ? (c.caller ? [String(c.caller.employeeId)] : []) : c.talkers.map((t) => String(t.employeeId));
    case 'campaign_id': return n(c.campaignId);
    case 'first_campaign_id': return n(c.firstCampaignId);
    case 'site_id': return n(c.siteId);
    case 'source_id': return n(c.sourceId);
    default: return [];
  }
}

/**
 * Every parameter the settings test for calls of one direction (call filter, responsible rules,
 * funnel and template rules): the service reads what the notifications lack (campaign, site,
 * source from get.calls_report) only when one of these needs it.
 */
export function callParamsUsed(s: TelephonySettings, direction: 'in' | 'out'): Set<CallFilterParam> {
  const dir = direction === 'in' ? 'incoming' : 'outgoing';
  const filters: FilterOf[] = [
    ...(s.processing.filter.use && !s.processing.otherTelephony ? [s.processing.filter[dir]] : []),
    ...(direction === 'in' ? s.responsible.rules.map((r) => r.filter) : []),
    ...s.funnels[dir].rules.map((r) => r.filter),
    ...s.templates[dir].rules.map((r) => r.filter),
  ];
  return new Set(filters.flatMap((f) => f.groups.flatMap((g) => g.conditions.map((c) => c.param as CallFilterParam))));
}
