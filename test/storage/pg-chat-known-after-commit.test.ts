/**
 * A `/chat` handled by the PostgreSQL callback consumer while a relay round runs elsewhere (another
 * instance): the round read the chats before the consumer's commit, and puts off the chat's first
 * job — due, so the consumer's «make the waiting jobs due» neither moved nor locked it — as «waiting
 * for the /chat callback»; its look again at the chats comes before the commit too. Once the
 * consumer committed, the wiring the server uses (`callbackChainOf`) makes the chat's jobs due
 * again and wakes the relay: the job does not wait out its backoff while its chat is known.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackChainOf, createPgIntake, type PostgresStore } from '../../server/compose-store';
import type { UisLink } from '../../server/domain/uis-link';
import { createLogger } from '../../server/logging';
import { step } from '../../server/services/maybe-async';
import type { UisCallbackHandler } from '../../server/services/ports';
import type { PgStore } from '../../server/storage/pg/connection';
import { pgStores } from '../../server/storage/pg/stores';
import { createSecretBox } from '../../server/storage/secret-box';
import { parseUisCallback, type UisCallback } from '../../server/uis/callback-schemas';
import { dropPgSchema, openTestPg } from '../support/stores';

const M = 'chat-known.bitrix24.ru';
const T0 = 1_700_000_000_000;
const now = () => T0;
const box = createSecretBox('pg-chat-known-after-commit');
const link: UisLink = {
  memberId: M, project: 'uis', login: 'l', password: 'p', dataApiToken: 't', accountId: '77', accountName: null, adapterId: 'ad', connectionId: '77',
  adapterLogin: 'al', adapterPassword: 'ap', hookId: 'hook-chat-known', webhookSecret: 'ws', linkedAt: '2026-05-01T12:00:00.000Z', lastError: null,
};
const cb = (method: string, path: string, body: Record<string, unknown>): UisCallback => {
  const r = parseUisCallback(method, path, body);
  if (!r.ok) throw new Error(r.error);
  return r.callback;
};

describe('PostgreSQL intake: a /chat committed after a relay round put its chat off', () => {
  let pgs: PgStore;
  let store: PostgresStore;

  beforeAll(async () => {
    pgs = await openTestPg();
    store = { kind: 'postgres', pg: pgs, box, now, stores: pgStores(pgs.db, box, now), ping: async () => {}, close: async () => {} };
    await pgs.pool.query(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${M}', 'p.example', 'x', 'x', 'active', 'x', 'x')`);
    await store.stores.links.save(link);
    await store.stores.bridge.bind(M, '3', '9');
  });
  afterAll(async () => {
    if (pgs) await dropPgSchema(pgs);
  });

  it('the chat’s first job, put off meanwhile, is due again once the /chat committed, and the relay is woken', async () => {
    let wakes = 0;
    let reached!: () => void;
    const atChat = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = callbackChainOf({
      now,
      log: createLogger({ level: 'silent' }),
      bridgeWake: () => void wakes++,
      reconcileSoon: () => {},
      crmWake: () => {},
      crmGatherMs: 5000,
      committedBridge: store.stores.bridge,
    });
    // the consumer's transaction holds still after the /chat's handlers ran, before its commit
    const chain = (s: Parameters<typeof real>[0], later: Parameters<typeof real>[1]): UisCallbackHandler => {
      const h = real(s, later);
      return {
        *handle(l, c) {
          yield* h.handle(l, c);
          if (c.route === 'POST /chat') {
            reached();
            yield* step(gate);
          }
        },
      };
    };
    const intake = createPgIntake(store, chain, createLogger({ level: 'silent' }));
    intake.consumer.stop(); // batches are run below, one at a time

    // the message came first: its job waits for the chat's visitor
    await intake.uisCallbacks.submit(link, cb('POST', '/message', { id: '1000', chat_id: '500', channel_id: '9', account_id: '77', source: 'visitor', text: 'привет', created_at: '2023-11-14 22:13:20' }));
    expect(await intake.consumer.drain()).toBe(1);
    const [job] = await store.stores.bridge.pendingOfChat(M, '500');
    expect(job).toMatchObject({ idemKey: 'in:1000', dueAt: T0 });

    await intake.uisCallbacks.submit(link, cb('POST', '/chat', { chat_id: '500', channel_id: '9', account_id: '77', visitor_id: '42', visitor_phone: '+79990001122', initiator: 'visitor', created_at: '2023-11-14 22:13:20' }));
    const consumed = intake.consumer.drain();
    const wakesBefore = wakes;
    try {
      await atChat;
      // the relay round, outside the transaction: the chat has no visitor yet as far as it can see,
      // so it puts the job off (not blocked: the consumer's update left the due row alone) …
      await store.stores.bridge.retry(job!.id, job!.attempts + 1, T0 + 30_000, 'waiting for the /chat callback of this chat');
      // … and its look again at the chats still sees no visitor
      expect((await store.stores.bridge.chatsOf(M, ['500'])).filter((c) => c.visitorId)).toEqual([]);
    } finally {
      release(); // never leave the consumer's transaction open (the schema's drop would wait for it)
    }
    expect(await consumed).toBe(1);

    expect((await store.stores.bridge.chat(M, '500'))?.visitorId).toBe('42');
    await expect.poll(async () => (await store.stores.bridge.pendingOfChat(M, '500'))[0]?.dueAt, { timeout: 5000 }).toBe(T0);
    await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(wakesBefore);
  });
});
