/**
 * The CRM rules' request queue contract (issue #12): the same cases against the SQLite repository
 * (migrations 009, 013, through asyncPort) and the PostgreSQL store (migrations-pg/009, 013) — a
 * request created and re-opened by its events (one version each, the furthest lifecycle point
 * kept, out-of-order events), a visitor's waiting requests re-opened, the known events of a page
 * of ids, messages stored once and edited, the due requests, a run's plan, finish against a newer
 * version and retry, the operations by idempotency key, the poll cursor, counts, fractional times,
 * U+0000 in free text. And two instances (on PostgreSQL two pools, their own connections) at
 * once: one chat's events (one row, every event a version), one message (stored once, exactly one
 * told it is new), overlapping operation keys, the cursor (never back). Time is a hand-moved
 * number, never the wall clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { CrmRequest, CrmRequestRepository } from '../../server/services/crm-rules/ports';
import { createSqliteCrmRequestRepository } from '../../server/storage/crm-requests-repository';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { createPgCrmRequestStore } from '../../server/storage/pg/crm-requests-store';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['crm_requests', 'crm_request_messages', 'crm_ops', 'crm_poll_cursor'];

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

async function addPortal(store: TestStore, memberId: string): Promise<void> {
  await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x') ON CONFLICT (member_id) DO NOTHING`, [memberId]);
}

type Touch = Parameters<CrmRequestRepository['touch']>[0];
const chat = (requestId: string, over: Partial<Touch> = {}): Touch => ({ memberId: 'p1', kind: 'chat', requestId, event: 'started', dueAt: T0 + 1000, ...over });

forEachStore('crm requests store', (store) => {
  let now = T0;
  let repo: AsyncPort<CrmRequestRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<CrmRequestRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear(...TABLES);
    for (const m of ['p1', 'p2']) await addPortal(store, m);
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqliteCrmRequestRepository(store.sqlite, () => now)) : createPgCrmRequestStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const get = async (requestId: string, kind: CrmRequest['kind'] = 'chat', memberId = 'p1') => (await repo.get(memberId, kind, requestId))!;

  it('touch: the first event creates the request (pending, version 1); each later one re-opens it, one version more, the furthest lifecycle point kept', async () => {
    expect(await repo.get('p1', 'chat', 'c1')).toBeNull();
    await repo.touch(chat('c1', { channelId: 'ch1', startedAt: T0 - 50 }));
    expect(await get('c1')).toEqual({
      memberId: 'p1',
      kind: 'chat',
      requestId: 'c1',
      event: 'started',
      channelId: 'ch1',
      visitorId: null,
      startedAt: T0 - 50,
      facts: null,
      status: 'pending',
      dueAt: T0 + 1000,
      version: 1,
      attempts: 0,
      plan: null,
      outcome: null,
      reason: null,
      link: null,
    });
    // pending: the earlier due time stands; a later event goes further; what is not given is kept
    await repo.touch(chat('c1', { event: 'finished', visitorId: 'v1', startedAt: T0 + 99, dueAt: T0 + 2000 }));
    expect(await get('c1')).toMatchObject({ event: 'finished', channelId: 'ch1', visitorId: 'v1', startedAt: T0 - 50, dueAt: T0 + 1000, version: 2, status: 'pending' });
    // out of order: a message after finished leaves it finished
    await repo.touch(chat('c1', { event: 'message', channelId: 'ch2', dueAt: T0 + 500 }));
    expect(await get('c1')).toMatchObject({ event: 'finished', channelId: 'ch2', visitorId: 'v1', dueAt: T0 + 500, version: 3 });
    // not pending any more: the event's due time is taken whatever it is
    await repo.finish(await get('c1'), { status: 'waiting', outcome: 'primary', reason: null });
    await repo.touch(chat('c1', { event: 'started', dueAt: T0 + 9000 }));
    expect(await get('c1')).toMatchObject({ event: 'finished', status: 'pending', dueAt: T0 + 9000, version: 4 });
    // another kind, another portal: other requests
    await repo.touch({ memberId: 'p1', kind: 'offline', requestId: 'c1', event: 'received', facts: { a: 1, text: 'x' }, dueAt: T0 });
    await repo.touch(chat('c1', { memberId: 'p2' }));
    expect(await get('c1', 'offline')).toMatchObject({ event: 'received', facts: { a: 1, text: 'x' }, version: 1 });
    expect(await get('c1', 'chat', 'p2')).toMatchObject({ version: 1 });
    expect(await get('c1')).toMatchObject({ version: 4 });
    // facts given again replace the stored ones; none given keep them
    await repo.touch({ memberId: 'p1', kind: 'offline', requestId: 'c1', event: 'received', dueAt: T0 });
    expect(await get('c1', 'offline')).toMatchObject({ facts: { a: 1, text: 'x' }, version: 2 });
    await repo.touch({ memberId: 'p1', kind: 'offline', requestId: 'c1', event: 'received', facts: { b: 2 }, dueAt: T0 });
    expect(await get('c1', 'offline')).toMatchObject({ facts: { b: 2 }, version: 3 });
  });

  it("touchVisitor: the visitor's waiting requests not finished are re-opened (pending, due, one version more); the count", async () => {
    await repo.touch(chat('a', { visitorId: 'v1' }));
    await repo.touch(chat('b', { visitorId: 'v1' }));
    await repo.touch(chat('c', { visitorId: 'v1', event: 'finished' }));
    await repo.touch(chat('d', { visitorId: 'v2' }));
    await repo.touch(chat('e', { visitorId: 'v1', memberId: 'p2' }));
    for (const [id, m] of [['a', 'p1'], ['c', 'p1'], ['d', 'p1'], ['e', 'p2']] as const) await repo.finish(await get(id, 'chat', m), { status: 'waiting', outcome: 'primary', reason: null });
    // b stays pending, c is finished, d another visitor, e another portal
    expect(await repo.touchVisitor('p1', 'v1', T0 + 7000)).toBe(1);
    expect(await get('a')).toMatchObject({ status: 'pending', dueAt: T0 + 7000, version: 2 });
    expect(await get('b')).toMatchObject({ status: 'pending', dueAt: T0 + 1000, version: 1 });
    expect(await get('c')).toMatchObject({ status: 'waiting', version: 1 });
    expect(await get('d')).toMatchObject({ status: 'waiting', version: 1 });
    expect(await get('e', 'chat', 'p2')).toMatchObject({ status: 'waiting', version: 1 });
    expect(await repo.touchVisitor('p1', 'nobody', T0)).toBe(0);
  });

  it('events: the lifecycle point of each known request of the list, this portal and kind only', async () => {
    await repo.touch(chat('a'));
    await repo.touch(chat('b', { event: 'finished' }));
    await repo.touch(chat('c', { memberId: 'p2' }));
    await repo.touch({ memberId: 'p1', kind: 'offline', requestId: 'd', event: 'received', dueAt: T0 });
    expect(await repo.events('p1', 'chat', ['a', 'b', 'c', 'd', 'zz', 'a'])).toEqual(
      new Map([
        ['a', 'started'],
        ['b', 'finished'],
      ]),
    );
    expect(await repo.events('p1', 'offline', ['d'])).toEqual(new Map([['d', 'received']]));
    expect(await repo.events('p1', 'chat', [])).toEqual(new Map());
    const many = Array.from({ length: 2000 }, (_, i) => `x${i}`);
    expect((await repo.events('p1', 'chat', [...many, 'a'])).size).toBe(1);
  });

  it('messages: stored once (a repeat refused and ignored), edited only when the text changes, read in time then byte order of id', async () => {
    expect(await repo.addMessage('p1', 'c1', { id: 'm2', at: T0 + 5, source: 'visitor', text: 'привет', author: null })).toBe(true);
    expect(await repo.addMessage('p1', 'c1', { id: 'm2', at: T0 + 6, source: 'operator', text: 'other', author: 'x' })).toBe(false);
    expect(await repo.addMessage('p1', 'c1', { id: 'm1', at: T0 + 5, source: 'operator', text: 'здравствуйте', author: 'Анна' })).toBe(true);
    expect(await repo.addMessage('p1', 'c1', { id: 'M3', at: T0 + 5, source: 'system', text: 's', author: null })).toBe(true);
    expect(await repo.addMessage('p1', 'c1', { id: 'm0', at: T0 + 9, source: 'visitor', text: 'last', author: null })).toBe(true);
    expect(await repo.addMessage('p1', 'c2', { id: 'm1', at: T0, source: 'visitor', text: 'другой чат', author: null })).toBe(true);
    expect(await repo.addMessage('p2', 'c1', { id: 'm1', at: T0, source: 'visitor', text: 'другой портал', author: null })).toBe(true);
    expect(await repo.messages('p1', 'c1')).toEqual([
      { id: 'M3', at: T0 + 5, source: 'system', text: 's', author: null },
      { id: 'm1', at: T0 + 5, source: 'operator', text: 'здравствуйте', author: 'Анна' },
      { id: 'm2', at: T0 + 5, source: 'visitor', text: 'привет', author: null },
      { id: 'm0', at: T0 + 9, source: 'visitor', text: 'last', author: null },
    ]);
    expect(await repo.editMessage('p1', 'c1', 'm2', 'привет!')).toBe(true);
    expect(await repo.editMessage('p1', 'c1', 'm2', 'привет!')).toBe(false); // unchanged
    expect(await repo.editMessage('p1', 'c1', 'nope', 'x')).toBe(false);
    expect((await repo.messages('p1', 'c1')).find((m) => m.id === 'm2')?.text).toBe('привет!');
    expect((await repo.messages('p1', 'c2')).map((m) => m.text)).toEqual(['другой чат']);
    expect((await repo.messages('p2', 'c1')).map((m) => m.text)).toEqual(['другой портал']);
    expect(await repo.messages('p1', 'none')).toEqual([]);
  });

  it('due: pending requests due now, by due time then id (byte order), up to the limit; the portals with some; the next due time', async () => {
    expect(await repo.nextDueAt()).toBeNull();
    await repo.touch(chat('b', { dueAt: T0 + 300 }));
    await repo.touch(chat('c', { dueAt: T0 + 100 }));
    await repo.touch(chat('a', { dueAt: T0 + 300 }));
    await repo.touch(chat('B', { dueAt: T0 + 300 }));
    await repo.touch(chat('d', { dueAt: T0 + 900 }));
    await repo.touch(chat('e', { memberId: 'p2', dueAt: T0 + 50 }));
    const ids = async (at: number, limit = 10) => (await repo.due('p1', at, limit)).map((r) => r.requestId);
    expect(await ids(T0 + 300)).toEqual(['c', 'B', 'a', 'b']);
    expect(await ids(T0 + 300, 2)).toEqual(['c', 'B']);
    expect(await ids(T0 + 99)).toEqual([]);
    expect((await repo.portalsWithDue(T0 + 100)).sort()).toEqual(['p1', 'p2']);
    expect(await repo.portalsWithDue(T0 + 99)).toEqual(['p2']);
    expect(await repo.portalsWithDue(T0 + 49)).toEqual([]);
    expect(await repo.nextDueAt()).toBe(T0 + 50);
    await repo.finish(await get('e', 'chat', 'p2'), { status: 'done', outcome: 'primary', reason: null });
    await repo.finish(await get('c'), { status: 'failed', outcome: 'skip:x', reason: 'X' });
    expect(await repo.nextDueAt()).toBe(T0 + 300);
    expect(await ids(T0 + 1000)).toEqual(['B', 'a', 'b', 'd']);
    expect(await repo.portalsWithDue(T0 + 1000)).toEqual(['p1']);
  });

  it('a run: its plan kept until cleared; finish takes the status unless a newer event arrived (then pending), clears the plan, resets attempts, keeps the link unless given; retry counts and reschedules', async () => {
    await repo.touch(chat('c1'));
    let r = await get('c1');
    await repo.setPlan(r, { steps: ['lead', 'comment'], text: 'a' });
    now += 10;
    await repo.retry(r, T0 + 5000, 'HTTP_503: busy');
    await repo.retry(r, T0 + 6000, 'HTTP_503: busy again');
    expect(await get('c1')).toMatchObject({ plan: { steps: ['lead', 'comment'], text: 'a' }, attempts: 2, dueAt: T0 + 6000, reason: 'HTTP_503: busy again', status: 'pending' });
    r = await get('c1');
    const link = { targets: [{ type: 'lead', id: 5 }], cursor: 'm9' };
    await repo.finish(r, { status: 'waiting', outcome: 'primary', reason: null, link });
    expect(await get('c1')).toMatchObject({ status: 'waiting', outcome: 'primary', reason: null, link, plan: null, attempts: 0, version: 1 });
    // a finish without a link keeps the stored one
    await repo.finish(r, { status: 'done', outcome: 'repeat', reason: 'R' });
    expect(await get('c1')).toMatchObject({ status: 'done', outcome: 'repeat', reason: 'R', link });
    // a newer event arrived while the run worked on version 1: the row stays pending
    await repo.touch(chat('c1', { event: 'message' }));
    await repo.setPlan(r, { steps: [] });
    await repo.finish(r, { status: 'done', outcome: 'primary', reason: null });
    expect(await get('c1')).toMatchObject({ status: 'pending', version: 2, outcome: 'primary', plan: null });
    await repo.setPlan(await get('c1'), null);
    expect((await get('c1')).plan).toBeNull();
    // another request untouched; a missing one: nothing
    await repo.touch(chat('c2'));
    await repo.finish({ ...r, requestId: 'nope' }, { status: 'done', outcome: 'x', reason: null });
    expect(await repo.get('p1', 'chat', 'nope')).toBeNull();
    expect(await get('c2')).toMatchObject({ status: 'pending', outcome: null });
  });

  it('pruneMessages: the messages of chats done or failed last touched before the bound are deleted; open, newer, other kinds and the request rows stay', async () => {
    const msg = (memberId: string, requestId: string, id: string) => repo.addMessage(memberId, requestId, { id, at: T0, source: 'visitor', text: `текст ${id}`, author: null });
    const finished = async (requestId: string, status: 'done' | 'failed' | 'waiting', memberId = 'p1') => {
      await repo.touch(chat(requestId, { memberId }));
      await repo.finish((await repo.get(memberId, 'chat', requestId))!, { status, outcome: 'primary', reason: null, link: { targets: [{ type: 'lead', id: 1 }], cursor: `${requestId}-m2` } });
      for (const id of ['m1', 'm2']) await msg(memberId, requestId, `${requestId}-${id}`);
    };
    await finished('old-done', 'done');
    await finished('old-failed', 'failed');
    await finished('old-waiting', 'waiting');
    await finished('other-portal', 'done', 'p2');
    await repo.touch(chat('old-open'));
    await msg('p1', 'old-open', 'o1');
    // an offline request with the same id as a chat's messages: its kind is not a chat
    await repo.touch({ memberId: 'p1', kind: 'offline', requestId: 'off', event: 'received', dueAt: T0 });
    await repo.finish((await repo.get('p1', 'offline', 'off'))!, { status: 'done', outcome: 'primary', reason: null });
    await msg('p1', 'off', 'x1');
    now = T0 + 10_000;
    await finished('new-done', 'done');
    expect(await repo.pruneMessages(T0 + 5000)).toBe(6);
    for (const id of ['old-done', 'old-failed']) expect(await repo.messages('p1', id)).toEqual([]);
    expect(await repo.messages('p2', 'other-portal')).toEqual([]);
    expect((await repo.messages('p1', 'old-waiting')).map((m) => m.id)).toEqual(['old-waiting-m1', 'old-waiting-m2']);
    expect((await repo.messages('p1', 'old-open')).map((m) => m.id)).toEqual(['o1']);
    expect((await repo.messages('p1', 'off')).map((m) => m.id)).toEqual(['x1']);
    expect((await repo.messages('p1', 'new-done')).map((m) => m.id)).toEqual(['new-done-m1', 'new-done-m2']);
    // the request keeps its link (the continuation's cursor); a second prune finds nothing
    expect(await get('old-done')).toMatchObject({ status: 'done', link: { cursor: 'old-done-m2' } });
    expect(await repo.pruneMessages(T0 + 5000)).toBe(0);
    // a later event re-opens the chat: its messages are kept again until it is done and old
    await repo.touch(chat('old-done', { event: 'message' }));
    await msg('p1', 'old-done', 'old-done-m3');
    expect(await repo.pruneMessages(T0 + 20_000)).toBe(2); // new-done's; old-done is pending again
    expect((await repo.messages('p1', 'old-done')).map((m) => m.id)).toEqual(['old-done-m3']);
  });

  it('operations by key: sent until done, a done one never goes back to sent; cleared only while sent', async () => {
    expect(await repo.op('p1', 'k1')).toBeNull();
    await repo.markSent('p1', ['k1', 'k2', 'k1', 'k3']);
    expect(await repo.op('p1', 'k1')).toEqual({ state: 'sent', resultId: null });
    await repo.markDone('p1', 'k2', 42);
    await repo.markDone('p1', 'k4', null); // never marked sent
    await repo.markSent('p1', ['k2', 'k4']);
    expect(await repo.op('p1', 'k2')).toEqual({ state: 'done', resultId: 42 });
    expect(await repo.op('p1', 'k4')).toEqual({ state: 'done', resultId: null });
    await repo.markDone('p1', 'k2', 43);
    expect(await repo.op('p1', 'k2')).toEqual({ state: 'done', resultId: 43 });
    await repo.clearOps('p1', ['k1', 'k2', 'nope']);
    expect(await repo.op('p1', 'k1')).toBeNull();
    expect(await repo.op('p1', 'k2')).toEqual({ state: 'done', resultId: 43 });
    expect(await repo.op('p1', 'k3')).toEqual({ state: 'sent', resultId: null });
    expect(await repo.op('p2', 'k3')).toBeNull(); // another portal
    await repo.markSent('p1', []);
    await repo.clearOps('p1', []);
    const many = Array.from({ length: 2500 }, (_, i) => `bulk-${i}`);
    await repo.markSent('p1', many);
    expect(await run(store, `SELECT COUNT(*) AS n FROM crm_ops WHERE op_key LIKE 'bulk-%'`)).toEqual([{ n: 2500 }]);
    await repo.clearOps('p1', many);
    expect(await run(store, `SELECT COUNT(*) AS n FROM crm_ops WHERE op_key LIKE 'bulk-%'`)).toEqual([{ n: 0 }]);
  });

  it('poll cursor: none before the first poll; it never moves back', async () => {
    expect(await repo.pollCursor('p1', 'offline')).toBeNull();
    await repo.setPollCursor('p1', 'offline', T0);
    expect(await repo.pollCursor('p1', 'offline')).toBe(T0);
    await repo.setPollCursor('p1', 'offline', T0 - 100);
    expect(await repo.pollCursor('p1', 'offline')).toBe(T0);
    await repo.setPollCursor('p1', 'offline', T0 + 100);
    expect(await repo.pollCursor('p1', 'offline')).toBe(T0 + 100);
    expect(await repo.pollCursor('p2', 'offline')).toBeNull();
  });

  it('count: requests by kind and status, this portal only', async () => {
    expect(await repo.count('p1')).toEqual({});
    await repo.touch(chat('a'));
    await repo.touch(chat('b'));
    await repo.touch(chat('c'));
    await repo.touch({ memberId: 'p1', kind: 'offline', requestId: 'd', event: 'received', dueAt: T0 });
    await repo.touch(chat('e', { memberId: 'p2' }));
    await repo.finish(await get('c'), { status: 'failed', outcome: 'x', reason: 'y' });
    expect(await repo.count('p1')).toEqual({ 'chat:pending': 2, 'chat:failed': 1, 'offline:pending': 1 });
  });

  it('a fractional clock (a scaled one) is taken: times are written, the due requests found', async () => {
    await repo.touch(chat('c1', { dueAt: T0 + 100.5, startedAt: T0 + 0.4 }));
    expect(await repo.due('p1', T0 + 100.4, 10)).toEqual([]);
    expect((await repo.due('p1', T0 + 101, 10)).map((r) => r.requestId)).toEqual(['c1']);
    expect(await repo.portalsWithDue(T0 + 101)).toEqual(['p1']);
    await repo.retry(await get('c1'), T0 + 200.5, 'r');
    expect(await repo.due('p1', T0 + 200.4, 10)).toEqual([]);
    expect(await repo.due('p1', T0 + 201, 10)).toHaveLength(1);
    await repo.touch(chat('c1', { dueAt: T0 + 150.5 }));
    expect(await repo.due('p1', T0 + 150.4, 10)).toEqual([]);
    expect(await repo.due('p1', T0 + 151, 10)).toHaveLength(1);
    expect(await repo.touchVisitor('p1', 'v', T0 + 1.5)).toBe(0);
    expect(await repo.addMessage('p1', 'c1', { id: 'm', at: T0 + 0.5, source: 'visitor', text: 't', author: null })).toBe(true);
    await repo.setPollCursor('p1', 'offline', T0 + 0.5);
    expect(Math.abs((await repo.pollCursor('p1', 'offline'))! - (T0 + 0.5))).toBeLessThanOrEqual(0.5);
  });

  it('U+0000 in free text and in the ids UIS hands over is stored and found: PostgreSQL writes U+FFFD', async () => {
    const nul = store.name === 'sqlite' ? '\u0000' : '\uFFFD';
    await repo.touch(chat('c\u0000', { channelId: 'ch\u0000', visitorId: 'v\u0000', facts: { t: 'f\u0000' } }));
    expect(await repo.get('p1', 'chat', 'c\u0000')).toMatchObject({ requestId: `c${nul}`, channelId: `ch${nul}`, visitorId: `v${nul}`, facts: { t: 'f\u0000' } });
    expect([...(await repo.events('p1', 'chat', ['c\u0000'])).values()]).toEqual(['started']);
    await repo.finish((await repo.get('p1', 'chat', 'c\u0000'))!, { status: 'waiting', outcome: 'skip:a\u0000', reason: 'r\u0000' });
    expect(await repo.get('p1', 'chat', 'c\u0000')).toMatchObject({ outcome: `skip:a${nul}`, reason: `r${nul}` });
    expect(await repo.touchVisitor('p1', 'v\u0000', T0)).toBe(1);
    await repo.retry((await repo.get('p1', 'chat', 'c\u0000'))!, T0, 'e\u0000');
    expect((await repo.get('p1', 'chat', 'c\u0000'))?.reason).toBe(`e${nul}`);
    expect(await repo.addMessage('p1', 'c\u0000', { id: 'm\u0000', at: T0, source: 'visitor', text: 'a\u0000b', author: 'x\u0000' })).toBe(true);
    expect(await repo.addMessage('p1', 'c\u0000', { id: 'm\u0000', at: T0, source: 'visitor', text: 'again', author: null })).toBe(false);
    expect(await repo.editMessage('p1', 'c\u0000', 'm\u0000', 'a\u0000b')).toBe(false);
    expect(await repo.messages('p1', 'c\u0000')).toEqual([{ id: `m${nul}`, at: T0, source: 'visitor', text: `a${nul}b`, author: `x${nul}` }]);
    await repo.markSent('p1', ['k\u0000']);
    expect(await repo.op('p1', 'k\u0000')).toEqual({ state: 'sent', resultId: null });
    await repo.clearOps('p1', ['k\u0000']);
    expect(await repo.op('p1', 'k\u0000')).toBeNull();
    await repo.markDone('p1', 'k\u0000', 1);
    expect(await repo.op('p1', 'k\u0000')).toEqual({ state: 'done', resultId: 1 });
  });

  it("one chat's events arriving at two instances at once (on PostgreSQL: 8 over two pools): one request, every event one version, the furthest point kept", async () => {
    const events: Array<CrmRequest['event']> = ['message', 'started', 'finished', 'message', 'started', 'message', 'message', 'started'];
    for (let round = 0; round < 10; round++) {
      const id = `race-${round}`;
      await Promise.all(events.map((event, i) => (i % 2 ? other : repo).touch(chat(id, { event, visitorId: 'v', dueAt: T0 + 100 + i }))));
      expect(await get(id)).toMatchObject({ event: 'finished', version: 8, status: 'pending', dueAt: T0 + 100 });
      // and re-opened again at once
      await repo.finish(await get(id), { status: 'waiting', outcome: 'primary', reason: null });
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : repo).touch(chat(id, { event: 'message', dueAt: T0 + 500 + i }))));
      expect(await get(id)).toMatchObject({ event: 'finished', version: 16, status: 'pending', dueAt: T0 + 500 });
    }
    expect(await repo.count('p1')).toEqual({ 'chat:pending': 10 });
  });

  it('one message and one operation key arriving at two instances at once: stored once, exactly one told it is new; overlapping keys marked without a deadlock; the cursor never back', async () => {
    for (let round = 0; round < 10; round++) {
      const told = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? other : repo).addMessage('p1', 'c1', { id: `m${round}`, at: T0 + round, source: 'visitor', text: `t${i}`, author: null })),
      );
      expect(told.filter(Boolean)).toHaveLength(1);
    }
    expect(await repo.messages('p1', 'c1')).toHaveLength(10);
    // each run marks an overlapping set of keys, in its own order
    const sets = Array.from({ length: 8 }, (_, i) => Array.from({ length: 60 }, (_, j) => `op-${(i * 7 + j) % 100}`).reverse());
    await Promise.all(sets.map((keys, i) => (i % 2 ? other : repo).markSent('p1', i % 3 ? keys : [...keys].reverse())));
    const sent = new Set(sets.flat());
    expect(await run(store, `SELECT COUNT(*) AS n FROM crm_ops WHERE state = 'sent'`)).toEqual([{ n: sent.size }]);
    await Promise.all(sets.map((keys, i) => (i % 2 ? other : repo).clearOps('p1', keys)));
    expect(await run(store, `SELECT COUNT(*) AS n FROM crm_ops`)).toEqual([{ n: 0 }]);
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : repo).setPollCursor('p1', 'offline', T0 + ((i * 5) % 12))));
    expect(await repo.pollCursor('p1', 'offline')).toBe(T0 + 11);
  });
});
