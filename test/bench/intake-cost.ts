/**
 * What one UIS callback costs the store (issue #12, `npm run bench -- --only intake-cost`): the
 * product's callback chain (`uisCallbackFanout`, as server/compose.ts builds it) over 50 open UIS
 * chats of one portal whose line is bound and whose «Чаты» rules are on, fed visitor messages —
 *  - SQLite: through the intake's group commit (`createCallbackIntake`, groups of 16, a file in WAL
 *    mode as the product opens it): CPU per callback and the WAL pages each commit wrote (counted
 *    with the automatic checkpoint off, then on again for the CPU figure);
 *  - PostgreSQL: through the inbox and its consumer (`createPgIntake`, batches as it takes them): the
 *    statements per callback sent to the server, counted where they leave the pg client.
 * Pages and statements are counts, the same on any machine; the CPU figure moves with the machine.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPgIntake, type CallbackStores, type PostgresStore } from '../../server/compose-store';
import type { UisLink } from '../../server/domain/uis-link';
import { createLogger } from '../../server/logging';
import { createCallbackIntake } from '../../server/services/callback-intake';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import { uisCallbackFanout } from '../../server/services/event-fanout';
import { atomically, openDb } from '../../server/storage/db';
import { pgStores } from '../../server/storage/pg/stores';
import { createSecretBox } from '../../server/storage/secret-box';
import { sqliteStores } from '../../server/storage/stores';
import { parseUisCallback, type UisCallback } from '../../server/uis/callback-schemas';
import { dropPgSchema, openTestPg } from '../support/stores';

const M = 'intake-cost.bitrix24.ru';
const CHATS = 50;
const box = createSecretBox('intake-cost-bench');
const link: UisLink = {
  memberId: M, project: 'uis', login: 'l', password: 'p', dataApiToken: 't', accountId: '77', accountName: null, adapterId: 'ad', connectionId: '77',
  adapterLogin: 'al', adapterPassword: 'ap', hookId: 'hook-intake-cost', webhookSecret: 'ws', linkedAt: '2026-05-01T12:00:00.000Z', lastError: null,
};
const PORTAL_SQL = `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${M}', 'p.example', 'x', 'x', 'active', 'x', 'x')`;
const cb = (method: string, path: string, body: Record<string, unknown>): UisCallback => {
  const r = parseUisCallback(method, path, body);
  if (!r.ok) throw new Error(r.error);
  return r.callback;
};
const channel = cb('POST', '/channel', { id: '9', name: 'WhatsApp', type: 'whatsapp', account_id: '77', status: 'active' });
const chats = Array.from({ length: CHATS }, (_, c) =>
  cb('POST', '/chat', { chat_id: String(500 + c), channel_id: '9', account_id: '77', visitor_id: String(42 + c), visitor_phone: `+7999000${1000 + c}`, initiator: 'visitor', created_at: '2023-11-14 22:13:20' }),
);
const messages = (n: number) =>
  Array.from({ length: n }, (_, i) => cb('POST', '/message', { id: String(100_000 + i), chat_id: String(500 + (i % CHATS)), channel_id: '9', account_id: '77', source: 'visitor', text: `message ${i}`, created_at: '2023-11-14 22:13:20' }));

const chainOver = (s: CallbackStores, now: () => number) =>
  uisCallbackFanout({
    inbox: s.uisInbox,
    channels: s.channels,
    bridge: { bridge: s.bridge, now, wake: () => {} },
    bridgeStatus: { bridge: s.bridge, recovery: s.bridgeRecovery, reconcileSoon: () => {} },
    crmRules: { requests: s.crmRequests, crmRules: s.crmRules, now, gatherMs: 5000, wake: () => {} },
  });

export interface IntakeCost {
  sqlite: { callbacks: number; group: number; pagesPerCallback: number; cpuMicros: number };
  postgres: { callbacks: number; statementsPerCallback: number } | { error: string };
}

async function sqliteCost(n: number, group: number): Promise<IntakeCost['sqlite']> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-intake-cost-'));
  try {
    const run = async (autocheckpoint: boolean) => {
      const file = join(dir, `omni-${autocheckpoint ? 'a' : 'b'}.db`);
      const db = openDb(file);
      if (!autocheckpoint) db.pragma('wal_autocheckpoint = 0');
      let t = 1_700_000_000_000;
      const now = () => t;
      db.prepare(PORTAL_SQL).run();
      const s = sqliteStores(db, box, now);
      s.sync.crmRules.save(M, 'chats', { ...defaultCrmRulesSettings('chats'), enabled: true });
      s.sync.bridge.bind(M, '3', '9');
      const intake = createCallbackIntake(chainOver(s.sync, now), atomically(db));
      for (const c of [channel, ...chats]) await intake.submit(link, c);
      const bodies = messages(n);
      const wal0 = statSync(`${file}-wal`).size;
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < n; i += group) {
        t += 1;
        await Promise.all(bodies.slice(i, i + group).map((b) => intake.submit(link, b)));
      }
      const cpu = process.cpuUsage(cpu0);
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const frames = (statSync(`${file}-wal`).size - wal0) / (pageSize + 24);
      db.close();
      return { frames, cpuMicros: (cpu.user + cpu.system) / n };
    };
    const counted = await run(false);
    const timed = await run(true);
    return { callbacks: n, group, pagesPerCallback: counted.frames / n, cpuMicros: timed.cpuMicros };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresCost(n: number): Promise<IntakeCost['postgres']> {
  let pgs;
  try {
    pgs = await openTestPg({ url: process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL });
  } catch (err) {
    return { error: (err as Error).message.slice(0, 200) };
  }
  const query = pg.Client.prototype.query;
  try {
    const now = () => 1_700_000_000_000;
    const store: PostgresStore = { kind: 'postgres', pg: pgs, box, now, stores: pgStores(pgs.db, box, now), ping: async () => {}, close: async () => {} };
    await pgs.pool.query(PORTAL_SQL);
    await store.stores.links.save(link);
    await store.stores.crmRules.save(M, 'chats', { ...defaultCrmRulesSettings('chats'), enabled: true });
    await store.stores.bridge.bind(M, '3', '9');
    const intake = createPgIntake(store, (s) => chainOver(s, now), createLogger({ level: 'silent' }));
    intake.consumer.stop();
    for (const c of [channel, ...chats]) await intake.uisCallbacks.submit(link, c);
    await intake.consumer.drain();
    for (const m of messages(n)) await intake.uisCallbacks.submit(link, m);
    let sent = 0;
    let counting = false;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (counting) sent++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    // a stopped consumer's drain takes one round (a batch per portal): round after round until none is left
    for (;;) {
      counting = true;
      const handled = await intake.consumer.drain();
      counting = false;
      if (!handled || !(await intake.consumer.pending())) break;
    }
    return { callbacks: n, statementsPerCallback: sent / n };
  } finally {
    pg.Client.prototype.query = query;
    await dropPgSchema(pgs);
  }
}

export async function benchIntakeCost(o: { callbacks: number; group: number }): Promise<IntakeCost> {
  return { sqlite: await sqliteCost(o.callbacks, o.group), postgres: await postgresCost(Math.min(o.callbacks, 2000)) };
}
