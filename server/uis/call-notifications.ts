import { z } from 'zod';
import { CALL_EVENT_TYPES, type CallEventType, type CallNotification } from '../domain/telephony/events';
import { jsonDepth, MAX_JSON_DEPTH } from './callback-schemas';

/**
 * UIS HTTP notifications («Уведомления о событиях», docs/facts/telephony.md#notifications) as they reach us: per event
 * type an HTTP method, our URL and a body template the admin typed with `{{variable}}`
 * placeholders. The platform renders values into JSON bodies as JSON (numbers bare, strings quoted,
 * `null`), into query strings and form bodies as text (`null` as `None`, the platform is Python).
 * Nothing is guaranteed: every field is optional, any of them may be null, a number may come as a
 * string and an array as its JSON text or a comma list. A value that is there but cannot be what
 * its variable is (a session id that is not a number) makes the notification malformed (400).
 */

const NULLISH = new Set(['', 'none', 'null', 'undefined', 'nil']);
const isNullish = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && NULLISH.has(v.trim().toLowerCase()));

const int = z.preprocess(
  (v) => (isNullish(v) ? null : typeof v === 'string' && /^\s*-?\d{1,18}\s*$/.test(v) ? Number(v) : v),
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
);
const num = z.preprocess((v) => (isNullish(v) ? null : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), z.number().min(0).max(1e13).nullable());
const text = (max: number) =>
  z.preprocess((v) => (isNullish(v) ? null : typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v === 'string' ? v.trim() : v), z.string().max(max).nullable());
/** `[1, 2]` as JSON, as its JSON text, or `1,2`. */
const intList = z.preprocess((v) => {
  if (isNullish(v)) return [];
  if (typeof v === 'number') return [v];
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return v;
      }
    }
    return s.split(/[\s,;]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  }
  return v;
}, z.array(z.preprocess((x) => (typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))).max(200));

/** The variables we read (docs/facts/telephony.md#notifications table); anything else a template sends is ignored. */
export const callNotificationSchema = z.object({
  notification_mnemonic: text(64),
  notification_time: text(64),
  notification_timestamp: num,
  call_session_id: int,
  communication_id: int,
  external_id: text(128),
  direction: text(16),
  call_source: text(64),
  virtual_phone_number: text(32),
  contact_phone_number: text(64),
  contact_full_name: text(255),
  scenario_id: int,
  scenario_name: text(255),
  start_time: text(64),
  employee_id: int,
  employee_full_name: text(255),
  extension_phone_number: text(32),
  leg_id: int,
  leg_ids: intList,
  employee_ids: intList,
  talk_time_duration: num,
  total_time_duration: num,
  wait_time_duration: num,
  call_status: text(32),
  file_link: text(2048).refine((v) => v === null || /^https?:\/\//i.test(v), 'must be an http(s) link'),
  file_duration: num,
});

export type CallNotificationParse =
  | { ok: true; notification: CallNotification }
  | { ok: false; status: 400 | 404 | 413 | 415; code: string; message: string };

const bad = (status: 400 | 404 | 413 | 415, code: string, message: string): CallNotificationParse => ({ ok: false, status, code, message });

export function isCallEventType(v: string): v is CallEventType {
  return (CALL_EVENT_TYPES as readonly string[]).includes(v);
}

/**
 * One notification: the event type from our URL (`/uis/calls/<token>/<event>`), else from a
 * `notification_mnemonic` we know; the variables from the query string and the body (JSON, or
 * form-encoded), the body winning. A JSON body must be an object; nesting is bounded.
 */
export function parseCallNotification(o: { pathEvent: string | null; query: URLSearchParams; contentType: string; body: Buffer; receivedAt: number }): CallNotificationParse {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of o.query) fields[k] = v;
  const raw = o.body.toString('utf8');
  const type = o.contentType.toLowerCase();
  if (raw.trim() !== '') {
    const looksJson = /\bjson\b/.test(type) || (!/form-urlencoded/.test(type) && /^\s*[{[]/.test(raw));
    if (looksJson) {
      if (jsonDepth(raw) > MAX_JSON_DEPTH) return bad(400, 'MALFORMED_NOTIFICATION', `The body nests deeper than ${MAX_JSON_DEPTH} levels`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return bad(400, 'MALFORMED_NOTIFICATION', 'The body is not valid JSON: check the template (placeholders of numbers go unquoted, text ones in quotes or unquoted — not both)');
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return bad(400, 'MALFORMED_NOTIFICATION', 'The JSON body must be an object of variables');
      Object.assign(fields, parsed);
    } else if (/form-urlencoded|text\/plain/.test(type) || type === '') {
      for (const [k, v] of new URLSearchParams(raw)) fields[k] = v;
    } else {
      return bad(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type.slice(0, 60)} is not accepted: send JSON or form fields`);
    }
  }
  const parsed = callNotificationSchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return bad(400, 'MALFORMED_NOTIFICATION', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const v = parsed.data;
  let event: CallEventType | null = null;
  if (o.pathEvent !== null) {
    if (!isCallEventType(o.pathEvent)) return bad(404, 'UNKNOWN_EVENT', `Unknown event type «${o.pathEvent.slice(0, 40)}»: use the URLs shown on the «Телефония» tab`);
    event = o.pathEvent;
  } else if (v.notification_mnemonic && isCallEventType(v.notification_mnemonic)) {
    event = v.notification_mnemonic;
  }
  if (!event) return bad(400, 'UNKNOWN_EVENT', 'The event type is missing: end the URL with the event type, as the «Телефония» tab shows');
  const direction = v.direction === 'in' || v.direction === 'out' ? v.direction : null;
  return {
    ok: true,
    notification: {
      event,
      receivedAt: o.receivedAt,
      sessionId: v.call_session_id,
      communicationId: v.communication_id,
      externalId: v.external_id,
      direction,
      virtualNumber: v.virtual_phone_number,
      contactPhone: v.contact_phone_number,
      contactName: v.contact_full_name,
      scenarioId: v.scenario_id,
      scenarioName: v.scenario_name,
      startTime: v.start_time,
      timestamp: v.notification_timestamp,
      employeeId: v.employee_id,
      employeeName: v.employee_full_name,
      extension: v.extension_phone_number,
      legId: v.leg_id,
      legIds: v.leg_ids,
      employeeIds: v.employee_ids,
      talkSeconds: v.talk_time_duration,
      totalSeconds: v.total_time_duration,
      waitSeconds: v.wait_time_duration,
      callStatus: v.call_status,
      fileLink: v.file_link,
      fileDuration: v.file_duration,
    },
  };
}
