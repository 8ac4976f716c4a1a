import type { RequestFacts, RequestMessage } from '../../domain/crm-rules/types';
import { e164 } from '../../domain/phone';
import { normalEmail } from '../../domain/workspace';
import { parseDataApiDateTime } from '../../domain/uis-time';
import type { CrmRequest, CrmRequestMessage } from './ports';

type Row = Record<string, unknown>;

/** A chat message's text for the transcript; a file without text is named (`[файл: name]`). */
export const messageText = (text: unknown, fileName: unknown): string =>
  typeof text === 'string' && text.trim() !== '' ? text : fileName ? `[файл: ${String(fileName)}]` : '';

/** get.chats_report fields the rules read (docs/facts/uis.md#data-api-methods). */
export const CHAT_REPORT_FIELDS = [
  'id', 'date_time', 'chat_channel_id', 'chat_channel_type', 'chat_channel_name', 'chat_user_id', 'visitor_phone_number', 'visitor_id',
  'communication_id', 'site_id', 'site_domain_name', 'campaign_id', 'campaign_name', 'visitor_first_campaign_id', 'source_id', 'source_name',
  'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'employee_id', 'employee_full_name',
] as const;

const str = (v: unknown): string | null => (v === null || v === undefined || String(v).trim() === '' ? null : String(v).trim());
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));
const uniq = (xs: Array<string | null>): string[] => [...new Set(xs.filter((x): x is string => !!x))];

/** Site, campaign, source and UTM as both reports (chats, offline requests) name them. */
function attribution(r: Row): Pick<RequestFacts, 'siteId' | 'siteName' | 'campaignId' | 'campaignName' | 'firstCampaignId' | 'sourceId' | 'sourceName' | 'utm'> {
  return {
    siteId: num(r.site_id),
    siteName: str(r.site_domain_name),
    campaignId: num(r.campaign_id),
    campaignName: str(r.campaign_name),
    firstCampaignId: num(r.visitor_first_campaign_id),
    sourceId: num(r.source_id),
    sourceName: str(r.source_name),
    utm: { source: str(r.utm_source), medium: str(r.utm_medium), campaign: str(r.utm_campaign), term: str(r.utm_term), content: str(r.utm_content) },
  };
}


export interface ChatFactsInput {
  request: Pick<CrmRequest, 'requestId' | 'event' | 'channelId' | 'startedAt'>;
  messages: CrmRequestMessage[];
  /** the chat's get.chats_report row; null when UIS did not list it (yet) */
  report: Row | null;
  /** what the callbacks told about the visitor */
  visitor: { name: string | null; phone: string | null; email: string | null } | null;
  /** the adapter channel as the link tracks it */
  channel: { type: string; name: string } | null;
  openLineDriven: boolean;
  /** when nothing tells the chat's start */
  now: number;
  /** the UIS account's zone: the report's date-times are in it */
  timeZone: string;
}

/** The facts of one UIS chat for the rules engine: the report row first, the callbacks for what it lacks. */
export function chatFacts(i: ChatFactsInput): RequestFacts {
  const r = i.report ?? {};
  const type = str(r.chat_channel_type) ?? i.channel?.type ?? 'unknown';
  const employeeId = num(r.employee_id);
  const employeeName = str(r.employee_full_name);
  const userId = str(r.chat_user_id);
  const messages: RequestMessage[] = i.messages.map((m) => ({
    id: m.id,
    at: m.at,
    source: m.source,
    text: m.text,
    // the report names the chat's operator; other operators of a transferred chat stay unnamed
    author: m.author && employeeId !== null && m.author === `employee:${employeeId}` ? employeeName : null,
  }));
  const startedAt = i.request.startedAt ?? parseDataApiDateTime(r.date_time, i.timeZone) ?? messages[0]?.at ?? i.now;
  return {
    kind: 'chat',
    id: Number(i.request.requestId),
    event: i.request.event === 'received' ? 'message' : i.request.event,
    channelType: type,
    channelId: i.request.channelId,
    channelName: str(r.chat_channel_name) ?? i.channel?.name ?? null,
    openLineDriven: i.openLineDriven,
    visitor: {
      name: i.visitor?.name ?? null,
      phones: uniq([e164(i.visitor?.phone), e164(str(r.visitor_phone_number)), type === 'email' ? null : e164(userId)]),
      emails: uniq([i.visitor?.email ? normalEmail(i.visitor.email) : null, type === 'email' && userId ? normalEmail(userId) : null]),
    },
    ...attribution(r),
    employeeId,
    employeeName,
    formName: null,
    startedAt,
    messages,
  };
}

/** get.offline_messages_report fields the rules read (Data API «Получение информации по оффлайн заявкам»). */
export const OFFLINE_REPORT_FIELDS = [
  'id', 'date_time', 'text', 'form_name', 'visitor_name', 'visitor_phone_number', 'visitor_email', 'visitor_id', 'site_id', 'site_domain_name',
  'campaign_id', 'campaign_name', 'visitor_first_campaign_id', 'source_id', 'source_name', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term',
  'utm_content', 'employee_id', 'employee_full_name',
] as const;

/** The facts of one offline request: it arrives whole, its text is the one visitor message. */
export function offlineFacts(r: Row, fallbackAt: number, timeZone: string): RequestFacts {
  const at = parseDataApiDateTime(r.date_time, timeZone) ?? fallbackAt;
  const text = str(r.text) ?? '';
  return {
    kind: 'offline',
    id: Number(r.id),
    event: 'received',
    channelType: 'offline_message',
    channelId: null,
    channelName: null,
    openLineDriven: false,
    visitor: {
      name: str(r.visitor_name),
      phones: uniq([e164(str(r.visitor_phone_number))]),
      emails: uniq([str(r.visitor_email) ? normalEmail(String(r.visitor_email)) : null]),
    },
    ...attribution(r),
    employeeId: num(r.employee_id),
    employeeName: str(r.employee_full_name),
    formName: str(r.form_name),
    startedAt: at,
    messages: text ? [{ id: `offline:${String(r.id)}`, at, source: 'visitor', text, author: null }] : [],
  };
}
