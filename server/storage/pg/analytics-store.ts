import { sql, type Kysely, type Updateable } from 'kysely';
import type { AnalyticsJobsTable, PgSchema } from './schema';
import type { AnalyticsRepository } from '../../services/ports';
import type { AsyncPort } from '../../services/async-port';
import { ANALYTICS_JOB_COLUMNS, analyticsEnabled, parseAnalyticsSettings, toAnalyticsJob, type AnalyticsJobPatch, type AnalyticsJobRow } from '../analytics-rows';
import { pgText } from './nul';

/**
 * «Аналитика» in PostgreSQL (migrations-pg/005), the counterpart of ../analytics-repository.ts with
 * the same behaviour; rows mapped by ../analytics-rows.ts.
 *
 * Each operation is one statement. A job is created by INSERT … ON CONFLICT DO NOTHING, so one
 * event arriving at several instances at once creates one job and exactly one of them is told it
 * is new (the others wait for its commit and insert nothing). A portal's due jobs are worked by the
 * instance holding its work lease, so `due` only reads, as in SQLite.
 *
 * Times in ms are BIGINT: a fractional time (SQLite would keep a REAL) is rounded when stored, and a
 * bound `due_at <= at` is floored (the same rows as SQLite's comparison with the fraction). Free
 * text (attribution, reason) has U+0000 written as U+FFFD (./nul.ts).
 */
const ms = (t: number) => Math.round(t);
const ROUNDED_PATCH = new Set<keyof AnalyticsJobPatch>(['dueAt', 'recheckAt', 'attempts']);
const TEXT_PATCH = new Set<keyof AnalyticsJobPatch>(['attribution', 'reason']);

export function createPgAnalyticsStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<AnalyticsRepository> {
  const iso = () => new Date(now()).toISOString();
  const jobs = (rows: unknown[]) => (rows as AnalyticsJobRow[]).map(toAnalyticsJob);
  /** pending and due, or uploaded with a re-check due */
  const due = (at: number) => sql<boolean>`((status = 'pending' AND due_at <= ${Math.floor(at)}) OR (status = 'uploaded' AND recheck_at IS NOT NULL AND recheck_at <= ${Math.floor(at)}))`;
  return {
    async getSettings(memberId) {
      const r = await db.selectFrom('analytics_settings').select(['settings', 'hook_id']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? { settings: parseAnalyticsSettings(r.settings), hookId: r.hook_id } : null;
    },
    async getByHook(hookId) {
      const r = await db.selectFrom('analytics_settings').select(['member_id', 'settings']).where('hook_id', '=', hookId).executeTakeFirst();
      return r ? { memberId: r.member_id, settings: parseAnalyticsSettings(r.settings) } : null;
    },
    async saveSettings(memberId, settings, hookId) {
      // the hook id is the first one's: a save keeps it
      await db
        .insertInto('analytics_settings')
        .values({ member_id: memberId, settings: JSON.stringify(settings), hook_id: hookId, updated_at: iso() })
        .onConflict((oc) => oc.column('member_id').doUpdateSet({ settings: (eb) => eb.ref('excluded.settings'), updated_at: (eb) => eb.ref('excluded.updated_at') }))
        .execute();
    },
    async enqueue(memberId, entityType, entityId, dueAt) {
      const r = await db
        .insertInto('analytics_jobs')
        .values({ member_id: memberId, entity_type: entityType, entity_id: entityId, status: 'pending', due_at: ms(dueAt), created_at: ms(now()), updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'entity_type', 'entity_id']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async due(memberId, at, limit) {
      const rows = await db.selectFrom('analytics_jobs').selectAll().where('member_id', '=', memberId).where(due(at)).orderBy('due_at').orderBy('id').limit(limit).execute();
      return jobs(rows);
    },
    async update(id, patch) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch) as Array<[keyof AnalyticsJobPatch, unknown]>) {
        // as better-sqlite3 binds it: an undefined value writes NULL
        set[ANALYTICS_JOB_COLUMNS[k]] = v === undefined || v === null ? null : ROUNDED_PATCH.has(k) ? ms(v as number) : TEXT_PATCH.has(k) ? pgText(v as string) : v;
      }
      if (!Object.keys(set).length) return;
      await db
        .updateTable('analytics_jobs')
        .set({ ...(set as Updateable<AnalyticsJobsTable>), updated_at: iso() })
        .where('id', '=', id)
        .execute();
    },
    async portalsWithDueJobs(at) {
      const rows = await db.selectFrom('analytics_jobs').select('member_id').distinct().where(due(at)).execute();
      return rows.map((r) => r.member_id);
    },
    async nextDueAt() {
      const r = await sql<{ at: number | null }>`SELECT LEAST(
          (SELECT MIN(due_at) FROM analytics_jobs WHERE status = 'pending'),
          (SELECT MIN(recheck_at) FROM analytics_jobs WHERE status = 'uploaded')) AS at`.execute(db);
      const at = r.rows[0]?.at;
      return at === null || at === undefined ? null : Number(at);
    },
    async enabledPortals() {
      // the settings' JSON is read here, not in SQL: PostgreSQL's JSON functions refuse a \u0000 escape
      const rows = await db.selectFrom('analytics_settings').select(['member_id', 'settings']).orderBy(sql`member_id COLLATE "C"`).execute();
      return rows.filter((r) => analyticsEnabled(r.settings)).map((r) => r.member_id);
    },
    async recent(memberId, limit) {
      return jobs(await db.selectFrom('analytics_jobs').selectAll().where('member_id', '=', memberId).orderBy('id', 'desc').limit(limit).execute());
    },
  };
}
