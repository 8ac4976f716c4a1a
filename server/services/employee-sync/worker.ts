import type { EmployeeSyncRun } from '../../contracts/employee-sync';
import { AppError } from '../../domain/errors';
import { createBackground } from '../background';
import { DAY_MS } from './settings';
import { importEmployeeStatuses } from './statuses';
import { runEmployeeSync, type EmployeeSyncDeps } from './sync';

/** «Импорт статусов» runs on this tick; the daily sync is checked on it too. */
export const STATUS_TICK_MS = 20 * 60_000;

export interface EmployeeSyncWorker {
  /** Start a sync of the portal in the background; null when one is already running. */
  trigger(memberId: string, trigger: EmployeeSyncRun['trigger']): EmployeeSyncRun | null;
  /** Every `tickMs` (on the injected clock): status imports and due daily syncs; the first tick runs now. */
  start(tickMs?: number): void;
  /** One tick now (also what start() repeats). */
  tick(): Promise<void>;
  /** Resolves when no tick and no run is in flight. */
  idle(): Promise<void>;
  stop(): void;
}

export function createEmployeeSyncWorker(deps: EmployeeSyncDeps): EmployeeSyncWorker {
  const background = createBackground(deps.log);
  let stopped = false;
  let started = false;

  const trigger: EmployeeSyncWorker['trigger'] = (memberId, kind) => {
    const run = deps.employeeSync.startRun(memberId, kind);
    if (!run) return null;
    void background.run('employee sync', () =>
      runEmployeeSync(deps, memberId, run).then(
        (result) => deps.employeeSync.finishRun(run.id, { result }),
        (e: unknown) => {
          if (!(e instanceof AppError)) deps.log.error({ err: e, memberId }, 'employee sync failed');
          deps.employeeSync.finishRun(run.id, { error: e instanceof AppError ? e.message : `Internal error: ${(e as Error).message}` });
        },
      ),
    );
    return run;
  };

  const tick = async () => {
    const now = deps.clock.now();
    for (const p of deps.employeeSync.scheduledPortals()) {
      if (stopped) return;
      if (!deps.links.get(p.memberId)) continue;
      if (p.settings.dailySync && p.nextDailyAt !== null && p.nextDailyAt <= now && trigger(p.memberId, 'daily')) {
        deps.employeeSync.setNextDailyAt(p.memberId, now + DAY_MS);
      }
      if (!p.settings.importStatuses) continue;
      try {
        deps.employeeSync.setStatusImport(p.memberId, await importEmployeeStatuses(deps, p.memberId));
      } catch (e) {
        if (!(e instanceof AppError)) deps.log.error({ err: e, memberId: p.memberId }, 'status import failed');
        deps.employeeSync.setStatusImport(p.memberId, { at: new Date(deps.clock.now()).toISOString(), updated: 0, unchanged: 0, error: (e as Error).message });
      }
    }
  };

  return {
    trigger,
    tick: () => background.run('employee sync tick', tick),
    start(tickMs = STATUS_TICK_MS) {
      if (started) return;
      started = true;
      // runs a previous process left «running» will never finish
      deps.employeeSync.failInterrupted('Interrupted by a restart of the server; run the sync again');
      void (async () => {
        while (!stopped) {
          await background.run('employee sync tick', tick);
          await deps.clock.sleep(tickMs);
        }
      })();
    },
    idle: () => background.idle(),
    stop() {
      stopped = true;
    },
  };
}
