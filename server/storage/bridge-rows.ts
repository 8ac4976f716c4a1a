import { externalChatId } from '../domain/bridge-ids';
import type { BridgeChat, BridgeJob, JobKind, LineBinding, MessageLink } from '../services/bridge/ports';

/**
 * Rows of the Open Lines bridge's tables (migrations 006, 007, 012, 015, 017) mapped to the port's
 * objects: shared by the SQLite repository (./bridge-repository.ts) and the PostgreSQL
 * store (./pg/bridge-store.ts), whose rows have the same columns and value types.
 */
export type BridgeRow = Record<string, unknown>;

export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const toBinding = (r: BridgeRow): LineBinding => ({
  memberId: String(r.member_id),
  lineId: String(r.line_id),
  channelId: String(r.channel_id),
  status: r.status === 'off' ? 'off' : 'active',
  chatsRulesOff: Number(r.chats_rules_off) === 1,
  lastError: str(r.last_error),
  updatedAt: String(r.updated_at),
});

export const toChat = (r: BridgeRow): BridgeChat => ({
  memberId: String(r.member_id),
  uisChatId: String(r.uis_chat_id),
  channelId: String(r.channel_id),
  visitorId: str(r.visitor_id),
  initiator: str(r.initiator),
  operatorId: str(r.operator_id),
  lineId: str(r.line_id),
  b24ChatId: str(r.b24_chat_id),
  b24SessionId: str(r.b24_session_id),
  b24SessionClosed: Number(r.b24_session_closed) === 1,
  status: r.status === 'closed' ? 'closed' : 'open',
  extChatId: str(r.ext_chat_id) ?? externalChatId(String(r.uis_chat_id)),
  successorUisChatId: str(r.successor_uis_chat_id),
});

export const toLink = (r: BridgeRow): MessageLink => ({
  origin: r.origin === 'b24' ? 'b24' : 'uis',
  key: String(r.key),
  uisChatId: str(r.uis_chat_id),
  uisMessageId: str(r.uis_message_id),
  b24ChatId: str(r.b24_chat_id),
  b24MessageId: str(r.b24_message_id),
  b24UserId: str(r.b24_user_id),
  b24SessionId: str(r.b24_session_id),
  state: r.state as MessageLink['state'],
  error: str(r.error),
});

export const toJob = (r: BridgeRow): BridgeJob => ({
  id: Number(r.id),
  memberId: String(r.member_id),
  kind: r.kind as JobKind,
  chatKey: String(r.chat_key),
  idemKey: String(r.idem_key),
  payload: JSON.parse(String(r.payload)) as Record<string, unknown>,
  status: r.status as BridgeJob['status'],
  attempts: Number(r.attempts),
  dueAt: Number(r.due_at),
  enqueuedAt: Number(r.enqueued_at),
  lastError: str(r.last_error),
  inflight: Number(r.inflight) === 1,
});

/** `{ "<a>:<b>": n }` from rows `{ k, n }` (countLinks, countJobs). */
export const keyCounts = (rows: Array<{ k: unknown; n: unknown }>): Record<string, number> => Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));

/** The columns updateLink may set, by the patch's field. */
export const LINK_PATCH_COLUMNS = {
  uisMessageId: 'uis_message_id',
  b24ChatId: 'b24_chat_id',
  b24MessageId: 'b24_message_id',
  b24SessionId: 'b24_session_id',
  state: 'state',
  error: 'error',
} as const;

/** Echoes older than this are dropped when a new one is expected. */
export const ECHO_TTL_MS = 24 * 3600_000;

/** The recovery target's start: bindings made before migration 017 count from their last change (the best there is). */
export const boundAtOf = (boundAt: unknown, updatedAt: unknown): number => (boundAt === null || boundAt === undefined ? Date.parse(String(updatedAt)) : Number(boundAt));
