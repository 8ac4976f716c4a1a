/**
 * Data API methods of the emulated PBX, with the documented fields and their «Фильтрация» /
 * «Сортировка» / «Ответ по умолчанию» columns (comagic.github.io data_api/…):
 * - report/get_calls_report: one row per call session between `date_from` and `date_till`
 *   (≤ 3 months); only finished sessions unless `include_ongoing_calls`;
 * - report/get_call_legs_report: one row per leg (CDR) of finished sessions;
 * - vn/get_virtual_numbers, scenario/get_scenarios, sip/get_sip_lines: directories (these take
 *   only filter/fields/sort — `limit`/`offset` are not among their parameters);
 * - report_new/flat/get_notifications: the notifications sent; `report_id` and the period
 *   (≤ 366 days) are required, and «Если параметр [fields] пуст или не передан, ответ будет пустым».
 * A field without «Фильтрация» gives −32602 `filter_prohibited` (query.ts). Reports lag behind the
 * call by `pbx.settings.reportLagMs` (the docs promise no real time).
 */
import type { AccountImpl } from '../account';
import { rpc } from '../dataapi/errors';
import type { MethodDef } from '../dataapi/methods';
import { runQuery } from '../dataapi/query';
import { dataApiDateTime, parseDataApiDateTime } from '../time';
import { EVENT_TYPES } from './notify';
import { pbxOf, type Pbx } from './pbx';
import type { CallSession, Leg } from './types';

type Row = Record<string, unknown>;
/** [name, filterable, sortable, default] */
type FieldSpec = [string, boolean, boolean, boolean];

function specOf(fields: FieldSpec[]) {
  return {
    known: fields.map((f) => f[0]),
    filterable: fields.filter((f) => f[1]).map((f) => f[0]),
    sortable: fields.filter((f) => f[2]).map((f) => f[0]),
    defaults: fields.filter((f) => f[3]).map((f) => f[0]),
  };
}

const F = true;
const _ = false;

// data_api/report/get_calls_report «Параметры ответа»
const CALLS_FIELDS: FieldSpec[] = [
  ['id', F, _, F], ['start_time', _, F, F], ['finish_time', _, _, F], ['finish_reason', F, F, F], ['direction', F, F, F],
  ['cpn_region_id', F, F, F], ['cpn_region_name', F, F, F], ['cpn_country_name', F, F, F], ['cpn_country_id', F, F, F], ['properties', _, _, _],
  ['scenario_operations', F, _, _], ['source', F, F, F], ['is_lost', F, F, F], ['communication_number', F, F, _], ['communication_page_url', _, _, _],
  ['contact_phone_number', F, _, F], ['communication_id', F, _, F], ['communication_type', _, _, F], ['wait_duration', F, _, F],
  ['total_wait_duration', F, _, F], ['lost_call_processing_duration', F, F, _], ['talk_duration', F, _, F], ['clean_talk_duration', F, _, F],
  ['total_duration', F, _, F], ['postprocess_duration', F, _, _], ['call_records', _, _, F], ['wav_call_records', _, _, F],
  ['full_record_file_link', _, _, F], ['voice_mail_records', _, _, _], ['virtual_phone_number', F, F, F], ['ua_client_id', _, _, _],
  ['ym_client_id', _, _, _], ['sale_date', F, F, _], ['sale_cost', F, F, _], ['is_transfer', F, F, _], ['search_query', F, _, _],
  ['search_engine', F, _, _], ['referrer_domain', F, _, _], ['referrer', F, _, _], ['entrance_page', F, _, _], ['gclid', F, _, _], ['yclid', F, _, _],
  ['ymclid', _, _, _], ['ef_id', F, _, _], ['channel', F, _, _], ['tags', F, _, _], ['employees', F, _, _], ['last_answered_employee_id', F, _, _],
  ['last_answered_employee_full_name', F, _, _], ['last_answered_employee_rating', F, _, _], ['first_answered_employee_id', F, _, _],
  ['first_answered_employee_full_name', F, _, _], ['last_talked_employee_id', F, _, _], ['last_talked_employee_full_name', F, _, _],
  ['first_talked_employee_id', F, _, _], ['first_talked_employee_full_name', F, _, _], ['operator_phone_number', F, _, _], ['scenario_name', F, _, _],
  ['scenario_id', F, F, _], ['site_domain_name', F, _, _], ['site_id', F, F, _], ['campaign_name', F, _, _], ['campaign_id', F, F, _],
  ['visit_other_campaign', _, _, _], ['auto_call_campaign_name', F, F, _], ['visitor_id', F, F, _], ['person_id', F, _, _], ['visitor_type', F, F, _],
  ['visitor_session_id', F, _, _], ['visits_count', F, _, _], ['visitor_first_campaign_id', F, _, _], ['visitor_first_campaign_name', F, _, _],
  ['visitor_city', F, _, _], ['visitor_region', F, _, _], ['visitor_country', F, _, _], ['visitor_device', F, F, _], ['visitor_custom_properties', F, _, _],
  ['segments', F, _, _], ['call_api_request_id', F, _, _], ['call_api_external_id', F, _, _], ['contact_id', F, _, _], ['contact_full_name', F, _, _],
  ['utm_source', F, _, _], ['utm_medium', F, _, _], ['utm_term', F, _, _], ['utm_content', F, _, _], ['utm_campaign', F, _, _], ['openstat_ad', F, _, _],
  ['openstat_campaign', F, _, _], ['openstat_service', F, _, _], ['openstat_source', F, _, _], ['attributes', F, _, _], ['eq_utm_source', F, _, _],
  ['eq_utm_medium', F, _, _], ['eq_utm_term', F, _, _], ['eq_utm_content', F, _, _], ['eq_utm_campaign', F, _, _], ['eq_utm_referrer', F, _, _],
  ['eq_utm_expid', F, _, _], ['source_id', F, F, _], ['source_name', F, F, _], ['source_new', F, F, _], ['channel_new', F, F, _], ['channel_code', F, F, _],
  ['ext_id', F, F, _],
];

// data_api/report/get_call_legs_report «Параметры ответа»
const LEGS_FIELDS: FieldSpec[] = [
  ['id', F, _, F], ['call_session_id', F, F, F], ['call_records', _, _, F], ['wav_call_records', _, _, F], ['start_time', _, F, F], ['connect_time', _, _, F],
  ['duration', F, F, F], ['total_duration', F, F, F], ['finish_reason', F, F, F], ['finish_reason_description', F, F, _], ['virtual_phone_number', F, F, F],
  ['calling_phone_number', F, F, F], ['called_phone_number', F, F, F], ['direction', F, F, F], ['is_transfered', F, F, F], ['is_operator', F, F, F],
  ['employee_id', F, F, F], ['employee_full_name', F, F, _], ['employee_phone_number', F, F, _], ['employee_rating', F, F, F], ['scenario_id', F, F, F],
  ['scenario_name', F, F, _], ['is_coach', F, F, F], ['release_cause_code', F, F, F], ['release_cause_description', F, F, F], ['is_failed', F, F, F],
  ['is_talked', F, F, _], ['contact_id', _, _, _], ['contact_full_name', _, _, _], ['contact_phone_number', _, _, _], ['action_id', F, _, F],
  ['action_name', F, _, F], ['group_id', F, _, F], ['group_name', F, _, F],
];

const FINISH_REASON_TEXT: Record<string, string> = {
  subscriber_disconnects: 'Абонент разорвал соединение',
  operator_disconnects: 'Сотрудник разорвал соединение',
  operator_busy: 'Сотрудник занят',
  operator_not_responsible: 'Сотрудник не отвечает',
  subscriber_busy: 'Абонент занят',
  subscriber_not_responsible: 'Абонент не отвечает',
  another_operator_answer: 'Дозвонились до другого сотрудника',
  transfer_disconnects: 'Отключение сотрудника при трансфере',
  timeout: 'Время дозвона истекло',
  no_operation: 'Нет операции для обработки',
};

/** Both dates required, strict format in the account zone, till ≥ from, at most `maxMonths` apart. */
function period(account: AccountImpl, params: Row, o: { months?: number; days?: number }): { from: number; till: number } {
  for (const k of ['date_from', 'date_till']) if (params[k] === undefined || params[k] === null) throw rpc.required(k);
  const from = parseDataApiDateTime(params.date_from, account.utcOffsetMin);
  if (from === null) throw rpc.invalidValue('date_from', params.date_from);
  const till = parseDataApiDateTime(params.date_till, account.utcOffsetMin);
  if (till === null || till < from) throw rpc.invalidValue('date_till', params.date_till);
  if (o.months !== undefined) {
    const limit = new Date(from);
    limit.setUTCMonth(limit.getUTCMonth() + o.months);
    if (till > limit.getTime()) throw rpc.dateInterval();
  }
  if (o.days !== undefined && till - from > o.days * 86_400_000) throw rpc.invalidValue('date_till', params.date_till, { max_days: o.days });
  return { from, till };
}

const secs = (a: number, b: number) => Math.max(0, Math.round((b - a) / 1000));

function callRow(pbx: Pbx, s: CallSession, now: number): Row {
  const a = pbx.account;
  const off = a.utcOffsetMin;
  const end = s.endedAt ?? now;
  const vn = s.virtualNumber ? pbx.virtualNumber(s.virtualNumber) : undefined;
  const campaign = vn?.type !== 'va' ? a.campaigns.find((c) => vn?.campaignIds.includes(c.id)) : undefined;
  const site = campaign ? a.sites.find((x) => x.id === campaign.site_id) : undefined;
  const answered = s.legs.filter((l) => l.isOperator && l.connectedAt !== null && l.employeeId !== null);
  const talked = s.talkStartedAt === null ? [] : answered.filter((l) => (l.endedAt ?? now) > s.talkStartedAt!);
  const talk = s.talkStartedAt === null ? 0 : secs(s.talkStartedAt, s.talkEndedAt ?? now);
  const total = secs(s.startedAt, end);
  const records = s.recordings.map((id) => pbx.recordings.find((r) => r.id === id)).filter((r): r is NonNullable<typeof r> => !!r);
  const operator = s.legs.find((l) => l.party === 'operator' && l.connectedAt !== null) ?? s.legs.find((l) => l.party === 'operator');
  const emp = (l: Leg | undefined, key: string) => ({ [`${key}_id`]: l?.employeeId ?? null, [`${key}_full_name`]: pbx.fullName(l?.employeeId ?? null) });
  return {
    _at: s.startedAt,
    id: s.id,
    start_time: dataApiDateTime(s.startedAt, off),
    finish_time: s.endedAt === null ? null : dataApiDateTime(s.endedAt, off),
    finish_reason: s.finishReason,
    direction: s.direction,
    cpn_region_id: null,
    cpn_region_name: null,
    cpn_country_name: null,
    cpn_country_id: null,
    properties: null,
    scenario_operations: s.operations.map((o) => ({ id: o.id, name: o.name })),
    source: s.source,
    is_lost: s.lost,
    communication_number: null,
    communication_page_url: null,
    contact_phone_number: s.contactNumber,
    communication_id: s.communicationId,
    communication_type: 'call',
    wait_duration: secs(s.startedAt, s.talkStartedAt ?? end),
    total_wait_duration: Math.max(0, total - talk),
    lost_call_processing_duration: null,
    talk_duration: talk,
    clean_talk_duration: talk,
    total_duration: total,
    postprocess_duration: 0,
    call_records: records.map((r) => r.id),
    wav_call_records: records.map((r) => r.id),
    full_record_file_link: records[0] ? pbx.recordingUrl(records[0]) : null,
    voice_mail_records: [],
    virtual_phone_number: s.virtualNumber,
    ua_client_id: null,
    ym_client_id: null,
    sale_date: null,
    sale_cost: null,
    is_transfer: s.isTransfer,
    tags: s.tags.map((t) => ({ tag_id: t.tag_id, tag_name: t.tag_name, tag_type: 'manual', tag_change_time: null, tag_user_id: null, tag_user_login: null, tag_employee_id: null, tag_employee_full_name: null })),
    employees: s.employees.map((e) => ({ ...e })),
    ...emp(answered[answered.length - 1], 'last_answered_employee'),
    last_answered_employee_rating: null,
    ...emp(answered[0], 'first_answered_employee'),
    ...emp(talked[talked.length - 1], 'last_talked_employee'),
    ...emp(talked[0], 'first_talked_employee'),
    operator_phone_number: operator?.called ?? null,
    scenario_name: s.scenarioName,
    scenario_id: s.scenarioId,
    site_domain_name: site?.domain_name ?? null,
    site_id: site?.id ?? null,
    campaign_name: campaign?.name ?? null,
    campaign_id: campaign?.id ?? null,
    visit_other_campaign: null,
    auto_call_campaign_name: null,
    visitor_id: null,
    person_id: null,
    visitor_type: null,
    visitor_session_id: null,
    visits_count: null,
    visitor_first_campaign_id: campaign?.id ?? null,
    visitor_first_campaign_name: campaign?.name ?? null,
    visitor_city: null,
    visitor_region: null,
    visitor_country: null,
    visitor_device: null,
    visitor_custom_properties: [],
    segments: [],
    call_api_request_id: s.callApiRequestId,
    call_api_external_id: s.externalId,
    contact_id: null,
    contact_full_name: null,
    attributes: s.direction === 'in' && s.lost ? ['lost'] : [],
    source_id: null,
    source_name: null,
    source_new: null,
    channel_new: null,
    channel_code: null,
    ext_id: null,
  };
}

function legRow(pbx: Pbx, s: CallSession, l: Leg, now: number): Row {
  const off = pbx.account.utcOffsetMin;
  return {
    _at: l.startedAt,
    id: l.id,
    call_session_id: s.id,
    call_records: [...l.records],
    wav_call_records: [...l.records],
    start_time: dataApiDateTime(l.startedAt, off),
    connect_time: l.connectedAt === null ? null : dataApiDateTime(l.connectedAt, off),
    duration: l.connectedAt === null ? 0 : secs(l.connectedAt, l.endedAt ?? now),
    total_duration: secs(l.startedAt, l.endedAt ?? now),
    finish_reason: l.finishReason,
    finish_reason_description: l.finishReason ? (FINISH_REASON_TEXT[l.finishReason] ?? null) : null,
    virtual_phone_number: l.virtualNumber,
    calling_phone_number: l.calling,
    called_phone_number: l.called,
    direction: l.direction,
    is_transfered: l.isTransfered,
    is_operator: l.isOperator,
    employee_id: l.employeeId,
    employee_full_name: pbx.fullName(l.employeeId),
    employee_phone_number: l.employeePhone,
    employee_rating: null,
    scenario_id: s.scenarioId,
    scenario_name: s.scenarioName,
    is_coach: l.isCoach,
    release_cause_code: null,
    release_cause_description: null,
    is_failed: l.connectedAt === null,
    is_talked: l.connectedAt !== null && s.talkStartedAt !== null && (l.endedAt ?? now) > s.talkStartedAt,
    contact_id: null,
    contact_full_name: null,
    contact_phone_number: s.contactNumber,
    action_id: l.actionId,
    action_name: l.actionName,
    group_id: l.groupId,
    group_name: l.groupName,
  };
}

function visible(s: CallSession, now: number): boolean {
  return s.endedAt !== null && s.reportVisibleAt !== null && s.reportVisibleAt <= now;
}

const GET = ['limit', 'offset', 'filter', 'fields', 'sort'];

const callsReport: MethodDef = {
  params: [...GET, 'date_from', 'date_till', 'include_ongoing_calls'],
  get: true,
  run: ({ account, params }) => {
    const { from, till } = period(account, params, { months: 3 });
    const ongoing = params.include_ongoing_calls;
    if (ongoing !== undefined && ongoing !== null && typeof ongoing !== 'boolean') throw rpc.dataType('include_ongoing_calls', ongoing);
    const pbx = pbxOf(account);
    const now = pbx.now();
    const rows = pbx.sessions
      .filter((s) => s.startedAt >= from && s.startedAt <= till)
      .filter((s) => visible(s, now) || (ongoing === true && s.endedAt === null))
      .map((s) => callRow(pbx, s, now));
    return runQuery(rows, params, specOf(CALLS_FIELDS));
  },
};

const legsReport: MethodDef = {
  params: [...GET, 'date_from', 'date_till'],
  get: true,
  run: ({ account, params }) => {
    const { from, till } = period(account, params, { months: 3 });
    const pbx = pbxOf(account);
    const now = pbx.now();
    const rows = pbx.sessions
      .filter((s) => visible(s, now))
      .flatMap((s) => s.legs.map((l) => ({ s, l })))
      .filter(({ l }) => l.startedAt >= from && l.startedAt <= till)
      .map(({ s, l }) => legRow(pbx, s, l, now));
    return runQuery(rows, params, specOf(LEGS_FIELDS));
  },
};

const VN_FIELDS: FieldSpec[] = [
  ['id', F, _, F], ['child_customer_id', F, F, F], ['virtual_phone_number', F, _, F], ['redirection_phone_number', F, _, F], ['activation_date', F, _, F],
  ['status', F, F, F], ['category', F, F, F], ['type', F, F, F], ['comment', F, F, F], ['name', F, F, F], ['campaigns', F, _, F], ['site_blocks', _, _, F],
  ['scenarios', F, _, F],
];

const virtualNumbers: MethodDef = {
  params: ['filter', 'fields', 'sort'],
  get: true,
  run: ({ account, params }) => {
    const pbx = pbxOf(account);
    const rows = pbx.virtualNumbers.map((v) => {
      const campaigns = account.campaigns.filter((c) => v.campaignIds.includes(c.id));
      const scenario = pbx.scenario(v.scenarioId);
      return {
        id: v.id,
        child_customer_id: null,
        virtual_phone_number: v.number,
        redirection_phone_number: null,
        activation_date: dataApiDateTime(account.sites[0]?.creation_date ?? pbx.now(), account.utcOffsetMin),
        status: v.status,
        category: 'usual',
        type: v.type,
        comment: null,
        name: v.name,
        campaigns: campaigns.map((c) => ({
          campaign_id: c.id,
          campaign_name: c.name,
          site_id: c.site_id,
          site_domain_name: account.sites.find((s) => s.id === c.site_id)?.domain_name ?? null,
          site_blocks: [{ site_block_id: c.site_id * 10 + 1, site_block_name: 'Основной блок', is_tracking: true }],
        })),
        site_blocks: campaigns.map((c) => ({ site_block_id: c.site_id * 10 + 1, site_block_name: 'Основной блок' })),
        scenarios: scenario ? [{ scenario_id: scenario.id, scenario_name: scenario.name, call_processing_rule_id: v.id * 10 + 1, is_active: true }] : [],
      };
    });
    return runQuery(rows, params, specOf(VN_FIELDS));
  },
};

const SCENARIO_FIELDS: FieldSpec[] = [['id', F, F, F], ['name', F, F, F], ['virtual_phone_numbers', F, _, F], ['sites', F, _, F], ['campaigns', F, _, F], ['operations', F, _, _]];

const scenarios: MethodDef = {
  params: ['filter', 'fields', 'sort'],
  get: true,
  run: ({ account, params }) => {
    const pbx = pbxOf(account);
    const rows = pbx.scenarios.map((sc) => {
      const numbers = pbx.virtualNumbers.filter((v) => v.scenarioId === sc.id);
      const campaigns = account.campaigns.filter((c) => numbers.some((v) => v.campaignIds.includes(c.id)));
      return {
        id: sc.id,
        name: sc.name,
        virtual_phone_numbers: numbers.map((v) => v.number),
        sites: account.sites.filter((s) => sc.siteIds.includes(s.id)).map((s) => ({ site_id: s.id, site_domain_name: s.domain_name })),
        campaigns: campaigns.map((c) => ({ site_id: c.site_id, site_domain_name: account.sites.find((s) => s.id === c.site_id)?.domain_name ?? null, campaign_id: c.id, campaign_name: c.name })),
        operations: sc.operations.map((o) => ({ id: o.id, name: o.name })),
      };
    });
    return runQuery(rows, params, specOf(SCENARIO_FIELDS));
  },
};

const SIP_FIELDS: FieldSpec[] = [
  ['id', F, _, F], ['phone_number', F, _, F], ['type', F, F, F], ['channels_count', _, _, F], ['dial_time', _, _, F], ['billing_state', F, F, F],
  ['physical_state', F, F, F], ['virtual_phone_number', F, F, F], ['status', F, F, F], ['employee_id', F, F, F], ['employee_full_name', F, _, F],
  ['ip_addresses', F, _, F],
];

const sipLines: MethodDef = {
  params: ['filter', 'fields', 'sort'],
  get: true,
  run: ({ account, params }) => {
    const pbx = pbxOf(account);
    const rows = pbx.sipLines.map((l) => ({
      ...l,
      virtual_phone_number: l.type === 'in' ? null : l.virtual_phone_number,
      employee_full_name: pbx.fullName(l.employee_id),
      ip_addresses: l.physical_state === 'Зарегистрирован' ? [{ date_time: dataApiDateTime(pbx.now() - 3_600_000, account.utcOffsetMin), ip: '10.20.30.40' }] : [],
    }));
    return runQuery(rows, params, specOf(SIP_FIELDS));
  },
};

const NOTIFICATION_FIELDS = [
  'notification_id', 'notification_name', 'notification_delay', 'notification_message', 'notification_send_to', 'notification_sms_count', 'event_type',
  'communication_id', 'communication_type', 'notification_status', 'notification_channel', 'notification_error_type', 'notification_error_message',
  'notification_send_date_time', 'notification_start_date_time',
];

const notifications: MethodDef = {
  params: ['limit', 'offset', 'report_id', 'date_from', 'date_till', 'fields', 'filter', 'sort'],
  get: true,
  run: ({ account, params }) => {
    if (params.report_id === undefined || params.report_id === null) throw rpc.required('report_id');
    if (typeof params.report_id !== 'number' || !Number.isInteger(params.report_id)) throw rpc.dataType('report_id', params.report_id);
    const { from, till } = period(account, params, { days: 366 });
    const fields = params.fields;
    // "Если параметр пуст или не передан, ответ будет пустым."
    if (fields === undefined || fields === null || (Array.isArray(fields) && fields.length === 0)) return { data: [], total: 0 };
    const pbx = pbxOf(account);
    const off = account.utcOffsetMin;
    const rows = pbx.notifications.sent
      .filter((n) => n.createdAt >= from && n.createdAt <= till)
      .map((n) => ({
        _at: n.createdAt,
        notification_id: n.id,
        notification_name: n.name,
        notification_delay: secs(n.createdAt, n.sentAt),
        notification_message: n.method === 'POST' ? n.body : n.url,
        notification_send_to: n.url,
        notification_sms_count: null,
        event_type: { value: EVENT_TYPES[n.eventType], value_id: n.eventType },
        communication_id: n.communicationId,
        communication_type: { value: 'Звонки', value_id: 'call' },
        notification_status: n.ok ? { value: 'Отправлено', value_id: 'sent' } : { value: 'Не отправлено', value_id: 'not_sent' },
        notification_channel: { value: 'HTTP', value_id: 'http_request' },
        notification_error_type: n.ok ? null : n.status === 'network-error' ? { value: 'Ошибка соединения', value_id: 'connection_error' } : { value: 'Ошибка HTTP', value_id: 'http_error' },
        notification_error_message: n.ok ? null : n.status === 'network-error' ? 'Connection error' : `HTTP status ${n.status}`,
        notification_send_date_time: dataApiDateTime(n.sentAt, off),
        notification_start_date_time: dataApiDateTime(n.createdAt, off),
      }));
    return runQuery(rows, params, { known: NOTIFICATION_FIELDS, filterable: NOTIFICATION_FIELDS, sortable: NOTIFICATION_FIELDS, defaults: NOTIFICATION_FIELDS });
  },
};

export const PBX_METHODS: Record<string, MethodDef> = {
  'get.calls_report': callsReport,
  'get.call_legs_report': legsReport,
  'get.virtual_numbers': virtualNumbers,
  'get.scenarios': scenarios,
  'get.sip_lines': sipLines,
  'get.notifications': notifications,
};

/** get.employees: the PBX side of an employee (groups, phone_numbers, extension, call_recording). */
export function employeeTelephonyFields(account: AccountImpl, employeeId: number): Row {
  const pbx = pbxOf(account);
  const t = pbx.telephonyOf(employeeId);
  return {
    call_recording: t.callRecording,
    groups: pbx.groups.filter((g) => g.employeeIds.includes(employeeId)).map((g) => ({ group_id: g.id, group_name: g.name })),
    phone_numbers: t.phones.map((p) => ({ phone_id: p.phone_id, phone_number: p.phone_number, channels_count: p.channels_count, dial_time: p.dial_time, status: p.status })),
    extension: t.extension === null ? null : { extension_phone_number: t.extension, extension_voice_mail_enabled: false, extension_queue_enabled: false },
  };
}
