import type { Db } from './db';
import type { EmployeeSyncRepository } from '../services/employee-sync/ports';
import { scheduledOf, toEmployeeMapping, toEmployeeSyncRun as toRun, toEmployeeSyncSettings, type EmployeeMapRow, type EmployeeSyncRunRow as RunRow } from './employee-sync-rows';

export function createSqliteEmployeeSyncRepository(db: Db, now: () => number = Date.now): EmployeeSyncRepository {
  const iso = () => new Date(now()).toISOString();
  const q = {
    settings: db.prepare('SELECT settings, next_daily_at, status_import FROM employee_sync_settings WHERE member_id = ?'),
    save: db.prepare(
      `INSERT INTO employee_sync_settings (member_id, settings, next_daily_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at,
         next_daily_at = CASE WHEN excluded.next_daily_at IS NULL THEN NULL
           WHEN json_extract(employee_sync_settings.settings, '$.dailySync') = 1 AND employee_sync_settings.next_daily_at IS NOT NULL
             THEN employee_sync_settings.next_daily_at
           ELSE excluded.next_daily_at END`,
    ),
    nextDaily: db.prepare('UPDATE employee_sync_settings SET next_daily_at = ? WHERE member_id = ?'),
    statusImport: db.prepare('UPDATE employee_sync_settings SET status_import = ? WHERE member_id = ?'),
    all: db.prepare('SELECT member_id, settings, next_daily_at FROM employee_sync_settings'),
    maps: db.prepare('SELECT b24_user_id, uis_employee_id, matched_by FROM employee_map WHERE member_id = ? ORDER BY b24_user_id'),
    uisFor: db.prepare('SELECT uis_employee_id FROM employee_map WHERE member_id = ? AND b24_user_id = ?').pluck(),
    b24For: db.prepare('SELECT b24_user_id FROM employee_map WHERE member_id = ? AND uis_employee_id = ?').pluck(),
    clearMaps: db.prepare('DELETE FROM employee_map WHERE member_id = ?'),
    imported: db.prepare('SELECT mnemonic FROM employee_status_import WHERE member_id = ? AND b24_user_id = ?').pluck(),
    setImported: db.prepare(
      `INSERT INTO employee_status_import (member_id, b24_user_id, mnemonic, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id, b24_user_id) DO UPDATE SET mnemonic = excluded.mnemonic, updated_at = excluded.updated_at`,
    ),
    addMap: db.prepare('INSERT INTO employee_map (member_id, b24_user_id, uis_employee_id, matched_by, updated_at) VALUES (?, ?, ?, ?, ?)'),
    running: db.prepare("SELECT id FROM employee_sync_runs WHERE member_id = ? AND status = 'running'").pluck(),
    insertRun: db.prepare("INSERT INTO employee_sync_runs (member_id, trigger, status, started_at) VALUES (?, ?, 'running', ?)"),
    progress: db.prepare('UPDATE employee_sync_runs SET progress_done = ?, progress_total = ? WHERE id = ?'),
    finish: db.prepare('UPDATE employee_sync_runs SET status = ?, finished_at = ?, error = ?, result = ?, progress_done = progress_total WHERE id = ?'),
    run: db.prepare('SELECT * FROM employee_sync_runs WHERE id = ?'),
    latest: db.prepare('SELECT * FROM employee_sync_runs WHERE member_id = ? ORDER BY id DESC LIMIT 1'),
    latestResult: db.prepare("SELECT * FROM employee_sync_runs WHERE member_id = ? AND status = 'done' ORDER BY id DESC LIMIT 1"),
    interrupt: db.prepare("UPDATE employee_sync_runs SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running'"),
    interruptPortal: db.prepare("UPDATE employee_sync_runs SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running' AND member_id = ?"),
    runningPortals: db.prepare("SELECT DISTINCT member_id FROM employee_sync_runs WHERE status = 'running'").pluck(),
  };
  return {
    getSettings(memberId) {
      const r = q.settings.get(memberId) as { settings: string; next_daily_at: number | null; status_import: string | null } | undefined;
      return r ? toEmployeeSyncSettings(r) : null;
    },
    saveSettings(memberId, settings, firstDailyAt) {
      q.save.run(memberId, JSON.stringify(settings), firstDailyAt, iso());
    },
    setNextDailyAt(memberId, at) {
      q.nextDaily.run(at, memberId);
    },
    setStatusImport(memberId, v) {
      q.statusImport.run(JSON.stringify(v), memberId);
    },
    scheduledPortals() {
      return scheduledOf(q.all.all() as Array<{ member_id: string; settings: string; next_daily_at: number | null }>);
    },
    mappings(memberId) {
      return (q.maps.all(memberId) as EmployeeMapRow[]).map(toEmployeeMapping);
    },
    importedStatus(memberId, b24UserId) {
      return (q.imported.get(memberId, b24UserId) as string | undefined) ?? null;
    },
    setImportedStatus(memberId, b24UserId, mnemonic) {
      q.setImported.run(memberId, b24UserId, mnemonic, iso());
    },
    replaceMappings(memberId, rows) {
      db.transaction(() => {
        q.clearMaps.run(memberId);
        for (const m of rows) q.addMap.run(memberId, m.b24UserId, m.uisEmployeeId, m.matchedBy, iso());
      })();
    },
    uisEmployeeFor(memberId, b24UserId) {
      return (q.uisFor.get(memberId, b24UserId) as number | undefined) ?? null;
    },
    b24UserFor(memberId, uisEmployeeId) {
      return (q.b24For.get(memberId, uisEmployeeId) as number | undefined) ?? null;
    },
    startRun(memberId, trigger) {
      return db.transaction(() => {
        if (q.running.get(memberId) !== undefined) return null;
        const id = Number(q.insertRun.run(memberId, trigger, iso()).lastInsertRowid);
        return toRun(q.run.get(id) as RunRow);
      })();
    },
    progress(runId, done, total) {
      q.progress.run(done, total, runId);
    },
    finishRun(runId, outcome) {
      if ('result' in outcome) q.finish.run('done', iso(), null, JSON.stringify(outcome.result), runId);
      else q.finish.run('failed', iso(), outcome.error, null, runId);
    },
    latestRun(memberId) {
      const r = q.latest.get(memberId) as RunRow | undefined;
      return r ? toRun(r) : null;
    },
    latestResult(memberId) {
      const r = q.latestResult.get(memberId) as RunRow | undefined;
      return r ? toRun(r) : null;
    },
    failInterrupted(reason, memberId) {
      return (memberId === undefined ? q.interrupt.run(iso(), reason) : q.interruptPortal.run(iso(), reason, memberId)).changes;
    },
    async runningPortals() {
      return q.runningPortals.all() as string[];
    },
  };
}
