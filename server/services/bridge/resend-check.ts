import { z } from 'zod';
import { CONNECTOR_ID } from '../../../install/plan';
import { BitrixApiError, BitrixNetworkError } from '../../bitrix/errors';
import type { PortalRestClient } from '../../bitrix/rest-client';
import type { AsyncPort } from '../async-port';
import type { BridgeRepository } from './ports';

/**
 * imconnector.send.messages does not deduplicate by `message.id`: sending an item again shows it
 * twice. So an inbound job is marked in flight before its call, and when the outcome of that call
 * is unknown (answer lost: 5xx or timeout after the portal ran it; our process killed before the
 * job was marked done) the open line is read before anything is sent again.
 *
 * Real contract (docs/facts/bitrix24.md#imconnector-send, docs/facts/bitrix24.md#openlines-chats; imopenlines/lib/connector.php, rest.php, operator.php):
 * - every message a connector delivers keeps its `message.id` as the CONNECTOR_MID message param;
 * - `imopenlines.session.history.get` with `CHAT_ID` reads the chat's latest session (highest
 *   session ID) and answers every message of it — no paging — with params object-encoded
 *   (`params.connectorMid: ["<id>"]`); the caller needs to be the session's operator or have the
 *   history-view permission (the installing admin has it); a chat without a session →
 *   400 INVALID_SESSION_ID;
 * - `imopenlines.dialog.get` with `USER_CODE` = `<connector>|<line>|<external chat id>|<internal
 *   user id>` finds the chat without knowing its id; no such chat → 400 ACCESS_ERROR.
 *
 * The messages of an unknown-outcome call all went into the chat's latest session (one call goes
 * into the open session or starts one, and later messages of the chat wait behind it), so reading
 * that session is enough. A brand-new visitor whose very first message's answer was lost cannot be
 * checked first — Bitrix24 created an internal user we cannot look up (user.get hides imconnector
 * users, REAL_USER filter), so no USER_CODE can be built: that message is sent again, and once the
 * resend's answer names the chat, a second copy is removed with `imconnector.delete.messages`
 * (dropDuplicates) — the operator may see it for a moment, as a deleted message afterwards.
 */

/** false when the call certainly did not run on the portal (refused before execution). */
export function outcomeUnknown(e: unknown): boolean {
  if (e instanceof BitrixNetworkError) return true;
  if (e instanceof BitrixApiError) {
    if (['QUERY_LIMIT_EXCEEDED', 'OVERLOAD_LIMIT', 'OPERATION_TIME_LIMIT'].includes(e.code)) return false;
    return e.httpStatus >= 500;
  }
  const code = (e as { code?: unknown }).code;
  if (code === 'REAUTH_REQUIRED') return false;
  return true; // anything else (an aborted fetch, a bug after the request left): assume it may have run
}

const historySchema = z.object({
  chatId: z.coerce.number().optional(),
  sessionId: z.coerce.number().optional(),
  // a PHP array: an object keyed by message id, `[]` when empty
  message: z.union([z.record(z.string(), z.object({ params: z.unknown().optional() }).passthrough()), z.array(z.unknown())]).optional(),
});

const dialogSchema = z.object({
  id: z.coerce.number(),
  entity_id: z.string().optional(),
  entity_data_1: z.string().optional(),
});

function connectorMids(params: unknown): string[] {
  const p = params && typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
  const mid = p.connectorMid ?? p.CONNECTOR_MID;
  return (Array.isArray(mid) ? mid : mid === undefined || mid === null ? [] : [mid]).map(String);
}

/**
 * After an unchecked resend: the copies of `mids` the chat's latest session holds beyond the first
 * are removed with `imconnector.delete.messages` (it finds a connector message by its `message.id`).
 * Returns how many were removed.
 */
export async function dropDuplicates(
  rest: PortalRestClient,
  o: { lineId: string; b24ChatId: string; externalUserId: string; externalChatId: string; mids: Iterable<string> },
): Promise<number> {
  const raw = (await rest.call('imopenlines.session.history.get', { CHAT_ID: Number(o.b24ChatId) })).result;
  const h = historySchema.parse(raw);
  const messages = h.message && !Array.isArray(h.message) ? Object.values(h.message) : [];
  const count = new Map<string, number>();
  for (const m of messages) {
    // a copy deleted already (IS_DELETED, object-encoded as isDeleted) is not counted again
    const p = m.params && typeof m.params === 'object' && !Array.isArray(m.params) ? (m.params as Record<string, unknown>) : {};
    if (p.isDeleted === 'Y' || p.IS_DELETED === 'Y') continue;
    for (const mid of connectorMids(m.params)) count.set(mid, (count.get(mid) ?? 0) + 1);
  }
  const extra: Array<Record<string, unknown>> = [];
  for (const mid of o.mids) {
    for (let i = 1; i < (count.get(mid) ?? 0); i++) extra.push({ user: { id: o.externalUserId }, chat: { id: o.externalChatId }, message: { id: [mid] } });
  }
  if (!extra.length) return 0;
  // not retried blindly: a lost answer is settled by reading the session again (deleted copies are skipped)
  await rest.call('imconnector.delete.messages', { CONNECTOR: CONNECTOR_ID, LINE: Number(o.lineId), MESSAGES: extra }, { idempotent: false });
  return extra.length;
}

/**
 * The `message.id`s (CONNECTOR_MID) an `imopenlines.session.history.get` answer holds — copies an
 * operator deleted count too (they were delivered) — and the session's id.
 */
export function midsOfHistory(raw: unknown): { sessionId: string | null; mids: Set<string> } {
  const h = historySchema.parse(raw);
  const mids = new Set<string>();
  const messages = h.message && !Array.isArray(h.message) ? Object.values(h.message) : [];
  for (const m of messages) for (const mid of connectorMids(m.params)) mids.add(mid);
  return { sessionId: h.sessionId ? String(h.sessionId) : null, mids };
}

/** The `message.id`s (CONNECTOR_MID) the chat's latest session holds, and that session's id. */
export async function heldInLatestSession(rest: PortalRestClient, b24ChatId: string): Promise<{ sessionId: string | null; mids: Set<string> }> {
  let raw: unknown;
  try {
    raw = (await rest.call('imopenlines.session.history.get', { CHAT_ID: Number(b24ChatId) })).result;
  } catch (e) {
    if (e instanceof BitrixApiError && e.code === 'INVALID_SESSION_ID') return { sessionId: null, mids: new Set() };
    throw e;
  }
  return midsOfHistory(raw);
}

/** The open-line chat of a UIS chat on a line, found by USER_CODE; null when Bitrix24 has none. */
export async function findLineChat(rest: PortalRestClient, lineId: string, extChatId: string, b24UserId: string): Promise<{ chatId: string; sessionId: string | null } | null> {
  let raw: unknown;
  try {
    raw = (await rest.call('imopenlines.dialog.get', { USER_CODE: `${CONNECTOR_ID}|${lineId}|${extChatId}|${b24UserId}` })).result;
  } catch (e) {
    if (e instanceof BitrixApiError && e.code === 'ACCESS_ERROR') return null;
    throw e;
  }
  const d = dialogSchema.parse(raw);
  const session = d.entity_data_1?.split('|')[5];
  return { chatId: String(d.id), sessionId: session && session !== '0' ? session : null };
}

export interface CheckedChat {
  /** jobs whose message the open line already holds (completed here) */
  held: number[];
  /** jobs to send again (their in-flight mark cleared) */
  missing: number;
  /** false: nothing could be read (brand-new visitor); the jobs are sent again unchecked */
  checked: boolean;
}

/**
 * Before sending again the in-flight jobs of one UIS chat: mark done those whose message the
 * open line holds, clear the mark of the others. Throws when the portal cannot be read (the caller
 * retries later, the marks stay).
 */
export async function checkInFlight(
  deps: { bridge: AsyncPort<BridgeRepository>; rest: PortalRestClient },
  memberId: string,
  uisChatId: string,
  lineId: string,
  jobs: Array<{ id: number; messageId: string }>,
): Promise<CheckedChat> {
  const repo = deps.bridge;
  const chat = await repo.chat(memberId, uisChatId);
  let b24ChatId = chat?.b24ChatId && chat.lineId === lineId ? chat.b24ChatId : null;
  if (!b24ChatId && chat?.visitorId) {
    const b24UserId = (await repo.visitor(memberId, chat.visitorId))?.b24UserId;
    if (!b24UserId) {
      await repo.setInflight(jobs.map((j) => j.id), false);
      return { held: [], missing: jobs.length, checked: false };
    }
    const found = await findLineChat(deps.rest, lineId, chat.extChatId, b24UserId);
    if (!found) {
      await repo.setInflight(jobs.map((j) => j.id), false);
      return { held: [], missing: jobs.length, checked: true };
    }
    b24ChatId = found.chatId;
  }
  if (!b24ChatId || !chat) {
    await repo.setInflight(jobs.map((j) => j.id), false);
    return { held: [], missing: jobs.length, checked: false };
  }
  const { sessionId, mids } = await heldInLatestSession(deps.rest, b24ChatId);
  const held: number[] = [];
  for (const j of jobs) {
    if (!mids.has(j.messageId)) continue;
    held.push(j.id);
    await repo.updateLink(memberId, 'uis', j.messageId, { state: 'relayed', b24ChatId, b24SessionId: sessionId, error: null });
    await repo.complete(j.id);
  }
  if (held.length) {
    // as a successful answer would have told us; a session we did not know was started by that call (open then)
    const fresh = !!sessionId && sessionId !== chat.b24SessionId;
    await repo.upsertChat({ memberId, uisChatId, channelId: chat.channelId, lineId, b24ChatId, b24SessionId: sessionId ?? undefined, b24SessionClosed: fresh ? false : undefined });
  }
  const missing = jobs.filter((j) => !mids.has(j.messageId));
  await repo.setInflight(missing.map((j) => j.id), false);
  return { held, missing: missing.length, checked: true };
}
