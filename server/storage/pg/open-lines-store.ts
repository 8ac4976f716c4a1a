import { sql, type Kysely, type Updateable } from 'kysely';
import type { OpenLinesJobsTable, PgSchema } from './schema';
import type { OpenLinesRepository } from '../../services/open-lines/ports';
import { OPEN_LINE_JOB_COLUMNS, parseOpenLinesSettings, toOpenLineJob, type OpenLineJobRow } from '../open-lines-rows';

/**
 * «Открытые линии» in PostgreSQL (migrations-pg/021), the counterpart of ../open-lines-repository.ts.
 * Each operation is one statement: a job is created by INSERT … ON CONFLICT DO NOTHING, so the same
 * event arriving at several instances creates it once and only one of them is told it is new; the
 * settings are one upsert. Times are BIGINT ms (a fractional one is rounded); the settings' time
 * stays ISO text.
 */
export function createPgOpenLinesStore(db: Kysely<PgSchema>, now: () => number = Date.now): OpenLinesRepository {
  const whole = (v: number) => Math.round(v);
  const jobs = (rows: Array<Record<string, unknown>>) => rows.map((r) => toOpenLineJob(r as unknown as OpenLineJobRow));
  return {
    async getSettings(memberId) {
      const r = await db.selectFrom('open_lines_settings').select(['settings', 'updated_at']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? parseOpenLinesSettings(r.settings, r.updated_at) : null;
    },
    async saveSettings(memberId, settings) {
      await db
        .insertInto('open_lines_settings')
        .values({ member_id: memberId, settings: JSON.stringify(settings), enabled: settings.enabled ? 1 : 0, updated_at: new Date(now()).toISOString() })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet((eb) => ({ settings: eb.ref('excluded.settings'), enabled: eb.ref('excluded.enabled'), updated_at: eb.ref('excluded.updated_at') })),
        )
        .execute();
    },
    async isEnabled(memberId) {
      const r = await db.selectFrom('open_lines_settings').select('enabled').where('member_id', '=', memberId).executeTakeFirst();
      return r?.enabled === 1;
    },
    async enabledPortals() {
      // byte order, as SQLite's BINARY collation sorts
      const rows = await db.selectFrom('open_lines_settings').select('member_id').where('enabled', '=', 1).orderBy(sql`member_id COLLATE "C"`).execute();
      return rows.map((r) => r.member_id);
    },
    async enqueue(memberId, entityType, entityId, at) {
      const r = await db
        .insertInto('open_lines_jobs')
        .values({ member_id: memberId, entity_type: entityType, entity_id: entityId, status: 'pending', attempts: 0, due_at: whole(at), created_at: whole(at), updated_at: whole(now()) })
        .onConflict((oc) => oc.columns(['member_id', 'entity_type', 'entity_id']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async due(memberId, at, limit) {
      const rows = await db
        .selectFrom('open_lines_jobs')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('status', '=', 'pending')
        .where('due_at', '<=', Math.floor(at))
        .orderBy('due_at')
        .orderBy('entity_id')
        .limit(limit)
        .execute();
      return jobs(rows);
    },
    async portalsWithDueJobs(at) {
      const rows = await db.selectFrom('open_lines_jobs').select('member_id').distinct().where('status', '=', 'pending').where('due_at', '<=', Math.floor(at)).execute();
      return rows.map((r) => r.member_id);
    },
    async nextDueAt() {
      const r = await db.selectFrom('open_lines_jobs').select((eb) => eb.fn.min('due_at').as('at')).where('status', '=', 'pending').executeTakeFirst();
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
    async update(key, patch) {
      const set: Record<string, unknown> = {};
      for (const [k, column] of Object.entries(OPEN_LINE_JOB_COLUMNS) as Array<[keyof typeof OPEN_LINE_JOB_COLUMNS, string]>) {
        const v = patch[k];
        if (v === undefined) continue;
        set[column] = k === 'written' ? JSON.stringify(v) : k === 'dueAt' || k === 'attempts' ? whole(v as number) : v;
      }
      set.updated_at = whole(now());
      await db
        .updateTable('open_lines_jobs')
        .set(set as Updateable<OpenLinesJobsTable>)
        .where('member_id', '=', key.memberId)
        .where('entity_type', '=', key.entityType)
        .where('entity_id', '=', key.entityId)
        .execute();
    },
    async recent(memberId, limit) {
      const rows = await db.selectFrom('open_lines_jobs').selectAll().where('member_id', '=', memberId).orderBy('updated_at', 'desc').orderBy('entity_id', 'desc').limit(limit).execute();
      return jobs(rows);
    },
  };
}
