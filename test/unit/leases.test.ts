/**
 * Portal leases (issue #12, «Several instances, one truth»): the SQLite lease store (migration 026)
 * and the per-process keeper, then the job loop holding a portal's work lease — two loops standing
 * for two instances on one database never run the same portal at once, and a dead instance's
 * portal is taken over once its lease expires. Time is a hand-moved number, never the wall clock.
 */
import { describe, expect, it } from 'vitest';
import { openDb } from '../../server/storage/db';
import { createSqliteLeaseStore } from '../../server/storage/lease-repository';
import { createLeaseKeeper } from '../../server/services/leases';
import { createJobLoop } from '../../server/services/job-loop';
import { systemClock } from '../../server/domain/clock';
import { createLogger } from '../../server/logging';

const log = createLogger({ level: 'silent' });
const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));

function store() {
  const db = openDb(':memory:');
  let now = 1_000_000;
  return { db, leases: createSqliteLeaseStore(db, () => now), advance: (ms: number) => (now += ms) };
}

describe('lease store', () => {
  it('one owner at a time; re-acquiring one\'s own extends it; release only by the owner', async () => {
    const { leases } = store();
    expect(await leases.acquire('p1', 'work', 'A', 1000)).toBe(true);
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    expect(await leases.acquire('p1', 'work', 'A', 1000)).toBe(true);
    expect(await leases.acquire('p2', 'work', 'B', 1000)).toBe(true); // another portal
    expect(await leases.acquire('p1', 'oauth', 'B', 1000)).toBe(true); // another area
    await leases.release('p1', 'work', 'B'); // not B's: nothing happens
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    await leases.release('p1', 'work', 'A');
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(true);
  });

  it('an expired lease is taken over, and its former owner can no longer renew it (fenced)', async () => {
    const { leases, advance } = store();
    expect(await leases.acquire('p1', 'work', 'A', 1000)).toBe(true);
    advance(999);
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    expect(await leases.renew('p1', 'work', 'A', 1000)).toBe(true); // now lives until +1999
    advance(999);
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(false);
    advance(1000);
    expect(await leases.acquire('p1', 'work', 'B', 1000)).toBe(true); // A died: B takes over
    expect(await leases.renew('p1', 'work', 'A', 1000)).toBe(false);
    await leases.release('p1', 'work', 'A');
    expect(await leases.acquire('p1', 'work', 'C', 1000)).toBe(false); // still B's
  });
  it('a new start of an instance drops the leases its earlier start held, and only those', async () => {
    const { leases } = store();
    expect(await leases.acquire('p1', 'work', 'host:8080/old', 60_000)).toBe(true);
    expect(await leases.acquire('p2', 'oauth', 'host:8080/old', 60_000)).toBe(true);
    expect(await leases.acquire('p3', 'work', 'host:80801/other', 60_000)).toBe(true); // another instance, a longer port
    const fresh = createLeaseKeeper({ store: leases, log, ttlMs: 60_000, instance: 'host:8080' });
    expect(await fresh.dropEarlier()).toBe(2);
    expect(await fresh.hold('p1', 'work')).not.toBeNull();
    expect(await fresh.hold('p3', 'work')).toBeNull();
  });
});

describe('lease keeper', () => {
  it('is re-entrant in one process: released in the database only when the last holder lets go', async () => {
    const { leases } = store();
    const a = createLeaseKeeper({ store: leases, log, ttlMs: 60_000, instance: 'h:1', owner: 'h:1/A', lingerMs: 0 });
    const b = createLeaseKeeper({ store: leases, log, ttlMs: 60_000, instance: 'h:2', owner: 'h:2/B', lingerMs: 0 });
    const [h1, h2] = await Promise.all([a.hold('p1', 'work'), a.hold('p1', 'work')]);
    expect(h1).not.toBeNull();
    expect(h2).not.toBeNull();
    expect(await b.hold('p1', 'work')).toBeNull();
    await h1!.release();
    await h1!.release(); // twice is once
    expect(await b.hold('p1', 'work')).toBeNull();
    await h2!.release();
    const hb = await b.hold('p1', 'work');
    expect(hb).not.toBeNull();
    await hb!.release();
  });
});

describe('lease keeper linger', () => {
  it('the last holder\'s release lingers: taken again at once without the database, released for others afterwards', async () => {
    const { db, leases } = store();
    let writes = 0;
    const counted = { ...leases, acquire: (...a: Parameters<typeof leases.acquire>) => (writes++, leases.acquire(...a)), release: (...a: Parameters<typeof leases.release>) => (writes++, leases.release(...a)) };
    const a = createLeaseKeeper({ store: counted, log, ttlMs: 60_000, instance: 'h:1', lingerMs: 30 });
    const b = createLeaseKeeper({ store: leases, log, ttlMs: 60_000, instance: 'h:2' });
    for (let run = 0; run < 5; run++) await (await a.hold('p1', 'work'))!.release(); // back-to-back runs
    expect(writes).toBe(1);
    expect(await b.hold('p1', 'work')).toBeNull(); // still lingering with A
    let got = null;
    for (let i = 0; i < 200 && !got; i++) {
      await tick(5);
      got = await b.hold('p1', 'work');
    }
    expect(got).not.toBeNull();
    expect(writes).toBe(2); // A released it once
    expect(db.prepare('SELECT owner FROM leases').pluck().all()).toEqual([b.owner]);
  });
});

describe('job loop with a work lease: two instances on one database', () => {
  function instance(name: string, leases: ReturnType<typeof store>['leases'], due: Map<string, number>, seen: { active: Map<string, number>; maxSame: number; runs: string[] }) {
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

  it('never runs one portal in both at once; both work, on different portals', async () => {
    const { leases } = store();
    const due = new Map<string, number>();
    const seen = { active: new Map<string, number>(), maxSame: 0, runs: [] as string[] };
    const a = instance('A', leases, due, seen);
    const b = instance('B', leases, due, seen);
    for (let i = 0; i < 6; i++) due.set(`p${i}`, 3);
    for (let round = 0; round < 400 && [...due.values()].some((n) => n > 0); round++) {
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

  it('a portal held by a dead instance waits for the lease to expire, then the other takes it over', async () => {
    const s = store();
    const due = new Map<string, number>([['p1', 1]]);
    const seen = { active: new Map<string, number>(), maxSame: 0, runs: [] as string[] };
    expect(await s.leases.acquire('p1', 'work', 'dead', 5000)).toBe(true); // SIGKILLed while holding it
    const b = instance('B', s.leases, due, seen);
    b.loop.wake();
    await tick(20);
    await b.loop.drain(); // returns: the only due portal is held elsewhere
    expect(seen.runs).toEqual([]);
    s.advance(5000);
    for (let round = 0; round < 300 && due.get('p1'); round++) {
      b.loop.wake();
      await tick(10);
      await b.loop.drain();
    }
    b.loop.stop();
    expect(seen.runs).toEqual(['B:p1']);
  });
});
