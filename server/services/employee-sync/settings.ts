import type { EmployeeSyncSettings, EmployeeSyncView } from '../../contracts/employee-sync';
import { badRequest } from '../../domain/errors';
import { readB24Users } from './read';
import type { EmployeeSyncDeps } from './sync';

export const DAY_MS = 24 * 60 * 60_000;

export const DEFAULT_EMPLOYEE_SYNC_SETTINGS: EmployeeSyncSettings = { importStatuses: false, dailySync: false, userIds: [] };

export async function employeeSyncView(deps: Pick<EmployeeSyncDeps, 'employeeSync'>, memberId: string): Promise<EmployeeSyncView> {
  const stored = await deps.employeeSync.getSettings(memberId);
  const run = await deps.employeeSync.latestRun(memberId);
  return {
    settings: stored?.settings ?? DEFAULT_EMPLOYEE_SYNC_SETTINGS,
    run,
    lastResult: run?.status === 'done' ? run : await deps.employeeSync.latestResult(memberId),
    lastStatusImport: stored?.statusImport ?? null,
    nextDailyAt: stored?.settings.dailySync && stored.nextDailyAt !== null ? new Date(stored.nextDailyAt).toISOString() : null,
  };
}

/**
 * Save the settings. Chosen users must be active employees of the portal (checked live with
 * `user.get`): a stale id would silently shrink every sync. Switching the daily sync on schedules
 * the first one 24 hours later (the button runs one now).
 */
export async function saveEmployeeSyncSettings(deps: EmployeeSyncDeps, memberId: string, s: EmployeeSyncSettings): Promise<EmployeeSyncView> {
  if (s.userIds.length) {
    const active = new Set((await readB24Users(deps.gateway, memberId)).map((u) => u.id));
    const unknown = s.userIds.filter((id) => !active.has(id));
    if (unknown.length) throw badRequest('VALIDATION_FAILED', `userIds: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not an active employee' : 'are not active employees'} of the portal`);
  }
  const settings = { ...s, userIds: [...s.userIds].sort((a, b) => a - b) };
  // the store keeps a daily time already scheduled (read and written in one statement: a daily
  // run moving it meanwhile is not undone); switched on now, the first is a day from now
  await deps.employeeSync.saveSettings(memberId, settings, s.dailySync ? deps.clock.now() + DAY_MS : null);
  return employeeSyncView(deps, memberId);
}
