import type { EmployeeSyncRun } from '../../contracts/employee-sync';
import { AppError } from '../../domain/errors';
import { createBackground } from '../background';
import { createPollLeases, underLease } from '../poll-leases';
import { DAY_MS } from './settings';
import { importEmployeeStatuses } from './statuses';
import { runEmployeeSync, type EmployeeSyncDeps } from './sync';

/** «Импорт статусов» runs on this tick; the daily sync is checked on it too. */
export const STATUS_TICK_MS = 20 * 60_000;
/** The lease a portal's sync run holds (issue #12): its run is alive while the lease is held. */
const RUN_LEASE = 'employee-sync';
const INTERRUPTED = 'Interrupted by a restart of the server; run the sync again';

export interface EmployeeSyncWorker {
  /** Start a sync of the portal in the background; null when one is already running. */
  trigger(memberId: string, trigger: EmployeeSyncRun['trigger']): Promise<EmployeeSyncRun | null>;
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
  // several instances on one database (issue #12): a run holds the portal's lease while it lasts,
  // and a portal's tick (status import, daily sync) is done by one instance
  const lease = deps.gateway.leases;
  const polls = createPollLeases(lease, 'poll:employee-sync', deps.log);
  /** portals whose run this process is doing */
  const mine = new Set<string>();

  const trigger: EmployeeSyncWorker['trigger'] = async (memberId, kind) => {
    // ours before the run's row exists: failDead, between the insert and its answer, must not take
    // the run being started here for a dead process's
    const had = mine.has(memberId);
    mine.add(memberId);
    let begun: EmployeeSyncRun | null = null;
    try {
      begun = await deps.employeeSync.startRun(memberId, kind);
    } finally {
      if (!begun && !had) mine.delete(memberId);
    }
    const run = begun;
    if (!run) return null;
    void background.run('employee sync', () =>
      underLease(lease, memberId, RUN_LEASE, (ms) => deps.clock.sleep(ms), () => runEmployeeSync(deps, memberId, run), deps.log)
        .then(
          (result) => deps.employeeSync.finishRun(run.id, { result }),
          (e: unknown) => {
            if (!(e instanceof AppError)) deps.log.error({ err: e, memberId }, 'employee sync failed');
            return deps.employeeSync.finishRun(run.id, { error: e instanceof AppError ? e.message : `Internal error: ${(e as Error).message}` });
          },
        )
        .finally(() => mine.delete(memberId)),
    );
    return run;
  };

  /**
   * Runs left `running` by a process that died are failed (they cannot resume): a run not this
   * process's, alone, is an earlier start's. With leases, a run whose lease another instance holds is alive:
   * left alone (failing it would let a second run start beside it and create the same employees
   * in UIS twice); checked on every tick, so a run of an instance killed later is failed too.
   */
  const failDead = async () => {
    for (const memberId of await deps.employeeSync.runningPortals()) {
      if (mine.has(memberId)) continue;
      const h = lease ? await lease.hold(memberId, RUN_LEASE) : { release: async () => {} };
      if (!h) continue;
      try {
        if (!mine.has(memberId)) await deps.employeeSync.failInterrupted(INTERRUPTED, memberId);
      } finally {
        await h.release();
      }
    }
  };

  const tick = async () => {
    const now = deps.clock.now();
    if (started) await failDead();
    const scheduled = await deps.employeeSync.scheduledPortals();
    await polls.keepOnly(scheduled.map((p) => p.memberId));
    for (const p of scheduled) {
      if (stopped) return;
      if (!(await deps.links.get(p.memberId))) continue;
      if (!(await polls.mine(p.memberId))) continue;
      if (p.settings.dailySync && p.nextDailyAt !== null && p.nextDailyAt <= now && (await trigger(p.memberId, 'daily'))) {
        await deps.employeeSync.setNextDailyAt(p.memberId, now + DAY_MS);
      }
      if (!p.settings.importStatuses) continue;
      try {
        await deps.employeeSync.setStatusImport(p.memberId, await importEmployeeStatuses(deps, p.memberId));
      } catch (e) {
        if (!(e instanceof AppError)) deps.log.error({ err: e, memberId: p.memberId }, 'status import failed');
        await deps.employeeSync.setStatusImport(p.memberId, { at: new Date(deps.clock.now()).toISOString(), updated: 0, unchanged: 0, error: (e as Error).message });
      }
    }
  };

  return {
    trigger,
    tick: () => background.run('employee sync tick', tick),
    start(tickMs = STATUS_TICK_MS) {
      if (started) return;
      started = true;
      void (async () => {
        while (!stopped) {
          await background.run('employee sync tick', tick);
          if (!stopped) await deps.clock.sleep(tickMs);
        }
      })();
    },
    idle: () => background.idle(),
    stop() {
      stopped = true;
      void polls.releaseAll();
    },
  };
}
