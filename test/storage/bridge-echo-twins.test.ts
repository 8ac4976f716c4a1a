/**
 * The echo of a message we put into an open line as an operator (issue #12, «several instances,
 * one truth»): Bitrix24 sends ONIMCONNECTORMESSAGEADD for it online — to any instance — and keeps
 * its offline twin, which the instance polling the portal takes. Both can be handled at the same
 * moment on two instances; one instance takes a portal's events one at a time, two do not. The
 * second one past its «seen already» check must drop the echo too, never queue it for UIS, while
 * an operator's own message with the same text still goes to UIS. Both stores; on PostgreSQL each
 * instance has its own pool, on SQLite two repositories over one file stand for two processes.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { CONNECTOR_ID } from '../../install/plan';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import { echoKey } from '../../server/services/bridge/identity';
import { onMessageAdd, type BridgeEventDeps } from '../../server/services/bridge/on-bitrix-event';
import type { BridgeRepository } from '../../server/services/bridge/ports';
import { createSqliteBridgeRepository } from '../../server/storage/bridge-repository';
import { createPgBridgeStore } from '../../server/storage/pg/bridge-store';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { forEachStore, TEST_PG_URL } from '../support/stores';

const T0 = 1_700_000_000_000;
const M = 'p1';
const TEXT = 'Ответ из РМО';

const event = (b24MessageId: number, text = TEXT) => ({
  CONNECTOR: CONNECTOR_ID,
  MESSAGES: [{ im: { chat_id: 5, message_id: b24MessageId }, message: { user_id: 1, text }, chat: { id: 'uis_c77' } }],
});

forEachStore('echo of our own message handled on two instances', (store) => {
  let second: PgStore | undefined;
  let a: AsyncPort<BridgeRepository>;
  let b: AsyncPort<BridgeRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    await store.clear('bridge_messages', 'bridge_echoes', 'bridge_jobs');
    const add = `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${M}', 'p.example', 'x', 'x', 'active', 'x', 'x') ON CONFLICT (member_id) DO NOTHING`;
    if (store.sqlite) store.sqlite.prepare(add).run();
    else await store.pg!.pool.query(add);
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqliteBridgeRepository(store.sqlite, () => T0)) : createPgBridgeStore(which === 'a' ? store.pg!.db : second!.db, () => T0);
    a = make('a');
    b = make('b');
  });

  /** An instance's Bitrix24 event handling (its own one-at-a-time guard: keyed by its store object). */
  const instance = (bridge: AsyncPort<BridgeRepository>): BridgeEventDeps => ({ bridge, now: () => T0, wake: () => undefined, outboundGatherMs: 1000 });

  it('the online event on one instance and its offline twin on another at once: the second past its «seen» check drops the echo too, nothing is queued for UIS', async () => {
    await a.expectEcho(M, 'uis_c77', echoKey(TEXT)); // the relay, before its imconnector.send.messages
    // instance B has read «not seen yet» for the message when instance A handles the twin
    let atGate!: () => void;
    const passed = new Promise<void>((r) => (atGate = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const gatedB = new Proxy(b, {
      get(target, key, receiver) {
        if (key !== 'link') return Reflect.get(target, key, receiver) as unknown;
        return async (...args: Parameters<typeof b.link>) => {
          const r = await target.link(...args);
          if (args[1] === 'b24' && args[2] === '501') {
            atGate();
            await gate;
          }
          return r;
        };
      },
    });
    const onB = onMessageAdd(instance(gatedB), M, event(501));
    await passed;
    expect(await onMessageAdd(instance(a), M, event(501))).toBe(0); // A: the echo, dropped
    open();
    expect(await onB).toBe(0); // B: the same message, dropped too
    expect(await a.countJobs(M)).toEqual({});
    expect(await a.countLinks(M)).toEqual({ 'b24:skipped': 1 });
  });

  it('an operator message with the same text is not an echo: one mark drops one Bitrix24 message, the next goes to UIS', async () => {
    await a.expectEcho(M, 'uis_c77', echoKey(TEXT));
    expect(await onMessageAdd(instance(a), M, event(601))).toBe(0); // the echo
    expect(await onMessageAdd(instance(b), M, event(601))).toBe(0); // its twin, after: seen
    expect(await onMessageAdd(instance(b), M, event(602))).toBe(1); // the operator typed the same text
    expect(await a.countJobs(M)).toEqual({ 'out:pending': 1 });
    expect((await a.pendingOfChat(M, 'o:77')).map((j) => j.payload.b24MessageId)).toEqual(['602']);
  });
});
