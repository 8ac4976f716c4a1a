/**
 * The Data API methods the bridge uses, with the documented response fields (Data API pages
 * get.account, get.employees, get.sites, get.sources, get.campaigns, get.chats_report,
 * login.user/logout.user, upload.chats). Fields the emulator does not model are returned as null
 * ("Пустые поля всегда возвращаются в ответе со значением null", Data API §"Соглашения").
 */
import type { AccountImpl } from '../account';
import { randomKey } from '../ids';
import { dataApiDateTime, parseDataApiDateTime } from '../time';
import type { Chat } from '../types';
import { rpc } from './errors';
import { runQuery, type QuerySpec } from './query';
import { uploadChats } from './upload-chats';
import { uploadOfflineMessages } from './upload-offline-messages';
import { offlineMessagesReport } from './offline-report';
import { chatMessagesReport } from './chat-messages-report';
import { createEmployee, CREATE_EMPLOYEE_PARAMS, STATUS_FIELDS, statusRows, updateEmployee, UPDATE_EMPLOYEE_PARAMS } from './employees-write';
import { employeeTelephonyFields, PBX_METHODS } from '../pbx/dataapi';

type Row = Record<string, unknown>;

export interface MethodContext {
  account: AccountImpl;
  params: Row;
}

export interface MethodDef {
  /** top-level params besides access_token and user_id */
  params: readonly string[];
  /** `get` methods report total_items */
  get: boolean;
  run(ctx: MethodContext): { data: unknown; total?: number };
}

const GET_PARAMS = ['limit', 'offset', 'filter', 'fields', 'sort'] as const;

function getMethod(spec: QuerySpec, rows: (a: AccountImpl) => Row[], extra: readonly string[] = []): MethodDef {
  return {
    params: [...GET_PARAMS, ...extra],
    get: true,
    run: ({ account, params }) => {
      const { data, total } = runQuery(rows(account), params, spec);
      return { data, total };
    },
  };
}

// ------------------------------------------------------------------ get.employees

const EMPLOYEE_FIELDS = [
  'id', 'login', 'first_name', 'last_name', 'patronymic', 'full_name', 'status', 'status_id', 'calls_available', 'allowed_in_call_types',
  'in_external_allowed_call_directions', 'in_internal_allowed_call_directions', 'allowed_out_call_types', 'out_external_allowed_call_directions',
  'out_internal_allowed_call_directions', 'email', 'call_recording', 'schedule_id', 'schedule_name', 'coach', 'groups', 'phone_numbers',
  'extension', 'operator',
] as const;

function employeeRows(a: AccountImpl): Row[] {
  return a.employees.map((e) => ({
    id: e.id,
    login: e.login,
    first_name: e.first_name,
    last_name: e.last_name,
    patronymic: null,
    full_name: e.full_name,
    status: e.status,
    status_id: { available: 1, break: 2, do_not_disturb: 3, not_at_workplace: 4, not_at_work: 5, unknown: 6, auto_out_call: 7 }[e.status],
    calls_available: true,
    allowed_in_call_types: ['internal', 'external'],
    in_external_allowed_call_directions: ['in', 'out'],
    in_internal_allowed_call_directions: ['in', 'out'],
    allowed_out_call_types: ['internal', 'external'],
    out_external_allowed_call_directions: ['in', 'out'],
    out_internal_allowed_call_directions: ['in', 'out'],
    email: e.email,
    schedule_id: null,
    schedule_name: null,
    coach: null,
    // groups, phone_numbers, extension, call_recording: the account's PBX (pbx/dataapi.ts)
    ...employeeTelephonyFields(a, e.id),
    operator: {
      operator_login: e.login,
      operator_display_name: e.first_name,
      operator_position_id: null,
      operator_position_name: null,
      operator_offline_message_enabled: e.operator_chat_enabled,
      operator_invite_to_chat_enabled: e.operator_chat_enabled,
      operator_chat_enabled: e.operator_chat_enabled,
      operator_chats_available: e.operator_chat_enabled && e.status === 'available',
      operator_sites: e.operator_chat_enabled ? a.sites.map((s) => ({ site_id: s.id, site_domain_name: s.domain_name })) : [],
    },
  }));
}

// ------------------------------------------------------------------ get.sites / get.sources / get.campaigns

const SITE_FIELDS = [
  'id', 'domain_name', 'name', 'default_phone_number', 'default_scenario', 'app_key', 'site_key', 'is_editable', 'industry_id', 'industry_name',
  'target_call_min_duration', 'track_subdomains', 'cookie_lifetime', 'campaign_lifetime', 'sales_enabled', 'second_communication_period',
  'services_enabled', 'replacement_dynamical_block_enabled', 'widget_link', 'show_visitor_id', 'site_blocks', 'connected_integrations',
  'is_support_web_directory', 'child_customer_id', 'parent_id', 'creation_date', 'state',
] as const;

function siteRows(a: AccountImpl): Row[] {
  return a.sites.map((s, i) => ({
    id: s.id,
    domain_name: s.domain_name,
    name: s.name,
    default_phone_number: `7495000000${i + 5}`,
    default_scenario: null,
    app_key: a.dataApiToken.slice(0, 32),
    site_key: s.site_key,
    is_editable: true,
    industry_id: null,
    industry_name: null,
    target_call_min_duration: 30,
    track_subdomains: true,
    cookie_lifetime: 90,
    campaign_lifetime: 90,
    sales_enabled: false,
    second_communication_period: 1,
    services_enabled: true,
    replacement_dynamical_block_enabled: false,
    widget_link: { enabled: false, text: null, url: null },
    show_visitor_id: { enabled: false, element_id_value: null, message: null, length_visitor_id: 6 },
    site_blocks: [{ site_block_id: s.id * 10 + 1, site_block_name: 'Основной блок' }],
    connected_integrations: [],
    is_support_web_directory: false,
    child_customer_id: null,
    parent_id: null,
    creation_date: dataApiDateTime(s.creation_date, a.utcOffsetMin),
    state: 'work',
  }));
}

const SOURCE_FIELDS = [
  'id', 'name', 'description', 'group_id', 'group_name', 'channel_id', 'channel_name', 'channel_mnemonic', 'filter', 'priority', 'is_custom', 'state', 'icon_mnemonic', 'static_parameters',
] as const;

function sourceRows(a: AccountImpl): Row[] {
  return a.sources.map((s, i) => ({
    id: s.id,
    name: s.name,
    description: null,
    group_id: i + 1,
    group_name: s.channel_name,
    channel_id: i + 1,
    channel_name: s.channel_name,
    channel_mnemonic: s.channel_mnemonic,
    filter: null,
    priority: i + 1,
    is_custom: false,
    state: s.state,
    icon_mnemonic: null,
    static_parameters: null,
  }));
}

const CAMPAIGN_FIELDS = [
  'id', 'name', 'description', 'status', 'creation_time', 'campaign_conditions', 'engine', 'type', 'costs', 'cost_ratio', 'cost_ratio_operator', 'site_id',
  'site_domain_name', 'site_blocks', 'dynamic_call_tracking_enabled', 'dynamic_call_tracking',
] as const;

function campaignRows(a: AccountImpl): Row[] {
  return a.campaigns.map((c) => ({
    id: c.id,
    name: c.name,
    description: null,
    status: c.status,
    creation_time: dataApiDateTime(c.creation_time, a.utcOffsetMin),
    campaign_conditions: c.type === 'basic' ? { group_conditions: [] } : null,
    engine: null,
    type: c.type,
    costs: 0,
    cost_ratio: 1,
    cost_ratio_operator: 'wo_changes',
    site_id: c.site_id,
    site_domain_name: a.sites.find((s) => s.id === c.site_id)?.domain_name ?? null,
    site_blocks: [],
    dynamic_call_tracking_enabled: false,
    dynamic_call_tracking: null,
  }));
}

// ------------------------------------------------------------------ get.chats_report

/** Fields get.chats_report documents; the ones marked "Ответ по умолчанию" form the default set. */
const CHAT_REPORT_FIELDS = [
  'id', 'status', 'initiator', 'date_time', 'duration', 'answer_time', 'communication_number', 'communication_page_url', 'communication_id',
  'communication_type', 'chat_ad_url', 'chat_channel_id', 'chat_channel_type', 'chat_channel_name', 'chat_user_id', 'chat_username', 'messages_count',
  'ua_client_id', 'ym_client_id', 'sale_date', 'sale_cost', 'is_group_chat', 'is_transfer', 'release_cause', 'search_query', 'search_engine',
  'referrer_domain', 'referrer', 'entrance_page', 'gclid', 'yclid', 'ymclid', 'ef_id', 'channel', 'employee_id', 'employee_full_name',
  'employee_raiting', 'employee_messages_count', 'tags', 'site_id', 'site_domain_name', 'campaign_id', 'campaign_name', 'visit_other_campaign',
  'visitor_phone_number', 'visitor_id', 'visitor_ids', 'person_id', 'visitor_type', 'visitor_session_id', 'visits_count', 'visitor_first_campaign_id',
  'visitor_first_campaign_name', 'visitor_city', 'visitor_region', 'visitor_country', 'visitor_device', 'visitor_profile_url',
  'visitor_custom_properties', 'segments', 'utm_source', 'utm_medium', 'utm_term', 'utm_content', 'utm_campaign', 'openstat_ad', 'openstat_campaign',
  'openstat_service', 'openstat_source', 'attributes', 'eq_utm_source', 'eq_utm_medium', 'eq_utm_term', 'eq_utm_content', 'eq_utm_campaign',
  'eq_utm_referrer', 'eq_utm_expid', 'source_id', 'source_name', 'source_new', 'channel_new', 'channel_code', 'ext_id',
] as const;

const CHAT_REPORT_DEFAULTS = [
  'id', 'status', 'initiator', 'date_time', 'duration', 'answer_time', 'communication_id', 'chat_ad_url', 'is_group_chat', 'is_transfer',
  'release_cause', 'employee_id', 'employee_raiting', 'site_id', 'campaign_id', 'visitor_phone_number', 'visitor_id', 'visitor_ids',
] as const;

/** Report status of a live chat, per the get.chats_report `status` description. */
function reportStatus(chat: Chat): string {
  if (chat.status === 'active') return chat.operatorId === null ? 'new' : 'active';
  const v = chat.messages.filter((m) => m.source === 'visitor').length;
  const o = chat.messages.filter((m) => m.source === 'operator').length;
  if (o === 0 || chat.closeReason === 'visitor_disconnected') return 'lost';
  return v > 0 ? 'succeed' : 'refused';
}

function chatReportRows(a: AccountImpl, now: number): Array<Row & { _at: number }> {
  const live = a.chatList.map((chat) => {
    const visitor = a.visitorOf(chat);
    const channel = a.channelById(chat.chatChannelId);
    const session = visitor.sessionId !== null ? a.sessions.find((s) => s.id === visitor.sessionId) : undefined;
    const campaign = session ? a.campaigns.find((c) => c.id === session.campaignId) : undefined;
    const site = session ? a.sites.find((s) => s.id === session.siteId) : undefined;
    const firstOperator = chat.messages.find((m) => m.source === 'operator');
    const employee = a.employee(chat.operatorId);
    return {
      _at: chat.createdAt,
      id: chat.id,
      status: reportStatus(chat),
      initiator: chat.initiator,
      date_time: dataApiDateTime(chat.createdAt, a.utcOffsetMin),
      duration: Math.round(((chat.closedAt ?? now) - chat.createdAt) / 1000),
      answer_time: firstOperator ? Math.round((firstOperator.createdAt - chat.createdAt) / 1000) : null,
      communication_id: chat.id,
      communication_type: 'chat',
      chat_channel_id: channel.id,
      chat_channel_type: channel.type,
      chat_channel_name: channel.name,
      chat_user_id: visitor.username ?? visitor.phone,
      chat_username: visitor.username,
      messages_count: chat.messages.length,
      is_group_chat: false,
      is_transfer: chat.transferred,
      release_cause: chat.closeReason,
      employee_id: chat.operatorId,
      employee_full_name: employee?.full_name ?? null,
      employee_messages_count: chat.messages.filter((m) => m.source === 'operator').length,
      tags: [],
      site_id: site?.id ?? null,
      site_domain_name: site?.domain_name ?? null,
      campaign_id: campaign?.id ?? null,
      campaign_name: campaign?.name ?? null,
      visitor_phone_number: visitor.phone,
      visitor_id: visitor.id,
      visitor_ids: [visitor.id],
      visitor_session_id: visitor.sessionId,
      visitor_first_campaign_id: campaign?.id ?? null,
      utm_source: session?.utm?.source ?? null,
      utm_medium: session?.utm?.medium ?? null,
      utm_campaign: session?.utm?.campaign ?? null,
      utm_term: session?.utm?.term ?? null,
      utm_content: session?.utm?.content ?? null,
      segments: [],
      visitor_custom_properties: [],
      attributes: [],
      source_id: null,
      source_name: null,
      ext_id: null,
    };
  });
  const uploaded = a.uploaded.map((u) => {
    const site = a.sites.find((s) => s.id === u.site_id);
    const campaign = a.campaigns.find((c) => c.id === (u.campaign_id ?? -1)) ?? a.campaigns.find((c) => c.site_id === u.site_id && c.type === 'system');
    const employee = a.employee(u.employee_id);
    const source = a.sources.find((s) => s.id === u.source_id);
    return {
      _at: u.startedAt,
      id: u.id,
      status: u.status,
      initiator: u.initiator,
      date_time: u.start_date_time,
      duration: 0,
      answer_time: null,
      communication_id: u.id,
      communication_type: 'chat',
      chat_channel_id: null,
      chat_channel_type: 'dataapi',
      chat_channel_name: null,
      messages_count: u.messages.length,
      is_group_chat: false,
      is_transfer: false,
      release_cause: null,
      employee_id: u.employee_id,
      employee_full_name: employee?.full_name ?? null,
      employee_messages_count: u.messages.filter((m) => m.source === 'operator').length,
      tags: [],
      site_id: site?.id ?? null,
      site_domain_name: site?.domain_name ?? null,
      campaign_id: campaign?.id ?? null,
      campaign_name: campaign?.name ?? null,
      visitor_phone_number: u.phone,
      visitor_id: null,
      visitor_ids: [],
      visitor_session_id: u.visitor_session_id,
      segments: [],
      visitor_custom_properties: [],
      attributes: [],
      source_id: u.source_id,
      source_name: source?.name ?? null,
      ext_id: u.ext_id,
    };
  });
  return [...live, ...uploaded].sort((x, y) => x._at - y._at);
}

const chatsReport: MethodDef = {
  params: [...GET_PARAMS, 'date_from', 'date_till'],
  get: true,
  run: ({ account, params }) => {
    for (const k of ['date_from', 'date_till']) if (params[k] === undefined || params[k] === null) throw rpc.required(k);
    const from = parseDataApiDateTime(params.date_from, account.utcOffsetMin);
    if (from === null) throw rpc.invalidValue('date_from', params.date_from);
    const till = parseDataApiDateTime(params.date_till, account.utcOffsetMin);
    if (till === null) throw rpc.invalidValue('date_till', params.date_till);
    if (till < from) throw rpc.invalidValue('date_till', params.date_till);
    const limit = new Date(from);
    limit.setUTCMonth(limit.getUTCMonth() + 3);
    if (till > limit.getTime()) throw rpc.dateInterval();
    const rows = chatReportRows(account, account.world.clock.now()).filter((r) => r._at >= from && r._at <= till);
    return runQuery(rows, params, {
      known: CHAT_REPORT_FIELDS,
      defaults: CHAT_REPORT_DEFAULTS,
      filterable: CHAT_REPORT_FIELDS.filter((f) => !['messages_count', 'chat_channel_name', 'ymclid', 'ua_client_id', 'ym_client_id'].includes(f)),
      sortable: ['status', 'initiator', 'date_time', 'duration', 'answer_time', 'communication_number', 'employee_id', 'site_id', 'campaign_id', 'visitor_id', 'visitor_session_id', 'source_id', 'source_name', 'ext_id', 'chat_username', 'chat_user_id'],
    });
  },
};

// ------------------------------------------------------------------ registry

export const METHODS: Record<string, MethodDef> = {
  'get.account': {
    params: [],
    get: true,
    run: ({ account }) => ({ data: [{ app_id: account.appId, name: account.name, timezone: account.timezone }], total: 1 }),
  },
  'get.employees': getMethod(
    { known: EMPLOYEE_FIELDS, filterable: ['id', 'login', 'first_name', 'last_name', 'full_name', 'status', 'status_id', 'calls_available', 'email', 'call_recording', 'schedule_id', 'schedule_name', 'groups', 'phone_numbers', 'extension'], sortable: ['login', 'first_name', 'last_name', 'patronymic', 'full_name', 'calls_available'] },
    employeeRows,
  ),
  'get.statuses': getMethod(
    { known: STATUS_FIELDS, filterable: ['id', 'name', 'mnemonic'], sortable: ['name', 'description', 'is_deleted', 'is_select_allowed', 'is_worktime', 'is_auto_out_calls_ready'] },
    () => statusRows(),
    ['is_deleted'],
  ),
  'create.employees': { params: CREATE_EMPLOYEE_PARAMS, get: false, run: ({ account, params }) => ({ data: createEmployee(account, params) }) },
  'update.employees': { params: UPDATE_EMPLOYEE_PARAMS, get: false, run: ({ account, params }) => ({ data: updateEmployee(account, params) }) },
  'get.sites': getMethod(
    { known: SITE_FIELDS, filterable: ['id', 'domain_name', 'name', 'default_phone_number', 'creation_date', 'target_call_min_duration', 'track_subdomains', 'cookie_lifetime', 'campaign_lifetime', 'sales_enabled', 'second_communication_period', 'services_enabled', 'is_support_web_directory', 'site_blocks', 'child_customer_id', 'parent_id'], sortable: ['child_customer_id', 'parent_id'] },
    siteRows,
  ),
  'get.sources': getMethod(
    { known: SOURCE_FIELDS, filterable: ['id', 'name', 'description', 'group_id', 'group_name', 'channel_id', 'channel_name', 'channel_mnemonic', 'filter', 'priority', 'is_custom', 'state'], sortable: ['id', 'name', 'channel_name', 'channel_mnemonic', 'filter', 'priority', 'is_custom', 'state'] },
    sourceRows,
  ),
  'get.campaigns': getMethod(
    { known: CAMPAIGN_FIELDS, filterable: ['id', 'name', 'status', 'creation_time', 'engine', 'type', 'costs', 'site_id', 'site_domain_name', 'site_blocks', 'dynamic_call_tracking'], sortable: ['name', 'creation_time', 'engine', 'type', 'costs', 'site_id'] },
    campaignRows,
  ),
  'get.chats_report': chatsReport,
  'get.chat_messages_report': {
    params: [...GET_PARAMS, 'chat_id', 'chat_ids', 'date_from', 'date_till'],
    get: true,
    run: ({ account, params }) => chatMessagesReport(account, params),
  },
  'get.offline_messages_report': {
    params: [...GET_PARAMS, 'date_from', 'date_till', 'include_tech_offline_messages'],
    get: true,
    run: ({ account, params }) => offlineMessagesReport(account, params),
  },
  'upload.chats': {
    params: ['chats'],
    get: false,
    run: ({ account, params }) => ({ data: uploadChats(account, params) }),
  },
  'upload.offline_messages': {
    params: ['offline_messages'],
    get: false,
    run: ({ account, params }) => ({ data: uploadOfflineMessages(account, params) }),
  },
  // telephony: calls and legs reports, virtual numbers, scenarios, SIP lines, notifications (pbx/dataapi.ts)
  ...PBX_METHODS,
  'logout.user': {
    params: [],
    get: false,
    run: ({ account, params }) => {
      account.sessionKeys.delete(String(params.access_token));
      return { data: { success: true } };
    },
  },
};

/**
 * login.user (Data API "Вход"): a session key valid for 1 hour. The page's table says the answer
 * field is `expire_at`, its JSON example says `expire`; we send both.
 */
export function loginUser(accounts: AccountImpl[], params: Row, now: number): { account: AccountImpl; data: Row } {
  for (const k of ['login', 'password']) if (params[k] === undefined || params[k] === null || params[k] === '') throw rpc.required(k);
  for (const k of Object.keys(params)) if (!['login', 'password'].includes(k)) throw rpc.unexpected(k);
  const account = accounts.find((a) => a.login === params.login && a.password === params.password);
  if (!account) throw rpc.authError();
  const key = randomKey(40);
  const expireAt = Math.floor(now / 1000) + 3600;
  account.sessionKeys.set(key, expireAt * 1000);
  return { account, data: { access_token: key, expire_at: expireAt, expire: expireAt, app_id: account.appId } };
}
