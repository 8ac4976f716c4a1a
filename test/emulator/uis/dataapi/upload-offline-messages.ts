/**
 * `upload.offline_messages` (Data API «Загрузка офлайн заявок»,
 * data_api/communication/upload_offline_messages): ≤ 50 requests per call; needs the components
 * "Data API" and "Загрузка офлайн-заявок из внешней системы". Per request:
 * - one or more CONSISTENT anchors among `visitor_session_id` / `campaign_id` / `site_id`;
 *   `campaign_id = -1` only together with `site_id` (the site's visitors without a campaign);
 * - `phone` (E.164) or `email`;
 * - `date_time` `YYYY-MM-DD hh:mm:ss` in the account zone: not in the future, later than the
 *   session's start; absent → the time of the call;
 * - optional `name`, `message`, `form_name`, `ext_id` (string), `source_id` (an existing, not
 *   removed source; derived from the session when one is given), `user_fields[] {ext_id, value}`
 *   (each `ext_id` a field made first with `create.offline_message_user_field`).
 *
 * Chosen where the page is silent (harsher, as upload.chats): the whole call is validated before
 * anything is stored and the first error refuses it, `data.field` naming the item
 * (`offline_messages.3.phone`); the session may be at most 180 days older than the request (the
 * rule upload.chats states); unknown keys are `unexpected_parameters`; the same `ext_id` updates
 * the request it created (verb `upload`). Uploaded requests are kept apart from the site's own
 * (`account.uploadedOffline`), not listed by get.offline_messages_report.
 */
import type { AccountImpl } from '../account';
import { dataApiDateTime, parseDataApiDateTime } from '../time';
import type { UploadedOfflineMessage } from '../types';
import { rpc } from './errors';

type Row = Record<string, unknown>;

const KEYS = ['date_time', 'name', 'phone', 'email', 'message', 'visitor_session_id', 'campaign_id', 'source_id', 'site_id', 'form_name', 'ext_id', 'user_fields'];
const E164 = /^\+?[1-9]\d{7,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_SESSION_AGE_MS = 180 * 86_400_000;
export const MAX_OFFLINE_PER_CALL = 50;

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

type Prepared = Omit<UploadedOfflineMessage, 'id' | 'uploads' | 'uploadedAt' | 'updatedAt'>;

function anchors(account: AccountImpl, raw: Row, p: string) {
  const sessionId = optInt(raw, 'visitor_session_id', `${p}.visitor_session_id`);
  const campaignId = optInt(raw, 'campaign_id', `${p}.campaign_id`);
  const siteId = optInt(raw, 'site_id', `${p}.site_id`);
  if (sessionId === null && campaignId === null && siteId === null) throw rpc.required(`${p}.visitor_session_id`);
  if (campaignId === -1 && siteId === null) throw rpc.required(`${p}.site_id`);
  const session = sessionId === null ? null : account.sessions.find((s) => s.id === sessionId);
  if (sessionId !== null && !session) throw rpc.notFound(`${p}.visitor_session_id`, sessionId);
  const campaign = campaignId === null || campaignId === -1 ? null : account.campaigns.find((c) => c.id === campaignId);
  if (campaignId !== null && campaignId !== -1 && !campaign) throw rpc.notFound(`${p}.campaign_id`, campaignId);
  const site = siteId === null ? null : account.sites.find((s) => s.id === siteId);
  if (siteId !== null && !site) throw rpc.notFound(`${p}.site_id`, siteId);
  if (session && site && session.siteId !== site.id) throw rpc.combination(`${p}.site_id`, siteId);
  if (session && campaign && session.campaignId !== campaign.id) throw rpc.combination(`${p}.campaign_id`, campaignId);
  if (session && campaignId === -1) throw rpc.combination(`${p}.campaign_id`, campaignId);
  if (campaign && site && campaign.site_id !== site.id) throw rpc.combination(`${p}.campaign_id`, campaignId);
  return { sessionId, session, campaignId, campaign, siteId, site };
}

function validate(account: AccountImpl, raw: unknown, i: number, now: number): Prepared {
  const p = `offline_messages.${i}`;
  if (!isRecord(raw)) throw rpc.dataType(p, raw);
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) throw rpc.unexpected(`${p}.${k}`);

  let at = now;
  if (raw.date_time !== undefined && raw.date_time !== null) {
    const t = parseDataApiDateTime(raw.date_time, account.utcOffsetMin);
    if (t === null) throw rpc.invalidValue(`${p}.date_time`, raw.date_time);
    if (t > now) throw rpc.invalidDateTime(`${p}.date_time`, raw.date_time);
    at = t;
  }

  const name = optStr(raw, 'name', `${p}.name`);
  const phone = optStr(raw, 'phone', `${p}.phone`);
  const email = optStr(raw, 'email', `${p}.email`);
  if (!phone && !email) throw rpc.required(`${p}.phone`);
  if (phone && !E164.test(phone)) throw rpc.invalidValue(`${p}.phone`, phone);
  if (email && !EMAIL.test(email)) throw rpc.invalidValue(`${p}.email`, email);

  const a = anchors(account, raw, p);
  if (a.session) {
    if (at < a.session.startedAt) throw rpc.invalidDateTime(`${p}.date_time`, raw.date_time ?? dataApiDateTime(at, account.utcOffsetMin));
    if (at - a.session.startedAt > MAX_SESSION_AGE_MS) throw rpc.invalidValue(`${p}.visitor_session_id`, a.sessionId, { max_session_age_days: 180 });
  }

  const sourceId = optInt(raw, 'source_id', `${p}.source_id`);
  if (sourceId !== null) {
    const src = account.sources.find((s) => s.id === sourceId);
    if (!src || src.state === 'removed') throw rpc.notFound(`${p}.source_id`, sourceId);
  }

  const userFields = raw.user_fields;
  if (userFields !== undefined && userFields !== null) {
    if (!Array.isArray(userFields)) throw rpc.dataType(`${p}.user_fields`, userFields);
    userFields.forEach((f, j) => {
      const q = `${p}.user_fields.${j}`;
      if (!isRecord(f)) throw rpc.dataType(q, f);
      const extId = optStr(f, 'ext_id', `${q}.ext_id`);
      if (extId === null) throw rpc.required(`${q}.ext_id`);
      optStr(f, 'value', `${q}.value`);
      // no create.offline_message_user_field in the emulator: every field is unknown
      throw rpc.notFound(`${q}.ext_id`, extId);
    });
  }

  const site = a.site ?? (a.session ? account.sites.find((s) => s.id === a.session!.siteId) : null) ?? (a.campaign ? account.sites.find((s) => s.id === a.campaign!.site_id) : null);
  return {
    ext_id: optStr(raw, 'ext_id', `${p}.ext_id`),
    date_time: dataApiDateTime(at, account.utcOffsetMin),
    at,
    name,
    phone,
    email,
    message: optStr(raw, 'message', `${p}.message`),
    form_name: optStr(raw, 'form_name', `${p}.form_name`),
    visitor_session_id: a.sessionId,
    campaign_id: a.campaignId === -1 ? null : (a.campaignId ?? a.session?.campaignId ?? null),
    site_id: site?.id ?? null,
    source_id: a.session ? null : sourceId,
  };
}

export function uploadOfflineMessages(account: AccountImpl, params: Row): Row[] {
  if (!account.components.dataApi || !account.components.offlineUpload) throw rpc.componentDisabled(['Data API', 'Загрузка офлайн-заявок из внешней системы']);
  const items = params.offline_messages;
  if (items === undefined || items === null) throw rpc.required('offline_messages');
  if (!Array.isArray(items)) throw rpc.dataType('offline_messages', items);
  if (items.length === 0) throw rpc.invalidValue('offline_messages', items);
  if (items.length > MAX_OFFLINE_PER_CALL) throw rpc.invalidValue('offline_messages', undefined, { max_items: MAX_OFFLINE_PER_CALL, items: items.length });
  const now = account.world.clock.now();
  const prepared = items.map((m, i) => validate(account, m, i, now));
  return prepared.map((m) => {
    const existing = m.ext_id !== null ? account.uploadedOffline.find((u) => u.ext_id === m.ext_id) : undefined;
    if (existing) {
      Object.assign(existing, m, { uploads: existing.uploads + 1, updatedAt: now });
      return { id: existing.id };
    }
    const row: UploadedOfflineMessage = { ...m, id: account.world.ids.take('offline'), uploads: 1, uploadedAt: now, updatedAt: now };
    account.uploadedOffline.push(row);
    return { id: row.id };
  });
}
