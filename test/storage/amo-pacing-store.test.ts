/**
 * The amoCRM pacing store contract (issue #12: an account's request pacing shared by the
 * instances), the same cases against the SQLite store (migration 030) and the PostgreSQL one
 * (migrations-pg/030): a slot once `intervalMs` after the last, else how long to wait; a 429's hold
 * moves the next slot later, never earlier — and of concurrent takers (several connections on
 * PostgreSQL) exactly one gets a slot. Time is a hand-moved number.
 */
import { beforeEach, expect, it } from 'vitest';
import { createSqliteAmoPacingStore } from '../../server/storage/amocrm-pacing-repository';
import { createPgAmoPacingStore } from '../../server/storage/pg/amocrm-pacing-store';
import type { AmoPacingStore } from '../../server/amocrm/client';
import { forEachStore } from '../support/stores';

const A = 'https://a.amocrm.ru';
const B = 'https://b.amocrm.ru';

forEachStore('amoCRM pacing store', (store) => {
  let now = 1_000_000;
  let pacing: AmoPacingStore;
  beforeEach(async () => {
    now = 1_000_000;
    await store.clear('amocrm_pacing');
    pacing = store.sqlite ? createSqliteAmoPacingStore(store.sqlite, () => now) : createPgAmoPacingStore(store.pg!.db, () => now);
  });

  it('a slot when the interval has passed since the last one, else the wait', async () => {
    expect(await pacing.take(A, 200)).toBe(0);
    expect(await pacing.take(A, 200)).toBe(200);
    expect(await pacing.take(B, 200)).toBe(0); // another account's host paces on its own
    now += 150;
    expect(await pacing.take(A, 200)).toBe(50);
    now += 50;
    expect(await pacing.take(A, 200)).toBe(0);
    now += 400;
    expect(await pacing.take(A, 400)).toBe(0); // a longer interval (the gateway slowed down) counts from the last slot
    now += 399;
    expect(await pacing.take(A, 400)).toBe(1);
  });

  it("holdUntil (a 429): no slot before it, and a hold earlier than the last slot changes nothing", async () => {
    await pacing.holdUntil(A, now + 1000); // a host it has not seen yet
    expect(await pacing.take(A, 200)).toBe(1200);
    now += 1200;
    expect(await pacing.take(A, 200)).toBe(0);
    await pacing.holdUntil(A, now - 5000);
    expect(await pacing.take(A, 200)).toBe(200);
    await pacing.holdUntil(A, now + 300);
    now += 499;
    expect(await pacing.take(A, 200)).toBe(1);
    now += 1;
    expect(await pacing.take(A, 200)).toBe(0);
  });

  it('concurrent takers of one host (several connections on PostgreSQL): exactly one gets the slot', async () => {
    for (let round = 0; round < 10; round++) {
      const waits = await Promise.all(Array.from({ length: 8 }, () => pacing.take(A, 200)));
      expect(waits.filter((w) => w === 0)).toHaveLength(1);
      expect(waits.filter((w) => w === 200)).toHaveLength(7);
      now += 200;
    }
  });
});
