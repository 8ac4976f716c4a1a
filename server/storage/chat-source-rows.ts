import type { ChatSource } from '../contracts/chat-sources';
import type { SourceItem, SourceItemPatch, SourceStateRow } from '../services/chat-sources/ports';

/**
 * Rows of «Источники чатов» (migration 019) as both stores read them (SQLite:
 * chat-source-repository.ts, PostgreSQL: pg/chat-source-store.ts): pure mapping, no SQL.
 */
export interface ChatSourceItemRow {
  id: number;
  member_id: string;
  source: ChatSource;
  ext_id: string;
  kind: 'chat' | 'request';
  channel: string | null;
  status: SourceItem['status'];
  version: number;
  reopened: number;
  payload: string;
  attempts: number;
  due_at: number;
  created_at: number;
  attribution: string | null;
  reason: string | null;
  uis_id: number | null;
  updated_at: string;
}

export const toSourceItem = (r: ChatSourceItemRow): SourceItem => ({
  id: r.id,
  memberId: r.member_id,
  source: r.source,
  extId: r.ext_id,
  kind: r.kind,
  channel: r.channel,
  status: r.status,
  version: r.version,
  payload: JSON.parse(r.payload) as unknown,
  attempts: r.attempts,
  dueAt: r.due_at,
  createdAt: r.created_at,
  attribution: r.attribution,
  reason: r.reason,
  uisId: r.uis_id,
  updatedAt: r.updated_at,
});

/** The column of each patchable field of an item. */
export const ITEM_PATCH_COLUMNS = {
  status: 'status',
  attempts: 'attempts',
  dueAt: 'due_at',
  attribution: 'attribution',
  reason: 'reason',
  uisId: 'uis_id',
  payload: 'payload',
} as const satisfies Record<keyof SourceItemPatch, string>;

/** A LIKE pattern (ESCAPE '!') matching what starts with `prefix`, taken literally. */
export const likePrefix = (prefix: string): string => `${prefix.replace(/[!%_]/g, '!$&')}%`;

/** Counts by status (rows of `GROUP BY status`) as the admin sees them: open and waiting count as pending. */
export function statusCounts(rows: Array<{ status: string; n: number }>): Record<'pending' | 'uploaded' | 'skipped' | 'failed', number> {
  const out = { pending: 0, uploaded: 0, skipped: 0, failed: 0 };
  for (const r of rows) {
    if (r.status === 'uploaded' || r.status === 'skipped' || r.status === 'failed') out[r.status] += r.n;
    else out.pending += r.n;
  }
  return out;
}

export interface ChatSourceStateRowDb {
  last_event_at: number | null;
  last_upload_at: number | null;
  last_error_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
}

export const toSourceState = (r: ChatSourceStateRowDb | undefined): SourceStateRow => ({
  lastEventAt: r?.last_event_at ?? null,
  lastUploadAt: r?.last_upload_at ?? null,
  lastError: r?.last_error_at && r.last_error_code ? { at: r.last_error_at, code: r.last_error_code, message: r.last_error_message ?? '' } : null,
});

/** Limits of what the state keeps and shows (the admin's view): a channel's length, the channels listed, an error message's length. */
export const CHANNEL_MAX = 100;
export const CHANNEL_LIST_MAX = 100;
export const ERROR_MESSAGE_MAX = 500;
