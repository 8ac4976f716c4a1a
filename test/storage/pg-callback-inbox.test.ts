/**
 * The PostgreSQL callback inbox (issue #12, server/storage/pg/callback-inbox.ts): the group commit
 * answers a callback only after its group's commit, stores each (portal, dedupe key) once across
 * instances with exactly one 'new', refuses only the bad callback of a group, and claims a pending
 * row for one instance at a time. Two pools on one fresh schema stand for two instances.
 */
import { randomInt } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPgCallbackInbox, type InboxCallback } from '../../server/storage/pg/callback-inbox';
import type { PgStore } from '../../server/storage/pg/connection';
import { dropPgSchema, openTestPg, TEST_PG_URL } from '../support/stores';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const cb = (dedupeKey: string, memberId = 'p1', body = `{"id":"${dedupeKey}"}`): InboxCallback => ({ memberId, path: 'POST /message', body, dedupeKey });

async function until(what: string, check: () => Promise<boolean> | boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('PostgreSQL callback inbox', () => {
  let a: PgStore;
  let b: PgStore;
  beforeAll(async () => {
    a = await openTestPg({ max: 5 });
    b = await openTestPg({ schema: a.schema, max: 5 });
  });
  afterAll(async () => {
    await b?.close();
    if (a) await dropPgSchema(a);
  });
  beforeEach(async () => {
    await a.pool.query('TRUNCATE uis_callback_inbox');
  });
  const count = async (where = 'true', values: unknown[] = []) => (await b.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM uis_callback_inbox WHERE ${where}`, values)).rows[0]!.n;

  it('answers no callback before its group is committed (visible from another connection)', async () => {
    // the commit of every insert waits for an advisory lock this test holds: a deferred constraint trigger
    const lockKey = randomInt(1, 2 ** 31);
    await a.pool.query(`CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${lockKey}); RETURN NULL; END $$`);
    await a.pool.query('CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON uis_callback_inbox DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()');
    const holder = new pg.Client({ connectionString: TEST_PG_URL });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [lockKey]);
      const inbox = createPgCallbackInbox(a);
      const resolved: string[] = [];
      /** per callback: its row as seen from another connection right when its promise resolved */
      const seenAtResolve: Array<Promise<number>> = [];
      const submit = (key: string) =>
        inbox.submit(cb(key)).then((r) => {
          resolved.push(key);
          seenAtResolve.push(count('dedupe_key = $1', [key]));
          return r;
        });
      const first = Array.from({ length: 30 }, (_, i) => submit(`first-${i}`));
      // the group's INSERT is waiting at its commit
      await until('the insert to wait for the lock', async () => {
        const r = await holder.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory' AND query LIKE 'INSERT INTO uis_callback_inbox%'");
        return r.rows[0].n > 0;
      });
      // callbacks arriving meanwhile collect for the next group
      const second = Array.from({ length: 20 }, (_, i) => submit(`second-${i}`));
      await sleep(100);
      expect(resolved).toEqual([]);
      expect(await count()).toBe(0);
      expect(inbox.stats().groups).toBe(1);

      await holder.query('SELECT pg_advisory_unlock($1)', [lockKey]);
      expect(await Promise.all([...first, ...second])).toEqual(Array(50).fill('new'));
      expect(await Promise.all(seenAtResolve)).toEqual(Array(50).fill(1));
      expect(inbox.stats()).toMatchObject({ groups: 2, callbacks: 50, largestGroup: 30, retriedAlone: 0 });
    } finally {
      await holder.end();
      await a.pool.query('DROP TRIGGER IF EXISTS hold_commit ON uis_callback_inbox');
      await a.pool.query('DROP FUNCTION IF EXISTS hold_commit()');
    }
  });

  it('stores each (portal, dedupe key) once when two instances submit 2,000 overlapping callbacks at once: exactly one «new» per key', async () => {
    const inboxes = [createPgCallbackInbox(a, { maxInFlight: 2 }), createPgCallbackInbox(b, { maxInFlight: 2 })];
    const sent = Array.from({ length: 2000 }, (_, i) => ({ at: i % 2, c: cb(`k${(i * 7919) % 900}`, `p${Math.floor(i / 7) % 2}`) }));
    // in several bursts, so groups of both instances overlap in time
    const results: Array<Promise<'new' | 'repeat'>> = [];
    for (let i = 0; i < sent.length; i += 250) {
      for (const s of sent.slice(i, i + 250)) results.push(inboxes[s.at]!.submit(s.c));
      await sleep(1);
    }
    const answers = await Promise.all(results);
    const news = new Map<string, number>();
    const pairs = new Set<string>();
    sent.forEach((s, i) => {
      const k = `${s.c.memberId}/${s.c.dedupeKey}`;
      pairs.add(k);
      if (answers[i] === 'new') news.set(k, (news.get(k) ?? 0) + 1);
    });
    expect(pairs.size).toBeLessThan(sent.length); // the keys do overlap
    expect([...news.values()].every((n) => n === 1)).toBe(true);
    expect(news.size).toBe(pairs.size);
    expect(await count()).toBe(pairs.size);
    const perKey = await b.pool.query('SELECT member_id, dedupe_key FROM uis_callback_inbox GROUP BY member_id, dedupe_key HAVING count(*) > 1');
    expect(perKey.rows).toEqual([]);
    // grouped, not one statement per callback
    expect(inboxes[0]!.stats().groups + inboxes[1]!.stats().groups).toBeLessThan(200);
  });

  it('refuses only the callback the database refuses: the rest of its group is committed', async () => {
    const inbox = createPgCallbackInbox(a);
    const keys = Array.from({ length: 20 }, (_, i) => `c${i}`);
    // a NUL character: PostgreSQL's text cannot hold it, so the group's statement fails as a whole
    const settled = await Promise.allSettled(keys.map((k, i) => inbox.submit(cb(k, 'p1', i === 7 ? 'bad\u0000body' : `{"n":${i}}`))));
    expect(settled.map((s) => s.status)).toEqual(keys.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')));
    expect((settled[7] as PromiseRejectedResult).reason.message).toMatch(/0x00/);
    expect(settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<string>).value)).toEqual(Array(19).fill('new'));
    expect(await count()).toBe(19);
    expect(await count("dedupe_key = 'c7'")).toBe(0);
    expect(inbox.stats()).toMatchObject({ groups: 1, retriedAlone: 20 });
    // a repeat in one group is a repeat
    expect(await Promise.all([inbox.submit(cb('c3')), inbox.submit(cb('d1')), inbox.submit(cb('d1'))])).toEqual(['repeat', 'new', 'repeat']);
  });

  it('claims across two instances never hand one row to both; done only by the claimer; an expired claim is handed out again', async () => {
    let t = Date.now();
    const clock = () => t;
    const ia = createPgCallbackInbox(a, { owner: 'instance-a', clock, claimTtlMs: 60_000 });
    const ib = createPgCallbackInbox(b, { owner: 'instance-b', clock, claimTtlMs: 60_000 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => ia.submit(cb(`r${i}`))));
    const got = new Map<string, number[]>([
      ['instance-a', []],
      ['instance-b', []],
    ]);
    const loop = async (inbox: typeof ia, owner: string) => {
      for (;;) {
        const rows = await inbox.claim(7);
        if (!rows.length) return;
        got.get(owner)!.push(...rows.map((r) => r.id));
      }
    };
    await Promise.all([loop(ia, 'instance-a'), loop(ib, 'instance-b'), loop(ia, 'instance-a'), loop(ib, 'instance-b'), loop(ia, 'instance-a'), loop(ib, 'instance-b')]);
    const all = [...got.get('instance-a')!, ...got.get('instance-b')!];
    expect(all.length).toBe(300);
    expect(new Set(all).size).toBe(300);
    expect(got.get('instance-a')!.length).toBeGreaterThan(0);
    expect(got.get('instance-b')!.length).toBeGreaterThan(0);
    const claimedBy = await b.pool.query<{ claimed_by: string; n: number }>('SELECT claimed_by, count(*)::int AS n FROM uis_callback_inbox GROUP BY claimed_by ORDER BY claimed_by');
    expect(claimedBy.rows).toEqual([
      { claimed_by: 'instance-a', n: got.get('instance-a')!.length },
      { claimed_by: 'instance-b', n: got.get('instance-b')!.length },
    ]);
    // b cannot finish a's rows; a can
    const aIds = got.get('instance-a')!;
    expect(await ib.done(aIds)).toBe(0);
    expect(await ia.done(aIds)).toBe(aIds.length);
    expect(await ia.claim(10)).toEqual([]);
    // b's claims expire unfinished: a gets them, oldest first, with what was submitted
    t += 60_001;
    const again = await ia.claim(1000);
    expect(again.map((r) => r.id)).toEqual([...got.get('instance-b')!].sort((x, y) => x - y));
    expect(again[0]).toMatchObject({ memberId: 'p1', path: 'POST /message' });
    expect(again[0]!.body).toBe(`{"id":"${again[0]!.dedupeKey}"}`);
    // a repeat of a handled callback is still a repeat
    expect(await ib.submit(cb('r0'))).toBe('repeat');
  });
});
