import { createHash } from 'node:crypto';
import { defaultTelephonySettings, telephonySettingsSchema, type TelephonySettings } from '../contracts/telephony-settings';
import type { CallReport } from '../domain/telephony/events';
import type { TelephonyCall } from '../services/telephony/ports';
import type { TelephonyStart } from '../services/telephony/start-ports';

/**
 * Rows of «Телефония» (migrations 018 and 023) as both stores read them — the SQLite repositories
 * (telephony-repository.ts, telephony-starts-repository.ts) and the PostgreSQL ones
 * (pg/telephony-store.ts, pg/telephony-starts-store.ts) — mapped to the ports' shapes by the same
 * pure functions, so the two cannot drift apart.
 */

export interface CallRow {
  member_id: string;
  session_id: number;
  status: string;
  due_at: number;
  version: number;
  attempts: number;
  started_at: number | null;
  phone: string | null;
  report: string | null;
  state: string | null;
  outcome: string | null;
  reason: string | null;
}

export const toCall = (r: CallRow): TelephonyCall => ({
  memberId: r.member_id,
  sessionId: Number(r.session_id),
  status: r.status as TelephonyCall['status'],
  dueAt: Number(r.due_at),
  version: r.version,
  attempts: r.attempts,
  startedAt: r.started_at === null ? null : Number(r.started_at),
  phone: r.phone,
  report: r.report ? (JSON.parse(r.report) as CallReport) : null,
  state: r.state ? (JSON.parse(r.state) as TelephonyCall['state']) : null,
  outcome: r.outcome,
  reason: r.reason,
});

export interface StartRow {
  member_id: string;
  correlation_id: string;
  kind: string;
  call_id: string | null;
  user_id: number | null;
  phone: string;
  session_id: number | null;
  status: string;
  error_code: string | null;
  error: string | null;
  created_at: number;
}

export const toStart = (r: StartRow): TelephonyStart => ({
  memberId: r.member_id,
  correlationId: r.correlation_id,
  kind: r.kind as TelephonyStart['kind'],
  callId: r.call_id,
  userId: r.user_id,
  phone: r.phone,
  sessionId: r.session_id === null ? null : Number(r.session_id),
  status: r.status as TelephonyStart['status'],
  errorCode: r.error_code,
  error: r.error,
  createdAt: Number(r.created_at),
});

/** The stored settings JSON: a shape no version of today's schema reads gives the defaults, switched off, until an admin saves again. */
export function readSettings(json: string): TelephonySettings {
  const parsed = telephonySettingsSchema.safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : defaultTelephonySettings();
}

/** The notification URL's secret is found by this hash, and sealed bound to its portal. */
export const hookTokenHash = (token: string) => createHash('sha256').update(token).digest('hex');
export const hookTokenContext = (memberId: string) => `telephony-hook:${memberId}`;

/** The client's number as digits (null when none). */
export const phoneDigitsOrNull = (s: string | null) => (s ? s.replace(/\D+/g, '') || null : null);

/** IN (?, ?, …) over a list in chunks (SQLite and PostgreSQL both take a few hundred parameters). */
export function inChunks<T>(ids: readonly T[], size = 400): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}
