import type { AnalyticsSettings, Attribution } from '../contracts/analytics';
import { e164 } from './phone';
import { dataApiDateTime } from './uis-time';

/**
 * Pure rules of end-to-end analytics: one open-line chat behind a new lead/deal → one
 * `upload.chats` item (uis-api.md §1.2, §6.6). No I/O here.
 */
export interface OpenLineChat {
  chatId: number;
  /** Bitrix24 connector id, lower-case (`livechat`, `telegrambot`, `uis_omni`…). */
  connector: string;
  /** ms since epoch. */
  createdAt: number;
  client: { name: string | null; phone: string | null; email: string | null };
  messages: Array<{ at: number; role: 'visitor' | 'operator' | 'system'; text: string }>;
  /** UIS visitor session id the site script handed to the live-chat widget, if any. */
  sessionId: number | null;
}

export interface UploadChatItem {
  ext_id: string;
  start_date_time: string;
  status: 'succeed' | 'lost';
  initiator: 'visitor' | 'operator';
  name?: string;
  phone?: string;
  email?: string;
  visitor_session_id?: number;
  campaign_id?: number;
  site_id?: number;
  source_id?: number;
  messages: Array<{ date_time: string; source: 'visitor' | 'operator' | 'system'; message: string; employee_id?: number }>;
}

export type BuildResult = { item: UploadChatItem; attribution: string } | { skip: string };

/** ext_id = portal + chat: a repeat of the same chat updates the uploaded one, never duplicates it. */
export function extIdFor(memberId: string, chatId: number): string {
  return `b24:${memberId}:${chatId}`;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The attribution for a chat without a session: its messenger's mapping, else the default. */
export function fallbackAttribution(settings: AnalyticsSettings, connector: string): Attribution {
  const own = settings.messengers[connector as keyof AnalyticsSettings['messengers']];
  const usable = (a: Attribution | undefined) => !!a && (settings.trafficType === 'campaign' ? !!a.campaignId : !!a.siteId);
  return usable(own) ? own! : settings.defaults;
}

export function buildUploadItem(memberId: string, chat: OpenLineChat, settings: AnalyticsSettings, now: number, timeZone: string): BuildResult {
  const phone = e164(chat.client.phone);
  const email = chat.client.email && EMAIL.test(chat.client.email.trim()) ? chat.client.email.trim() : null;
  if (!phone && !email) return { skip: 'NO_CONTACT: the chat has neither a phone nor an e-mail' };
  const messages = chat.messages.filter((m) => m.text.trim() !== '');
  const start = Math.min(now, chat.createdAt, ...messages.map((m) => m.at));
  const at = (ms: number) => dataApiDateTime(Math.min(now, Math.max(start, ms)), timeZone);
  const item: UploadChatItem = {
    ext_id: extIdFor(memberId, chat.chatId),
    start_date_time: dataApiDateTime(start, timeZone),
    status: messages.some((m) => m.role === 'operator') ? 'succeed' : 'lost',
    initiator: messages[0]?.role === 'operator' ? 'operator' : 'visitor',
    messages: messages.map((m) => ({
      date_time: at(m.at),
      source: m.role,
      message: m.text.slice(0, 4000),
      ...(m.role === 'operator' && settings.employeeId ? { employee_id: settings.employeeId } : {}),
    })),
  };
  if (chat.client.name) item.name = chat.client.name.slice(0, 255);
  if (phone) item.phone = phone;
  else if (email) item.email = email;
  if (chat.sessionId) {
    item.visitor_session_id = chat.sessionId;
    return { item, attribution: `session ${chat.sessionId}` };
  }
  const a = fallbackAttribution(settings, chat.connector);
  if (settings.trafficType === 'campaign') {
    item.campaign_id = a.campaignId!;
    return { item, attribution: `campaign ${a.campaignId}` };
  }
  item.site_id = a.siteId!;
  if (a.sourceId) item.source_id = a.sourceId;
  return { item, attribution: `site ${a.siteId}${a.sourceId ? `, source ${a.sourceId}` : ''}` };
}

/**
 * The UIS session id the site script put into the live-chat widget's custom data. Markers are
 * parsed robustly (uis-api.md §6.6 rule 22): `uis_session_id=123`, `UIS session: 123`, or a
 * GRID row named so.
 */
export function extractUisSessionId(blobs: Array<string | null | undefined>): number | null {
  for (const b of blobs) {
    if (!b) continue;
    const m =
      // no two adjacent parts match the same characters (a `\s*` before the group that also takes
      // blanks made a run of blanks after `:` cost its square)
      /uis[\s_-]*session(?:[\s_-]*id)?(?:\[\/?\w+\]|["'\s])*[:=](?:\[\/?\w+\]|["'\s])*(\d{3,20})/i.exec(b) ??
      /"NAME"\s*:\s*"uis[\s_-]*session(?:[\s_-]*id)?"\s*,\s*"VALUE"\s*:\s*"?(\d{3,20})/i.exec(b);
    if (m) return Number(m[1]);
  }
  return null;
}
