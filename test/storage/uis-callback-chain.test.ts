/**
 * The UIS callback handler chain written once for both stores (issue #12, maybe-async.ts): the same
 * `uisCallbackFanout` over the synchronous SQLite repositories, driven by `runSync` inside the
 * intake's transaction, and over PostgreSQL stores of one Kysely transaction, driven by `runAsync`.
 * A sequence of callbacks — a `/message` before its `/chat`, the `/chat`, more messages, the visitor
 * card, a repeat, a channel, the account, the close — leaves the same state on both, read through
 * the ports; the same wake-ups are asked for. A handler that throws undoes its callback's writes on
 * both. Time is a fixed number, never the wall clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UisLink } from '../../server/domain/uis-link';
import type { BridgeRecoveryRepository, BridgeRepository } from '../../server/services/bridge/ports';
import type { CrmRequestRepository, CrmRulesRepository } from '../../server/services/crm-rules/ports';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import { uisCallbackFanout, type UisCallbackFanoutDeps } from '../../server/services/event-fanout';
import { runAsync, type MaybeAsync, type Step } from '../../server/services/maybe-async';
import type { UisCallbackHandler, UisInbox } from '../../server/services/ports';
import type { UisChannelRepository } from '../../server/services/workspace-ports';
import { createCallbackIntake } from '../../server/services/callback-intake';
import { parseUisCallback, type UisCallback } from '../../server/uis/callback-schemas';
import { atomically, openDb, type Db } from '../../server/storage/db';
import type { PgStore } from '../../server/storage/pg/connection';
import { pgStores } from '../../server/storage/pg/stores';
import { createSecretBox } from '../../server/storage/secret-box';
import { sqliteStores, type Stores } from '../../server/storage/stores';
import { dropPgSchema, openTestPg } from '../support/stores';

const T0 = 1_700_000_000_000;
const now = () => T0;
const box = createSecretBox('uis-callback-chain-test');
const M = 'chain.bitrix24.ru';
const link = { memberId: M, connectionId: '77', accountId: '1' } as UisLink;

const cb = (method: string, path: string, body: Record<string, unknown>): UisCallback => {
  const r = parseUisCallback(method, path, body);
  if (!r.ok) throw new Error(`${method} ${path}: ${r.error}`);
  return r.callback;
};

const msg = (id: string, text: string, chat = '500') =>
  cb('POST', '/message', { id, chat_id: chat, channel_id: '9', account_id: '77', source: 'visitor', text, created_at: '2023-11-14 22:13:20' });

/** The sequence both stores take, one callback (one transaction) at a time. */
const SEQUENCE: UisCallback[] = [
  cb('POST', '/channel', { id: '9', name: 'WhatsApp', type: 'whatsapp', account_id: '77', status: 'active' }),
  // a message before its chat: queued, waits for the chat's visitor
  msg('1000', 'first, before the chat'),
  cb('POST', '/chat', { chat_id: '500', channel_id: '9', account_id: '77', visitor_id: '42', visitor_phone: '+79990001122', initiator: 'visitor', created_at: '2023-11-14 22:13:20' }),
  msg('1001', 'hello'),
  cb('POST', '/visitor/card', { visitor_id: '42', visitor_card: { name: 'Анна', phones: ['+79990001122'], emails: ['anna@example.com'] } }),
  // a repeat of 1001: nothing new
  msg('1001', 'hello'),
  // an edit (v2: the same id, no source)
  cb('POST', '/message', { id: '1001', chat_id: '500', text: 'hello again' }),
  cb('PATCH', '/account/77', { id: '77', name: 'Adapter', status: 'active' }),
  cb('POST', '/chat/close', { chat_id: '500', channel_id: '9', reason: 'operator' }),
];

interface Ports {
  uisInbox: MaybeAsync<UisInbox>;
  channels: MaybeAsync<UisChannelRepository>;
  bridge: MaybeAsync<BridgeRepository>;
  bridgeRecovery: MaybeAsync<BridgeRecoveryRepository>;
  crmRules: MaybeAsync<CrmRulesRepository>;
  crmRequests: MaybeAsync<CrmRequestRepository>;
}

/** The chain over these ports; its wake-ups go to `woke`. */
function chain(p: Ports, woke: string[]): UisCallbackHandler {
  const deps: UisCallbackFanoutDeps = {
    inbox: p.uisInbox,
    channels: p.channels,
    bridge: { bridge: p.bridge, now, wake: () => woke.push('bridge') },
    bridgeStatus: { bridge: p.bridge, recovery: p.bridgeRecovery, reconcileSoon: (m) => woke.push(`reconcile ${m}`) },
    crmRules: { requests: p.crmRequests, crmRules: p.crmRules, now, gatherMs: 5000, wake: (d) => woke.push(`crm ${d}`) },
  };
  return uisCallbackFanout(deps);
}

/** A handler that throws after the chain wrote: its callback must leave nothing behind. */
function throwingAfter(inner: UisCallbackHandler): UisCallbackHandler {
  return {
    *handle(l, c): Step<void> {
      yield* inner.handle(l, c);
      throw new Error('refused after writing');
    },
  };
}

/** What the callbacks left, read through the ports (the same reads on both stores). */
async function state(p: Pick<Stores, keyof Ports>) {
  return {
    inbox: await p.uisInbox.count(M),
    channels: await p.channels.list(M, '77'),
    chat: await p.bridge.chat(M, '500'),
    visitor: await p.bridge.visitor(M, '42'),
    jobs: (await p.bridge.pendingOfChat(M, '500')).map(({ id: _id, ...j }) => j),
    edits: (await p.bridge.pendingOfChat(M, 'u:500')).map(({ id: _id, ...j }) => j),
    links: [await p.bridge.link(M, 'uis', '1000'), await p.bridge.link(M, 'uis', '1001')],
    jobCounts: await p.bridge.countJobs(M),
    connection: await p.bridgeRecovery.connectionStatus(M, '77'),
    request: await p.crmRequests.get(M, 'chat', '500'),
    messages: await p.crmRequests.messages(M, '500'),
  };
}

const PORTAL_SQL = `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${M}', 'p.example', 'x', 'x', 'active', 'x', 'x')`;
const chatsOn = { ...defaultCrmRulesSettings('chats'), enabled: true };

describe('UIS callback chain, one code for both stores', () => {
  let sqlite: Db;
  let pg: PgStore;
  let sqliteResult: Awaited<ReturnType<typeof state>>;
  const sqliteWoke: string[] = [];

  beforeAll(async () => {
    sqlite = openDb(':memory:');
    sqlite.prepare(PORTAL_SQL).run();
    pg = await openTestPg();
    await pg.pool.query(PORTAL_SQL);
  });
  afterAll(async () => {
    sqlite?.close();
    if (pg) await dropPgSchema(pg);
  });

  it('SQLite: the chain runs synchronously inside the intake transaction (runSync, group commit)', async () => {
    const s = sqliteStores(sqlite, box, now);
    s.sync.crmRules.save(M, 'chats', chatsOn);
    s.sync.bridge.bind(M, '3', '9');
    const intake = createCallbackIntake(chain(s.sync, sqliteWoke), atomically(sqlite));
    for (const c of SEQUENCE) await intake.submit(link, c);
    sqliteResult = await state(s);
    // what the sequence must have left (so the comparison below compares something)
    expect(sqliteResult.inbox).toBe(8); // the repeat of 1001 is one record
    expect(sqliteResult.channels.map((c) => [c.channelId, c.type, c.status])).toEqual([['9', 'whatsapp', 'active']]);
    expect(sqliteResult.chat).toMatchObject({ uisChatId: '500', visitorId: '42', status: 'closed' });
    expect(sqliteResult.visitor).toMatchObject({ name: 'Анна', phone: '+79990001122', email: 'anna@example.com' });
    expect(sqliteResult.jobs.map((j) => [j.kind, j.idemKey])).toEqual([
      ['in', 'in:1000'],
      ['in', 'in:1001'],
      ['in', 'close:500'],
    ]);
    expect(sqliteResult.edits.map((j) => j.kind)).toEqual(['update']);
    expect(sqliteResult.links[0]?.state).toBe('queued');
    expect(sqliteResult.connection).toBe('active');
    expect(sqliteResult.request).toMatchObject({ event: 'finished', visitorId: '42', status: 'pending' });
    expect(sqliteResult.messages.map((m) => [m.id, m.text])).toEqual([
      ['1000', 'first, before the chat'],
      ['1001', 'hello again'],
    ]);
    // the bound channel active: reconcile; 1000: relay + rules; /chat: rules; 1001: relay + rules; the edit: relay; the account: reconcile; close: relay + rules
    expect(sqliteWoke).toEqual([`reconcile ${M}`, 'bridge', 'crm 5000', 'crm 5000', 'bridge', 'crm 5000', 'bridge', `reconcile ${M}`, 'bridge', 'crm 5000']);
  });

  it('PostgreSQL: the same chain over the stores of one transaction per callback (runAsync) leaves the same rows and wakes the same', async () => {
    expect(sqliteResult).toBeDefined();
    await pgStores(pg.db, box, now).crmRules.save(M, 'chats', chatsOn);
    await pgStores(pg.db, box, now).bridge.bind(M, '3', '9');
    const woke: string[] = [];
    for (const c of SEQUENCE) {
      await pg.db.transaction().execute((trx) => runAsync(chain(pgStores(trx, box, now), woke).handle(link, c)));
    }
    expect(await state(pgStores(pg.db, box, now))).toEqual(sqliteResult);
    expect(woke).toEqual(sqliteWoke);
  });

  it('a throw inside the chain undoes its callback\'s writes: SQLite (intake) and PostgreSQL (transaction)', async () => {
    const next = [cb('POST', '/chat', { chat_id: '600', channel_id: '9', visitor_id: '43', initiator: 'visitor' }), msg('1009', 'lost', '600')];
    const s = sqliteStores(sqlite, box, now);
    const intake = createCallbackIntake(throwingAfter(chain(s.sync, [])), atomically(sqlite));
    for (const c of next) await expect(intake.submit(link, c)).rejects.toThrow('refused after writing');
    const p = pgStores(pg.db, box, now);
    for (const c of next) {
      await expect(pg.db.transaction().execute((trx) => runAsync(throwingAfter(chain(pgStores(trx, box, now), [])).handle(link, c)))).rejects.toThrow('refused after writing');
    }
    for (const ports of [s, p]) {
      expect(await ports.uisInbox.count(M)).toBe(8);
      expect(await ports.bridge.chat(M, '600')).toBeNull();
      expect(await ports.bridge.link(M, 'uis', '1009')).toBeNull();
      expect(await ports.crmRequests.get(M, 'chat', '600')).toBeNull();
    }
  });
});
