/**
 * Two instances' job loops holding portals' work leases (issue #12) through each store: on
 * PostgreSQL each instance has its own pool (its own connections, as two processes would), and
 * still no portal is ever run by both at once, and all the work gets done. The rounds poll for the
 * outcome (no timing bound).
 */
import { afterAll, expect, it } from 'vitest';
import { createSqliteLeaseStore } from '../../server/storage/lease-repository';
import { createPgLeaseStore } from '../../server/storage/pg/lease-store';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import type { LeaseStore } from '../../server/services/lease-ports';
import { createLeaseKeeper } from '../../server/services/leases';
import { createJobLoop } from '../../server/services/job-loop';
import { systemClock } from '../../server/domain/clock';
import { createLogger } from '../../server/logging';
import { forEachStore, TEST_PG_URL } from '../support/stores';

const log = createLogger({ level: 'silent' });
const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  active: Map<string, number>;
  maxSame: number;
  runs: string[];
}

function instance(name: string, leases: LeaseStore, due: Map<string, number>, seen: Seen) {
  const keeper = createLeaseKeeper({ store: leases, log, ttlMs: 60_000, instance: `h:${name}` });
  const loop = createJobLoop({
    name: `loop-${name}`,
    clock: systemClock,
    log,
    debounceMs: 1,
    lease: keeper,
    portalsWithDueJobs: () => [...due.entries()].filter(([, n]) => n > 0).map(([m]) => m),
    nextDueAt: () => ([...due.values()].some((n) => n > 0) ? 0 : null),
    async processPortal(m) {
      if (!due.get(m)) return; // done meanwhile by the other instance: a real run finds no due job
      seen.active.set(m, (seen.active.get(m) ?? 0) + 1);
      seen.maxSame = Math.max(seen.maxSame, seen.active.get(m)!);
      seen.runs.push(`${name}:${m}`);
      await tick(5);
      due.set(m, Math.max(0, (due.get(m) ?? 0) - 1));
      seen.active.set(m, seen.active.get(m)! - 1);
    },
  });
  return { keeper, loop };
}

forEachStore('job loops of two instances holding work leases', (store) => {
  const extra: PgStore[] = [];
  afterAll(async () => {
    for (const s of extra) await s.close();
  });

  it('never run one portal in both at once, and do all the work', async () => {
    await store.clear('leases');
    let leasesA: LeaseStore;
    let leasesB: LeaseStore;
    if (store.sqlite) {
      leasesA = createSqliteLeaseStore(store.sqlite);
      leasesB = createSqliteLeaseStore(store.sqlite);
    } else {
      const second = await openPg(TEST_PG_URL, { schema: store.pg!.schema, migrate: false, max: 4 });
      extra.push(second);
      leasesA = createPgLeaseStore(store.pg!.db);
      leasesB = createPgLeaseStore(second.db);
    }
    const due = new Map<string, number>();
    const seen: Seen = { active: new Map(), maxSame: 0, runs: [] };
    const a = instance('A', leasesA, due, seen);
    const b = instance('B', leasesB, due, seen);
    for (let i = 0; i < 6; i++) due.set(`p${i}`, 3);
    for (let round = 0; round < 3000 && [...due.values()].some((n) => n > 0); round++) {
      a.loop.wake();
      b.loop.wake();
      await tick();
    }
    await Promise.all([a.loop.drain(), b.loop.drain()]);
    a.loop.stop();
    b.loop.stop();
    expect([...due.values()].every((n) => n === 0)).toBe(true);
    expect(seen.maxSame).toBe(1);
    expect(seen.runs.length).toBe(18);
  });
});
