import type { Attribution } from '../contracts/analytics';
import { e164 } from './phone';
import { dataApiDateTime } from './uis-time';

/**
 * The one pipeline of end-to-end analytics (issue #15): every chat source — Bitrix24 Open Lines,
 * Jivo, amoCRM — turns its own events into a finished `Conversation`; this file applies the
 * fallbacks (a valid UIS session, else the channel's messenger mapping, else the default), checks
 * what UIS would refuse (no phone or e-mail, dates in the future or before the chat, a session id
 * that is not one) and builds the Data API item: `upload.chats` for chats with a transcript,
 * `upload.offline_messages` for requests (docs/facts/uis.md#upload-chats; docs/facts/chat-sources.md#which-method, docs/facts/chat-sources.md#shared-rules). Pure.
 */
export interface Conversation {
  /** The stable `ext_id`: a repeat updates the uploaded item, never duplicates it. */
  extId: string;
  kind: 'chat' | 'request';
  /** The key of the messenger mapping: a Bitrix24 connector, a Jivo widget_id, an amoCRM origin. */
  channel: string;
  /** ms since epoch (for a request: its creation). */
  startedAt: number;
  client: { name: string | null; phone: string | null; email: string | null };
  /** What the source carries as the UIS visitor session (checked here); null when none. */
  sessionId: number | string | null;
  /** chat: the transcript */
  messages?: Array<{ at: number; role: 'visitor' | 'operator' | 'system'; text: string }>;
  /** chat: the operator refused it (Jivo: the visitor was blacklisted) */
  refused?: boolean;
  /** chat: who began; default: whoever wrote first */
  initiator?: 'visitor' | 'operator' | 'autoinvite';
  /** request: its text and form name */
  text?: string;
  formName?: string;
}

/** What every source's settings give the pipeline. */
export interface PipelineSettings {
  /** UIS employee operator messages are attributed to. */
  employeeId: number | null;
  trafficType: 'source' | 'campaign';
  defaults: Attribution;
  messengers: Partial<Record<string, Attribution>>;
}

export interface UploadChatItem {
  ext_id: string;
  start_date_time: string;
  status: 'succeed' | 'lost' | 'refused';
  initiator: 'visitor' | 'operator' | 'autoinvite';
  name?: string;
  phone?: string;
  email?: string;
  visitor_session_id?: number;
  campaign_id?: number;
  site_id?: number;
  source_id?: number;
  messages: Array<{ date_time: string; source: 'visitor' | 'operator' | 'system'; message: string; employee_id?: number }>;
}

export interface UploadRequestItem {
  ext_id: string;
  date_time: string;
  name?: string;
  phone?: string;
  email?: string;
  message?: string;
  form_name?: string;
  visitor_session_id?: number;
  campaign_id?: number;
  site_id?: number;
  source_id?: number;
}

export type Prepared =
  | { kind: 'chat'; item: UploadChatItem; attribution: string; fallback: boolean }
  | { kind: 'request'; item: UploadRequestItem; attribution: string; fallback: boolean }
  | { skip: string };

export const NO_CONTACT = 'NO_CONTACT: the conversation has neither a phone nor an e-mail (UIS requires one)';
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_TEXT = 4000;

/**
 * A UIS visitor session id (`Comagic.getSessionId()`: a positive integer), as a site script may
 * pass it: a number, its digits, or `uis:<digits>`; anything else is not one.
 */
export function sessionIdOf(raw: number | string | null | undefined): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw > 0 ? raw : null;
  if (typeof raw !== 'string') return null;
  const m = /^\s*(?:uis[:_-]?)?(\d{1,15})\s*$/i.exec(raw);
  const n = m ? Number(m[1]) : 0;
  return n > 0 ? n : null;
}

/** The attribution for a conversation without a session: its channel's mapping, else the default. */
export function fallbackAttribution(settings: PipelineSettings, channel: string): Attribution {
  const own = Object.prototype.hasOwnProperty.call(settings.messengers, channel) ? settings.messengers[channel] : undefined;
  const usable = (a: Attribution | undefined) => !!a && (settings.trafficType === 'campaign' ? !!a.campaignId : !!a.siteId);
  return usable(own) ? own! : settings.defaults;
}

type Anchors = Pick<UploadChatItem, 'visitor_session_id' | 'campaign_id' | 'site_id' | 'source_id'>;

/** The anchor fields and their description: the session, or the fallback of the traffic type. */
function anchors(conv: Conversation, settings: PipelineSettings, useSession: boolean): { anchors: Anchors; attribution: string; fallback: boolean } {
  const sid = useSession ? sessionIdOf(conv.sessionId) : null;
  if (sid) return { anchors: { visitor_session_id: sid }, attribution: `session ${sid}`, fallback: false };
  const a = fallbackAttribution(settings, conv.channel);
  if (settings.trafficType === 'campaign') return { anchors: { campaign_id: a.campaignId! }, attribution: `campaign ${a.campaignId}`, fallback: true };
  const out: Anchors = { site_id: a.siteId! };
  if (a.sourceId) out.source_id = a.sourceId;
  return { anchors: out, attribution: `site ${a.siteId}${a.sourceId ? `, source ${a.sourceId}` : ''}`, fallback: true };
}

function contact(conv: Conversation): { name?: string; phone?: string; email?: string } | null {
  const phone = e164(conv.client.phone);
  const trimmed = conv.client.email?.trim() ?? '';
  const email = trimmed && EMAIL.test(trimmed) ? trimmed : null;
  if (!phone && !email) return null;
  const out: { name?: string; phone?: string; email?: string } = {};
  if (conv.client.name) out.name = conv.client.name.slice(0, 255);
  if (phone) out.phone = phone;
  else if (email) out.email = email;
  return out;
}

/**
 * One conversation → one Data API item, or why not. `useSession: false` builds it with the
 * fallback (after UIS refused the session: not found, too old, later than the conversation).
 * Dates are clamped into [start, now] (UIS refuses the future and messages before the chat).
 */
export function prepareUpload(conv: Conversation, settings: PipelineSettings, now: number, timeZone: string, useSession = true): Prepared {
  const who = contact(conv);
  if (!who) return { skip: NO_CONTACT };
  const { anchors: anchor, attribution, fallback } = anchors(conv, settings, useSession);
  if (conv.kind === 'request') {
    const item: UploadRequestItem = { ext_id: conv.extId, date_time: dataApiDateTime(Math.min(now, conv.startedAt || now), timeZone), ...who };
    const text = conv.text?.trim();
    if (text) item.message = text.slice(0, MAX_TEXT);
    if (conv.formName) item.form_name = conv.formName.slice(0, 255);
    return { kind: 'request', item: { ...item, ...anchor }, attribution, fallback };
  }
  const messages = (conv.messages ?? []).filter((m) => m.text.trim() !== '');
  const start = Math.min(now, conv.startedAt || now, ...messages.map((m) => m.at));
  const at = (ms: number) => dataApiDateTime(Math.min(now, Math.max(start, ms)), timeZone);
  const item: UploadChatItem = {
    ext_id: conv.extId,
    start_date_time: dataApiDateTime(start, timeZone),
    status: conv.refused ? 'refused' : messages.some((m) => m.role === 'operator') ? 'succeed' : 'lost',
    initiator: conv.initiator ?? (messages[0]?.role === 'operator' ? 'operator' : 'visitor'),
    messages: messages.map((m) => ({
      date_time: at(m.at),
      source: m.role,
      message: m.text.slice(0, MAX_TEXT),
      ...(m.role === 'operator' && settings.employeeId ? { employee_id: settings.employeeId } : {}),
    })),
  };
  Object.assign(item, who, anchor);
  return { kind: 'chat', item, attribution, fallback };
}

/**
 * Whether UIS refused an item for its visitor session (Data API `data.field` names the item's
 * parameter, e.g. `chats.3.visitor_session_id`): the session is unknown, more than 180 days
 * older than the conversation, or later than it (`invalid_date_time` on the date while a session
 * is the anchor). Such an item can still go with the fallback attribution.
 */
export function refusedForSession(field: string | undefined, mnemonic: string, item: { visitor_session_id?: number }): boolean {
  if (!field || item.visitor_session_id === undefined) return false;
  if (/\.visitor_session_id$/.test(field)) return true;
  return mnemonic === 'invalid_date_time' && /^(chats|offline_messages)\.\d+\.(start_date_time|date_time)$/.test(field);
}
