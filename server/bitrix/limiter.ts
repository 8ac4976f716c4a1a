import type { Clock } from '../domain/clock';

/**
 * Client-side mirror of Bitrix24's per-portal leaky bucket (docs/facts/bitrix24.md#rest-limits: +1 per HTTP
 * request, drains `drainPerSec`, over `burst` → 503 QUERY_LIMIT_EXCEEDED).
 *
 * It is a virtual-scheduling (GCRA) limiter: `acquire()` reserves the next slot synchronously,
 * so concurrent callers queue in order without a lock, and the wait is computed, not polled.
 * A small headroom below the burst absorbs jitter: the portal counts arrivals, and requests sent
 * evenly can arrive bunched (network, event-loop stalls). Each request of headroom tolerates
 * 1/drain seconds of bunching; the default 4 tolerates 2 s at 2 req/s for ~0.4 % of throughput.
 */
export interface PortalLimiter {
  /** Resolve when one more request may be sent without overflowing the bucket. */
  acquire(): Promise<void>;
  /** The portal answered QUERY_LIMIT_EXCEEDED: assume the bucket is full now. */
  onLimitExceeded(): void;
  /** Estimated bucket level now (for metrics and tests). */
  level(): number;
}

export interface LimiterOptions {
  drainPerSec: number;
  burst: number;
  /** Requests kept free under the burst; default 4. */
  headroom?: number;
}

export function createPortalLimiter(opts: LimiterOptions, clock: Clock): PortalLimiter {
  const capacity = Math.max(1, opts.burst - (opts.headroom ?? 4));
  const msPerRequest = 1000 / opts.drainPerSec;
  let level = 0; // requests in the bucket (including reserved, not yet sent ones)
  let at = clock.now();

  const drain = () => {
    const now = clock.now();
    level = Math.max(0, level - (now - at) / msPerRequest);
    at = now;
  };

  return {
    acquire() {
      drain();
      level += 1;
      const excess = level - capacity;
      if (excess <= 0) return Promise.resolve();
      return clock.sleep(excess * msPerRequest);
    },
    onLimitExceeded() {
      drain();
      level = Math.max(level, capacity);
    },
    level() {
      drain();
      return level;
    },
  };
}

/** A portal's bucket level kept where every instance sees it (storage's RestBucketStore, bound to the portal). */
export interface SharedBucket {
  /** one more request; the level after it, this request included */
  take(msPerRequest: number): Promise<number>;
  /** QUERY_LIMIT_EXCEEDED: at least `capacity` now; the level */
  fill(capacity: number, msPerRequest: number): Promise<number>;
}

/**
 * The same limiter with its level shared by the instances of a cluster (issue #12): Bitrix24 keeps
 * one bucket per portal and app, whichever instance sends. Each request reserves its slot with one
 * statement on the shared level and waits the excess, as `createPortalLimiter` does in memory;
 * `level()` is this instance's estimate from the level it last saw, drained since.
 */
export function createSharedPortalLimiter(opts: LimiterOptions, clock: Clock, bucket: SharedBucket): PortalLimiter {
  const capacity = Math.max(1, opts.burst - (opts.headroom ?? 4));
  const msPerRequest = 1000 / opts.drainPerSec;
  let seen = 0;
  let at = clock.now();
  const note = (level: number) => {
    seen = level;
    at = clock.now();
  };
  const estimate = () => Math.max(0, seen - (clock.now() - at) / msPerRequest);
  return {
    async acquire() {
      const level = await bucket.take(msPerRequest);
      note(level);
      const excess = level - capacity;
      if (excess > 0) await clock.sleep(excess * msPerRequest);
    },
    onLimitExceeded() {
      note(Math.max(estimate(), capacity));
      void bucket.fill(capacity, msPerRequest).then(note, () => undefined);
    },
    level: estimate,
  };
}
