import type { Clock } from '../domain/clock';
import type { Logger } from '../logging';

/**
 * The run loop shared by the durable job workers (analytics, Open Lines bridge): jobs live in the
 * database; a run processes every portal with due work, one run at a time; `wake()` debounces a
 * burst into one run; while jobs exist the loop re-checks at least every second; `drain()` (for
 * tests and shutdown) returns once nothing is due now.
 */
export interface JobLoop {
  wake(): void;
  drain(): Promise<void>;
  stop(): void;
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
}

export function createJobLoop(o: JobLoopOptions): JobLoop {
  let chain: Promise<void> = Promise.resolve();
  let timerPending = false;
  let stopped = false;

  const runDue = async () => {
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
    if (stopped || timerPending) return;
    timerPending = true;
    void o.clock.sleep(delay).then(async () => {
      timerPending = false;
      if (stopped) return;
      await runNow();
      const next = o.nextDueAt();
      if (next !== null) schedule(Math.min(1000, Math.max(0, next - o.clock.now())));
    });
  };

  return {
    wake: () => schedule(o.debounceMs),
    async drain() {
      for (;;) {
        await chain;
        const next = o.nextDueAt();
        if (stopped || next === null || next > o.clock.now()) return;
        await runNow();
      }
    },
    stop() {
      stopped = true;
    },
    get stopped() {
      return stopped;
    },
  };
}
