/**
 * `upload.chats` (Data API "Загрузка чатов"): ≤ 50 chats per call; needs the components "Data API"
 * and "Загрузка офлайн-заявок из внешней системы"; per chat: `start_date_time` (not in the future,
 * after the session start), `status` lost/succeed/refused, optional `initiator` (default: the
 * first message's source), one or more CONSISTENT anchors among visitor_session_id / campaign_id /
 * site_id (`campaign_id = -1` refused), phone (E.164) or email, `messages[]` with `source`,
 * `message`, optional `date_time` (not in the future, not before the chat; default: now),
 * `employee_id` required for operator messages (the chat goes to the last operator), optional
 * `source_id` (an existing, not removed source) and `ext_id`. The session may be at most 180 days
 * older than the chat. A visitor-initiated chat without visitor/operator messages is stored `lost`.
 *
 * `upload` semantics (Data API §"Глаголы"): the first call creates, later calls with the same
 * `ext_id` update the same chat (same id) — no duplicates.
 *
 * Chosen (docs silent): the whole call is validated before anything is stored and the first
 * error refuses the call; E.164 is checked syntactically (8–15 digits, optional '+', no spaces or
 * brackets); ext_id must be a string; extra fields are `unexpected_parameters`.
 */
import type { AccountImpl } from '../account';
import { dataApiDateTime, parseDataApiDateTime } from '../time';
import type { UploadedChat } from '../types';
import { rpc } from './errors';

type Row = Record<string, unknown>;

const CHAT_KEYS = ['start_date_time', 'name', 'phone', 'email', 'status', 'initiator', 'visitor_session_id', 'campaign_id', 'source_id', 'site_id', 'messages', 'ext_id'];
const MESSAGE_KEYS = ['date_time', 'source', 'employee_id', 'message'];
const E164 = /^\+?[1-9]\d{7,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_SESSION_AGE_MS = 180 * 86_400_000;
export const MAX_CHATS_PER_CALL = 50;

const isRecord = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

function optInt(c: Row, key: string, field: string): number | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw rpc.dataType(field, v);
  return v;
}

function optStr(c: Row, key: string, field: string): string | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw rpc.dataType(field, v);
  return v;
}

function validateChat(account: AccountImpl, raw: unknown, i: number, now: number): Omit<UploadedChat, 'id' | 'uploads' | 'uploadedAt' | 'updatedAt'> {
  const p = `chats.${i}`;
  if (!isRecord(raw)) throw rpc.dataType(p, raw);
  for (const k of Object.keys(raw)) if (!CHAT_KEYS.includes(k)) throw rpc.unexpected(`${p}.${k}`);

  // start_date_time
  const sdt = raw.start_date_time;
  if (sdt === undefined || sdt === null) throw rpc.required(`${p}.start_date_time`);
  const startedAt = parseDataApiDateTime(sdt, account.utcOffsetMin);
  if (startedAt === null) throw rpc.invalidValue(`${p}.start_date_time`, sdt);
  if (startedAt > now) throw rpc.invalidDateTime(`${p}.start_date_time`, sdt);

  // status / initiator
  const status = raw.status;
  if (status === undefined || status === null) throw rpc.required(`${p}.status`);
  if (status !== 'lost' && status !== 'succeed' && status !== 'refused') throw rpc.invalidValue(`${p}.status`, status);
  const initiatorRaw = raw.initiator;
  if (initiatorRaw !== undefined && initiatorRaw !== null && initiatorRaw !== 'operator' && initiatorRaw !== 'visitor' && initiatorRaw !== 'autoinvite') {
    throw rpc.invalidValue(`${p}.initiator`, initiatorRaw);
  }

  // contact
  const name = optStr(raw, 'name', `${p}.name`);
  const phone = optStr(raw, 'phone', `${p}.phone`);
  const email = optStr(raw, 'email', `${p}.email`);
  if (!phone && !email) throw rpc.required(`${p}.phone`);
  if (phone && !E164.test(phone)) throw rpc.invalidValue(`${p}.phone`, phone);
  if (email && !EMAIL.test(email)) throw rpc.invalidValue(`${p}.email`, email);

  // attribution anchors
  const sessionId = optInt(raw, 'visitor_session_id', `${p}.visitor_session_id`);
  const campaignId = optInt(raw, 'campaign_id', `${p}.campaign_id`);
  const siteId = optInt(raw, 'site_id', `${p}.site_id`);
  if (sessionId === null && campaignId === null && siteId === null) throw rpc.required(`${p}.visitor_session_id`);
  if (campaignId === -1) throw rpc.invalidValue(`${p}.campaign_id`, -1);
  const session = sessionId === null ? null : account.sessions.find((s) => s.id === sessionId);
  if (sessionId !== null && !session) throw rpc.notFound(`${p}.visitor_session_id`, sessionId);
  const campaign = campaignId === null ? null : account.campaigns.find((c) => c.id === campaignId);
  if (campaignId !== null && !campaign) throw rpc.notFound(`${p}.campaign_id`, campaignId);
  const site = siteId === null ? null : account.sites.find((s) => s.id === siteId);
  if (siteId !== null && !site) throw rpc.notFound(`${p}.site_id`, siteId);
  if (session && site && session.siteId !== site.id) throw rpc.combination(`${p}.site_id`, siteId);
  if (session && campaign && session.campaignId !== campaign.id) throw rpc.combination(`${p}.campaign_id`, campaignId);
  if (campaign && site && campaign.site_id !== site.id) throw rpc.combination(`${p}.campaign_id`, campaignId);
  if (session) {
    if (startedAt < session.startedAt) throw rpc.invalidDateTime(`${p}.start_date_time`, sdt);
    if (startedAt - session.startedAt > MAX_SESSION_AGE_MS) throw rpc.invalidValue(`${p}.visitor_session_id`, sessionId, { max_session_age_days: 180 });
  }

  // source
  const sourceId = optInt(raw, 'source_id', `${p}.source_id`);
  if (sourceId !== null) {
    const src = account.sources.find((s) => s.id === sourceId);
    if (!src || src.state === 'removed') throw rpc.notFound(`${p}.source_id`, sourceId);
  }

  // messages
  const msgs = raw.messages;
  if (msgs === undefined || msgs === null) throw rpc.required(`${p}.messages`);
  if (!Array.isArray(msgs)) throw rpc.dataType(`${p}.messages`, msgs);
  const messages: UploadedChat['messages'] = msgs.map((m, j) => {
    const q = `${p}.messages.${j}`;
    if (!isRecord(m)) throw rpc.dataType(q, m);
    for (const k of Object.keys(m)) if (!MESSAGE_KEYS.includes(k)) throw rpc.unexpected(`${q}.${k}`);
    const source = m.source;
    if (source === undefined || source === null) throw rpc.required(`${q}.source`);
    if (source !== 'operator' && source !== 'visitor' && source !== 'system') throw rpc.invalidValue(`${q}.source`, source);
    if (m.message === undefined || m.message === null) throw rpc.required(`${q}.message`);
    if (typeof m.message !== 'string') throw rpc.dataType(`${q}.message`, m.message);
    let at = now;
    if (m.date_time !== undefined && m.date_time !== null) {
      const t = parseDataApiDateTime(m.date_time, account.utcOffsetMin);
      if (t === null) throw rpc.invalidValue(`${q}.date_time`, m.date_time);
      if (t > now || t < startedAt) throw rpc.invalidDateTime(`${q}.date_time`, m.date_time);
      at = t;
    }
    const employeeId = optInt(m, 'employee_id', `${q}.employee_id`);
    if (source === 'operator') {
      if (employeeId === null) throw rpc.required(`${q}.employee_id`);
      if (!account.employee(employeeId)) throw rpc.notFound(`${q}.employee_id`, employeeId);
    }
    return { date_time: typeof m.date_time === 'string' ? m.date_time : dataApiDateTime(at, account.utcOffsetMin), source, employee_id: employeeId, message: m.message };
  });

  const extId = optStr(raw, 'ext_id', `${p}.ext_id`);
  const first = messages[0];
  const initiator = (initiatorRaw as UploadedChat['initiator'] | undefined) ?? (first ? (first.source === 'system' ? 'autoinvite' : first.source) : 'visitor');
  const twoWay = messages.some((m) => m.source === 'visitor' || m.source === 'operator');
  const finalStatus = initiator === 'visitor' && !twoWay ? 'lost' : status;
  const lastOperator = [...messages].reverse().find((m) => m.source === 'operator');
  return {
    ext_id: extId,
    start_date_time: sdt as string,
    startedAt,
    name,
    phone,
    email,
    status: finalStatus,
    initiator,
    visitor_session_id: sessionId,
    campaign_id: campaignId ?? session?.campaignId ?? null,
    site_id: siteId ?? session?.siteId ?? campaign?.site_id ?? null,
    source_id: sourceId,
    employee_id: lastOperator?.employee_id ?? null,
    messages,
    chat_channel_type: 'dataapi',
  };
}

export function uploadChats(account: AccountImpl, params: Row): Row[] {
  if (!account.components.dataApi || !account.components.offlineUpload) throw rpc.componentDisabled(['Data API', 'Загрузка офлайн-заявок из внешней системы']);
  const chats = params.chats;
  if (chats === undefined || chats === null) throw rpc.required('chats');
  if (!Array.isArray(chats)) throw rpc.dataType('chats', chats);
  if (chats.length === 0) throw rpc.invalidValue('chats', chats);
  if (chats.length > MAX_CHATS_PER_CALL) throw rpc.invalidValue('chats', undefined, { max_items: MAX_CHATS_PER_CALL, items: chats.length });
  const now = account.world.clock.now();
  const prepared = chats.map((c, i) => validateChat(account, c, i, now));
  return prepared.map((chat) => {
    const existing = chat.ext_id !== null ? account.uploaded.find((u) => u.ext_id === chat.ext_id) : undefined;
    if (existing) {
      Object.assign(existing, chat, { uploads: existing.uploads + 1, updatedAt: now });
      return { id: existing.id };
    }
    const row: UploadedChat = { ...chat, id: account.world.ids.take('uploaded'), uploads: 1, uploadedAt: now, updatedAt: now };
    account.uploaded.push(row);
    return { id: row.id };
  });
}
