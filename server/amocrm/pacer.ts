import type { Clock } from '../domain/clock';

/**
 * Spaces requests to one amoCRM host evenly (amoCRM allows 7 per second: Kommo «Limitations»),
 * and slows down when amoCRM says 429 anyway (another client of the same account, a tighter
 * limit than documented): the interval doubles, up to 2 s, with a 1 s pause, and creeps back to
 * the base rate as requests succeed. Slots are reserved synchronously, so concurrent callers
 * queue in order.
 */
export interface Pacer {
  acquire(): Promise<void>;
  throttled(): void;
  succeeded(): void;
}

export function createPacer(perSecond: number, clock: Clock): Pacer {
  const base = 1000 / perSecond;
  let interval = base;
  let next = 0;
  return {
    acquire() {
      const now = clock.now();
      const at = Math.max(now, next);
      next = at + interval;
      return at > now ? clock.sleep(at - now) : Promise.resolve();
    },
    throttled() {
      interval = Math.min(2000, interval * 2);
      next = Math.max(next, clock.now() + 1000);
    },
    succeeded() {
      interval = Math.max(base, interval * 0.97);
    },
  };
}
