/**
 * The REST bucket store contract (issue #12: a portal's Bitrix24 leaky bucket shared by the
 * instances), the same cases against the SQLite store (migration 027) and the PostgreSQL one
 * (migrations-pg/027): +1 per request, drained by one per `msPerRequest`, never below 0, a caller
 * behind the last update drains nothing, QUERY_LIMIT_EXCEEDED fills it — and concurrent takes of one
 * portal (several connections on PostgreSQL) each count once. Time is a hand-moved number.
 */
import { beforeEach, expect, it } from 'vitest';
import { createSqliteRestBucketStore } from '../../server/storage/rest-bucket-repository';
import { createPgRestBucketStore } from '../../server/storage/pg/rest-bucket-store';
import type { RestBucketStore } from '../../server/services/rest-bucket-ports';
import { forEachStore } from '../support/stores';

forEachStore('REST bucket store', (store) => {
  let now = 1_000_000;
  let buckets: RestBucketStore;
  beforeEach(async () => {
    now = 1_000_000;
    await store.clear('rest_buckets');
    buckets = store.sqlite ? createSqliteRestBucketStore(store.sqlite, () => now) : createPgRestBucketStore(store.pg!.db, () => now);
  });

  it('counts each request, drains one per msPerRequest (fractions too), never below empty', async () => {
    expect(await buckets.take('p1', 500)).toBe(1);
    expect(await buckets.take('p1', 500)).toBe(2);
    expect(await buckets.take('p1', 500)).toBe(3);
    now += 250;
    expect(await buckets.take('p1', 500)).toBeCloseTo(3.5, 9);
    now += 1000;
    expect(await buckets.take('p1', 500)).toBeCloseTo(2.5, 9);
    now += 60_000;
    expect(await buckets.take('p1', 500)).toBe(1);
    expect(await buckets.take('p2', 500)).toBe(1); // another portal's bucket is its own
  });

  it('a caller whose clock is behind the last update drains nothing and does not move it back', async () => {
    expect(await buckets.take('p1', 500)).toBe(1);
    now -= 400;
    expect(await buckets.take('p1', 500)).toBe(2);
    now += 400 + 500; // one slot after the first update
    expect(await buckets.take('p1', 500)).toBe(2);
  });

  it('fill: the level is at least the capacity afterwards, a fuller bucket is kept', async () => {
    expect(await buckets.fill('p1', 6, 500)).toBe(6); // a bucket it has not seen yet
    expect(await buckets.take('p1', 500)).toBe(7);
    expect(await buckets.fill('p1', 6, 500)).toBe(7);
    now += 1500;
    expect(await buckets.fill('p1', 6, 500)).toBe(6); // drained to 4, filled to 6
    expect(await buckets.take('p1', 500)).toBe(7);
  });

  it('concurrent takes of one portal (several connections on PostgreSQL) each count once', async () => {
    const levels = await Promise.all(Array.from({ length: 12 }, () => buckets.take('p1', 500)));
    expect([...levels].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await buckets.take('p1', 500)).toBe(13);
  });
});
