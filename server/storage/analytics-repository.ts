import type { Db } from './db';
import { analyticsSettingsSchema } from '../contracts/analytics';
import type { AnalyticsJob, AnalyticsRepository } from '../services/ports';

interface JobRow {
  id: number;
  member_id: string;
  entity_type: 'lead' | 'deal';
  entity_id: number;
  status: AnalyticsJob['status'];
  attempts: number;
  due_at: number;
  created_at: number;
  chat_id: number | null;
  attribution: string | null;
  reason: string | null;
  recheck_at: number | null;
  updated_at: string;
}

const toJob = (r: JobRow): AnalyticsJob => ({
  id: r.id,
  memberId: r.member_id,
  entityType: r.entity_type,
  entityId: r.entity_id,
  status: r.status,
  attempts: r.attempts,
  dueAt: r.due_at,
  createdAt: r.created_at,
  chatId: r.chat_id,
  attribution: r.attribution,
  reason: r.reason,
  recheckAt: r.recheck_at,
  updatedAt: r.updated_at,
});

const COLUMNS: Record<string, string> = {
  status: 'status',
  attempts: 'attempts',
  dueAt: 'due_at',
  chatId: 'chat_id',
  attribution: 'attribution',
  reason: 'reason',
  recheckAt: 'recheck_at',
};

export function createSqliteAnalyticsRepository(db: Db, now: () => number = Date.now): AnalyticsRepository {
  const iso = () => new Date(now()).toISOString();
  const parse = (json: string) => analyticsSettingsSchema.parse(JSON.parse(json));
  return {
    getSettings(memberId) {
      const r = db.prepare('SELECT settings, hook_id FROM analytics_settings WHERE member_id = ?').get(memberId) as { settings: string; hook_id: string } | undefined;
      return r ? { settings: parse(r.settings), hookId: r.hook_id } : null;
    },
    getByHook(hookId) {
      const r = db.prepare('SELECT member_id, settings FROM analytics_settings WHERE hook_id = ?').get(hookId) as { member_id: string; settings: string } | undefined;
      return r ? { memberId: r.member_id, settings: parse(r.settings) } : null;
    },
    saveSettings(memberId, settings, hookId) {
      db.prepare(
        `INSERT INTO analytics_settings (member_id, settings, hook_id, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (member_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
      ).run(memberId, JSON.stringify(settings), hookId, iso());
    },
    enqueue(memberId, entityType, entityId, dueAt) {
      const r = db
        .prepare(
          `INSERT INTO analytics_jobs (member_id, entity_type, entity_id, status, due_at, created_at, updated_at)
           VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (member_id, entity_type, entity_id) DO NOTHING`,
        )
        .run(memberId, entityType, entityId, dueAt, now(), iso());
      return r.changes === 1;
    },
    due(memberId, at, limit) {
      const rows = db
        .prepare(
          `SELECT * FROM analytics_jobs WHERE member_id = ? AND ((status = 'pending' AND due_at <= ?) OR (status = 'uploaded' AND recheck_at IS NOT NULL AND recheck_at <= ?))
           ORDER BY due_at, id LIMIT ?`,
        )
        .all(memberId, at, at, limit) as JobRow[];
      return rows.map(toJob);
    },
    update(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        sets.push(`${COLUMNS[k]} = ?`);
        values.push(v);
      }
      if (!sets.length) return;
      db.prepare(`UPDATE analytics_jobs SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`).run(...values, iso(), id);
    },
    portalsWithDueJobs(at) {
      return db
        .prepare(
          `SELECT DISTINCT member_id FROM analytics_jobs WHERE (status = 'pending' AND due_at <= ?) OR (status = 'uploaded' AND recheck_at IS NOT NULL AND recheck_at <= ?)`,
        )
        .pluck()
        .all(at, at) as string[];
    },
    nextDueAt() {
      const v = db
        .prepare(`SELECT MIN(t) FROM (SELECT MIN(due_at) AS t FROM analytics_jobs WHERE status = 'pending' UNION ALL SELECT MIN(recheck_at) FROM analytics_jobs WHERE status = 'uploaded')`)
        .pluck()
        .get() as number | null;
      return v ?? null;
    },
    enabledPortals() {
      return (db.prepare('SELECT member_id, settings FROM analytics_settings').all() as Array<{ member_id: string; settings: string }>)
        .filter((r) => (JSON.parse(r.settings) as { enabled?: boolean }).enabled === true)
        .map((r) => r.member_id);
    },
    recent(memberId, limit) {
      return (db.prepare('SELECT * FROM analytics_jobs WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(memberId, limit) as JobRow[]).map(toJob);
    },
  };
}
