/**
 * The cloud rate limiter, a leaky bucket per portal and app (docs/facts/bitrix24.md#rest-limits): +1 per HTTP
 * request to /rest (a batch is one), drains `drainPerSec`, a request that would push it over
 * `burst` is refused with 503 and does not fill the bucket. Runs on the injected clock.
 */
import type { Clock } from '../../../server/domain/clock';

export interface RatePlan {
  drainPerSec: number;
  burst: number;
}

export class LeakyBucket {
  private level = 0;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private plan: RatePlan,
  ) {
    this.last = clock.now();
  }

  private drain(): void {
    const now = this.clock.now();
    const elapsedSec = Math.max(0, now - this.last) / 1000;
    this.level = Math.max(0, this.level - elapsedSec * this.plan.drainPerSec);
    this.last = now;
  }

  /** True when the request is admitted (and counted). */
  take(): boolean {
    this.drain();
    if (this.level + 1 > this.plan.burst) return false;
    this.level += 1;
    return true;
  }

  setPlan(plan: RatePlan): void {
    this.drain();
    this.plan = { ...plan };
  }
}
