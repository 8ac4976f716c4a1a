import type { Clock } from '../domain/clock';
import type { Logger } from '../logging';

/**
 * The run loop shared by the durable job workers (analytics, Open Lines bridge, CRM rules): jobs
 * live in the database; portals with due work are processed, each portal by one run at a time,
 * up to `concurrency` portals at once, so a portal waiting on its rate limit (or a slow portal)
 * does not hold up the others. `wake()` debounces a burst into one start; while jobs exist the
 * loop re-checks at least every second; `drain()` (for tests and shutdown) returns once nothing is
 * due now and no run is in flight.
 *
 * Several instances (issue #12): with a `lease`, a run or poll of a portal first holds the portal's
 * 'work' lease (in the database, shared by every loop of this process), so one instance of the
 * cluster works for a portal at a time — per-chat order and one CRM decision per portal at a time
 * hold across instances, and only that instance paces the portal's job-loop REST calls. A portal
 * held elsewhere is skipped and looked at again a second later; the holder's own loop finds the
 * work others wrote when its run ends. A poll (`everyPortal`) of a portal is done by one instance of
 * the cluster: the first to take the poll's lease keeps it from round to round (renewed), the
 * others skip that portal until it expires (its holder died) — so N instances poll as often as one.
 */
/** The portal leases the loop needs (services/leases.ts LeaseKeeper is one). */
export interface RunLease {
  hold(memberId: string, area: string): Promise<{ release(): Promise<void>; readonly lost?: boolean } | null>;
}

/** The lease area of every job loop's work for a portal. */
export const WORK_LEASE = 'work';

export interface JobLoop {
  /** Start due portals after the debounce (or after `delayMs`), unless a start is already scheduled. */
  wake(delayMs?: number): void;
  drain(): Promise<void>;
  /** Resolves when no run is in flight. */
  idle(): Promise<void>;
  /**
   * `work` for each of `portals()` now and then every `intervalMs` until stopped (offline-event
   * catch-up, report polling); a portal's failure is logged as `failure`, the others go on.
   */
  everyPortal(intervalMs: number, portals: () => string[] | Promise<string[]>, work: (memberId: string) => Promise<unknown>, failure: string): void;
  stop(): void;
  /** Start no run until `resume()` (queued work stays queued; runs in flight finish). */
  pause(): void;
  resume(): void;
  readonly stopped: boolean;
}

export interface JobLoopOptions {
  name: string;
  clock: Clock;
  log: Logger;
  debounceMs: number;
  /** May answer asynchronously (storage ports are moving to async). */
  portalsWithDueJobs(now: number): string[] | Promise<string[]>;
  nextDueAt(): number | null | Promise<number | null>;
  processPortal(memberId: string): Promise<void>;
  /** Housekeeping before each start of due portals (retention…). */
  beforeRun?(): void;
  /** Portals processed at the same time (default 16). */
  concurrency?: number;
  /** Cluster: hold the portal's work lease around each run and poll (none: this process alone). */
  lease?: RunLease;
}

const BUSY_RECHECK_MS = 50;
/** A portal whose lease another instance holds is looked at again after this long. */
const HELD_RECHECK_MS = 1000;

export function createJobLoop(o: JobLoopOptions): JobLoop {
  const concurrency = Math.max(1, o.concurrency ?? 16);
  /** memberId → its run in flight */
  const running = new Map<string, Promise<void>>();
  let timerPending = false;
  let stopped = false;
  let paused = false;
  /** runs that did work (drain stops when every due portal is held by another instance) */
  let processed = 0;
  let polls = 0;

  const holdLease = async (memberId: string) => {
    if (!o.lease) return { release: async () => {} };
    return o.lease.hold(memberId, WORK_LEASE);
  };
  const letGo = (hold: { release(): Promise<void> }, memberId: string) =>
    hold.release().catch((e: unknown) => o.log.warn({ err: e, memberId }, `${o.name}: lease release failed`));

  /** Starts a run for each portal with due work that has none in flight, up to the limit; returns how many started. */
  const startDue = async (): Promise<number> => {
    if (stopped || paused) return 0;
    o.beforeRun?.();
    let started = 0;
    const due = await o.portalsWithDueJobs(o.clock.now());
    if (stopped || paused) return 0;
    for (const memberId of due) {
      if (running.size >= concurrency) break;
      if (running.has(memberId)) continue;
      started++;
      const run = (async () => {
        let held = true;
        try {
          const hold = await holdLease(memberId);
          if (!hold) {
            held = false;
            return;
          }
          try {
            processed++;
            await o.processPortal(memberId);
          } finally {
            await letGo(hold, memberId);
          }
        } catch (e) {
          o.log.error({ err: e, memberId }, `${o.name} run failed`);
        } finally {
          running.delete(memberId);
          // a slot is free, and this portal may have more (or later) work; held elsewhere: its
          // holder does it, we look again in a while (in case it dies)
          if (held) void reschedule().catch((e: unknown) => o.log.error({ err: e }, `${o.name} reschedule failed`));
          else schedule(HELD_RECHECK_MS);
        }
      })();
      running.set(memberId, run);
    }
    return started;
  };

  /**
   * After a run ends: work due now starts after the debounce if a slot is free (due work of portals
   * still running is picked up when their runs end); later work when its first job is due,
   * re-checked at least every second.
   */
  const reschedule = async (): Promise<void> => {
    const next = await o.nextDueAt();
    if (next === null) return;
    const wait = next - o.clock.now();
    if (wait > 0) schedule(Math.min(1000, wait));
    else if (running.size < concurrency) schedule(o.debounceMs);
  };

  let lastStartAt = -Infinity;
  const schedule = (delay: number): void => {
    if (stopped || paused || timerPending) return;
    timerPending = true;
    // While runs are in flight, new work mostly joins them: the due portals are looked up at most
    // every BUSY_RECHECK_MS then, not at every burst of callbacks.
    const wait = running.size ? Math.max(delay, lastStartAt + BUSY_RECHECK_MS - o.clock.now()) : delay;
    void o.clock.sleep(wait).then(async () => {
      timerPending = false;
      if (stopped || paused) return;
      lastStartAt = o.clock.now();
      await startDue();
      if (running.size) return; // their ends reschedule
      const next = await o.nextDueAt();
      // nothing started although work is due: check again in a second rather than spin
      if (next !== null) schedule(Math.min(1000, next > o.clock.now() ? next - o.clock.now() : 1000));
    }).catch((e: unknown) => o.log.error({ err: e }, `${o.name} start failed`));
  };

  const idle = async (): Promise<void> => {
    while (running.size) await Promise.all([...running.values()]);
  };

  return {
    wake: (delayMs) => schedule(delayMs ?? o.debounceMs),
    idle,
    everyPortal(intervalMs, portals, work, failure) {
      const area = `poll:${o.name}:${++polls}`;
      /** the portals this instance polls: their poll leases are kept between rounds */
      const polled = new Map<string, { release(): Promise<void>; readonly lost?: boolean }>();
      const mayPoll = async (memberId: string): Promise<boolean> => {
        if (!o.lease) return true;
        const had = polled.get(memberId);
        if (had && !had.lost) return true;
        const h = await o.lease.hold(memberId, area);
        if (h) polled.set(memberId, h);
        else polled.delete(memberId);
        return !!h;
      };
      void (async () => {
        while (!stopped) {
          const list = await portals();
          for (const [memberId, h] of polled) {
            if (list.includes(memberId)) continue;
            polled.delete(memberId);
            await letGo(h, memberId);
          }
          for (const memberId of list) {
            if (stopped) break;
            try {
              // polled by another instance: skipped
              if (!(await mayPoll(memberId))) continue;
              // the portal's work held by another instance: it polls the portal from now on (its
              // poll finds the poll lease free), so a busy portal's polls are not starved here
              const hold = await holdLease(memberId);
              if (!hold) {
                const mine = polled.get(memberId);
                polled.delete(memberId);
                if (mine) await letGo(mine, memberId);
                continue;
              }
              try {
                await work(memberId);
              } finally {
                await letGo(hold, memberId);
              }
            } catch (e) {
              o.log.warn({ memberId, code: (e as { code?: string }).code }, failure);
            }
          }
          if (stopped) break;
          await o.clock.sleep(intervalMs);
        }
        for (const [memberId, h] of polled) await letGo(h, memberId);
      })();
    },
    async drain() {
      for (;;) {
        await idle();
        const next = await o.nextDueAt();
        if (stopped || paused || next === null || next > o.clock.now()) return;
        const before = processed;
        if (!(await startDue())) return; // due work nobody can take now (cannot happen while idle, but never spin)
        await idle();
        if (processed === before) return; // every due portal is held by another instance
      }
    },
    stop() {
      stopped = true;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      schedule(0);
    },
    get stopped() {
      return stopped;
    },
  };
}
