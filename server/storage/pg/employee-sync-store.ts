import { sql, type Kysely, type Transaction } from 'kysely';
import type { PgSchema } from './schema';
import type { EmployeeSyncRepository } from '../../services/employee-sync/ports';
import type { AsyncPort } from '../../services/async-port';
import { scheduledOf, toEmployeeMapping, toEmployeeSyncRun, toEmployeeSyncSettings, type EmployeeMapRow, type EmployeeSyncRunRow } from '../employee-sync-rows';
import { pgText } from './nul';

/**
 * The employee sync in PostgreSQL (migrations-pg/010, 011, 022), the counterpart of
 * ../employee-sync-repository.ts with the same behaviour; rows mapped by ../employee-sync-rows.ts.
 *
 * Several instances share it. Two of them starting a portal's run at once (a click and the daily
 * schedule) must not both run: `startRun` checks for a running run and inserts its own in one
 * transaction holding a per-portal transaction lock (pg_advisory_xact_lock), so exactly one starts.
 * `replaceMappings` deletes and inserts the portal's mapping in one transaction under another
 * per-portal lock: two syncs replacing it at once leave one of the two mappings whole (without the
 * lock the later DELETE would miss the earlier's fresh rows and its INSERT hit their keys).
 *
 * The next daily time is BIGINT ms (a fractional one is rounded). U+0000 in free text (a run's
 * error, a failure reason, a status mnemonic) is written as U+FFFD (./nul.ts); JSON needs nothing.
 */
const ms0 = (t: number | null) => (t === null ? null : Math.round(t));
/** rows per INSERT of a mapping (5 parameters a row: far below PostgreSQL's 65,535) */
const CHUNK = 1000;

async function portalLock(trx: Transaction<PgSchema>, what: string, memberId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${what}:${memberId}`}, 0))`.execute(trx);
}

export function createPgEmployeeSyncStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<EmployeeSyncRepository> {
  const iso = () => new Date(now()).toISOString();
  const runs = () => db.selectFrom('employee_sync_runs').selectAll();
  const run = (r: unknown) => (r ? toEmployeeSyncRun(r as EmployeeSyncRunRow) : null);
  return {
    async getSettings(memberId) {
      const r = await db.selectFrom('employee_sync_settings').select(['settings', 'next_daily_at', 'status_import']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? toEmployeeSyncSettings(r) : null;
    },
    async saveSettings(memberId, settings, firstDailyAt) {
      // one statement, the schedule decided from the row as it is when written (the settings hold
      // booleans and numbers only, so the JSON cast never meets a \u0000 escape)
      await db
        .insertInto('employee_sync_settings')
        .values({ member_id: memberId, settings: JSON.stringify(settings), next_daily_at: ms0(firstDailyAt), updated_at: iso() })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            settings: (eb) => eb.ref('excluded.settings'),
            next_daily_at: sql<number | null>`CASE WHEN excluded.next_daily_at IS NULL THEN NULL
              WHEN (employee_sync_settings.settings::jsonb ->> 'dailySync') IN ('true', '1') AND employee_sync_settings.next_daily_at IS NOT NULL
                THEN employee_sync_settings.next_daily_at
              ELSE excluded.next_daily_at END`,
            updated_at: (eb) => eb.ref('excluded.updated_at'),
          }),
        )
        .execute();
    },
    async setNextDailyAt(memberId, at) {
      await db.updateTable('employee_sync_settings').set({ next_daily_at: ms0(at) }).where('member_id', '=', memberId).execute();
    },
    async setStatusImport(memberId, v) {
      await db.updateTable('employee_sync_settings').set({ status_import: JSON.stringify(v) }).where('member_id', '=', memberId).execute();
    },
    async scheduledPortals() {
      const rows = await db.selectFrom('employee_sync_settings').select(['member_id', 'settings', 'next_daily_at']).orderBy(sql`member_id COLLATE "C"`).execute();
      return scheduledOf(rows);
    },
    async mappings(memberId) {
      const rows = await db.selectFrom('employee_map').select(['b24_user_id', 'uis_employee_id', 'matched_by']).where('member_id', '=', memberId).orderBy('b24_user_id').execute();
      return (rows as EmployeeMapRow[]).map(toEmployeeMapping);
    },
    async importedStatus(memberId, b24UserId) {
      const r = await db.selectFrom('employee_status_import').select('mnemonic').where('member_id', '=', memberId).where('b24_user_id', '=', b24UserId).executeTakeFirst();
      return r?.mnemonic ?? null;
    },
    async setImportedStatus(memberId, b24UserId, mnemonic) {
      await db
        .insertInto('employee_status_import')
        .values({ member_id: memberId, b24_user_id: b24UserId, mnemonic: pgText(mnemonic), updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'b24_user_id']).doUpdateSet({ mnemonic: (eb) => eb.ref('excluded.mnemonic'), updated_at: (eb) => eb.ref('excluded.updated_at') }))
        .execute();
    },
    async replaceMappings(memberId, rows) {
      const at = iso();
      await db.transaction().execute(async (trx) => {
        await portalLock(trx, 'employee_map', memberId);
        await trx.deleteFrom('employee_map').where('member_id', '=', memberId).execute();
        const values = rows.map((m) => ({ member_id: memberId, b24_user_id: m.b24UserId, uis_employee_id: m.uisEmployeeId, matched_by: m.matchedBy, updated_at: at }));
        for (let i = 0; i < values.length; i += CHUNK) await trx.insertInto('employee_map').values(values.slice(i, i + CHUNK)).execute();
      });
    },
    async uisEmployeeFor(memberId, b24UserId) {
      const r = await db.selectFrom('employee_map').select('uis_employee_id').where('member_id', '=', memberId).where('b24_user_id', '=', b24UserId).executeTakeFirst();
      return r?.uis_employee_id ?? null;
    },
    async b24UserFor(memberId, uisEmployeeId) {
      const r = await db.selectFrom('employee_map').select('b24_user_id').where('member_id', '=', memberId).where('uis_employee_id', '=', uisEmployeeId).executeTakeFirst();
      return r?.b24_user_id ?? null;
    },
    async startRun(memberId, trigger) {
      return db.transaction().execute(async (trx) => {
        // one start of the portal's runs at a time: the check and the insert cannot interleave with another's
        await portalLock(trx, 'employee_sync_runs', memberId);
        const running = await trx.selectFrom('employee_sync_runs').select('id').where('member_id', '=', memberId).where('status', '=', 'running').executeTakeFirst();
        if (running) return null;
        const r = await trx.insertInto('employee_sync_runs').values({ member_id: memberId, trigger, status: 'running', started_at: iso() }).returningAll().executeTakeFirstOrThrow();
        return run(r);
      });
    },
    async progress(runId, done, total) {
      await db.updateTable('employee_sync_runs').set({ progress_done: Math.round(done), progress_total: Math.round(total) }).where('id', '=', runId).execute();
    },
    async finishRun(runId, outcome) {
      const done = 'result' in outcome;
      await db
        .updateTable('employee_sync_runs')
        .set({
          status: done ? 'done' : 'failed',
          finished_at: iso(),
          error: done ? null : pgText(outcome.error),
          result: done ? JSON.stringify(outcome.result) : null,
          progress_done: sql`progress_total`,
        })
        .where('id', '=', runId)
        .execute();
    },
    async latestRun(memberId) {
      return run(await runs().where('member_id', '=', memberId).orderBy('id', 'desc').limit(1).executeTakeFirst());
    },
    async latestResult(memberId) {
      return run(await runs().where('member_id', '=', memberId).where('status', '=', 'done').orderBy('id', 'desc').limit(1).executeTakeFirst());
    },
    async failInterrupted(reason, memberId) {
      let q = db.updateTable('employee_sync_runs').set({ status: 'failed', finished_at: iso(), error: pgText(reason) }).where('status', '=', 'running');
      if (memberId !== undefined) q = q.where('member_id', '=', memberId);
      return Number((await q.executeTakeFirst()).numUpdatedRows);
    },
    async runningPortals() {
      const rows = await db.selectFrom('employee_sync_runs').select('member_id').distinct().where('status', '=', 'running').execute();
      return rows.map((r) => r.member_id);
    },
  };
}
