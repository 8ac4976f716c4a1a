import type { Clock } from '../domain/clock';
import type { Logger } from '../logging';

/**
 * The run loop shared by the durable job workers (analytics, Open Lines bridge): jobs live in the
 * database; a run processes every portal with due work, one run at a time; `wake()` debounces a
 * burst into one run; while jobs exist the loop re-checks at least every second; `drain()` (for
 * tests and shutdown) returns once nothing is due now.
 */
export interface JobLoop {
  /** Run after the debounce (or after `delayMs`), unless a run is already scheduled. */
  wake(delayMs?: number): void;
  drain(): Promise<void>;
  /** Resolves when the run in flight (if any) has finished. */
  idle(): Promise<void>;
  /** Call `work` now and then every `intervalMs` until stopped; failures are the caller's to log. */
  every(intervalMs: number, work: () => Promise<void>): void;
  stop(): void;
  /** Start no run until `resume()` (queued work stays queued; a run in flight finishes). */
  pause(): void;
  resume(): void;
  readonly stopped: boolean;
}

export interface JobLoopOptions {
  name: string;
  clock: Clock;
  log: Logger;
  debounceMs: number;
  portalsWithDueJobs(now: number): string[];
  nextDueAt(): number | null;
  processPortal(memberId: string): Promise<void>;
  /** Housekeeping before each run (retention…). */
  beforeRun?(): void;
}

export function createJobLoop(o: JobLoopOptions): JobLoop {
  let chain: Promise<void> = Promise.resolve();
  let timerPending = false;
  let stopped = false;
  let paused = false;

  const runDue = async () => {
    o.beforeRun?.();
    for (const memberId of o.portalsWithDueJobs(o.clock.now())) {
      if (stopped) return;
      try {
        await o.processPortal(memberId);
      } catch (e) {
        o.log.error({ err: e, memberId }, `${o.name} run failed`);
      }
    }
  };
  /** One run at a time: every run (timer or drain) is chained after the previous one. */
  const runNow = (): Promise<void> => (chain = chain.then(runDue));

  const schedule = (delay: number): void => {
    if (stopped || paused || timerPending) return;
    timerPending = true;
    void o.clock.sleep(delay).then(async () => {
      timerPending = false;
      if (stopped || paused) return;
      await runNow();
      const next = o.nextDueAt();
      if (next !== null) schedule(Math.min(1000, Math.max(0, next - o.clock.now())));
    });
  };

  return {
    wake: (delayMs) => schedule(delayMs ?? o.debounceMs),
    idle: () => chain,
    every(intervalMs, work) {
      void (async () => {
        while (!stopped) {
          await work();
          await o.clock.sleep(intervalMs);
        }
      })();
    },
    async drain() {
      for (;;) {
        await chain;
        const next = o.nextDueAt();
        if (stopped || paused || next === null || next > o.clock.now()) return;
        await runNow();
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
