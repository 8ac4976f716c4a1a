/**
 * The event inbox and UIS inbox contracts (issue #12): the same cases against the SQLite stores
 * (wrapped by asyncPort) and the PostgreSQL stores — a delivery recorded once, a repeat within the
 * window refused, an older row taken over, rows past the window pruned at most once an hour, counts
 * per portal, JSON with U+0000 kept exactly. On PostgreSQL a repeated delivery reaching 8 instances at
 * once (8 connections over two pools) is recorded by exactly one, and so is the takeover of an
 * expired row. Store time is a hand-moved number.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { EventInbox, InboxEvent, UisInbox } from '../../server/services/ports';
import { createSqliteEventInbox, EVENT_DEDUPE_WINDOW_MS as WINDOW } from '../../server/storage/event-inbox';
import { createSqliteUisInbox } from '../../server/storage/uis-inbox';
import { createPgEventInbox, createPgUisInbox } from '../../server/storage/pg/inbox-stores';
import type { PgStore } from '../../server/storage/pg/connection';
import { forEachStore, openTestPg, type TestStore } from '../support/stores';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const HOUR = 3600_000;
const iso = (t: number) => new Date(t).toISOString();

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

const ev = (dedupeKey: string, over: Partial<InboxEvent> = {}): InboxEvent => ({
  memberId: 'p1',
  event: 'ONCRMLEADADD',
  data: { FIELDS: { ID: '7' } },
  ts: 1_777_000_000,
  dedupeKey,
  ...over,
});

forEachStore('inbox stores', (store) => {
  let now = T0;
  let second: PgStore | undefined;
  /** n instances of a store over the same database: on PostgreSQL alternately on two pools */
  let instances: <T extends object>(n: number, sqlite: (clock: () => number) => T, pg: (db: PgStore['db'], clock: () => number) => AsyncPort<T>) => Array<AsyncPort<T>>;

  beforeAll(async () => {
    if (store.pg) second = await openTestPg({ schema: store.pg.schema, migrate: false, max: 8 });
    for (const m of ['p1', 'p2'])
      await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x')`, [m]);
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear('event_inbox', 'uis_inbox'); // the portals stay (emptying them would cascade to every table)
    instances = (n, sqlite, pg) =>
      Array.from({ length: n }, (_, i) => (store.sqlite ? asyncPort(sqlite(() => now)) : pg(i % 2 ? second!.db : store.pg!.db, () => now)));
  });

  describe('event inbox', () => {
    let inbox: AsyncPort<EventInbox>;
    const make = (n: number) => instances(n, (clock) => createSqliteEventInbox(store.sqlite!, clock), (db, clock) => createPgEventInbox(db, clock));
    beforeEach(() => {
      inbox = make(1)[0]!;
    });
    const row = async (key: string, memberId = 'p1') => (await run(store, 'SELECT * FROM event_inbox WHERE member_id = ? AND dedupe_key = ?', [memberId, key]))[0];

    it('a delivery is recorded once: the same key again within the window is a repeat; another key or portal is new; counts per portal', async () => {
      expect(await inbox.count('p1')).toBe(0);
      expect(await inbox.record(ev('k1'))).toBe(true);
      expect(await row('k1')).toMatchObject({ event: 'ONCRMLEADADD', data: '{"FIELDS":{"ID":"7"}}', ts: 1_777_000_000, received_at: iso(T0), status: 'new' });
      now += WINDOW - 1000;
      expect(await inbox.record(ev('k1', { event: 'OTHER' }))).toBe(false);
      expect(await row('k1')).toMatchObject({ event: 'ONCRMLEADADD', received_at: iso(T0) });
      expect(await inbox.record(ev('k2', { data: undefined, ts: null }))).toBe(true);
      expect(await row('k2')).toMatchObject({ data: 'null', ts: null });
      expect(await inbox.record(ev('k1', { memberId: 'p2' }))).toBe(true);
      expect(await inbox.count('p1')).toBe(2);
      expect(await inbox.count('p2')).toBe(1);
      expect(await inbox.count('p9')).toBe(0);
    });

    it('after the window the same key is new again: the row is taken over (event, data, ts, time, status new)', async () => {
      expect(await inbox.record(ev('k1'))).toBe(true);
      await run(store, `UPDATE event_inbox SET status = 'done'`);
      now += WINDOW + 1;
      expect(await inbox.record(ev('k1', { event: 'ONCRMLEADUPDATE', data: { x: 1 }, ts: 5 }))).toBe(true);
      expect(await row('k1')).toMatchObject({ event: 'ONCRMLEADUPDATE', data: '{"x":1}', ts: 5, received_at: iso(T0 + WINDOW + 1), status: 'new' });
      expect(await inbox.record(ev('k1'))).toBe(false);
      expect(await inbox.count('p1')).toBe(1);
    });

    it('rows older than the window are deleted, at most once an hour per instance; an expired row not yet pruned is taken over', async () => {
      expect(await inbox.record(ev('a'))).toBe(true); // prunes (nothing yet)
      await run(store, `INSERT INTO event_inbox (member_id, event, data, ts, dedupe_key, received_at) VALUES ('p1', 'E', '{}', 1, 'old', ?), ('p2', 'E', '{}', 1, 'old2', ?)`, [iso(T0 - WINDOW - 1), iso(T0 - WINDOW - 1)]);
      now += HOUR / 2;
      expect(await inbox.record(ev('b'))).toBe(true); // within the hour: no pruning
      expect((await inbox.count('p1')) + (await inbox.count('p2'))).toBe(4);
      expect(await inbox.record(ev('old'))).toBe(true); // expired: taken over
      expect(await row('old')).toMatchObject({ event: 'ONCRMLEADADD', received_at: iso(T0 + HOUR / 2) });
      now += HOUR / 2;
      expect(await inbox.record(ev('c'))).toBe(true); // an hour since the last pruning: the other portal's expired row goes too
      expect(await inbox.count('p1')).toBe(4);
      expect(await inbox.count('p2')).toBe(0);
      now = T0 + WINDOW + 1; // a is past the window now; old (taken over), b and c are not
      expect(await inbox.record(ev('d'))).toBe(true);
      expect((await run(store, 'SELECT dedupe_key FROM event_inbox ORDER BY dedupe_key')).map((r) => r.dedupe_key)).toEqual(['b', 'c', 'd', 'old']);
    });

    it('data with U+0000 is kept exactly (JSON escapes it); U+0000 in the event name and the key do not fail the statement', async () => {
      const data = { text: 'a\u0000b', '\u0000key': ['\u0000'] };
      expect(await inbox.record(ev('k\u00001', { event: 'E\u0000', data }))).toBe(true);
      expect(await inbox.record(ev('k\u00001'))).toBe(false);
      const r = (await run(store, 'SELECT * FROM event_inbox'))[0]!;
      expect(JSON.parse(String(r.data))).toEqual(data);
      expect(r.event).toBe(store.sqlite ? 'E\u0000' : 'E\uFFFD');
      expect(await inbox.count('p1')).toBe(1);
    });

    it('a repeated delivery reaching 8 instances at once (8 connections over two pools on PostgreSQL) is recorded by exactly one; so is the takeover of an expired row', async () => {
      const all = make(8);
      for (let round = 0; round < 10; round++) {
        const told = await Promise.all(all.map((s, i) => s.record(ev(`race-${round}`, { ts: i }))));
        expect(told.filter(Boolean)).toHaveLength(1);
      }
      expect(await inbox.count('p1')).toBe(10);
      now += WINDOW + 1;
      for (let round = 0; round < 10; round++) {
        const told = await Promise.all(all.map((s, i) => s.record(ev(`race-${round}`, { ts: 100 + i }))));
        expect(told.filter(Boolean)).toHaveLength(1);
        expect((await row(`race-${round}`))!.received_at).toBe(iso(now));
      }
      expect(await inbox.count('p1')).toBe(10);
    });
  });

  describe('UIS inbox', () => {
    let inbox: AsyncPort<UisInbox>;
    const make = (n: number) => instances(n, (clock) => createSqliteUisInbox(store.sqlite!, clock), (db, clock) => createPgUisInbox(db, clock));
    const cb = (dedupeKey: string, over: Partial<{ memberId: string; path: string; body: unknown }> = {}) => ({ memberId: 'p1', path: 'POST /message', body: { id: 1, text: 'привет' }, dedupeKey, ...over });
    beforeEach(() => {
      inbox = make(1)[0]!;
    });

    it('a callback is recorded once per portal and key, with its path, body (JSON) and time; counts per portal', async () => {
      expect(await inbox.count('p1')).toBe(0);
      expect(await inbox.record(cb('k1'))).toBe(true);
      now += 10 * WINDOW;
      expect(await inbox.record(cb('k1', { path: 'POST /other' }))).toBe(false); // no window: a repeat forever
      expect(await inbox.record(cb('k2', { body: undefined }))).toBe(true);
      expect(await inbox.record(cb('k1', { memberId: 'p2' }))).toBe(true);
      const rows = await run(store, 'SELECT member_id, path, body, dedupe_key, received_at, status FROM uis_inbox ORDER BY id');
      expect(rows).toEqual([
        { member_id: 'p1', path: 'POST /message', body: '{"id":1,"text":"привет"}', dedupe_key: 'k1', received_at: iso(T0), status: 'new' },
        { member_id: 'p1', path: 'POST /message', body: 'null', dedupe_key: 'k2', received_at: iso(T0 + 10 * WINDOW), status: 'new' },
        { member_id: 'p2', path: 'POST /message', body: '{"id":1,"text":"привет"}', dedupe_key: 'k1', received_at: iso(T0 + 10 * WINDOW), status: 'new' },
      ]);
      expect(await inbox.count('p1')).toBe(2);
      expect(await inbox.count('p2')).toBe(1);
    });

    it('a body with U+0000 is kept exactly (JSON escapes it); U+0000 in the path and the key do not fail the statement', async () => {
      const body = { text: '\u0000', nested: { '\u0000': 'x\u0000y' } };
      expect(await inbox.record(cb('k\u0000', { path: 'POST /\u0000', body }))).toBe(true);
      expect(await inbox.record(cb('k\u0000'))).toBe(false);
      const r = (await run(store, 'SELECT * FROM uis_inbox'))[0]!;
      expect(JSON.parse(String(r.body))).toEqual(body);
      expect(r.path).toBe(store.sqlite ? 'POST /\u0000' : 'POST /\uFFFD');
    });

    it('a repeated callback reaching 8 instances at once (8 connections over two pools on PostgreSQL) is recorded by exactly one', async () => {
      const all = make(8);
      for (let round = 0; round < 10; round++) {
        const told = await Promise.all(all.map((s, i) => s.record(cb(`race-${round}`, { body: { i } }))));
        expect(told.filter(Boolean)).toHaveLength(1);
      }
      expect(await inbox.count('p1')).toBe(10);
    });
  });
});
