/**
 * Time as a dependency. Everything that waits or measures (the rate limiter, token expiry,
 * the emulators' leaky bucket) takes a Clock, so that a benchmark can run a faithful model of
 * Bitrix24's 2 req/s bucket faster than real time by scaling both sides with one clock.
 */
export interface Clock {
  /** Milliseconds since the epoch, on this clock. */
  now(): number;
  /** Resolve after `ms` milliseconds of this clock. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** A clock that runs `scale` times faster than real time, starting at the real current time. */
export function scaledClock(scale: number): Clock {
  if (!(scale > 0)) throw new Error(`clock scale must be positive, got ${scale}`);
  const realStart = Date.now();
  return {
    now: () => realStart + (Date.now() - realStart) * scale,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / scale))),
  };
}
