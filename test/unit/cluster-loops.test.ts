/**
 * Several instances, one truth (issue #12): the periodic loops and queues that were still per
 * process — two service instances on one database, each with its own lease keeper (two owners, as
 * two processes have), do a portal's work once. Time is a FakeClock, never the wall clock; what
 * leaves the process is counted by fakes.
 */
import { describe, expect, it } from 'vitest';
import type { BitrixGateway } from '../../server/bitrix/rest-client';
import { createLogger } from '../../server/logging';
import { createLeaseKeeper } from '../../server/services/leases';
import { createBridgeRecovery } from '../../server/services/bridge/recovery';
import type { BridgeRecoveryDeps } from '../../server/services/bridge/recovery';
import { createEmployeeSyncWorker } from '../../server/services/employee-sync/worker';
import { createSqliteEmployeeSyncRepository } from '../../server/storage/employee-sync-repository';
import { createChatSourcesWorker } from '../../server/services/chat-sources/worker';
import type { ChatSourcesDeps } from '../../server/services/chat-sources/deps';
import { findPersonalManager, newLiveLookups } from '../../server/services/personal-manager/lookup';
import { createPersonalManagerWorker } from '../../server/services/personal-manager/worker';
import { createTelephonyReconcile } from '../../server/services/telephony/reconcile';
import type { TelephonyRepository } from '../../server/services/telephony/ports';
import { asyncPort } from '../../server/services/async-port';
import type { UisLinkRepository } from '../../server/services/ports';
import { openDb, type Db } from '../../server/storage/db';
import { createSqliteLeaseStore } from '../../server/storage/lease-repository';
import { createSqlitePersonalManagerRepository } from '../../server/storage/personal-manager-repository';
import { createDataApiBudget } from '../../server/uis/data-api-budget';
import { FakeClock } from '../support/fake-clock';

const log = createLogger({ level: 'silent' });
const turn = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** One database, two instances' lease keepers (renewed on the wall clock: an hour to live outlasts the test). */
function cluster() {
  const clock = new FakeClock();
  const db: Db = openDb(':memory:');
  db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('p1', 'p.example', 'x', 'x', 'active', 'x', 'x')`).run();
  const store = createSqliteLeaseStore(db, () => clock.now());
  const keeper = (name: string) => createLeaseKeeper({ store, log, ttlMs: 3_600_000, instance: name, owner: `${name}/x`, lingerMs: 0 });
  return { clock, db, a: keeper('host:1'), b: keeper('host:2') };
}

const link = { memberId: 'p1', project: 'uis', dataApiToken: 'token' };
const links = asyncPort({ get: (m: string) => (m === 'p1' ? link : null) } as unknown as UisLinkRepository);

describe('telephony reconcile on two instances', () => {
  it('one instance reads a portal\'s calls report per round, the other skips it', async () => {
    const { clock, a, b } = cluster();
    const requests = { a: 0, b: 0 };
    const telephony = {
      enabledPortals: async () => ['p1'],
      reconcileCursor: async () => null,
      settled: async () => new Set<number>(),
      saveReport: async () => 'unchanged',
      saveReconcile: async () => {},
    } as unknown as TelephonyRepository;
    const instance = (name: 'a' | 'b', lease: typeof a) =>
      createTelephonyReconcile({
        telephony,
        links,
        uisEndpoints: () => ({ dataApiUrl: 'http://uis.test/data' }) as never,
        budget: createDataApiBudget({ clock }),
        clock,
        log,
        wake: () => {},
        lease,
        fetch: (async (_url: unknown, init?: { body?: unknown }) => {
          requests[name]++;
          const id = JSON.parse(String(init?.body ?? '{}')).id ?? 1;
          return new Response(JSON.stringify({ jsonrpc: '2.0', id, result: { data: [], metadata: {} } }), { headers: { 'content-type': 'application/json' } });
        }) as typeof fetch,
      });
    const ra = instance('a', a);
    const rb = instance('b', b);
    ra.start(60_000);
    rb.start(60_000);
    await turn(30);
    await clock.advance(60_000);
    await turn(30);
    await clock.advance(60_000);
    await turn(30);
    ra.stop();
    rb.stop();
    // three rounds each: get.account once, then get.calls_report per round — from one instance only
    expect([requests.a, requests.b]).toContain(0);
    expect(requests.a + requests.b).toBe(4);
  });
});

describe('personal-manager map on two instances', () => {
  it('a dirty item is read from the portal once, by one instance', async () => {
    const { clock, db, a, b } = cluster();
    const map = createSqlitePersonalManagerRepository(db);
    let calls = 0;
    let open!: () => void;
    const held = new Promise<void>((r) => (open = r));
    const client = new Proxy({}, {
      get: () => async () => {
        calls++;
        await held;
        throw new Error('portal unavailable'); // the item is retried later, by whoever holds the portal
      },
    });
    const telephony = {
      getSettings: async () => ({ settings: { enabled: true, personalManager: { use: true } }, updatedAt: '' }),
      enabledPortals: async () => ['p1'],
    } as unknown as TelephonyRepository;
    const worker = (lease: typeof a) =>
      createPersonalManagerWorker({
        map,
        gateway: { client: () => client, limiter: () => ({}), leases: lease } as unknown as BitrixGateway,
        links,
        uisEndpoints: () => ({}) as never,
        telephony,
        clock,
        log,
      });
    const wa = worker(a);
    const wb = worker(b);
    await wa.touch('p1', [{ type: 'contact', id: 7 }]);
    const both = Promise.all([wa.drain(), wb.drain()]);
    await turn(30);
    open();
    await both;
    wa.stop();
    wb.stop();
    expect(calls).toBe(1);
  });
});

describe('chat sources on two instances', () => {
  function worker(clock: FakeClock, lease: ReturnType<typeof cluster>['a'], o: { due(): Promise<unknown[]>; nextDueAt(): Promise<number | null>; amoGets: () => void }) {
    return createChatSourcesWorker({
      sources: { portalsWithDue: async () => ['p1'], nextDueAt: o.nextDueAt, due: o.due, resolveErrors: async () => {} },
      amoAccounts: {
        connected: async () => [{ memberId: 'p1' }],
        get: async () => ({ status: 'active', refreshedAt: clock.now(), webhook: { mode: 'manual' } }),
      },
      amo: { client: () => ({ get: async () => o.amoGets() }) },
      clock,
      log,
      links,
      lease,
    } as unknown as ChatSourcesDeps);
  }

  it('a portal\'s queue is taken by one instance at a time', async () => {
    const { clock, a, b } = cluster();
    let reads = 0;
    let done = false;
    let open!: () => void;
    const held = new Promise<void>((r) => (open = r));
    const o = {
      due: async () => {
        reads++;
        await held;
        done = true;
        return [];
      },
      nextDueAt: async () => (done ? null : clock.now()),
      amoGets: () => {},
    };
    const wa = worker(clock, a, o);
    const wb = worker(clock, b, o);
    const both = Promise.all([wa.drain(), wb.drain()]);
    await turn(30);
    open();
    await both;
    wa.stop();
    wb.stop();
    expect(reads).toBe(1);
  });

  it('one instance keeps a portal\'s amoCRM access alive, the other skips it', async () => {
    const { clock, a, b } = cluster();
    const gets = { a: 0, b: 0 };
    const o = (name: 'a' | 'b') => ({ due: async () => [], nextDueAt: async () => null, amoGets: () => void gets[name]++ });
    const wa = worker(clock, a, o('a'));
    const wb = worker(clock, b, o('b'));
    wa.startKeepAlive(600_000);
    wb.startKeepAlive(600_000);
    await turn(30);
    await clock.advance(600_000);
    await turn(30);
    wa.stop();
    wb.stop();
    expect([gets.a, gets.b]).toContain(0);
    expect(gets.a + gets.b).toBe(2);
  });
});

describe('bridge reconcile on two instances', () => {
  function instances(fetchOf: (name: 'a' | 'b') => typeof fetch) {
    const { clock, a, b } = cluster();
    const recoveryStore = {
      connectionStatus: () => 'active',
      targets: () => [{ lineId: '1', channelId: 'c1', boundAt: 0, reconciledTill: null }],
      setReconciledTill: () => {},
      noteRun: () => {},
    };
    const make = (name: 'a' | 'b', lease: typeof a) =>
      createBridgeRecovery({
        bridge: { link: () => null, linkByUisMessage: () => null },
        recovery: recoveryStore,
        links: { get: async () => ({ ...link, connectionId: 'conn' }) },
        channels: { get: async () => ({ status: 'active', chatChannelId: '5' }), list: async () => [] },
        gateway: {},
        uisEndpoints: () => ({ dataApiUrl: 'http://uis.test/data' }),
        budget: createDataApiBudget({ clock }),
        clock,
        log,
        fetch: fetchOf(name),
        wake: () => {},
        lease,
      } as unknown as BridgeRecoveryDeps);
    return { clock, ra: make('a', a), rb: make('b', b) };
  }
  const answer = (init?: { body?: unknown }) => {
    const id = JSON.parse(String(init?.body ?? '{}')).id ?? 1;
    return new Response(JSON.stringify({ jsonrpc: '2.0', id, result: { data: [], metadata: {} } }), { headers: { 'content-type': 'application/json' } });
  };

  it('a portal\'s reconcile runs on one instance at a time: the other waits for it (no message found missing twice)', async () => {
    let inFlight = 0;
    let most = 0;
    let open!: () => void;
    const held = new Promise<void>((r) => (open = r));
    const { clock, ra, rb } = instances(() => (async (_u: unknown, init?: { body?: unknown }) => {
      most = Math.max(most, ++inFlight);
      await held;
      inFlight--;
      return answer(init);
    }) as typeof fetch);
    const both = Promise.all([ra.reconcile('p1'), rb.reconcile('p1')]);
    await turn(30);
    expect(inFlight).toBe(1);
    open();
    for (let i = 0; i < 5; i++) {
      await turn(30);
      await clock.advance(1000);
    }
    expect(await both).toEqual([{ recovered: 0 }, { recovered: 0 }]);
    expect(most).toBe(1);
  });

  it('the periodic reconcile of a portal is done by one instance', async () => {
    const requests = { a: 0, b: 0 };
    const { clock, ra, rb } = instances((name) => (async (_u: unknown, init?: { body?: unknown }) => {
      requests[name]++;
      return answer(init);
    }) as typeof fetch);
    for (const r of [ra, rb]) r.start({ portals: () => ['p1'], reconcileMs: 60_000, auditMs: 86_400_000 });
    for (let i = 0; i < 3; i++) {
      await turn(30);
      await clock.advance(1000);
    }
    await Promise.all([ra.idle(), rb.idle()]);
    // both reconciled at start-up (one after the other); the rounds after it from one instance only
    requests.a = requests.b = 0;
    for (let round = 0; round < 2; round++) {
      await clock.advance(60_000);
      await turn(30);
      await Promise.all([ra.idle(), rb.idle()]);
    }
    ra.stop();
    rb.stop();
    expect([requests.a, requests.b]).toContain(0);
    expect(requests.a + requests.b).toBe(2);
  });
});

describe('employee sync on two instances', () => {
  it('a starting instance leaves the other\'s running sync alone, and no second sync of the portal starts beside it', async () => {
    const { clock, db, a, b } = cluster();
    const employeeSync = createSqliteEmployeeSyncRepository(db, () => clock.now());
    let userReads = 0;
    let open!: () => void;
    const held = new Promise<void>((r) => (open = r));
    const client = { list: async () => (userReads++, await held, []) };
    const worker = (lease: typeof a) =>
      createEmployeeSyncWorker({
        employeeSync: asyncPort(employeeSync),
        gateway: { client: () => client, limiter: () => ({}), leases: lease } as unknown as BitrixGateway,
        links,
        uisEndpoints: () => ({ dataApiUrl: 'http://uis.test/data' }) as never,
        clock,
        log,
        fetch: (async () => new Response('{}', { status: 503 })) as typeof fetch,
      });
    const wa = worker(a);
    const wb = worker(b);
    const run = await wa.trigger('p1', 'manual');
    expect(run).not.toBeNull();
    await turn(30);
    expect(userReads).toBe(1);
    wb.start(); // the second instance starts while the first one's sync reads the portal's users
    await turn(30);
    expect(employeeSync.latestRun('p1')).toMatchObject({ id: run!.id, status: 'running' });
    expect(await wb.trigger('p1', 'manual')).toBeNull();
    open();
    await wa.idle();
    wb.stop();
    await wb.idle();
    expect(userReads).toBe(1);
    expect(employeeSync.latestRun('p1')?.id).toBe(run!.id);
  });

  it('the status import of a portal is done by one instance per tick', async () => {
    const { clock, db, a, b } = cluster();
    const employeeSync = createSqliteEmployeeSyncRepository(db, () => clock.now());
    employeeSync.saveSettings('p1', { importStatuses: true, dailySync: false, userIds: [] }, null);
    employeeSync.replaceMappings('p1', [{ b24UserId: 1, uisEmployeeId: 11, matchedBy: 'email' }]);
    const reads = { a: 0, b: 0 };
    const worker = (name: 'a' | 'b', lease: typeof a) =>
      createEmployeeSyncWorker({
        employeeSync: asyncPort(employeeSync),
        // the users' state: Bitrix24 unavailable, so the import stops there (recorded on the portal)
        gateway: { client: () => ({ call: async () => (reads[name]++, Promise.reject(new Error('down'))) }), limiter: () => ({}), leases: lease } as unknown as BitrixGateway,
        links,
        uisEndpoints: () => ({ dataApiUrl: 'http://uis.test/data' }) as never,
        clock,
        log,
      });
    const wa = worker('a', a);
    const wb = worker('b', b);
    wa.start(600_000);
    wb.start(600_000);
    await turn(30);
    await clock.advance(600_000);
    await turn(30);
    wa.stop();
    wb.stop();
    await Promise.all([wa.idle(), wb.idle()]);
    expect([reads.a, reads.b]).toContain(0);
    expect(reads.a + reads.b).toBe(2);
  });

  it('a run whose instance died (its lease gone) is failed by the other\'s tick', async () => {
    const { clock, db, b } = cluster();
    const employeeSync = createSqliteEmployeeSyncRepository(db, () => clock.now());
    const dead = employeeSync.startRun('p1', 'manual')!;
    const wb = createEmployeeSyncWorker({
      employeeSync: asyncPort(employeeSync),
      gateway: { client: () => ({}), limiter: () => ({}), leases: b } as unknown as BitrixGateway,
      links,
      uisEndpoints: () => ({ dataApiUrl: 'http://uis.test/data' }) as never,
      clock,
      log,
    });
    wb.start();
    await turn(30);
    wb.stop();
    await wb.idle();
    expect(employeeSync.latestRun('p1')).toMatchObject({ id: dead.id, status: 'failed', error: expect.stringContaining('Interrupted') });
  });
});

describe('personal-manager live lookups on two instances', () => {
  it('a portal has at most two live lookups in flight across the cluster, not two per instance', async () => {
    const { clock, db, a, b } = cluster();
    const map = createSqlitePersonalManagerRepository(db);
    let asked = 0;
    let open!: () => void;
    const held = new Promise<void>((r) => (open = r));
    const client = { call: async () => (asked++, await held, { result: [] }) }; // findbycomm: nobody's number
    const telephony = { getSettings: async () => ({ settings: { enabled: true, personalManager: { use: true } }, updatedAt: '' }) } as unknown as TelephonyRepository;
    const instance = (lease: typeof a) => ({
      map,
      telephony,
      employees: { uisEmployeeFor: async () => null, b24UserFor: async () => null },
      gateway: { client: () => client, limiter: () => ({}) } as unknown as BitrixGateway,
      links,
      uisEndpoints: () => ({}) as never,
      clock,
      log,
      budgetMs: 50,
      missTtlMs: 60_000,
      live: newLiveLookups(2, lease),
    });
    const ia = instance(a);
    const ib = instance(b);
    const numbers = ['79001110001', '79001110002', '79001110003', '79001110004'];
    // round-robin: each instance gets two callers
    const answers = await Promise.all(numbers.map((n, i) => findPersonalManager(i % 2 ? ib : ia, 'p1', n, Date.now())));
    expect(asked).toBe(2);
    expect(answers.map((x) => (x.kind === 'none' ? x.reason : x.kind)).sort()).toEqual(['busy', 'busy', 'timeout', 'timeout']);
    open();
  });
});
