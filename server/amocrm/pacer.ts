import type { Clock } from '../domain/clock';

/**
 * Spaces requests to one amoCRM host (amoCRM allows 7 per second: Kommo «Limitations»; it counts
 * what arrives), and slows down when amoCRM says 429 anyway (another client of the same account, a
 * tighter limit than documented): the interval doubles, up to 2 s, after a 1 s pause, and creeps
 * back to the base rate as requests succeed. Callers pass one at a time and the spacing is
 * measured from the previous caller's actual release, so a stalled event loop does not release a
 * bunch of overdue slots at once.
 */
export interface Pacer {
  acquire(): Promise<void>;
  throttled(): void;
  succeeded(): void;
}

/**
 * The host's last release shared by the instances of a cluster (issue #12): amoCRM counts what the
 * account receives, whichever instance sends it, so N instances with a pacer each would send N × 5
 * per second. With it, a caller goes when `intervalMs` has passed since the last release of any
 * instance — the same rule as the local pacer's, measured from the shared last release.
 */
export interface PacerSlots {
  /** Takes the slot (0) if `intervalMs` has passed since the last one taken; else how long to wait first. */
  take(intervalMs: number): Promise<number>;
  /** A 429: nobody's next slot before `at` (less their interval). */
  holdUntil(at: number): Promise<void>;
}

export function createPacer(perSecond: number, clock: Clock, shared?: PacerSlots): Pacer {
  const base = 1000 / perSecond;
  let interval = base;
  let last = Number.NEGATIVE_INFINITY;
  let chain: Promise<void> = Promise.resolve();
  return {
    acquire() {
      const turn = chain.then(async () => {
        if (shared) {
          // this process's callers pass one at a time (the chain); the slot is the cluster's
          for (let wait = await shared.take(interval); wait > 0; wait = await shared.take(interval)) await clock.sleep(wait);
        } else {
          for (let wait = last + interval - clock.now(); wait > 0; wait = last + interval - clock.now()) await clock.sleep(wait);
        }
        last = clock.now();
      });
      chain = turn;
      return turn;
    },
    throttled() {
      interval = Math.min(2000, interval * 2);
      last = Math.max(last, clock.now() + 1000 - interval);
      // the other instances pause too (their own 429 doubles their interval)
      void shared?.holdUntil(last).catch(() => undefined);
    },
    succeeded() {
      interval = Math.max(base, interval * 0.97);
    },
  };
}
