import { employeeSyncResultSchema, employeeSyncSettingsSchema, statusImportViewSchema, type EmployeeSyncRun, type EmployeeSyncSettings } from '../contracts/employee-sync';
import type { EmployeeMapping } from '../services/employee-sync/ports';

/**
 * Rows of the employee sync (migrations 010, 011, 022) as both stores read them (SQLite:
 * employee-sync-repository.ts, PostgreSQL: pg/employee-sync-store.ts): pure mapping, no SQL.
 */
export interface EmployeeSyncRunRow {
  id: number;
  trigger: EmployeeSyncRun['trigger'];
  status: EmployeeSyncRun['status'];
  progress_done: number;
  progress_total: number;
  started_at: string;
  finished_at: string | null;
  error: string | null;
  result: string | null;
}

export const toEmployeeSyncRun = (r: EmployeeSyncRunRow): EmployeeSyncRun => ({
  id: r.id,
  trigger: r.trigger,
  status: r.status,
  progress: { done: r.progress_done, total: r.progress_total },
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  error: r.error,
  result: r.result ? employeeSyncResultSchema.parse(JSON.parse(r.result)) : null,
});

export interface EmployeeMapRow {
  b24_user_id: number;
  uis_employee_id: number;
  matched_by: EmployeeMapping['matchedBy'];
}

export const toEmployeeMapping = (r: EmployeeMapRow): EmployeeMapping => ({ b24UserId: r.b24_user_id, uisEmployeeId: r.uis_employee_id, matchedBy: r.matched_by });

/** The stored settings (throws when they no longer parse, as the SQLite repository always did). */
export const parseEmployeeSyncSettings = (json: string): EmployeeSyncSettings => employeeSyncSettingsSchema.parse(JSON.parse(json));

/** The settings row as getSettings answers it. */
export const toEmployeeSyncSettings = (r: { settings: string; next_daily_at: number | null; status_import: string | null }) => ({
  settings: parseEmployeeSyncSettings(r.settings),
  nextDailyAt: r.next_daily_at,
  statusImport: r.status_import ? statusImportViewSchema.parse(JSON.parse(r.status_import)) : null,
});

/** Portals with the status import or the daily sync on, of all settings rows. */
export const scheduledOf = (rows: Array<{ member_id: string; settings: string; next_daily_at: number | null }>) =>
  rows.map((r) => ({ memberId: r.member_id, settings: parseEmployeeSyncSettings(r.settings), nextDailyAt: r.next_daily_at })).filter((r) => r.settings.importStatuses || r.settings.dailySync);
