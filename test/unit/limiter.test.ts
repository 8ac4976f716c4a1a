import { describe, expect, it } from 'vitest';
import { createPortalLimiter } from '../../server/bitrix/limiter';
import { FakeClock } from '../support/fake-clock';

describe('portal limiter (client mirror of the leaky bucket)', () => {
  it('when a burst arrives, then requests up to burst minus headroom pass at once and the rest are paced at the drain rate', async () => {
    const clock = new FakeClock();
    const limiter = createPortalLimiter({ drainPerSec: 2, burst: 50, headroom: 2 }, clock);
    const passedAt: number[] = [];
    const start = clock.now();
    const all = Array.from({ length: 60 }, () => limiter.acquire().then(() => passedAt.push(clock.now() - start)));
    await new Promise((r) => setImmediate(r));
    expect(passedAt.length).toBe(48);
    await clock.advance(5999);
    expect(passedAt.length).toBe(59);
    await clock.advance(1);
    await Promise.all(all);
    // the 49th request waits one drain interval (500 ms), the 60th twelve of them
    expect(passedAt[48]).toBe(500);
    expect(passedAt[59]).toBe(6000);
  });

  it('when the portal says QUERY_LIMIT_EXCEEDED, then the next request waits for one drain interval', async () => {
    const clock = new FakeClock();
    const limiter = createPortalLimiter({ drainPerSec: 2, burst: 50 }, clock);
    limiter.onLimitExceeded();
    let passed = false;
    const p = limiter.acquire().then(() => (passed = true));
    await new Promise((r) => setImmediate(r));
    expect(passed).toBe(false);
    await clock.advance(499);
    expect(passed).toBe(false);
    await clock.advance(1);
    await p;
    expect(passed).toBe(true);
  });

  it('when idle long enough, then the bucket drains back to empty', async () => {
    const clock = new FakeClock();
    const limiter = createPortalLimiter({ drainPerSec: 5, burst: 250 }, clock);
    for (let i = 0; i < 100; i++) await limiter.acquire();
    expect(limiter.level()).toBe(100);
    await clock.advance(10_000);
    expect(limiter.level()).toBe(50);
    await clock.advance(10_000);
    expect(limiter.level()).toBe(0);
  });
});
