import type { EmployeeSyncResult, EmployeeSyncRun, EmployeeSyncSettings, MatchedBy, StatusImportView } from '../../contracts/employee-sync';

export interface EmployeeMapping {
  b24UserId: number;
  uisEmployeeId: number;
  matchedBy: MatchedBy;
}

/**
 * Who is who on both sides, per portal, as the last sync found it. Other services (CRM rules: a
 * UIS employee → the Bitrix24 responsible) depend on this port only.
 */
export interface EmployeeDirectory {
  uisEmployeeFor(memberId: string, b24UserId: number): number | null;
  b24UserFor(memberId: string, uisEmployeeId: number): number | null;
}

/** Storage of the employee sync (SQLite: server/storage/employee-sync-repository.ts). */
export interface EmployeeSyncRepository extends EmployeeDirectory {
  getSettings(memberId: string): { settings: EmployeeSyncSettings; nextDailyAt: number | null; statusImport: StatusImportView | null } | null;
  /**
   * Save the settings and the daily schedule in one statement: `firstDailyAt` null (the daily sync
   * off) clears the next daily time; otherwise the stored time stays when the stored settings had
   * the daily sync on with a time (a daily run's setNextDailyAt landing meanwhile is kept), and
   * `firstDailyAt` is written when the daily sync is switched on now.
   */
  saveSettings(memberId: string, settings: EmployeeSyncSettings, firstDailyAt: number | null): void;
  setNextDailyAt(memberId: string, at: number | null): void;
  setStatusImport(memberId: string, v: StatusImportView): void;
  /** Portals with the status import or the daily sync on. */
  scheduledPortals(): Array<{ memberId: string; settings: EmployeeSyncSettings; nextDailyAt: number | null }>;
  mappings(memberId: string): EmployeeMapping[];
  /** The UIS status (mnemonic) the last status import derived for this user; null before the first. */
  importedStatus(memberId: string, b24UserId: number): string | null;
  setImportedStatus(memberId: string, b24UserId: number, mnemonic: string): void;
  /** Replace the portal's mapping with the one a sync found. */
  replaceMappings(memberId: string, rows: EmployeeMapping[]): void;
  /** Start a run; null when the portal already has one running. */
  startRun(memberId: string, trigger: EmployeeSyncRun['trigger']): EmployeeSyncRun | null;
  progress(runId: number, done: number, total: number): void;
  finishRun(runId: number, outcome: { result: EmployeeSyncResult } | { error: string }): void;
  latestRun(memberId: string): EmployeeSyncRun | null;
  latestResult(memberId: string): EmployeeSyncRun | null;
  /**
   * Runs a dead process left `running` are failed (they cannot resume): every running run, or the
   * portal's only (several instances, issue #12: a live instance's run is left alone).
   */
  failInterrupted(reason: string, memberId?: string): number;
  /** Portals with a run `running` (issue #12: whether its instance still lives is asked of its lease). */
  runningPortals(): Promise<string[]>;
}
