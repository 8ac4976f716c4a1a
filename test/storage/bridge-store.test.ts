/**
 * The Open Lines bridge store contract (issues #3, #12): the same cases against the SQLite
 * repository (through asyncPort) and the PostgreSQL store (migrations-pg 006–020) — line bindings
 * (a channel moving between lines), the default operator, chats and visitors (a patch keeps what it
 * does not name), message links, expected echoes, the per-chat ordered job queue (due jobs behind a
 * backing-off job of their chat wait, enqueueAhead, in-flight marks, retention), U+0000 in what is
 * stored. And two instances (on PostgreSQL two pools, their own connections) racing: a link or a
 * job added by 8 at once is new for exactly one, an echo is consumed once, binds of one channel
 * move it atomically, concurrent enqueueAhead never loses nor doubles a job. Time is a hand-moved
 * number, never the wall clock.
 */
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { externalChatId } from '../../server/domain/bridge-ids';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { BridgeRepository, MessageLink } from '../../server/services/bridge/ports';
import { createSqliteBridgeRepository } from '../../server/storage/bridge-repository';
import { createPgBridgeStore } from '../../server/storage/pg/bridge-store';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
const ISO0 = new Date(T0).toISOString();
const M = 'p1';
const B = 'p2';
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['bridge_lines', 'bridge_settings', 'bridge_visitors', 'bridge_chats', 'bridge_messages', 'bridge_echoes', 'bridge_jobs', 'uis_inbox'];

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

const link = (key: string, over: Partial<MessageLink> = {}): MessageLink => ({
  origin: 'uis',
  key,
  uisChatId: '100',
  uisMessageId: key,
  b24ChatId: null,
  b24MessageId: null,
  b24UserId: null,
  b24SessionId: null,
  state: 'queued',
  error: null,
  ...over,
});
const job = (idemKey: string, over: Partial<Parameters<BridgeRepository['enqueue']>[0]> = {}) => ({
  memberId: M,
  kind: 'in' as const,
  chatKey: 'c1',
  idemKey,
  payload: { n: idemKey },
  dueAt: T0,
  ...over,
});

forEachStore('bridge store', (store) => {
  let now = T0;
  let repo: AsyncPort<BridgeRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<BridgeRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear(...TABLES);
    await addPortal(store, M);
    await addPortal(store, B);
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqliteBridgeRepository(store.sqlite, () => now)) : createPgBridgeStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const idems = async (chatKey = 'c1', memberId = M) => (await repo.pendingOfChat(memberId, chatKey)).map((j) => j.idemKey);

  it('bindings: bind, read by line and by channel, numeric line order; a channel moved to another line leaves the first; unbind; the bound portals', async () => {
    expect(await repo.binding(M, '1')).toBeNull();
    expect(await repo.bindings(M)).toEqual([]);
    expect(await repo.boundPortals()).toEqual([]);
    expect(await repo.bind(M, '1', 'ch1')).toEqual({ movedFrom: null });
    const b1 = { memberId: M, lineId: '1', channelId: 'ch1', status: 'active', chatsRulesOff: true, lastError: null, updatedAt: ISO0 };
    expect(await repo.binding(M, '1')).toEqual(b1);
    expect(await repo.bindingByChannel(M, 'ch1')).toEqual(b1);
    expect(await repo.bindingByChannel(M, 'ch2')).toBeNull();
    expect(await repo.binding(B, '1')).toBeNull();
    for (const [l, c] of [['10', 'ch10'], ['9', 'ch9'], ['x', 'chx'], ['2', 'ch2']]) await repo.bind(M, l!, c!);
    expect((await repo.bindings(M)).map((b) => b.lineId)).toEqual(['x', '1', '2', '9', '10']); // CAST(line_id AS INTEGER): 'x' is 0
    now += 1000;
    // the channel moves from line 9 to line 3
    expect(await repo.bind(M, '3', 'ch9')).toEqual({ movedFrom: '9' });
    expect(await repo.binding(M, '9')).toBeNull();
    expect(await repo.bindingByChannel(M, 'ch9')).toMatchObject({ lineId: '3', updatedAt: new Date(now).toISOString() });
    // a line bound to another channel: its old channel is free
    expect(await repo.bind(M, '3', 'ch33')).toEqual({ movedFrom: null });
    expect(await repo.bindingByChannel(M, 'ch9')).toBeNull();
    // the same again: nothing moved
    expect(await repo.bind(M, '3', 'ch33')).toEqual({ movedFrom: null });
    expect((await repo.bindings(M)).map((b) => `${b.lineId}:${b.channelId}`)).toEqual(['x:chx', '1:ch1', '2:ch2', '3:ch33', '10:ch10']);
    await repo.bind(B, '1', 'ch1'); // another portal: its own lines
    expect((await repo.boundPortals()).sort()).toEqual([M, B]);
    await repo.unbind(B, '1');
    await repo.unbind(M, '77'); // none: nothing
    expect(await repo.boundPortals()).toEqual([M]);
    expect(await repo.bindings(M)).toHaveLength(5);
  });

  it('binding status and error: set with the time of the change; a rebind is active again without error', async () => {
    await repo.bind(M, '1', 'ch1');
    now += 1000;
    await repo.setBindingStatus(M, '1', 'off', 'CONNECTOR_OFF');
    expect(await repo.binding(M, '1')).toMatchObject({ status: 'off', lastError: 'CONNECTOR_OFF', updatedAt: new Date(now).toISOString() });
    now += 1000;
    await repo.setBindingError(M, '1', 'HTTP 503');
    expect(await repo.binding(M, '1')).toMatchObject({ status: 'off', lastError: 'HTTP 503', updatedAt: new Date(now).toISOString() });
    await repo.setBindingError(M, '1', null);
    expect((await repo.binding(M, '1'))!.lastError).toBeNull();
    await repo.setBindingStatus(M, '1', 'off', 'again');
    await repo.bind(M, '1', 'ch1');
    expect(await repo.binding(M, '1')).toMatchObject({ status: 'active', lastError: null, chatsRulesOff: true });
    await repo.setBindingStatus(M, '2', 'off', null); // no such line: nothing
    expect(await repo.bindings(M)).toHaveLength(1);
  });

  it('default operator: none, set, replaced, cleared; per portal', async () => {
    expect(await repo.defaultOperator(M)).toBeNull();
    await repo.setDefaultOperator(M, 42);
    await repo.setDefaultOperator(B, 7);
    expect(await repo.defaultOperator(M)).toBe(42);
    await repo.setDefaultOperator(M, 9_007_199_254);
    expect(await repo.defaultOperator(M)).toBe(9_007_199_254);
    await repo.setDefaultOperator(M, null);
    expect(await repo.defaultOperator(M)).toBeNull();
    expect(await repo.defaultOperator(B)).toBe(7);
  });

  it('chats: defaults on insert; an upsert replaces what it gives and keeps what it does not; found by Bitrix24 chat (latest changed)', async () => {
    expect(await repo.chat(M, '100')).toBeNull();
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1' });
    expect(await repo.chat(M, '100')).toEqual({
      memberId: M,
      uisChatId: '100',
      channelId: 'ch1',
      visitorId: null,
      initiator: null,
      operatorId: null,
      lineId: null,
      b24ChatId: null,
      b24SessionId: null,
      b24SessionClosed: false,
      status: 'open',
      extChatId: externalChatId('100'),
      successorUisChatId: null,
    });
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ignored', visitorId: 'v1', initiator: 'visitor', operatorId: '5', lineId: '1', b24ChatId: 'b1', b24SessionId: 's1', b24SessionClosed: true });
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', operatorId: '6', b24SessionId: null });
    expect(await repo.chat(M, '100')).toMatchObject({ channelId: 'ch1', visitorId: 'v1', initiator: 'visitor', operatorId: '6', lineId: '1', b24ChatId: 'b1', b24SessionId: 's1', b24SessionClosed: true, status: 'open' });
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', b24SessionClosed: false, status: 'closed', successorUisChatId: '101' });
    expect(await repo.chat(M, '100')).toMatchObject({ b24SessionClosed: false, status: 'closed', successorUisChatId: '101', extChatId: externalChatId('100') });
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1' }); // status not given: kept
    expect((await repo.chat(M, '100'))!.status).toBe('closed');
    now += 1000;
    // the successor continues the first chat's open-line chat
    await repo.upsertChat({ memberId: M, uisChatId: '101', channelId: 'ch1', b24ChatId: 'b1', extChatId: externalChatId('100') });
    expect(await repo.chat(M, '101')).toMatchObject({ extChatId: externalChatId('100'), b24ChatId: 'b1', status: 'open' });
    expect((await repo.chatByB24(M, 'b1'))!.uisChatId).toBe('101');
    now += 1000;
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', initiator: 'operator' });
    expect((await repo.chatByB24(M, 'b1'))!.uisChatId).toBe('100');
    expect(await repo.chatByB24(M, 'b2')).toBeNull();
    expect(await repo.chatByB24(B, 'b1')).toBeNull();
    expect(await repo.chat(B, '100')).toBeNull();
  });

  it("closeB24Session: closes the chat's dialog while its session is the one named or not known yet; a new dialog's session stays open; another chat or portal untouched", async () => {
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', b24SessionId: 's1' });
    await repo.upsertChat({ memberId: M, uisChatId: '101', channelId: 'ch1' }); // no session known yet
    await repo.upsertChat({ memberId: B, uisChatId: '100', channelId: 'ch1', b24SessionId: 's1' });
    now += 1000;
    expect(await repo.closeB24Session(M, '100', 's0')).toBe(false); // an older dialog
    expect(await repo.chat(M, '100')).toMatchObject({ b24SessionId: 's1', b24SessionClosed: false });
    expect(await repo.closeB24Session(M, '100', 's1')).toBe(true);
    expect(await repo.chat(M, '100')).toMatchObject({ b24SessionId: 's1', b24SessionClosed: true });
    expect(await run(store, 'SELECT updated_at FROM bridge_chats WHERE member_id = ? AND uis_chat_id = ?', [M, '100'])).toEqual([{ updated_at: new Date(T0 + 1000).toISOString() }]);
    expect(await repo.chat(B, '100')).toMatchObject({ b24SessionClosed: false });
    // a new dialog opened: its session is written open; the late close of the old one does not touch it
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', b24SessionId: 's2', b24SessionClosed: false });
    expect(await repo.closeB24Session(M, '100', 's1')).toBe(false);
    expect(await repo.chat(M, '100')).toMatchObject({ b24SessionId: 's2', b24SessionClosed: false });
    // no session named: closes only a chat whose session is not known either
    expect(await repo.closeB24Session(M, '100', null)).toBe(false);
    expect(await repo.closeB24Session(M, '101', null)).toBe(true);
    expect(await repo.chat(M, '101')).toMatchObject({ b24SessionId: null, b24SessionClosed: true });
    await repo.upsertChat({ memberId: M, uisChatId: '101', channelId: 'ch1', b24SessionClosed: false });
    expect(await repo.closeB24Session(M, '101', 's9')).toBe(true); // the session was not known yet: the one named is taken as its
    expect(await repo.closeB24Session(M, '999', 's1')).toBe(false);
    expect(await repo.chat(M, '999')).toBeNull();
  });

  it("closeB24Session beside a new dialog's session written at once by another instance: the new session is never left closed", async () => {
    for (let round = 0; round < 10; round++) {
      const id = String(200 + round);
      await repo.upsertChat({ memberId: M, uisChatId: id, channelId: 'ch1', b24SessionId: 's1' });
      await Promise.all([
        repo.closeB24Session(M, id, 's1'),
        other.upsertChat({ memberId: M, uisChatId: id, channelId: 'ch1', b24SessionId: 's2', b24SessionClosed: false }),
      ]);
      expect(await repo.chat(M, id)).toMatchObject({ b24SessionId: 's2', b24SessionClosed: false });
    }
  });

  it("open chats of a visitor: UIS-open ones only (a finished open-line dialog counts), in id byte order, at most 50", async () => {
    for (let i = 0; i < 49; i++) await repo.upsertChat({ memberId: M, uisChatId: String(1000 + i), channelId: 'ch1', visitorId: 'v1' });
    await repo.upsertChat({ memberId: M, uisChatId: '20', channelId: 'ch1', visitorId: 'v1' });
    await repo.upsertChat({ memberId: M, uisChatId: '999', channelId: 'ch1', visitorId: 'v1', status: 'closed' });
    await repo.upsertChat({ memberId: M, uisChatId: '2', channelId: 'ch1', visitorId: 'v1', b24SessionClosed: true });
    await repo.upsertChat({ memberId: M, uisChatId: '3', channelId: 'ch1', visitorId: 'v2' });
    await repo.upsertChat({ memberId: B, uisChatId: '4', channelId: 'ch1', visitorId: 'v1' });
    const open = (await repo.openChatsOfVisitor(M, 'v1')).map((c) => c.uisChatId);
    // 51 open: '1000' … '1048', '2', '20' as text; the 51st is left out
    expect(open).toEqual([...Array.from({ length: 49 }, (_, i) => String(1000 + i)), '2']);
    expect(await repo.openChatsOfVisitor(M, 'v3')).toEqual([]);
  });

  it('visitors: inserted, a patch keeps what it does not give; per portal', async () => {
    expect(await repo.visitor(M, 'v1')).toBeNull();
    await repo.upsertVisitor({ memberId: M, visitorId: 'v1', phone: '79990001122' });
    expect(await repo.visitor(M, 'v1')).toEqual({ memberId: M, visitorId: 'v1', phone: '79990001122', email: null, name: null, b24UserId: null });
    await repo.upsertVisitor({ memberId: M, visitorId: 'v1', email: 'a@b.c', name: 'Анна', b24UserId: '17' });
    await repo.upsertVisitor({ memberId: M, visitorId: 'v1', phone: null, name: 'Анна К.' });
    expect(await repo.visitor(M, 'v1')).toEqual({ memberId: M, visitorId: 'v1', phone: '79990001122', email: 'a@b.c', name: 'Анна К.', b24UserId: '17' });
    expect(await repo.visitor(B, 'v1')).toBeNull();
  });

  it('message links: added once (a repeat is refused and changes nothing), found by key and by UIS message, patched, counted', async () => {
    expect(await repo.link(M, 'uis', 'm1')).toBeNull();
    expect(await repo.addLink(M, link('m1', { b24SessionId: 'ignored' }))).toBe(true);
    expect(await repo.addLink(M, link('m1', { state: 'failed' }))).toBe(false);
    expect(await repo.link(M, 'uis', 'm1')).toEqual(link('m1')); // the session id comes with updateLink only
    expect(await repo.addLink(M, link('m1', { origin: 'b24', uisMessageId: null, b24ChatId: 'b1', b24MessageId: 'bm1', b24UserId: '5', state: 'relayed' }))).toBe(true);
    expect(await repo.addLink(B, link('m1'))).toBe(true);
    expect(await repo.link(M, 'b24', 'm1')).toMatchObject({ origin: 'b24', b24UserId: '5', b24MessageId: 'bm1', uisMessageId: null });
    expect(await repo.linkByUisMessage(M, 'm1')).toMatchObject({ origin: 'uis', key: 'm1' });
    expect(await repo.linkByUisMessage(M, 'zz')).toBeNull();
    await repo.updateLink(M, 'uis', 'm1', { b24ChatId: 'b1', b24MessageId: 'bm9', b24SessionId: 's1', state: 'relayed', error: 'late' });
    expect(await repo.link(M, 'uis', 'm1')).toEqual(link('m1', { b24ChatId: 'b1', b24MessageId: 'bm9', b24SessionId: 's1', state: 'relayed', error: 'late' }));
    await repo.updateLink(M, 'uis', 'm1', { error: undefined, uisMessageId: 'm1b', bogus: 1 } as never); // undefined writes NULL
    expect(await repo.link(M, 'uis', 'm1')).toMatchObject({ error: null, uisMessageId: 'm1b', state: 'relayed' });
    expect(await repo.linkByUisMessage(M, 'm1b')).toMatchObject({ key: 'm1' });
    await repo.updateLink(M, 'uis', 'm1', {}); // nothing
    await repo.addLink(M, link('m2', { state: 'failed' }));
    await repo.addLink(M, link('m3', { state: 'failed' }));
    expect(await repo.countLinks(M)).toEqual({ 'uis:relayed': 1, 'uis:failed': 2, 'b24:relayed': 1 });
    expect(await repo.countLinks('p3')).toEqual({});
  });

  it('echoes: each expected one is taken once, per portal, chat and hash; older than a day dropped when a new one is expected', async () => {
    await repo.expectEcho(M, 'uis_c1', 'h1');
    await repo.expectEcho(M, 'uis_c1', 'h1');
    await repo.expectEcho(M, 'uis_c1', 'h2');
    expect(await repo.takeEcho(M, 'uis_c2', 'h1')).toBe(false);
    expect(await repo.takeEcho(B, 'uis_c1', 'h1')).toBe(false);
    expect(await repo.takeEcho(M, 'uis_c1', 'h1')).toBe(true);
    expect(await repo.takeEcho(M, 'uis_c1', 'h1')).toBe(true);
    expect(await repo.takeEcho(M, 'uis_c1', 'h1')).toBe(false);
    now += 24 * 3600_000 + 1;
    await repo.expectEcho(B, 'uis_c1', 'h3');
    expect(await repo.takeEcho(M, 'uis_c1', 'h2')).toBe(false); // dropped
    expect(await repo.takeEcho(B, 'uis_c1', 'h3')).toBe(true);
  });

  it('queue: a job per idempotency key; pending jobs of a chat in order; due jobs oldest first, those behind a backing-off job of their chat wait', async () => {
    expect(await repo.enqueue(job('a1', { payload: { text: 'привет', n: [1, 2] } }))).toBe(true);
    expect(await repo.enqueue(job('a1', { chatKey: 'c2' }))).toBe(false);
    await repo.enqueue(job('a2'));
    await repo.enqueue(job('b1', { chatKey: 'c2', kind: 'out', dueAt: T0 + 5000 }));
    await repo.enqueue(job('b2', { chatKey: 'c2' }));
    await repo.enqueue(job('c1', { chatKey: 'c3' }));
    await repo.enqueue(job('x1', { memberId: B }));
    expect(await idems()).toEqual(['a1', 'a2']);
    const [a1] = await repo.pendingOfChat(M, 'c1');
    expect(a1).toEqual({
      id: a1!.id,
      memberId: M,
      kind: 'in',
      chatKey: 'c1',
      idemKey: 'a1',
      payload: { text: 'привет', n: [1, 2] },
      status: 'pending',
      attempts: 0,
      dueAt: T0,
      enqueuedAt: T0,
      lastError: null,
      inflight: false,
    });
    // b2 waits behind b1 (not due before T0 + 5000)
    expect((await repo.due(M, T0, 10)).map((j) => j.idemKey)).toEqual(['a1', 'a2', 'c1']);
    expect((await repo.due(M, T0, 2)).map((j) => j.idemKey)).toEqual(['a1', 'a2']);
    expect(await repo.due(M, T0 - 1, 10)).toEqual([]);
    expect((await repo.due(M, T0 + 5000, 10)).map((j) => j.idemKey)).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
    expect((await repo.due(B, T0, 10)).map((j) => j.idemKey)).toEqual(['x1']);
    // a job retried later blocks its chat's later jobs
    await repo.retry(a1!.id, 1, T0 + 2000, 'HTTP 503');
    expect((await repo.due(M, T0, 10)).map((j) => j.idemKey)).toEqual(['c1']);
    expect((await repo.pendingOfChat(M, 'c1'))[0]).toMatchObject({ attempts: 1, dueAt: T0 + 2000, lastError: 'HTTP 503', status: 'pending' });
    expect((await repo.due(M, T0 + 2000, 10)).map((j) => j.idemKey)).toEqual(['a1', 'a2', 'c1']);
  });

  it('queue: holdChatWith puts the rest of a chat off with one of its jobs — no job of the chat left due before it, other chats and portals untouched', async () => {
    // arrived reordered: UIS ids 102, 100, 101; the relay pushed back 100 (its chat's first) alone
    await repo.enqueue(job('m102', { dueAt: T0 }));
    await repo.enqueue(job('m100', { dueAt: T0 }));
    await repo.enqueue(job('m101', { dueAt: T0 + 90_000 })); // put off longer before: held to the same time too
    await repo.enqueue(job('o1', { chatKey: 'c2', dueAt: T0 }));
    await repo.enqueue(job('x1', { memberId: B, dueAt: T0 }));
    const [, m100] = await repo.pendingOfChat(M, 'c1');
    await repo.retry(m100!.id, 1, T0 + 500, 'waiting for the /chat callback of this chat');
    expect((await repo.due(M, T0, 10)).map((j) => j.idemKey)).toEqual(['m102', 'o1']); // a later message of c1 alone
    expect(await repo.holdChatWith(M, 'c1', m100!.id)).toBe(2);
    expect(await repo.holdChatWith(M, 'c1', m100!.id)).toBe(0);
    expect((await repo.pendingOfChat(M, 'c1')).map((j) => [j.idemKey, j.dueAt])).toEqual([['m102', T0 + 500], ['m100', T0 + 500], ['m101', T0 + 500]]);
    expect((await repo.due(M, T0, 10)).map((j) => j.idemKey)).toEqual(['o1']);
    expect((await repo.due(M, T0 + 500, 10)).map((j) => j.idemKey)).toEqual(['m102', 'm100', 'm101', 'o1']);
    expect((await repo.due(B, T0, 10)).map((j) => j.idemKey)).toEqual(['x1']);
    // the job given must be a pending job of that chat and portal: nothing moves otherwise
    const [o1] = await repo.pendingOfChat(M, 'c2');
    expect(await repo.holdChatWith(M, 'c1', o1!.id)).toBe(0);
    expect(await repo.holdChatWith(B, 'c1', m100!.id)).toBe(0);
    await repo.complete(m100!.id);
    expect(await repo.holdChatWith(M, 'c1', m100!.id)).toBe(0);
  });

  it('queue: resequence gives a chat\'s pending jobs from the first given on new places in the order given — all or nothing', async () => {
    await repo.enqueue(job('h', { kind: 'out', dueAt: T0 }));
    await repo.enqueue(job('m101', { kind: 'out', dueAt: T0 + 2000, payload: { n: 1 } }));
    await repo.enqueue(job('m102', { kind: 'out', dueAt: T0 + 900 }));
    await repo.enqueue(job('m100', { kind: 'out', dueAt: T0 + 1000 }));
    await repo.enqueue(job('o1', { chatKey: 'c2', kind: 'out', dueAt: T0 }));
    const [h, m101, m102, m100] = await repo.pendingOfChat(M, 'c1');
    await repo.retry(m101!.id, 3, T0 + 2000, 'HTTP_503');
    // not exactly the chat's tail from the first given on: nothing moves
    expect(await repo.resequence(M, 'c1', [m100!.id, m101!.id])).toBe(false); // m102 left out
    expect(await repo.resequence(M, 'c1', [m100!.id, m101!.id, m102!.id, m101!.id])).toBe(false);
    expect(await repo.resequence(B, 'c1', [m100!.id, m101!.id, m102!.id])).toBe(false);
    await repo.setInflight([m102!.id], true);
    expect(await repo.resequence(M, 'c1', [m100!.id, m101!.id, m102!.id])).toBe(false); // one a run is sending
    await repo.setInflight([m102!.id], false);
    expect((await repo.pendingOfChat(M, 'c1')).map((j) => j.idemKey)).toEqual(['h', 'm101', 'm102', 'm100']);
    expect(await repo.resequence(M, 'c1', [m100!.id, m101!.id, m102!.id])).toBe(true);
    const after = await repo.pendingOfChat(M, 'c1');
    expect(after.map((j) => [j.idemKey, j.attempts, j.dueAt, j.lastError, j.payload])).toEqual([
      ['h', 0, T0, null, { n: 'h' }],
      ['m100', 0, T0 + 1000, null, { n: 'm100' }],
      ['m101', 3, T0 + 2000, 'HTTP_503', { n: 1 }],
      ['m102', 0, T0 + 900, null, { n: 'm102' }],
    ]);
    expect(after[0]!.id).toBe(h!.id); // the head stays
    // moved jobs have new ids: the old ones are no longer pending
    for (const old of [m101!, m102!, m100!]) expect(after.some((j) => j.id === old.id)).toBe(false);
    expect(await repo.resequence(M, 'c1', [m101!.id])).toBe(false);
    expect((await repo.pendingOfChat(M, 'c2')).map((j) => j.idemKey)).toEqual(['o1']);
    expect(await repo.resequence(M, 'c1', [])).toBe(false);
  });

  it('queue: complete, fail, dueNow, in-flight marks; the portals with due jobs; the next due time of a chat head; counts', async () => {
    await repo.enqueue(job('a1', { dueAt: T0 + 100 }));
    await repo.enqueue(job('a2', { dueAt: T0 }));
    await repo.enqueue(job('b1', { chatKey: 'c2', kind: 'out', dueAt: T0 + 50 }));
    await repo.enqueue(job('x1', { memberId: B, dueAt: T0 + 10 }));
    expect(await repo.nextDueAt()).toBe(T0 + 10); // a2 (T0) waits behind a1
    expect(await repo.portalsWithDueJobs(T0)).toEqual([M]); // a superset: a2 is not due behind a1
    expect((await repo.portalsWithDueJobs(T0 + 10)).sort()).toEqual([M, B]);
    expect(await repo.portalsWithDueJobs(T0 - 1)).toEqual([]);
    expect(await repo.dueNow(M, 'c1', T0 + 20)).toBe(1); // a1: T0 + 100 → T0 + 20
    expect(await repo.dueNow(M, 'c1', T0 + 20)).toBe(0);
    expect((await repo.pendingOfChat(M, 'c1')).map((j) => j.dueAt)).toEqual([T0 + 20, T0]);
    const [a1, a2] = await repo.pendingOfChat(M, 'c1');
    await repo.setInflight([a1!.id, a2!.id], true);
    expect((await repo.pendingOfChat(M, 'c1')).map((j) => j.inflight)).toEqual([true, true]);
    await repo.setInflight([a2!.id], false);
    await repo.setInflight([], true);
    expect((await repo.pendingOfChat(M, 'c1')).map((j) => j.inflight)).toEqual([true, false]);
    await repo.complete(a1!.id);
    await repo.setInflight([a2!.id], true);
    await repo.fail(a2!.id, 'UIS_REJECTED: no');
    expect(await repo.pendingOfChat(M, 'c1')).toEqual([]);
    expect(await repo.nextDueAt()).toBe(T0 + 10);
    expect(await repo.countJobs(M)).toEqual({ 'in:done': 1, 'in:failed': 1, 'out:pending': 1 });
    expect(await repo.countJobs('p3')).toEqual({});
    const [b1] = await repo.pendingOfChat(M, 'c2');
    await repo.complete(b1!.id);
    expect(await repo.portalsWithDueJobs(T0 + 1000)).toEqual([B]);
    const [x1] = await repo.pendingOfChat(B, 'c1');
    await repo.complete(x1!.id);
    expect(await repo.nextDueAt()).toBeNull();
    expect(await repo.due(M, T0 + 10_000, 10)).toEqual([]);
    // a finished job's marks: done / failed and no longer in flight, the error of a failure kept
    const rows = await run(store, `SELECT idem_key, status, inflight, last_error FROM bridge_jobs WHERE member_id = ? AND chat_key = 'c1' ORDER BY id`, [M]);
    expect(rows.map((r) => [r.idem_key, r.status, Number(r.inflight), r.last_error])).toEqual([
      ['a1', 'done', 0, null],
      ['a2', 'failed', 0, 'UIS_REJECTED: no'],
    ]);
  });

  it('chatsOf / visitorsOf: the ones of these ids that exist, read at once; per portal; none asked, none read', async () => {
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', visitorId: 'v1', lineId: '1', b24ChatId: 'b1' });
    await repo.upsertChat({ memberId: M, uisChatId: '101', channelId: 'ch2' });
    await repo.upsertChat({ memberId: B, uisChatId: '102', channelId: 'ch1' });
    await repo.upsertVisitor({ memberId: M, visitorId: 'v1', phone: '79990001122', name: 'Анна' });
    await repo.upsertVisitor({ memberId: M, visitorId: 'v2', email: 'a@b.c' });
    await repo.upsertVisitor({ memberId: B, visitorId: 'v3' });
    const byId = <T extends { uisChatId?: string; visitorId?: string | null }>(xs: T[]) => [...xs].sort((a, b) => String(a.uisChatId ?? a.visitorId).localeCompare(String(b.uisChatId ?? b.visitorId)));
    expect(byId(await repo.chatsOf(M, ['101', '100', '102', 'none', '100']))).toEqual([await repo.chat(M, '100'), await repo.chat(M, '101')]);
    expect(await repo.chatsOf(M, [])).toEqual([]);
    expect(await repo.chatsOf(B, ['100', '102'])).toEqual([await repo.chat(B, '102')]);
    expect(byId(await repo.visitorsOf(M, ['v2', 'v1', 'v3']))).toEqual([await repo.visitor(M, 'v1'), await repo.visitor(M, 'v2')]);
    expect(await repo.visitorsOf(M, [])).toEqual([]);
    // many ids in one read (a round of 2,000 jobs)
    const many = Array.from({ length: 3000 }, (_, i) => String(i));
    expect((await repo.chatsOf(M, many)).map((c) => c.uisChatId).sort()).toEqual(['100', '101']);
  });

  it('settle: chats, visitors and links as the single calls one after another leave them (repeats of a key merged), then jobs done and failed', async () => {
    // the same writes on portal B one by one and on M in one settle: the same rows
    for (const m of [M, B]) {
      await repo.upsertChat({ memberId: m, uisChatId: '100', channelId: 'ch1', visitorId: 'v1', initiator: 'visitor', lineId: '1', b24SessionClosed: true, status: 'closed' });
      await repo.upsertChat({ memberId: m, uisChatId: '101', channelId: 'ch1', b24ChatId: 'b0', b24SessionId: 's0' });
      await repo.upsertVisitor({ memberId: m, visitorId: 'v1', phone: '79990001122', name: 'Анна' });
      for (const k of ['m1', 'm2', 'm3', 'm4']) await repo.addLink(m, link(k, { b24MessageId: 'bm', error: 'old' }));
      for (const k of ['j1', 'j2', 'j3', 'j4']) await repo.enqueue(job(`${m}${k}`, { memberId: m }));
    }
    const chats = [
      { uisChatId: '100', channelId: 'ignored', lineId: '2', b24ChatId: 'b1', b24SessionId: 's1', b24SessionClosed: false },
      { uisChatId: '100', channelId: 'ch1', b24SessionId: 's2', operatorId: null },
      { uisChatId: '101', channelId: 'ch1', b24SessionClosed: true },
      { uisChatId: '102', channelId: 'ch3', visitorId: 'v2', lineId: '1' }, // new: defaults for what is not given
      { uisChatId: '103', channelId: 'ch3', status: 'closed' as const },
      { uisChatId: '103', channelId: 'ch4', b24ChatId: 'b3' },
    ];
    const visitors = [
      { visitorId: 'v1', b24UserId: '17' },
      { visitorId: 'v1', name: 'Анна К.', phone: null },
      { visitorId: 'v2', email: 'x@y.z' },
    ];
    const links = [
      { origin: 'uis' as const, key: 'm1', patch: { state: 'relayed' as const, b24ChatId: 'b1', b24SessionId: 's1', error: null } },
      { origin: 'uis' as const, key: 'm2', patch: { state: 'failed' as const, error: 'refused' } },
      { origin: 'uis' as const, key: 'm2', patch: { error: 'refused again', b24MessageId: undefined } }, // undefined writes NULL
      { origin: 'uis' as const, key: 'm3', patch: {} }, // nothing
      { origin: 'uis' as const, key: 'm4', patch: { bogus: 1 } as never }, // nothing either
      { origin: 'b24' as const, key: 'm1', patch: { state: 'delivered' as const } }, // none such: nothing
      { origin: 'uis' as const, key: 'gone', patch: { state: 'relayed' as const } },
    ];
    const ids = async (m: string) => Object.fromEntries((await repo.pendingOfChat(m, 'c1')).map((j) => [j.idemKey.slice(m.length), j.id]));
    const b = await ids(B);
    for (const c of chats) await repo.upsertChat({ ...c, memberId: B });
    for (const v of visitors) await repo.upsertVisitor({ ...v, memberId: B });
    for (const l of links) await repo.updateLink(B, l.origin, l.key, l.patch);
    await repo.complete(b.j1!);
    await repo.complete(b.j2!);
    await repo.fail(b.j2!, 'first');
    await repo.fail(b.j2!, 'second');
    await repo.fail(b.j3!, 'refused');
    const a = await ids(M);
    await repo.setInflight([a.j1!, a.j2!, a.j3!], true);
    await repo.settle(M, { chats, visitors, links, done: [a.j1!, a.j2!, a.j1!], failed: [{ id: a.j2!, error: 'first' }, { id: a.j3!, error: 'refused' }, { id: a.j2!, error: 'second' }] });

    const rows = async (m: string) => ({
      chats: await run(store, 'SELECT uis_chat_id, channel_id, visitor_id, initiator, operator_id, line_id, b24_chat_id, b24_session_id, b24_session_closed, status, ext_chat_id, successor_uis_chat_id, updated_at FROM bridge_chats WHERE member_id = ? ORDER BY uis_chat_id', [m]),
      visitors: await run(store, 'SELECT visitor_id, phone, email, name, b24_user_id, updated_at FROM bridge_visitors WHERE member_id = ? ORDER BY visitor_id', [m]),
      links: await run(store, 'SELECT origin, key, uis_chat_id, uis_message_id, b24_chat_id, b24_message_id, b24_session_id, state, error, updated_at FROM bridge_messages WHERE member_id = ? ORDER BY origin, key', [m]),
      jobs: (await run(store, 'SELECT idem_key, status, last_error, inflight, attempts FROM bridge_jobs WHERE member_id = ? ORDER BY id', [m])).map((r) => ({ ...r, idem_key: String(r.idem_key).slice(m.length) })),
    });
    const settled = await rows(M);
    expect(settled).toEqual(await rows(B));
    // and what that is
    expect(await repo.chat(M, '100')).toMatchObject({ channelId: 'ch1', visitorId: 'v1', initiator: 'visitor', lineId: '2', b24ChatId: 'b1', b24SessionId: 's2', b24SessionClosed: false, status: 'closed' });
    expect(await repo.chat(M, '101')).toMatchObject({ b24ChatId: 'b0', b24SessionId: 's0', b24SessionClosed: true, status: 'open' });
    expect(await repo.chat(M, '102')).toMatchObject({ channelId: 'ch3', visitorId: 'v2', lineId: '1', b24SessionClosed: false, status: 'open', extChatId: externalChatId('102') });
    expect(await repo.chat(M, '103')).toMatchObject({ channelId: 'ch3', b24ChatId: 'b3', status: 'closed' });
    expect(await repo.visitor(M, 'v1')).toEqual({ memberId: M, visitorId: 'v1', phone: '79990001122', email: null, name: 'Анна К.', b24UserId: '17' });
    expect(await repo.visitor(M, 'v2')).toEqual({ memberId: M, visitorId: 'v2', phone: null, email: 'x@y.z', name: null, b24UserId: null });
    expect(await repo.link(M, 'uis', 'm1')).toEqual(link('m1', { b24MessageId: 'bm', b24ChatId: 'b1', b24SessionId: 's1', state: 'relayed', error: null }));
    expect(await repo.link(M, 'uis', 'm2')).toEqual(link('m2', { b24MessageId: null, state: 'failed', error: 'refused again' }));
    expect(await repo.link(M, 'uis', 'm3')).toEqual(link('m3', { b24MessageId: 'bm', error: 'old' }));
    expect(settled.jobs).toEqual([
      { idem_key: 'j1', status: 'done', last_error: null, inflight: 0, attempts: 0 },
      { idem_key: 'j2', status: 'failed', last_error: 'second', inflight: 0, attempts: 0 },
      { idem_key: 'j3', status: 'failed', last_error: 'refused', inflight: 0, attempts: 0 },
      { idem_key: 'j4', status: 'pending', last_error: null, inflight: 0, attempts: 0 },
    ]);
    await repo.settle(M, {}); // nothing
    await repo.settle(M, { chats: [], visitors: [], links: [], done: [], failed: [] });
    expect(await rows(M)).toEqual(settled);
  });

  it('settle: all or nothing — a write that fails leaves the jobs in flight and the links as they were', async () => {
    await repo.upsertChat({ memberId: M, uisChatId: '100', channelId: 'ch1', visitorId: 'v1' });
    await repo.addLink(M, link('m1'));
    await repo.enqueue(job('a1'));
    const [a1] = await repo.pendingOfChat(M, 'c1');
    await repo.setInflight([a1!.id], true);
    const before = await run(store, 'SELECT * FROM bridge_messages WHERE member_id = ? ORDER BY key', [M]);
    // a visitor without an id: refused by the store (NOT NULL) after the chats were written
    await expect(
      repo.settle(M, {
        chats: [{ uisChatId: '100', channelId: 'ch1', b24ChatId: 'b1' }, { uisChatId: '999', channelId: 'ch1' }],
        visitors: [{ visitorId: 'v1', b24UserId: '5' }, { visitorId: null as never, name: 'x' }],
        links: [{ origin: 'uis', key: 'm1', patch: { state: 'relayed', b24ChatId: 'b1' } }],
        done: [a1!.id],
      }),
    ).rejects.toThrow();
    expect((await repo.chat(M, '100'))!.b24ChatId).toBeNull();
    expect(await repo.chat(M, '999')).toBeNull();
    expect(await repo.visitor(M, 'v1')).toBeNull();
    expect(await run(store, 'SELECT * FROM bridge_messages WHERE member_id = ? ORDER BY key', [M])).toEqual(before);
    expect((await repo.pendingOfChat(M, 'c1'))[0]).toMatchObject({ id: a1!.id, status: 'pending', inflight: true });
  });

  it('settle and chatsOf / visitorsOf: U+0000 and a lone surrogate stored as the single calls store them (PostgreSQL: U+FFFD), found again', async () => {
    const settlement = {
      chats: [{ uisChatId: '1\u0000', channelId: 'ch1', initiator: 'a\u0000', b24ChatId: 'b\ud800' }],
      visitors: [{ visitorId: 'v\u0000', name: 'Ан\u0000на \udc00' }],
      links: [{ origin: 'uis' as const, key: 'k\u0000', patch: { error: 'e\u0000\ud800' } }],
    };
    for (const m of [M, B]) {
      await repo.upsertChat({ memberId: m, uisChatId: '1\u0000', channelId: 'ch1' });
      await repo.addLink(m, link('k\u0000'));
    }
    await repo.settle(M, settlement);
    for (const c of settlement.chats) await repo.upsertChat({ ...c, memberId: B });
    for (const v of settlement.visitors) await repo.upsertVisitor({ ...v, memberId: B });
    for (const l of settlement.links) await repo.updateLink(B, l.origin, l.key, l.patch);
    const [c] = await repo.chatsOf(M, ['1\u0000']);
    const [v] = await repo.visitorsOf(M, ['v\u0000']);
    expect(c).toEqual({ ...(await repo.chat(B, '1\u0000')), memberId: M });
    // the stored id (visitor() answers with the id asked for), as the chats that name it hold it
    expect(v).toEqual({ ...(await repo.visitor(B, 'v\u0000')), memberId: M, visitorId: store.pg ? 'v\uFFFD' : 'v\u0000' });
    expect(await repo.link(M, 'uis', 'k\u0000')).toEqual(await repo.link(B, 'uis', 'k\u0000'));
    if (store.pg) {
      expect(c).toMatchObject({ uisChatId: '1\uFFFD', initiator: 'a\uFFFD', b24ChatId: 'b\uFFFD' });
      expect(v).toMatchObject({ visitorId: 'v\uFFFD', name: 'Ан\uFFFDна \uFFFD' });
      expect((await repo.link(M, 'uis', 'k\u0000'))!.error).toBe('e\uFFFD\uFFFD');
    } else expect([c!.uisChatId, c!.initiator, v!.visitorId]).toEqual(['1\u0000', 'a\u0000', 'v\u0000']);
  });

  it('due reads a burst of pending jobs once, whatever the planner thinks of the table (PostgreSQL: no plan node runs once per row)', async () => {
    // 2,000 queued messages of 50 chats, 5 chats behind a job backing off
    for (let i = 0; i < 2000; i++) await repo.enqueue(job(`b${i}`, { chatKey: `c${i % 50}`, dueAt: i < 5 ? T0 + 60_000 : T0 }));
    const due = (await repo.due(M, T0, 5000)).map((j) => j.idemKey);
    expect(due).toHaveLength(2000 - 5 * 40);
    expect(due.some((k) => Number(k.slice(1)) % 50 < 5)).toBe(false);
    if (!store.pg) return; // SQLite: the same rows (above); its plan is its own
    // the statement due sends, run under EXPLAIN ANALYZE with joins that can only loop (the plan a
    // table just filled by a burst gets: its statistics expect one pending row)
    const sent: CompiledQuery[] = [];
    const logged = new Kysely<never>({ dialect: new PostgresDialect({ pool: store.pg.pool }), log: (e) => void sent.push(e.query) });
    await createPgBridgeStore(logged as never, () => now).due(M, T0, 2000);
    const client = await store.pg.pool.connect();
    try {
      await client.query('SET enable_hashjoin = off');
      await client.query('SET enable_mergejoin = off');
      const r = await client.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sent[0]!.sql}`, sent[0]!.parameters as unknown[]);
      const loops = (n: Record<string, unknown>): number[] => [Number(n['Actual Loops']), ...((n.Plans as Array<Record<string, unknown>> | undefined) ?? []).flatMap(loops)];
      expect(Math.max(...loops(r.rows[0]!['QUERY PLAN'][0]!.Plan))).toBe(1);
    } finally {
      await client.query('RESET ALL');
      client.release();
    }
  });

  it('pendingSignature changes when a pending job is added, finished, or rescheduled', async () => {
    const seen = new Set<string>();
    const sig = async () => {
      const s = await repo.pendingSignature(M);
      expect(seen.has(s)).toBe(false);
      seen.add(s);
    };
    await sig();
    await repo.enqueue(job('a1'));
    await sig();
    await repo.enqueue(job('x1', { memberId: B }));
    expect(seen.has(await repo.pendingSignature(M))).toBe(true); // another portal's job: unchanged
    await repo.enqueue(job('a2'));
    await sig();
    const [a1, a2] = await repo.pendingOfChat(M, 'c1');
    await repo.retry(a1!.id, 1, T0 + 1000, 'e');
    await sig();
    await repo.retry(a1!.id, 1, T0 + 2000, 'e');
    await sig();
    await repo.complete(a2!.id);
    await sig();
  });

  it('enqueueAhead: the new job goes before the overtaken pending jobs of its chat, which keep their order and fields; a repeat moves nothing', async () => {
    await repo.enqueue(job('a1'));
    await repo.enqueue(job('a2', { dueAt: T0 + 100, payload: { keep: true } }));
    await repo.enqueue(job('a3', { dueAt: T0 + 200 }));
    await repo.enqueue(job('b1', { chatKey: 'c2' }));
    const [a1, a2, a3] = await repo.pendingOfChat(M, 'c1');
    const [b1] = await repo.pendingOfChat(M, 'c2');
    await repo.retry(a3!.id, 0, T0 + 200, 'note');
    now += 50;
    // a1 is done meanwhile, b1 is another chat's: they stay
    await repo.complete(a1!.id);
    expect(await repo.enqueueAhead(job('r1', { kind: 'rename', dueAt: T0 }), [a3!.id, a2!.id, a1!.id, b1!.id, 999_999])).toBe(true);
    const after = await repo.pendingOfChat(M, 'c1');
    expect(after.map((j) => j.idemKey)).toEqual(['r1', 'a3', 'a2']); // moved in the order given
    expect(after[0]).toMatchObject({ kind: 'rename', enqueuedAt: T0 + 50 });
    expect(after[1]).toMatchObject({ dueAt: T0 + 200, enqueuedAt: T0, lastError: 'note', inflight: false });
    expect(after[1]!.id).not.toBe(a3!.id);
    expect(after[2]).toMatchObject({ payload: { keep: true }, dueAt: T0 + 100, attempts: 0 });
    expect((await repo.pendingOfChat(M, 'c2'))[0]!.id).toBe(b1!.id);
    expect(await repo.enqueueAhead(job('r1'), after.slice(1).map((j) => j.id))).toBe(false);
    expect((await repo.pendingOfChat(M, 'c1')).map((j) => j.id)).toEqual(after.map((j) => j.id));
    expect(await repo.enqueueAhead(job('r2', { chatKey: 'c3' }), [])).toBe(true);
    expect(await idems('c3')).toEqual(['r2']);
  });

  it('enqueueAhead: a job in flight (a run is sending it) keeps its place, the others are moved behind the new one', async () => {
    await repo.enqueue(job('a1'));
    await repo.enqueue(job('a2'));
    const [a1, a2] = await repo.pendingOfChat(M, 'c1');
    await repo.setInflight([a1!.id], true);
    expect(await repo.enqueueAhead(job('r1'), [a1!.id, a2!.id])).toBe(true);
    const after = await repo.pendingOfChat(M, 'c1');
    expect(after.map((j) => j.idemKey)).toEqual(['a1', 'r1', 'a2']);
    expect(after[0]).toMatchObject({ id: a1!.id, inflight: true });
  });

  it('prune: done jobs enqueued before the bound and UIS inbox rows received before it; pending and failed jobs stay', async () => {
    await repo.enqueue(job('a1'));
    await repo.enqueue(job('a2'));
    await repo.enqueue(job('a3'));
    now += 1000;
    await repo.enqueue(job('a4'));
    const [a1, a2, , a4] = await repo.pendingOfChat(M, 'c1');
    await repo.complete(a1!.id);
    await repo.fail(a2!.id, 'x');
    await repo.complete(a4!.id);
    for (const [n, at] of [[1, T0 - 1], [2, T0], [3, T0 + 5]] as const) {
      await run(store, `INSERT INTO uis_inbox (member_id, path, body, dedupe_key, received_at) VALUES (?, '/message', '{}', ?, ?)`, [M, `k${n}`, new Date(at).toISOString()]);
    }
    expect(await repo.prune(T0 + 1)).toEqual({ jobs: 1, inbox: 2 });
    expect(await repo.prune(T0 + 1)).toEqual({ jobs: 0, inbox: 0 });
    expect(await repo.countJobs(M)).toEqual({ 'in:failed': 1, 'in:pending': 1, 'in:done': 1 });
    expect(await repo.prune(T0 + 1001)).toEqual({ jobs: 1, inbox: 1 });
  });

  it('U+0000 in what is stored (ids, names, errors): kept by SQLite, U+FFFD in PostgreSQL, and found again; a payload is kept exactly', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    await repo.bind(M, '1', 'ch\u00001');
    expect(await repo.bindingByChannel(M, 'ch\u00001')).toMatchObject({ channelId: kept('ch\u00001') });
    await repo.setBindingError(M, '1', 'bad \u0000');
    expect((await repo.binding(M, '1'))!.lastError).toBe(kept('bad \u0000'));
    await repo.upsertVisitor({ memberId: M, visitorId: 'v\u0000', name: 'Ан\u0000на' });
    expect(await repo.visitor(M, 'v\u0000')).toMatchObject({ name: kept('Ан\u0000на') });
    await repo.upsertChat({ memberId: M, uisChatId: '1\u0000', channelId: 'ch1', initiator: '\u0000' });
    expect((await repo.chat(M, '1\u0000'))!.initiator).toBe(kept('\u0000'));
    expect(await repo.addLink(M, link('k\u0000', { error: 'e\u0000' }))).toBe(true);
    expect(await repo.addLink(M, link('k\u0000'))).toBe(false);
    await repo.updateLink(M, 'uis', 'k\u0000', { error: 'e2\u0000' });
    expect((await repo.link(M, 'uis', 'k\u0000'))!.error).toBe(kept('e2\u0000'));
    await repo.expectEcho(M, 'uis_c\u0000', 'h\u0000');
    expect(await repo.takeEcho(M, 'uis_c\u0000', 'h\u0000')).toBe(true);
    expect(await repo.enqueue(job('i\u0000', { chatKey: 'c\u0000', payload: { text: 'a\u0000b' } }))).toBe(true);
    const [j] = await repo.pendingOfChat(M, 'c\u0000');
    expect(j).toMatchObject({ idemKey: kept('i\u0000'), payload: { text: 'a\u0000b' } });
    await repo.fail(j!.id, 'HTTP 500: \u0000');
    expect(await run(store, 'SELECT last_error FROM bridge_jobs WHERE id = ?', [j!.id])).toEqual([{ last_error: kept('HTTP 500: \u0000') }]);
  });

  it('fractional times are whole ms in PostgreSQL (rounded when stored, bounds as SQLite compares them)', async () => {
    await repo.enqueue(job('a1', { dueAt: T0 + 10 }));
    expect(await repo.due(M, T0 + 9.5, 10)).toEqual([]);
    expect(await repo.dueNow(M, 'c1', T0 + 9.5)).toBe(1);
    expect((await repo.due(M, T0 + 9.5, 10)).map((j) => j.idemKey)).toEqual(store.sqlite ? ['a1'] : []); // PostgreSQL rounds 9.5 up
    expect((await repo.due(M, T0 + 10, 10)).map((j) => j.idemKey)).toEqual(['a1']);
  });

  it('8 copies of a link and of a job added at once from two instances: exactly one of each is new', async () => {
    for (let round = 0; round < 5; round++) {
      const links = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).addLink(M, link(`race${round}`, { error: String(n) }))));
      expect(links.filter(Boolean)).toHaveLength(1);
      const jobs = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).enqueue(job(`race${round}`, { payload: { n } }))));
      expect(jobs.filter(Boolean)).toHaveLength(1);
      expect(await idems()).toHaveLength(round + 1);
    }
    expect(await repo.countLinks(M)).toEqual({ 'uis:queued': 5 });
  });

  it('echoes taken by 8 at once from two instances: each expected echo is consumed once', async () => {
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) await repo.expectEcho(M, 'uis_c1', `h${round}`);
      const taken = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).takeEcho(M, 'uis_c1', `h${round}`)));
      expect(taken.filter(Boolean)).toHaveLength(3);
      expect(await repo.takeEcho(M, 'uis_c1', `h${round}`)).toBe(false);
    }
  });

  it('an echo taken for a Bitrix24 message: taken again for the same message (its twin), never for another; a drop takes a waiting mark only', async () => {
    await repo.expectEcho(M, 'uis_c1', 'h1');
    expect(await repo.takeEcho(M, 'uis_c1', 'h1', '501')).toBe(true);
    expect(await other.takeEcho(M, 'uis_c1', 'h1', '501')).toBe(true); // the twin, on another instance
    expect(await repo.takeEcho(M, 'uis_c1', 'h1', '502')).toBe(false); // another message with the same text
    expect(await repo.takeEcho(M, 'uis_c1', 'h1')).toBe(false); // nothing waits for its echo
    expect(await repo.takeEcho(M, 'uis_c1', 'h2', '501')).toBe(false);
    await repo.expectEcho(M, 'uis_c1', 'h1');
    expect(await repo.takeEcho(M, 'uis_c1', 'h1')).toBe(true); // dropped (no echo will come)
    expect(await repo.takeEcho(M, 'uis_c1', 'h1', '502')).toBe(false);
    expect(await repo.takeEcho(M, 'uis_c1', 'h1', '501')).toBe(true);
    now += 25 * 3600_000; // the retention prunes taken marks with the rest
    await repo.expectEcho(M, 'uis_c9', 'h9');
    expect(await repo.takeEcho(M, 'uis_c1', 'h1', '501')).toBe(false);
  });

  it('an echo taken at once from two instances for one message (twins) and for different messages: the twins all get it, different messages one each', async () => {
    for (let round = 0; round < 5; round++) {
      await repo.expectEcho(M, 'uis_c1', `t${round}`);
      const twins = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).takeEcho(M, 'uis_c1', `t${round}`, `m${round}`)));
      expect(twins).toEqual(Array.from({ length: 8 }, () => true));
      await repo.expectEcho(M, 'uis_c1', `d${round}`);
      await repo.expectEcho(M, 'uis_c1', `d${round}`);
      const distinct = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).takeEcho(M, 'uis_c1', `d${round}`, `m${round}.${n}`)));
      expect(distinct.filter(Boolean)).toHaveLength(2);
    }
  });

  it('binds of one channel to 8 lines at once from two instances: serialized — the channel ends on one line, each bind told the line it took it from', async () => {
    for (let round = 0; round < 5; round++) {
      await store.clear('bridge_lines');
      const lines = Array.from({ length: 8 }, (_, n) => String(round * 10 + n + 1));
      const moved = await Promise.all(lines.map((l, n) => (n % 2 ? other : repo).bind(M, l, 'ch1')));
      const from = moved.map((r) => r.movedFrom);
      expect(from.filter((f) => f === null)).toHaveLength(1);
      const froms = from.filter((f): f is string => f !== null);
      expect(new Set(froms).size).toBe(7);
      const last = lines.find((l) => !froms.includes(l))!;
      expect(await repo.bindingByChannel(M, 'ch1')).toMatchObject({ lineId: last });
      expect(await repo.bindings(M)).toHaveLength(1);
      // and one line bound to 8 channels at once: one binding, the last one's
      const channels = await Promise.all(lines.map((_, n) => (n % 2 ? other : repo).bind(M, 'L', `cx${n}`)));
      expect(channels.every((r) => r.movedFrom === null)).toBe(true);
      const bound = (await repo.bindings(M)).filter((b) => b.lineId === 'L');
      expect(bound).toHaveLength(1);
    }
  });

  it('enqueueAhead by 8 at once from two instances over the same jobs: all enqueued, every overtaken job kept once, behind a new one', async () => {
    for (let round = 0; round < 3; round++) {
      const chatKey = `r${round}`;
      for (const k of ['o1', 'o2', 'o3']) await repo.enqueue(job(`${chatKey}-${k}`, { chatKey, dueAt: T0 + 1000 }));
      const overtake = (await repo.pendingOfChat(M, chatKey)).map((j) => j.id);
      const ok = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).enqueueAhead(job(`${chatKey}-n${n}`, { chatKey }), overtake)));
      expect(ok).toEqual(Array(8).fill(true));
      const after = await idems(chatKey);
      expect(after).toHaveLength(11);
      expect(new Set(after).size).toBe(11);
      const pos = (k: string) => after.indexOf(`${chatKey}-${k}`);
      expect(pos('o1')).toBeLessThan(pos('o2'));
      expect(pos('o2')).toBeLessThan(pos('o3'));
      expect(after[0]).toMatch(/-n\d$/);
    }
  });
});
