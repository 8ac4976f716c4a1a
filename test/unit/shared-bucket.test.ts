/**
 * A portal's REST bucket shared by the instances of a cluster (issue #12): Bitrix24 keeps one leaky
 * bucket per portal and app, whichever instance sends, so two instances' limiters on one database
 * (migration 027) pace the portal as one limiter would. Time is a FakeClock, never the wall clock.
 */
import { describe, expect, it } from 'vitest';
import { createPortalLimiter, createSharedPortalLimiter } from '../../server/bitrix/limiter';
import { openDb } from '../../server/storage/db';
import { createSqliteRestBucketStore } from '../../server/storage/rest-bucket-repository';
import { FakeClock } from '../support/fake-clock';

const PLAN = { drainPerSec: 2, burst: 10, headroom: 4 }; // capacity 6, one request per 500 ms

function instances() {
  const clock = new FakeClock();
  const store = createSqliteRestBucketStore(openDb(':memory:'), () => clock.now());
  const limiter = (memberId: string) =>
    createSharedPortalLimiter(PLAN, clock, { take: (ms) => store.take(memberId, ms), fill: (capacity, ms) => store.fill(memberId, capacity, ms) });
  return { clock, a: limiter('p1'), b: limiter('p1'), other: limiter('p2') };
}

/** Resolved already? (after the pending database statement and microtasks ran) */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('shared REST bucket', () => {
  it('what one instance sent counts for the other: past the capacity, the other waits its slot', async () => {
    const { clock, a, b, other } = instances();
    for (let i = 0; i < 6; i++) expect(await settled(a.acquire())).toBe(true);
    const next = b.acquire();
    expect(await settled(next)).toBe(false); // the portal's bucket is at capacity, whoever filled it
    expect(await settled(other.acquire())).toBe(true); // another portal's bucket is its own
    await clock.advance(499);
    expect(await settled(next)).toBe(false);
    await clock.advance(1);
    expect(await settled(next)).toBe(true);
    expect(b.level()).toBeCloseTo(6, 5); // 7 requests, one drained while it waited
    // it drains for everybody: two slots later both instances send again at once
    await clock.advance(1500);
    expect(await settled(a.acquire())).toBe(true);
    expect(await settled(b.acquire())).toBe(true);
  });

  it('a QUERY_LIMIT_EXCEEDED seen by one instance makes the other wait too', async () => {
    const { clock, a, b } = instances();
    expect(await settled(a.acquire())).toBe(true);
    a.onLimitExceeded();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const next = b.acquire();
    expect(await settled(next)).toBe(false);
    await clock.advance(500);
    expect(await settled(next)).toBe(true);
  });

  it('(the in-memory limiter of one process does not see the other: why the shared one exists)', async () => {
    const clock = new FakeClock();
    const a = createPortalLimiter(PLAN, clock);
    const b = createPortalLimiter(PLAN, clock);
    for (let i = 0; i < 6; i++) await a.acquire();
    expect(await settled(b.acquire())).toBe(true);
  });
});
