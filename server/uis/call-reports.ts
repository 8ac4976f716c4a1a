import type { CallReport } from '../domain/telephony/events';
import { parseDataApiDateTime } from '../domain/uis-time';

/**
 * Data API `get.calls_report` / `get.call_legs_report` (docs/facts/telephony.md#calls-report) rows → CallReport. The
 * reports list finished sessions only (unless `include_ongoing_calls`), in the account's time zone.
 */
type Row = Record<string, unknown>;

/** The columns we read (docs «Параметры ответа»); asked for explicitly, most are not in the default answer. */
export const CALLS_REPORT_FIELDS = [
  'id', 'start_time', 'finish_time', 'finish_reason', 'direction', 'is_lost', 'contact_phone_number', 'contact_full_name', 'virtual_phone_number',
  'communication_id', 'scenario_id', 'scenario_name', 'scenario_operations', 'employees', 'first_talked_employee_id', 'last_talked_employee_id',
  'talk_duration', 'call_records', 'full_record_file_link', 'call_api_external_id', 'campaign_id', 'campaign_name', 'visitor_first_campaign_id',
  'visitor_first_campaign_name', 'site_id', 'site_domain_name', 'source_id', 'source_name', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content',
] as const;

export const CALL_LEGS_FIELDS = ['id', 'call_session_id', 'connect_time', 'employee_id', 'group_id', 'group_name', 'action_id', 'action_name', 'is_transfered'] as const;

const int = (v: unknown): number | null => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
};
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : null);
const arr = (v: unknown): Row[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Row[]) : []);

export function callReportOf(row: Row, timeZone: string): CallReport | null {
  const id = int(row.id);
  if (id === null) return null;
  const dir = row.direction === 'in' || row.direction === 'out' ? row.direction : null;
  return {
    id,
    communicationId: int(row.communication_id),
    direction: dir,
    startedAt: parseDataApiDateTime(row.start_time, timeZone),
    finishedAt: parseDataApiDateTime(row.finish_time, timeZone),
    finishReason: str(row.finish_reason),
    isLost: row.is_lost === true,
    contactPhone: str(row.contact_phone_number),
    contactName: str(row.contact_full_name),
    virtualNumber: str(row.virtual_phone_number),
    scenarioId: int(row.scenario_id),
    scenarioName: str(row.scenario_name),
    operations: arr(row.scenario_operations).flatMap((o) => (int(o.id) !== null ? [{ id: int(o.id)!, name: str(o.name) ?? '' }] : [])),
    employees: arr(row.employees).flatMap((e) =>
      int(e.employee_id) !== null ? [{ id: int(e.employee_id)!, name: str(e.employee_full_name), answered: e.is_answered === true, talked: e.is_talked === true }] : [],
    ),
    firstTalkedId: int(row.first_talked_employee_id),
    lastTalkedId: int(row.last_talked_employee_id),
    talkSeconds: int(row.talk_duration) ?? 0,
    recordLink: str(row.full_record_file_link),
    recordIds: Array.isArray(row.call_records) ? row.call_records.map(int).filter((x): x is number => x !== null) : [],
    externalId: str(row.call_api_external_id),
    campaignId: int(row.campaign_id),
    campaignName: str(row.campaign_name),
    firstCampaignId: int(row.visitor_first_campaign_id),
    firstCampaignName: str(row.visitor_first_campaign_name),
    siteId: int(row.site_id),
    siteName: str(row.site_domain_name),
    sourceId: int(row.source_id),
    sourceName: str(row.source_name),
    utm: {
      source: str(row.utm_source),
      medium: str(row.utm_medium),
      campaign: str(row.utm_campaign),
      term: str(row.utm_term),
      content: str(row.utm_content),
    },
    legs: null,
  };
}

export function callLegOf(row: Row, timeZone: string): (NonNullable<CallReport['legs']>[number] & { sessionId: number }) | null {
  const id = int(row.id);
  const sessionId = int(row.call_session_id);
  if (id === null || sessionId === null) return null;
  return {
    id,
    sessionId,
    employeeId: int(row.employee_id),
    connectedAt: parseDataApiDateTime(row.connect_time, timeZone),
    groupId: int(row.group_id),
    groupName: str(row.group_name),
    actionId: int(row.action_id),
    actionName: str(row.action_name),
    transfer: row.is_transfered === true,
  };
}
