/**
 * The handlers' side of the PostgreSQL callback inbox (issue #12, server/storage/pg/callback-consumer.ts):
 * each portal's callbacks are handled in arrival order by one instance at a time, a callback's
 * writes commit with its done mark (an instance dying mid-batch leaves them to another, nothing
 * twice), and a handler that throws sets aside only its own callback. Two pools on one schema stand
 * for two instances; the "effects" are rows of a table the handler writes inside the transaction.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPgCallbackConsumer, type InboxRow } from '../../server/storage/pg/callback-consumer';
import { createPgCallbackInbox } from '../../server/storage/pg/callback-inbox';
import type { PgStore } from '../../server/storage/pg/connection';
import type { PgSchema } from '../../server/storage/pg/schema';
import { PROJECT_ROOT } from '../../server/compose';
import { dropPgSchema, openTestPg, TEST_PG_URL } from '../support/stores';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('PostgreSQL callback consumer', () => {
  let a: PgStore;
  let b: PgStore;
  beforeAll(async () => {
    a = await openTestPg({ max: 6 });
    b = await openTestPg({ schema: a.schema, max: 6 });
    await a.pool.query('CREATE TABLE effects (seq BIGSERIAL PRIMARY KEY, member_id TEXT NOT NULL, body TEXT NOT NULL, by TEXT NOT NULL)');
  });
  afterAll(async () => {
    await b?.close();
    if (a) await dropPgSchema(a);
  });
  beforeEach(async () => {
    await a.pool.query('TRUNCATE uis_callback_inbox, effects');
  });

  const submitAll = async (store: PgStore, items: Array<{ memberId: string; n: number }>) => {
    const inbox = createPgCallbackInbox(store);
    await Promise.all(items.map((i) => inbox.submit({ memberId: i.memberId, path: 'POST /message', body: `m${i.n}`, dedupeKey: `${i.memberId}:${i.n}` })));
  };
  const effect = (by: string, slowMs = 0, fail?: (row: InboxRow) => boolean) => async (trx: Kysely<PgSchema>, row: InboxRow) => {
    if (fail?.(row)) throw new Error(`handler refused ${row.body}`);
    await sql`INSERT INTO effects (member_id, body, by) VALUES (${row.memberId}, ${row.body}, ${by})`.execute(trx);
    if (slowMs) await sleep(slowMs);
  };
  const effects = async () => (await a.pool.query<{ member_id: string; body: string; by: string }>('SELECT member_id, body, by FROM effects ORDER BY seq')).rows;
  const pending = async () => (await a.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM uis_callback_inbox WHERE done_at IS NULL')).rows[0]!.n;

  it('two instances drain the same inbox: every callback handled once, each portal in arrival order', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ memberId: `p${i % 7}`, n: i }));
    await submitAll(a, items.slice(0, 150));
    await submitAll(b, items.slice(150));
    const failed: unknown[] = [];
    const opts = { failed: (_r: InboxRow, e: unknown) => failed.push(e), error: (e: unknown) => failed.push(e), batch: 20, parallel: 3 };
    const ca = createPgCallbackConsumer({ db: a.db, handle: effect('a', 1), ...opts });
    const cb = createPgCallbackConsumer({ db: b.db, handle: effect('b', 1), ...opts });
    await Promise.all([ca.drain(), cb.drain()]);
    await Promise.all([ca.drain(), cb.drain()]);
    expect(failed).toEqual([]);
    const rows = await effects();
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((r) => r.body)).size).toBe(300);
    // arrival order is the inbox's (the order rows were acknowledged in)
    const arrived = (await a.pool.query<{ member_id: string; body: string }>('SELECT member_id, body FROM uis_callback_inbox ORDER BY id')).rows;
    for (let p = 0; p < 7; p++) {
      const of = (list: Array<{ member_id: string; body: string }>) => list.filter((r) => r.member_id === `p${p}`).map((r) => r.body);
      expect(of(rows)).toEqual(of(arrived));
    }
    expect(new Set(rows.map((r) => r.by))).toEqual(new Set(['a', 'b']));
    expect(await pending()).toBe(0);
  });

  it('a handler that throws sets aside its own callback (marked done with the reason); the others of its batch commit, in order', async () => {
    await submitAll(a, [1, 2, 3, 4, 5].map((n) => ({ memberId: 'p1', n })));
    const failed: string[] = [];
    const woke: string[] = [];
    const handle = effect('a', 0, (r) => r.body === 'm3');
    const c = createPgCallbackConsumer({
      db: a.db,
      handle: async (trx, row, afterCommit) => {
        afterCommit(() => woke.push(row.body));
        await handle(trx, row);
      },
      failed: (r) => failed.push(r.body),
      error: (e) => failed.push(String(e)),
    });
    await c.drain();
    expect((await effects()).map((r) => r.body)).toEqual(['m1', 'm2', 'm4', 'm5']);
    // the undone batch woke no one; each committed callback once
    expect(woke).toEqual(['m1', 'm2', 'm4', 'm5']);
    expect(failed).toEqual(['m3']);
    const aside = (await a.pool.query<{ body: string; failure: string }>('SELECT body, failure FROM uis_callback_inbox WHERE failure IS NOT NULL')).rows;
    expect(aside).toEqual([{ body: 'm3', failure: 'handler refused m3' }]);
    expect(await pending()).toBe(0);
  });

  it('an instance SIGKILLed mid-batch leaves its callbacks pending; another handles each of them once', async () => {
    await submitAll(a, [1, 2, 3, 4].map((n) => ({ memberId: 'p1', n })));
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/pg-consumer-child.ts'), TEST_PG_URL, a.schema!, '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok, fail) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('stuck') && ok());
      child.once('exit', (code) => fail(new Error(`child exited ${code} before it was stuck`)));
    });
    // two handled inside its open transaction: nothing of it is visible, and the portal is held
    const other = createPgCallbackConsumer({ db: b.db, handle: effect('b'), failed: () => {}, error: () => {} });
    expect(await other.drain()).toBe(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await effects()).toEqual([]);
    expect(await pending()).toBe(4);
    // the server notices the dead connection and ends its transaction (and its lock)
    for (let i = 0; i < 100 && !(await other.drain()); i++) await sleep(50);
    expect((await effects()).map((r) => `${r.by}:${r.body}`)).toEqual(['b:m1', 'b:m2', 'b:m3', 'b:m4']);
    expect(await pending()).toBe(0);
  });

  it("a batch's transaction commits asynchronously (its callbacks are durable already); the pool's other work stays synchronous", async () => {
    await submitAll(a, [1, 2].map((n) => ({ memberId: 'p1', n })));
    const seen: string[] = [];
    const consumer = createPgCallbackConsumer({
      db: a.db,
      handle: async (trx, row) => {
        seen.push((await sql<{ s: string }>`SELECT current_setting('synchronous_commit') AS s`.execute(trx)).rows[0]!.s);
        await effect('a')(trx, row);
      },
      failed: () => {},
      error: () => {},
    });
    expect(await consumer.drain()).toBe(2);
    expect(seen).toEqual(['off', 'off']);
    // set for the transaction only (SET LOCAL): the connection goes back to the pool as it came
    const after = await Promise.all(Array.from({ length: 6 }, () => a.pool.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")));
    expect(after.map((r) => r.rows[0]!.s)).toEqual(Array(6).fill('on'));
    expect((await effects()).map((r) => r.body)).toEqual(['m1', 'm2']);
  });

  it('a portal held by one instance is skipped by another, not waited for', async () => {
    await submitAll(a, [1, 2].map((n) => ({ memberId: 'p1', n })));
    await submitAll(a, [3].map((n) => ({ memberId: 'p2', n })));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = createPgCallbackConsumer({
      db: a.db,
      handle: async (trx, row) => {
        await effect('a')(trx, row);
        if (row.memberId === 'p1') await held;
      },
      failed: () => {},
      error: () => {},
      parallel: 1,
    });
    const running = slow.drain();
    await sleep(200);
    const other = createPgCallbackConsumer({ db: b.db, handle: effect('b'), failed: () => {}, error: () => {} });
    expect(await other.drain()).toBe(1);
    release();
    await running;
    expect((await effects()).map((r) => `${r.by}:${r.body}`).sort()).toEqual(['a:m1', 'a:m2', 'b:m3']);
  });
});
