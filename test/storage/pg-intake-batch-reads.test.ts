/**
 * The PostgreSQL callback consumer reads a portal's link and its «Чаты» switch once per batch (one
 * transaction, one portal), not once per callback (issue #12: the PostgreSQL instance's share of
 * bare Node; each read is a round trip). The real chain (`uisCallbackFanout`) runs over the batch;
 * the statements are counted where they leave for the server. The chat's CRM request is touched
 * with one upsert per callback.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgIntake, type PostgresStore } from '../../server/compose-store';
import type { UisLink } from '../../server/domain/uis-link';
import { createLogger } from '../../server/logging';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import { uisCallbackFanout } from '../../server/services/event-fanout';
import type { PgStore } from '../../server/storage/pg/connection';
import { pgStores } from '../../server/storage/pg/stores';
import { createSecretBox } from '../../server/storage/secret-box';
import { parseUisCallback, type UisCallback } from '../../server/uis/callback-schemas';
import { dropPgSchema, openTestPg } from '../support/stores';

const M = 'batch-reads.bitrix24.ru';
const T0 = 1_700_000_000_000;
const now = () => T0;
const box = createSecretBox('pg-intake-batch-reads');
const link: UisLink = {
  memberId: M, project: 'uis', login: 'l', password: 'p', dataApiToken: 't', accountId: '77', accountName: null, adapterId: 'ad', connectionId: '77',
  adapterLogin: 'al', adapterPassword: 'ap', hookId: 'hook-batch-reads', webhookSecret: 'ws', linkedAt: '2026-05-01T12:00:00.000Z', lastError: null,
};
const cb = (method: string, path: string, body: Record<string, unknown>): UisCallback => {
  const r = parseUisCallback(method, path, body);
  if (!r.ok) throw new Error(r.error);
  return r.callback;
};

describe('PostgreSQL intake: what a batch reads', () => {
  let pgs: PgStore;
  let store: PostgresStore;
  const sent: string[] = [];
  const query = pg.Client.prototype.query;

  beforeAll(async () => {
    pgs = await openTestPg();
    store = { kind: 'postgres', pg: pgs, box, now, stores: pgStores(pgs.db, box, now), ping: async () => {}, close: async () => {} };
    await pgs.pool.query(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${M}', 'p.example', 'x', 'x', 'active', 'x', 'x')`);
    await store.stores.links.save(link);
    await store.stores.crmRules.save(M, 'chats', { ...defaultCrmRulesSettings('chats'), enabled: true });
    await store.stores.bridge.bind(M, '3', '9');
    // every statement this process sends, by its text
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      sent.push(typeof q === 'string' ? q : String(q?.text ?? ''));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    if (pgs) await dropPgSchema(pgs);
  });

  it('20 visitor messages of one portal, handled in one batch: the link and the Chats switch read once, the CRM request written in one statement a callback, every message handled', async () => {
    const chain = (s: Parameters<Parameters<typeof createPgIntake>[1]>[0], later: (fn: () => void) => void) =>
      uisCallbackFanout({
        inbox: s.uisInbox,
        channels: s.channels,
        bridge: { bridge: s.bridge, now, wake: () => later(() => {}) },
        bridgeStatus: { bridge: s.bridge, recovery: s.bridgeRecovery, reconcileSoon: () => {} },
        crmRules: { requests: s.crmRequests, crmRules: s.crmRules, now, gatherMs: 5000, wake: () => {} },
      });
    const intake = createPgIntake(store, chain, createLogger({ level: 'silent' }));
    intake.consumer.stop(); // the batch is run below, all at once
    await intake.uisCallbacks.submit(link, cb('POST', '/chat', { chat_id: '500', channel_id: '9', account_id: '77', visitor_id: '42', visitor_phone: '+79990001122', initiator: 'visitor', created_at: '2023-11-14 22:13:20' }));
    for (let n = 0; n < 20; n++) await intake.uisCallbacks.submit(link, cb('POST', '/message', { id: String(1000 + n), chat_id: '500', channel_id: '9', account_id: '77', source: 'visitor', text: `m${n}`, created_at: '2023-11-14 22:13:20' }));
    sent.length = 0;
    expect(await intake.consumer.drain()).toBe(21);
    const reads = (table: string) => sent.filter((q) => new RegExp(`from "?${table}"? `, 'i').test(q)).length;
    expect(reads('uis_links')).toBe(1);
    expect(reads('crm_rules_settings')).toBe(1);
    // whether the message was seen (ours sent to UIS, or queued already): one read a message
    expect(sent.filter((q) => /from "?bridge_messages"? /i.test(q)).length).toBe(20);
    // the callback's row in the callback inbox is its record: nothing written to uis_inbox again
    expect(sent.filter((q) => /into "?uis_inbox"? /i.test(q))).toEqual([]);
    expect(await intake.uisInbox.count(M)).toBe(21);
    // the CRM request of the chat: one upsert per callback (it was a locking read, then the write)
    expect(sent.filter((q) => /"?crm_requests"?[ (]/i.test(q)).length).toBe(21);
    // and the batch did its work: every message queued for the open line and kept for the CRM rules
    expect((await store.stores.bridge.pendingOfChat(M, '500')).map((j) => j.idemKey)).toEqual(Array.from({ length: 20 }, (_, n) => `in:${1000 + n}`));
    expect(await store.stores.crmRequests.messages(M, '500')).toHaveLength(20);
    expect(await intake.consumer.pending()).toBe(0);
  });
});
