import type { Db } from './db';
import type { AnalyticsRepository } from '../services/ports';
import { ANALYTICS_JOB_COLUMNS as COLUMNS, analyticsEnabled, parseAnalyticsSettings as parse, toAnalyticsJob as toJob, type AnalyticsJobRow as JobRow } from './analytics-rows';

export function createSqliteAnalyticsRepository(db: Db, now: () => number = Date.now): AnalyticsRepository {
  const iso = () => new Date(now()).toISOString();
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
        sets.push(`${COLUMNS[k as keyof typeof COLUMNS]} = ?`);
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
        .filter((r) => analyticsEnabled(r.settings))
        .map((r) => r.member_id);
    },
    recent(memberId, limit) {
      return (db.prepare('SELECT * FROM analytics_jobs WHERE member_id = ? ORDER BY id DESC LIMIT ?').all(memberId, limit) as JobRow[]).map(toJob);
    },
  };
}
