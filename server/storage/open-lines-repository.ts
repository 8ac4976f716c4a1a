import type { OpenLinesRepository } from '../services/open-lines/ports';
import { OPEN_LINE_JOB_COLUMNS, parseOpenLinesSettings, toOpenLineJob, type OpenLineJobRow } from './open-lines-rows';
import type { Db } from './db';

type JobRow = OpenLineJobRow;
const toJob = toOpenLineJob;
const COLUMNS = OPEN_LINE_JOB_COLUMNS;

/**
 * «Открытые линии» in SQLite (migration 021). Async methods over synchronous better-sqlite3, so
 * the port stays the same when storage moves to Kysely; SQL kept portable (ON CONFLICT upserts,
 * no JSON functions: the settings and the written fields are parsed here).
 */
export function createSqliteOpenLinesRepository(db: Db, now: () => number = Date.now): OpenLinesRepository {
  const q = {
    getSettings: db.prepare('SELECT settings, updated_at FROM open_lines_settings WHERE member_id = ?'),
    saveSettings: db.prepare(
      `INSERT INTO open_lines_settings (member_id, settings, enabled, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET settings = excluded.settings, enabled = excluded.enabled, updated_at = excluded.updated_at`,
    ),
    isEnabled: db.prepare('SELECT enabled FROM open_lines_settings WHERE member_id = ?'),
    enabledPortals: db.prepare('SELECT member_id FROM open_lines_settings WHERE enabled = 1 ORDER BY member_id'),
    enqueue: db.prepare(
      `INSERT INTO open_lines_jobs (member_id, entity_type, entity_id, status, attempts, due_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)
       ON CONFLICT (member_id, entity_type, entity_id) DO NOTHING`,
    ),
    due: db.prepare(`SELECT * FROM open_lines_jobs WHERE member_id = ? AND status = 'pending' AND due_at <= ? ORDER BY due_at, entity_id LIMIT ?`),
    portalsWithDue: db.prepare(`SELECT DISTINCT member_id FROM open_lines_jobs WHERE status = 'pending' AND due_at <= ?`),
    nextDueAt: db.prepare(`SELECT MIN(due_at) AS at FROM open_lines_jobs WHERE status = 'pending'`),
    recent: db.prepare('SELECT * FROM open_lines_jobs WHERE member_id = ? ORDER BY updated_at DESC, entity_id DESC LIMIT ?'),
  };
  return {
    async getSettings(memberId) {
      const r = q.getSettings.get(memberId) as { settings: string; updated_at: string } | undefined;
      return r ? parseOpenLinesSettings(r.settings, r.updated_at) : null;
    },
    async saveSettings(memberId, settings) {
      q.saveSettings.run(memberId, JSON.stringify(settings), settings.enabled ? 1 : 0, new Date(now()).toISOString());
    },
    async isEnabled(memberId) {
      return (q.isEnabled.get(memberId) as { enabled: number } | undefined)?.enabled === 1;
    },
    async enabledPortals() {
      return (q.enabledPortals.all() as Array<{ member_id: string }>).map((r) => r.member_id);
    },
    async enqueue(memberId, entityType, entityId, at) {
      return q.enqueue.run(memberId, entityType, entityId, at, at, now()).changes > 0;
    },
    async due(memberId, at, limit) {
      return (q.due.all(memberId, at, limit) as JobRow[]).map(toJob);
    },
    async portalsWithDueJobs(at) {
      return (q.portalsWithDue.all(at) as Array<{ member_id: string }>).map((r) => r.member_id);
    },
    async nextDueAt() {
      const r = q.nextDueAt.get() as { at: number | null } | undefined;
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
    async update(key, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [k, column] of Object.entries(COLUMNS) as Array<[keyof typeof COLUMNS, string]>) {
        if (patch[k] === undefined) continue;
        sets.push(`${column} = ?`);
        values.push(k === 'written' ? JSON.stringify(patch.written) : patch[k]);
      }
      sets.push('updated_at = ?');
      values.push(now());
      db.prepare(`UPDATE open_lines_jobs SET ${sets.join(', ')} WHERE member_id = ? AND entity_type = ? AND entity_id = ?`).run(...values, key.memberId, key.entityType, key.entityId);
    },
    async recent(memberId, limit) {
      return (q.recent.all(memberId, limit) as JobRow[]).map(toJob);
    },
  };
}
