/**
 * The lease store contract (issue #12, «Several instances, one truth»), the same cases against the
 * SQLite store (migration 026) and the PostgreSQL one (migrations-pg/026): one owner at a time,
 * expiry and take-over, fencing, an instance's restart dropping its earlier start's leases — and on
 * PostgreSQL contenders on several pool connections racing for one lease: exactly one wins. Time is
 * a hand-moved number, never the wall clock.
 */
import { beforeEach, expect, it } from 'vitest';
import { createSqliteLeaseStore } from '../../server/storage/lease-repository';
import { createPgLeaseStore } from '../../server/storage/pg/lease-store';
import type { LeaseStore } from '../../server/services/lease-ports';
import { forEachStore, type TestStore } from '../support/stores';

function leaseStore(store: TestStore, now: () => number): LeaseStore {
  return store.sqlite ? createSqliteLeaseStore(store.sqlite, now) : createPgLeaseStore(store.pg!.db, now);
}

async function owners(store: TestStore): Promise<Array<{ member_id: string; area: string; owner: string; expires_at: number }>> {
  const q = 'SELECT member_id, area, owner, expires_at FROM leases ORDER BY member_id, area';
  return store.sqlite ? (store.sqlite.prepare(q).all() as never) : (await store.pg!.pool.query(q)).rows;
}

forEachStore('lease store', (store) => {
  let now = 1_000_000;
  let leases: LeaseStore;
  beforeEach(async () => {
    now = 1_000_000;
    await store.clear('leases');
    leases = leaseStore(store, () => now);
  });

  it('holder: who holds a lease, whether it expired, nobody once it is given up', async () => {
    expect(await leases.holder('p1', 'oauth')).toBeNull();
    expect(await leases.acquire('p1', 'oauth', 'A', 1000)).toBe(true);
    expect(await leases.holder('p1', 'oauth')).toEqual({ owner: 'A', expired: false });
    expect(await leases.holder('p1', 'work')).toBeNull();
    now += 1000; // at its expiry
    expect(await leases.holder('p1', 'oauth')).toEqual({ owner: 'A', expired: true });
    expect(await leases.acquire('p1', 'oauth', 'B', 1000)).toBe(true);
    expect(await leases.holder('p1', 'oauth')).toEqual({ owner: 'B', expired: false });
    await leases.release('p1', 'oauth', 'B');
    expect(await leases.holder('p1', 'oauth')).toBeNull();
  });

  it("one owner at a time; re-acquiring one's own extends it; release only by the owner", async () => {
    expect(await leases.acquire('p1', 'work', 'A', 1000)).toBe(true);
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    now += 500;
    expect(await leases.acquire('p1', 'work', 'A', 1000)).toBe(true);
    expect(await owners(store)).toEqual([{ member_id: 'p1', area: 'work', owner: 'A', expires_at: 1_001_500 }]);
    expect(await leases.acquire('p2', 'work', 'B', 1000)).toBe(true); // another portal
    expect(await leases.acquire('p1', 'oauth', 'B', 1000)).toBe(true); // another area
    await leases.release('p1', 'work', 'B'); // not B's: nothing happens
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    await leases.release('p1', 'work', 'A');
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(true);
  });

  it('an expired lease is taken over, and its former owner can no longer renew it (fenced)', async () => {
    expect(await leases.acquire('p1', 'work', 'A', 1000)).toBe(true);
    now += 999;
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    expect(await leases.renew('p1', 'work', 'A', 1000)).toBe(true); // now lives until +1999
    now += 999;
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    now += 1;
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(true); // expires_at <= now: A died, B takes over
    expect(await leases.renew('p1', 'work', 'A', 1000)).toBe(false);
    await leases.release('p1', 'work', 'A');
    expect(await leases.acquire('p1', 'work', 'C', 1000)).toBe(false); // still B's
    expect(await leases.renew('p1', 'work', 'B', 5000)).toBe(true);
    expect(await owners(store)).toEqual([{ member_id: 'p1', area: 'work', owner: 'B', expires_at: now + 5000 }]);
  });

  it('a fractional time to live is taken (PostgreSQL keeps whole ms)', async () => {
    expect(await leases.acquire('p1', 'work', 'A', 999.6)).toBe(true);
    expect(await leases.renew('p1', 'work', 'A', 999.6)).toBe(true);
    now += 999;
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    now += 1;
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(true);
  });

  it('renewing a lease nobody holds fails (it is not created)', async () => {
    expect(await leases.renew('p1', 'work', 'A', 1000)).toBe(false);
    expect(await owners(store)).toEqual([]);
  });

  it('a new start of an instance drops the leases its earlier start held, and only those', async () => {
    expect(await leases.acquire('p1', 'work', 'host:8080/old', 60_000)).toBe(true);
    expect(await leases.acquire('p2', 'oauth', 'host:8080/old', 60_000)).toBe(true);
    expect(await leases.acquire('p3', 'work', 'host:80801/other', 60_000)).toBe(true); // another instance, a longer port
    expect(await leases.acquire('p4', 'work', 'host:8080/new', 60_000)).toBe(true); // this start's own
    expect(await leases.acquire('p5', 'work', 'x%_/host:8080/y', 60_000)).toBe(true); // the prefix is no pattern
    expect(await leases.dropEarlier('host:8080', 'host:8080/new')).toBe(2);
    expect((await owners(store)).map((r) => r.member_id)).toEqual(['p3', 'p4', 'p5']);
    expect(await leases.dropEarlier('host:8080', 'host:8080/new')).toBe(0);
  });

  it('contenders racing for one lease (several connections on PostgreSQL): exactly one wins, free or expired', async () => {
    for (let round = 0; round < 10; round++) {
      const memberId = `race${round}`;
      const contenders = Array.from({ length: 8 }, (_, i) => `owner-${i}`);
      const won = await Promise.all(contenders.map((o) => leases.acquire(memberId, 'work', o, 1000)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = contenders[won.indexOf(true)];
      expect((await owners(store)).find((r) => r.member_id === memberId)?.owner).toBe(winner);
    }
    now += 1000; // every one expired: taken over once each, by one of the others
    for (let round = 0; round < 10; round++) {
      const memberId = `race${round}`;
      const won = await Promise.all(Array.from({ length: 8 }, (_, i) => leases.acquire(memberId, 'work', `late-${i}`, 1000)));
      expect(won.filter(Boolean)).toHaveLength(1);
    }
    expect((await owners(store)).every((r) => r.owner.startsWith('late-'))).toBe(true);
  });
});
