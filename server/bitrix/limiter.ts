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
