/**
 * The bridge recovery store contract (issues #11, #12): the same cases against the SQLite repository
 * (through asyncPort) and the PostgreSQL store (migrations-pg/017) — the reconcile targets (active
 * bindings with since-when and how far compared), the chats due for the loss audit and their
 * inbound links, the adapter connection's status, the counters and the runs noted. And two
 * instances (on PostgreSQL two pools, their own connections) counting at once: nothing lost. Time is
 * a hand-moved number, never the wall clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { BridgeRecoveryRepository, BridgeRepository, MessageLink } from '../../server/services/bridge/ports';
import { createSqliteBridgeRecoveryRepository } from '../../server/storage/bridge-recovery-repository';
import { createSqliteBridgeRepository } from '../../server/storage/bridge-repository';
import { createPgBridgeRecoveryStore } from '../../server/storage/pg/bridge-recovery-store';
import { createPgBridgeStore } from '../../server/storage/pg/bridge-store';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
const iso = (t: number) => new Date(t).toISOString();
const M = 'p1';
const B = 'p2';
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['bridge_lines', 'bridge_chats', 'bridge_messages', 'uis_connections', 'bridge_recovery'];

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

const link = (key: string, uisChatId: string, over: Partial<MessageLink> = {}): MessageLink => ({
  origin: 'uis',
  key,
  uisChatId,
  uisMessageId: key,
  b24ChatId: null,
  b24MessageId: null,
  state: 'relayed',
  error: null,
  ...over,
});

forEachStore('bridge recovery store', (store) => {
  let now = T0;
  let rec: AsyncPort<BridgeRecoveryRepository>;
  let bridge: AsyncPort<BridgeRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<BridgeRecoveryRepository>;

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
    const clock = () => now;
    if (store.sqlite) {
      rec = asyncPort(createSqliteBridgeRecoveryRepository(store.sqlite, clock));
      other = rec;
      bridge = asyncPort(createSqliteBridgeRepository(store.sqlite, clock));
    } else {
      rec = createPgBridgeRecoveryStore(store.pg!.db, clock);
      other = createPgBridgeRecoveryStore(second!.db, clock);
      bridge = createPgBridgeStore(store.pg!.db, clock);
    }
  });

  it('targets: the active bindings in line order, bound and compared since the bind; the cursor moves per channel; a binding older than its bound time counts from its change', async () => {
    expect(await rec.targets(M)).toEqual([]);
    await bridge.bind(M, '10', 'ch10');
    now += 1000;
    await bridge.bind(M, '2', 'ch2');
    await bridge.bind(M, '3', 'ch3');
    await bridge.setBindingStatus(M, '3', 'off', null);
    await bridge.bind(B, '1', 'ch1');
    expect(await rec.targets(M)).toEqual([
      { lineId: '2', channelId: 'ch2', boundAt: T0 + 1000, reconciledTill: T0 + 1000 },
      { lineId: '10', channelId: 'ch10', boundAt: T0, reconciledTill: T0 },
    ]);
    await rec.setReconciledTill(M, '10', 'ch10', T0 + 5000);
    await rec.setReconciledTill(M, '2', 'ch10', T0 + 9000); // not the line's channel: nothing
    expect((await rec.targets(M)).map((x) => x.reconciledTill)).toEqual([T0 + 1000, T0 + 5000]);
    // a binding made before migration 017 (no bound_at) and never reconciled
    await run(store, `INSERT INTO bridge_lines (member_id, line_id, channel_id, status, chats_rules_off, updated_at) VALUES (?, '1', 'ch1', 'active', 1, ?)`, [M, iso(T0 - 5000)]);
    expect((await rec.targets(M))[0]).toEqual({ lineId: '1', channelId: 'ch1', boundAt: T0 - 5000, reconciledTill: null });
  });

  it('chats to audit: bridged chats of an active binding changed since their last audit, never audited first, then the least recently audited; up to the limit', async () => {
    await bridge.bind(M, '1', 'ch1');
    await bridge.bind(M, '2', 'ch2');
    await bridge.setBindingStatus(M, '2', 'off', null);
    const chat = (id: string, over: Record<string, string> = {}) => bridge.upsertChat({ memberId: M, uisChatId: id, channelId: 'ch1', lineId: '1', b24ChatId: `b${id}`, ...over });
    await chat('100');
    now += 1000;
    await chat('101');
    await chat('102', { channelId: 'ch2', lineId: '2' }); // binding off
    await bridge.upsertChat({ memberId: M, uisChatId: '103', channelId: 'ch1', lineId: '1' }); // no open-line chat
    await chat('104', { lineId: '9' }); // another line's chat
    await bridge.upsertChat({ memberId: B, uisChatId: '100', channelId: 'ch1', lineId: '1', b24ChatId: 'b' });
    const ids = async (limit = 10) => (await rec.chatsToAudit(M, limit)).map((c) => c.uisChatId);
    expect(await rec.chatsToAudit(M, 10)).toEqual([
      { uisChatId: '100', channelId: 'ch1', lineId: '1', b24ChatId: 'b100' },
      { uisChatId: '101', channelId: 'ch1', lineId: '1', b24ChatId: 'b101' },
    ]);
    expect(await ids(1)).toEqual(['100']);
    now += 1000;
    await rec.markAudited(M, ['100', '101'], iso(now));
    await rec.markAudited(M, [], iso(now));
    expect(await ids()).toEqual([]);
    now += 1000;
    await chat('101'); // changed after its audit
    await chat('105'); // never audited
    expect(await ids()).toEqual(['105', '101']);
    await rec.markAudited(M, ['105'], iso(now + 500));
    now += 1000;
    await chat('100');
    await chat('105');
    expect(await ids()).toEqual(['101', '100', '105']); // 101 and 100 audited at T0 + 2000, 105 later; ties by change
  });

  it('links of chats: the inbound links of the chats given, with state and session', async () => {
    expect(await rec.linksOfChats(M, [])).toEqual([]);
    await bridge.addLink(M, link('m1', '100'));
    await bridge.addLink(M, link('m2', '100', { state: 'failed' }));
    await bridge.updateLink(M, 'uis', 'm1', { b24ChatId: 'b100', b24SessionId: 's1' });
    await bridge.addLink(M, link('m3', '101'));
    await bridge.addLink(M, link('m4', '102'));
    await bridge.addLink(M, link('o1', '100', { origin: 'b24' }));
    await bridge.addLink(B, link('m1', '100'));
    const got = await rec.linksOfChats(M, ['100', '101', '999']);
    expect(got.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'm1', uisChatId: '100', state: 'relayed', b24ChatId: 'b100', b24SessionId: 's1' },
      { key: 'm2', uisChatId: '100', state: 'failed', b24ChatId: null, b24SessionId: null },
      { key: 'm3', uisChatId: '101', state: 'relayed', b24ChatId: null, b24SessionId: null },
    ]);
  });

  it('connection status: none until reported; the name kept when a report has none', async () => {
    expect(await rec.connectionStatus(M, 'c1')).toBeNull();
    await rec.setConnection(M, 'c1', { name: 'Сайт', status: 'active' });
    await rec.setConnection(M, 'c1', { status: 'disabled' });
    expect(await rec.connectionStatus(M, 'c1')).toBe('disabled');
    expect(await rec.connectionStatus(B, 'c1')).toBeNull();
    expect(await run(store, 'SELECT name, status FROM uis_connections WHERE member_id = ?', [M])).toEqual([{ name: 'Сайт', status: 'disabled' }]);
    await rec.setConnection(M, 'c1', { name: 'Новый', status: 'removed' });
    expect(await run(store, 'SELECT name FROM uis_connections WHERE member_id = ?', [M])).toEqual([{ name: 'Новый' }]);
  });

  it('counters: zero until counted; counts add up and note the repair time; runs note their time when they succeed and the last error', async () => {
    const zero = { recovered: 0, repaired: 0, lastReconcileAt: null, lastAuditAt: null, lastRepairAt: null, lastError: null };
    expect(await rec.counters(M)).toEqual(zero);
    await rec.count(M, 'recovered', 0);
    await rec.count(M, 'repaired', -1);
    expect(await rec.counters(M)).toEqual(zero);
    await rec.count(M, 'recovered', 2);
    now += 1000;
    await rec.count(M, 'repaired', 3);
    await rec.count(M, 'recovered', 1);
    expect(await rec.counters(M)).toEqual({ ...zero, recovered: 3, repaired: 3, lastRepairAt: iso(now) });
    now += 1000;
    await rec.noteRun(M, 'reconcile', null);
    await rec.noteRun(M, 'audit', 'HTTP 503');
    expect(await rec.counters(M)).toMatchObject({ lastReconcileAt: iso(now), lastAuditAt: null, lastError: 'HTTP 503' });
    now += 1000;
    await rec.noteRun(M, 'reconcile', 'UIS down');
    expect(await rec.counters(M)).toMatchObject({ lastReconcileAt: iso(now - 1000), lastError: 'UIS down' });
    await rec.noteRun(M, 'audit', null);
    expect(await rec.counters(M)).toMatchObject({ lastReconcileAt: iso(now - 1000), lastAuditAt: iso(now), lastError: null });
    await rec.noteRun(B, 'audit', 'first');
    expect(await rec.counters(B)).toEqual({ ...zero, lastError: 'first' });
  });

  it('U+0000 in an error, a name, a status: kept by SQLite, U+FFFD in PostgreSQL', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    await rec.noteRun(M, 'audit', 'bad \u0000');
    expect((await rec.counters(M)).lastError).toBe(kept('bad \u0000'));
    await rec.setConnection(M, 'c\u0000', { name: 'n\u0000', status: 's\u0000' });
    expect(await rec.connectionStatus(M, 'c\u0000')).toBe(kept('s\u0000'));
    await bridge.addLink(M, link('m\u0000', '1\u0000'));
    expect((await rec.linksOfChats(M, ['1\u0000'])).map((l) => l.key)).toEqual([kept('m\u0000')]);
  });

  it('counted by 8 at once from two instances, the first count of a portal among them: nothing is lost', async () => {
    for (let round = 0; round < 5; round++) {
      const m = round % 2 ? M : B;
      const before = await rec.counters(m);
      await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : rec).count(m, n % 4 ? 'recovered' : 'repaired', 1)));
      await Promise.all(Array.from({ length: 4 }, (_, n) => (n % 2 ? other : rec).noteRun(m, 'audit', null)));
      expect(await rec.counters(m)).toMatchObject({ recovered: before.recovered + 6, repaired: before.repaired + 2, lastAuditAt: iso(now) });
    }
  });
});
