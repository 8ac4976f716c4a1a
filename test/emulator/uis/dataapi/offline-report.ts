/**
 * get.offline_messages_report (Data API «Отчёты» → «Получение информации по оффлайн заявкам»):
 * offline requests (site forms, the consultant's offline form, Data API uploads) between
 * `date_from` and `date_till` (both required, at most 3 months apart), with the documented fields;
 * the ones marked «Ответ по умолчанию» form the default set.
 */
import type { AccountImpl } from '../account';
import { dataApiDateTime, parseDataApiDateTime } from '../time';
import { rpc } from './errors';
import { runQuery } from './query';

type Row = Record<string, unknown>;

export const OFFLINE_REPORT_FIELDS = [
  'id', 'date_time', 'text', 'communication_number', 'communication_page_url', 'communication_type', 'communication_id', 'is_agree_to_process_personal_data',
  'is_agree_to_mailing', 'ua_client_id', 'ym_client_id', 'sale_date', 'sale_cost', 'status', 'process_time', 'form_type', 'form_name', 'search_query',
  'search_engine', 'referrer_domain', 'referrer', 'entrance_page', 'gclid', 'yclid', 'ymclid', 'ef_id', 'channel', 'properties', 'group_id', 'group_name',
  'employee_id', 'employee_full_name', 'employee_answer_message', 'employee_comment', 'tags', 'site_id', 'site_domain_name', 'campaign_id', 'campaign_name',
  'visit_other_campaign', 'visitor_phone_number', 'visitor_email', 'visitor_name', 'visitor_id', 'person_id', 'visitor_type', 'visitor_session_id',
  'visits_count', 'visitor_first_campaign_id', 'visitor_first_campaign_name', 'visitor_city', 'visitor_country', 'visitor_region', 'visitor_device',
  'visitor_custom_properties', 'segments', 'utm_source', 'utm_medium', 'utm_term', 'utm_content', 'utm_campaign', 'openstat_ad', 'openstat_campaign',
  'openstat_service', 'openstat_source', 'attributes', 'eq_utm_source', 'eq_utm_medium', 'eq_utm_term', 'eq_utm_content', 'eq_utm_campaign',
  'eq_utm_referrer', 'eq_utm_expid', 'source_id', 'source_name', 'source_new', 'channel_new', 'channel_code', 'ext_id',
] as const;

const DEFAULTS = [
  'id', 'text', 'communication_id', 'is_agree_to_process_personal_data', 'is_agree_to_mailing', 'status', 'form_type', 'site_id', 'campaign_id',
  'visitor_phone_number', 'visitor_email', 'visitor_name', 'visitor_id', 'visitor_session_id',
] as const;

/** No filtering on these (the page's «Фильтрация» column is empty for them). */
const NOT_FILTERABLE = ['date_time', 'text', 'communication_type', 'is_agree_to_process_personal_data', 'is_agree_to_mailing', 'ua_client_id', 'ym_client_id', 'process_time', 'properties', 'employee_answer_message', 'employee_comment', 'communication_page_url'];

/** One offline request as the emulated account keeps it. */
export interface OfflineRequest {
  id: number;
  createdAt: number;
  text: string;
  formName: string | null;
  formType: 'Пользовательская' | 'Стандартная' | 'DataAPI';
  visitorName: string | null;
  phone: string | null;
  email: string | null;
  sessionId: number | null;
  status: 'processing' | 'processed' | 'not_processed';
  employeeId: number | null;
}

function rows(a: AccountImpl): Array<Row & { _at: number }> {
  return a.offlineRequests.map((o) => {
    const session = o.sessionId !== null ? a.sessions.find((s) => s.id === o.sessionId) : undefined;
    const site = session ? a.sites.find((s) => s.id === session.siteId) : a.sites[0];
    const campaign = session ? a.campaigns.find((c) => c.id === session.campaignId) : undefined;
    const employee = a.employee(o.employeeId);
    return {
      _at: o.createdAt,
      id: o.id,
      date_time: dataApiDateTime(o.createdAt, a.utcOffsetMin),
      text: o.text,
      communication_type: 'offline_message',
      communication_id: o.id,
      is_agree_to_process_personal_data: true,
      is_agree_to_mailing: false,
      status: o.status,
      form_type: o.formType,
      form_name: o.formName,
      employee_id: o.employeeId,
      employee_full_name: employee?.full_name ?? null,
      tags: [],
      site_id: site?.id ?? null,
      site_domain_name: site?.domain_name ?? null,
      campaign_id: campaign?.id ?? null,
      campaign_name: campaign?.name ?? null,
      visitor_phone_number: o.phone,
      visitor_email: o.email,
      visitor_name: o.visitorName,
      visitor_id: session?.visitorId ?? null,
      visitor_session_id: o.sessionId,
      visitor_first_campaign_id: campaign?.id ?? null,
      visitor_custom_properties: [],
      segments: [],
      attributes: [],
      utm_source: session?.utm?.source ?? null,
      utm_medium: session?.utm?.medium ?? null,
      utm_campaign: session?.utm?.campaign ?? null,
      utm_term: session?.utm?.term ?? null,
      utm_content: session?.utm?.content ?? null,
      source_id: null,
      source_name: null,
      ext_id: null,
    };
  });
}

export function offlineMessagesReport(account: AccountImpl, params: Row): { data: unknown; total: number } {
  for (const k of ['date_from', 'date_till']) if (params[k] === undefined || params[k] === null) throw rpc.required(k);
  const from = parseDataApiDateTime(params.date_from, account.utcOffsetMin);
  if (from === null) throw rpc.invalidValue('date_from', params.date_from);
  const till = parseDataApiDateTime(params.date_till, account.utcOffsetMin);
  if (till === null || till < from) throw rpc.invalidValue('date_till', params.date_till);
  const limit = new Date(from);
  limit.setUTCMonth(limit.getUTCMonth() + 3);
  if (till > limit.getTime()) throw rpc.dateInterval();
  const within = rows(account).filter((r) => r._at >= from && r._at <= till);
  return runQuery(within, params, {
    known: OFFLINE_REPORT_FIELDS,
    defaults: DEFAULTS,
    filterable: OFFLINE_REPORT_FIELDS.filter((f) => !NOT_FILTERABLE.includes(f)),
    sortable: ['id', 'date_time', 'communication_number', 'status', 'form_type', 'form_name', 'employee_id', 'site_id', 'campaign_id', 'visitor_id', 'visitor_session_id', 'source_id', 'ext_id'],
  });
}
