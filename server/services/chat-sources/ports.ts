import type { AmoTokenStore } from '../../amocrm/client';
import type { AmoTokens } from '../../amocrm/oauth';
import type { ChatSource } from '../../contracts/chat-sources';
import type { ItemDecision, ItemState, ItemStatus } from '../../domain/chat-sources/items';

/**
 * Ports of «Источники чатов» (issue #15). All asynchronous: storage is moving to async ports over
 * Kysely (SQLite and PostgreSQL); today's implementation is better-sqlite3.
 */
export interface SourceItem {
  id: number;
  memberId: string;
  source: ChatSource;
  extId: string;
  kind: 'chat' | 'request';
  channel: string | null;
  status: ItemStatus;
  version: number;
  /** Jivo: the Conversation; amoCRM: the talk reference from the webhook ({talkId, accountId}) */
  payload: unknown;
  attempts: number;
  dueAt: number;
  createdAt: number;
  attribution: string | null;
  reason: string | null;
  uisId: number | null;
  updatedAt: string;
}

export type SourceItemPatch = Partial<Pick<SourceItem, 'status' | 'attempts' | 'dueAt' | 'attribution' | 'reason' | 'uisId' | 'payload'>>;

export interface SourceStateRow {
  lastEventAt: number | null;
  lastUploadAt: number | null;
  lastError: { at: number; code: string; message: string } | null;
}

export interface ChatSourceRepository {
  getSettings(memberId: string, source: ChatSource): Promise<{ settings: unknown; hookSecret: string } | null>;
  /** The portal whose webhook URL carries this secret. */
  getByHookSecret(source: ChatSource, secret: string): Promise<{ memberId: string; settings: unknown } | null>;
  saveSettings(memberId: string, source: ChatSource, settings: unknown, hookSecret: string): Promise<void>;
  /** Stores these settings and secret unless the source has some already; returns the secret in force. */
  initSettings(memberId: string, source: ChatSource, settings: unknown, hookSecret: string): Promise<string>;
  /**
   * Reads the item (if any) and writes what `decide` says, in one transaction; true when written.
   * A new item is inserted with `fresh`; `replacePayload` also replaces its payload and channel.
   */
  applyItem(
    key: { memberId: string; source: ChatSource; extId: string },
    fresh: { kind: 'chat' | 'request'; channel: string | null; payload: unknown; dueAt: number },
    decide: (row: ItemState | null) => ItemDecision,
  ): Promise<boolean>;
  /** Items due now (pending or waiting), oldest first. */
  due(memberId: string, now: number, limit: number): Promise<SourceItem[]>;
  portalsWithDue(now: number): Promise<string[]>;
  nextDueAt(): Promise<number | null>;
  updateItem(id: number, patch: SourceItemPatch): Promise<void>;
  /**
   * Failed items of the source whose reason starts with `reasonPrefix` (`UIS_REJECTED`,
   * `AMO_FORBIDDEN`: the admin has applied the fix) go again at `at`, with fresh attempts; how many.
   * Items whose payload was forgotten (`forgetPayloads`) stay failed: nothing is left to upload.
   */
  retryFailed(memberId: string, source: ChatSource, reasonPrefix: string, at: number): Promise<number>;
  /** Items of the source waiting (for a grant, a link, a retry) become due at `at`. */
  retryWaiting(memberId: string, source: ChatSource, at: number): Promise<number>;
  recent(memberId: string, source: ChatSource | null, limit: number): Promise<SourceItem[]>;
  counts(memberId: string, source: ChatSource): Promise<Record<'pending' | 'uploaded' | 'skipped' | 'failed', number>>;
  noteEvent(memberId: string, source: ChatSource, at: number, channel: string | null): Promise<void>;
  noteUpload(memberId: string, source: ChatSource, at: number): Promise<void>;
  /** Records the last error (code and message); `null` clears it. */
  noteError(memberId: string, source: ChatSource, error: { at: number; code: string; message: string } | null): Promise<void>;
  /** Clears the last error if its code is one of `codes` (its cause is gone: UIS answered, the hook delivered). */
  resolveErrors(memberId: string, source: ChatSource, codes: readonly string[]): Promise<void>;
  state(memberId: string, source: ChatSource): Promise<SourceStateRow>;
  channels(memberId: string, source: ChatSource): Promise<Array<{ key: string; lastAt: number }>>;
  /**
   * Retention: items in a final state (uploaded, skipped, failed) last updated before `beforeMs`
   * lose their payload (the client's conversation; `null` afterwards). The row stays: it is the
   * dedupe record that keeps a repeated webhook from being uploaded twice. How many were emptied.
   */
  forgetPayloads(beforeMs: number): Promise<number>;
}

export interface AmoConnectionRow {
  memberId: string;
  name: string;
  origin: string;
  accountId: number;
  expiresAt: number;
  refreshedAt: number;
  status: 'active' | 'reauth';
  statusReason: string | null;
  webhook: { mode: 'api' | 'manual'; disabled: boolean; detail: string | null };
  connectedAt: number;
}

export interface AmoAccountRepository extends AmoTokenStore {
  get(memberId: string): Promise<AmoConnectionRow | null>;
  /** A new connection (or a reconnection) with its first pair; status active. */
  connect(c: Omit<AmoConnectionRow, 'status' | 'statusReason' | 'expiresAt' | 'refreshedAt'>, tokens: AmoTokens, now: number): Promise<void>;
  setWebhook(memberId: string, webhook: AmoConnectionRow['webhook']): Promise<void>;
  remove(memberId: string): Promise<void>;
  connected(): Promise<AmoConnectionRow[]>;
}
