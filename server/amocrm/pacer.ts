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

export function createPacer(perSecond: number, clock: Clock): Pacer {
  const base = 1000 / perSecond;
  let interval = base;
  let last = Number.NEGATIVE_INFINITY;
  let chain: Promise<void> = Promise.resolve();
  return {
    acquire() {
      const turn = chain.then(async () => {
        for (let wait = last + interval - clock.now(); wait > 0; wait = last + interval - clock.now()) await clock.sleep(wait);
        last = clock.now();
      });
      chain = turn;
      return turn;
    },
    throttled() {
      interval = Math.min(2000, interval * 2);
      last = Math.max(last, clock.now() + 1000 - interval);
    },
    succeeded() {
      interval = Math.max(base, interval * 0.97);
    },
  };
}
