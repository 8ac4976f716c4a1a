import type { ChatSource } from '../contracts/chat-sources';
import type { ItemState } from '../domain/chat-sources/items';
import type { ChatSourceRepository } from '../services/chat-sources/ports';
import { CHANNEL_LIST_MAX, CHANNEL_MAX, ERROR_MESSAGE_MAX, ITEM_PATCH_COLUMNS, likePrefix, statusCounts, toSourceItem, toSourceState, type ChatSourceItemRow, type ChatSourceStateRowDb } from './chat-source-rows';
import type { Db } from './db';

/**
 * «Источники чатов» in SQLite (migration 019). Async methods over synchronous better-sqlite3, so
 * the port stays the same when storage moves to Kysely; SQL kept portable (upserts with ON
 * CONFLICT, no JSON functions: payloads are parsed here). Rows are mapped by chat-source-rows.ts,
 * shared with the PostgreSQL store (pg/chat-source-store.ts).
 */
const DUE = `status IN ('pending', 'waiting') AND due_at <= ?`;
/** a payload forgotten by the retention (`forgetPayloads`): JSON null */
const FORGOTTEN = 'null';

export function createSqliteChatSourceRepository(db: Db, now: () => number = Date.now): ChatSourceRepository {
  const iso = () => new Date(now()).toISOString();
  const ensureState = db.prepare('INSERT INTO chat_source_state (member_id, source) VALUES (?, ?) ON CONFLICT (member_id, source) DO NOTHING');
  // the webhook path runs these for every delivery: prepared once
  const byHook = db.prepare('SELECT member_id, settings FROM chat_source_settings WHERE source = ? AND hook_secret = ?');
  const itemState = db.prepare('SELECT id, status, version, reopened FROM chat_source_items WHERE member_id = ? AND source = ? AND ext_id = ?');
  const insertItem = db.prepare(
    `INSERT INTO chat_source_items (member_id, source, ext_id, kind, channel, status, version, reopened, payload, attempts, due_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
  );
  const eventAt = db.prepare(
    `INSERT INTO chat_source_state (member_id, source, last_event_at) VALUES (?, ?, ?)
     ON CONFLICT (member_id, source) DO UPDATE SET last_event_at = excluded.last_event_at`,
  );
  const resolveError = db.prepare(
    'UPDATE chat_source_state SET last_error_at = NULL, last_error_code = NULL, last_error_message = NULL WHERE member_id = ? AND source = ? AND last_error_code = ?',
  );
  const channelAt = db.prepare(
    `INSERT INTO chat_source_channels (member_id, source, channel, last_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (member_id, source, channel) DO UPDATE SET last_at = excluded.last_at`,
  );

  const apply = db.transaction(
    (key: { memberId: string; source: ChatSource; extId: string }, fresh: { kind: string; channel: string | null; payload: unknown; dueAt: number }, decide: Parameters<ChatSourceRepository['applyItem']>[2]): boolean => {
      const row = itemState.get(key.memberId, key.source, key.extId) as
        | { id: number; status: ItemState['status']; version: number; reopened: number }
        | undefined;
      const d = decide(row ? { status: row.status, version: row.version, reopened: row.reopened === 1 } : null);
      if (!d) return false;
      if (!row) {
        insertItem.run(key.memberId, key.source, key.extId, fresh.kind, fresh.channel, d.status, d.version, d.reopened ? 1 : 0, JSON.stringify(fresh.payload), fresh.dueAt, now(), iso());
        return true;
      }
      const due = d.status === 'pending' && row.status !== 'pending';
      db.prepare(
        `UPDATE chat_source_items SET status = ?, version = ?, reopened = ?, ${d.replacePayload ? 'payload = ?, channel = ?, ' : ''}${due ? 'attempts = 0, due_at = ?, ' : ''}updated_at = ? WHERE id = ?`,
      ).run(...[d.status, d.version, d.reopened ? 1 : 0, ...(d.replacePayload ? [JSON.stringify(fresh.payload), fresh.channel] : []), ...(due ? [fresh.dueAt] : []), iso(), row.id]);
      return true;
    },
  );

  return {
    async getSettings(memberId, source) {
      const r = db.prepare('SELECT settings, hook_secret FROM chat_source_settings WHERE member_id = ? AND source = ?').get(memberId, source) as { settings: string; hook_secret: string } | undefined;
      return r ? { settings: JSON.parse(r.settings) as unknown, hookSecret: r.hook_secret } : null;
    },
    async getByHookSecret(source, secret) {
      const r = byHook.get(source, secret) as { member_id: string; settings: string } | undefined;
      return r ? { memberId: r.member_id, settings: JSON.parse(r.settings) as unknown } : null;
    },
    async saveSettings(memberId, source, settings, hookSecret) {
      db.prepare(
        `INSERT INTO chat_source_settings (member_id, source, settings, hook_secret, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (member_id, source) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
      ).run(memberId, source, JSON.stringify(settings), hookSecret, iso());
    },
    async initSettings(memberId, source, settings, hookSecret) {
      db.prepare(
        `INSERT INTO chat_source_settings (member_id, source, settings, hook_secret, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (member_id, source) DO NOTHING`,
      ).run(memberId, source, JSON.stringify(settings), hookSecret, iso());
      return db.prepare('SELECT hook_secret FROM chat_source_settings WHERE member_id = ? AND source = ?').pluck().get(memberId, source) as string;
    },
    async applyItem(key, fresh, decide) {
      return apply(key, fresh, decide);
    },
    async due(memberId, at, limit) {
      return (db.prepare(`SELECT * FROM chat_source_items WHERE member_id = ? AND ${DUE} ORDER BY due_at, id LIMIT ?`).all(memberId, at, limit) as ChatSourceItemRow[]).map(toSourceItem);
    },
    async portalsWithDue(at) {
      return db.prepare(`SELECT DISTINCT member_id FROM chat_source_items WHERE ${DUE}`).pluck().all(at) as string[];
    },
    async nextDueAt() {
      return (db.prepare(`SELECT MIN(due_at) FROM chat_source_items WHERE status IN ('pending', 'waiting')`).pluck().get() as number | null) ?? null;
    },
    async updateItem(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        sets.push(`${ITEM_PATCH_COLUMNS[k as keyof typeof ITEM_PATCH_COLUMNS]} = ?`);
        values.push(k === 'payload' ? JSON.stringify(v) : v);
      }
      if (!sets.length) return;
      db.prepare(`UPDATE chat_source_items SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`).run(...values, iso(), id);
    },
    async retryFailed(memberId, source, reasonPrefix, at) {
      const like = likePrefix(reasonPrefix);
      return db
        .prepare(
          `UPDATE chat_source_items SET status = 'pending', attempts = 0, due_at = ?, updated_at = ? WHERE member_id = ? AND source = ? AND status = 'failed' AND reason LIKE ? ESCAPE '!' AND payload != ?`,
        )
        .run(at, iso(), memberId, source, like, FORGOTTEN).changes;
    },
    async retryWaiting(memberId, source, at) {
      return db.prepare(`UPDATE chat_source_items SET due_at = ?, updated_at = ? WHERE member_id = ? AND source = ? AND status = 'waiting'`).run(at, iso(), memberId, source).changes;
    },
    async recent(memberId, source, limit) {
      const rows = source
        ? db.prepare('SELECT * FROM chat_source_items WHERE member_id = ? AND source = ? ORDER BY id DESC LIMIT ?').all(memberId, source, limit)
        : db.prepare('SELECT * FROM chat_source_items WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(memberId, limit);
      return (rows as ChatSourceItemRow[]).map(toSourceItem);
    },
    async counts(memberId, source) {
      return statusCounts(db.prepare('SELECT status, COUNT(*) AS n FROM chat_source_items WHERE member_id = ? AND source = ? GROUP BY status').all(memberId, source) as Array<{ status: string; n: number }>);
    },
    async noteEvent(memberId, source, at, channel) {
      eventAt.run(memberId, source, at);
      if (channel) channelAt.run(memberId, source, channel.slice(0, CHANNEL_MAX), at);
    },
    async noteUpload(memberId, source, at) {
      ensureState.run(memberId, source);
      db.prepare('UPDATE chat_source_state SET last_upload_at = ? WHERE member_id = ? AND source = ?').run(at, memberId, source);
    },
    async noteError(memberId, source, error) {
      ensureState.run(memberId, source);
      db.prepare('UPDATE chat_source_state SET last_error_at = ?, last_error_code = ?, last_error_message = ? WHERE member_id = ? AND source = ?').run(
        error?.at ?? null,
        error?.code ?? null,
        error?.message.slice(0, ERROR_MESSAGE_MAX) ?? null,
        memberId,
        source,
      );
    },
    async resolveErrors(memberId, source, codes) {
      for (const code of codes) resolveError.run(memberId, source, code);
    },
    async state(memberId, source) {
      return toSourceState(db.prepare('SELECT * FROM chat_source_state WHERE member_id = ? AND source = ?').get(memberId, source) as ChatSourceStateRowDb | undefined);
    },
    async channels(memberId, source) {
      return (db.prepare('SELECT channel, last_at FROM chat_source_channels WHERE member_id = ? AND source = ? ORDER BY last_at DESC LIMIT ?').all(memberId, source, CHANNEL_LIST_MAX) as Array<{ channel: string; last_at: number }>).map((r) => ({
        key: r.channel,
        lastAt: r.last_at,
      }));
    },
    async forgetPayloads(beforeMs) {
      // the update time stays: the admin's list shows when the item was last worked
      return db
        .prepare(`UPDATE chat_source_items SET payload = ? WHERE status IN ('uploaded', 'skipped', 'failed') AND updated_at < ? AND payload != ?`)
        .run(FORGOTTEN, new Date(beforeMs).toISOString(), FORGOTTEN).changes;
    },
  };
}
