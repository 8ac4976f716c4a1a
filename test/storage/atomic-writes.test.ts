/**
 * Several instances, one truth (issue #12): the services' read-then-write pairs that could lose a
 * write landing between their read and their write, on both stores. Each case runs the real
 * service over the store's ports (SQLite through asyncPort, PostgreSQL over one pool) while
 * another instance's store (on PostgreSQL: a second pool, its own connections) writes right after
 * the service's first store call has answered — the moment a read-then-write used to be open:
 *
 * - acceptInstall: a markInstalled landing after its read is not undone (the portal stays active),
 *   and a token pair rotated meanwhile that expires later is not overwritten;
 * - the REST client's 302 to a new domain: a pair rotated while the request was on its way stays;
 * - ONIMCONNECTORDIALOGFINISH: a new dialog's session written meanwhile is not closed;
 * - «Чаты» dropOpenLineChannel: an admin's save landing meanwhile is not lost;
 * - the admin's «Чаты» save: a line bound meanwhile (and its untick, done before the save wrote)
 *   does not get its channel ticked again by the save;
 * - the employee-sync settings save: a daily run moving the next daily time meanwhile is not undone.
 *
 * On PostgreSQL the «Чаты» untick is also raced against an admin's save holding the row in a real
 * second connection: it waits for that save and unticks the channel in what it wrote.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { CONNECTOR_ID } from '../../install/plan';
import { createBitrixGateway } from '../../server/bitrix/rest-client';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import type { Portal } from '../../server/domain/portal';
import { acceptInstall } from '../../server/services/accept-install';
import { onBridgeEvent, type BridgeEventDeps } from '../../server/services/bridge/on-bitrix-event';
import { defaultCrmRulesSettings, dropOpenLineChannel, saveCrmRules, type CrmRulesSettingsDeps } from '../../server/services/crm-rules/settings';
import { DAY_MS, saveEmployeeSyncSettings } from '../../server/services/employee-sync/settings';
import type { EmployeeSyncDeps } from '../../server/services/employee-sync/sync';
import type { PgStore } from '../../server/storage/pg/connection';
import { pgStores } from '../../server/storage/pg/stores';
import { createSecretBox } from '../../server/storage/secret-box';
import { sqliteStores, type Stores } from '../../server/storage/stores';
import { FakeClock } from '../support/fake-clock';
import { captureLogs } from '../support/log-capture';
import { forEachStore, openTestPg } from '../support/stores';

const M = 'member-atomic';
const box = createSecretBox('k'.repeat(64));
const ENDPOINT = 'https://p1.bitrix24.ru/rest/';

const portal = (clock: FakeClock, over: Partial<Portal> = {}): Portal => ({
  memberId: M,
  domain: 'p1.bitrix24.ru',
  clientEndpoint: ENDPOINT,
  serverEndpoint: 'https://oauth.bitrix.info/rest/',
  tokens: { accessToken: 'AT-0', refreshToken: 'RT-0', expiresAt: clock.now() + 3600_000 },
  applicationToken: 'APP',
  scopes: ['crm'],
  installedBy: 1,
  status: 'active',
  statusReason: null,
  createdAt: '',
  updatedAt: '',
  installedAt: null,
  ...over,
});

/**
 * `port` whose first call, once it has answered, lets `meanwhile` land before the answer reaches
 * the caller: a read-then-write of the caller has its write after it, an atomic write before it.
 */
function interleave<T extends object>(port: T, meanwhile: () => Promise<unknown>): T & { landed(): boolean } {
  let landed = false;
  return new Proxy(port, {
    get(target, key, receiver) {
      if (key === 'landed') return () => landed;
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const r: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!landed) {
          landed = true;
          await meanwhile();
        }
        return r;
      };
    },
  }) as T & { landed(): boolean };
}

forEachStore('atomic writes', (store) => {
  let clock: FakeClock;
  let second: PgStore | undefined;
  /** this instance's stores and another instance's over the same database */
  let a: Stores;
  let b: Stores;

  beforeAll(async () => {
    if (store.pg) second = await openTestPg({ schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    clock = new FakeClock();
    const now = () => clock.now();
    a = store.sqlite ? sqliteStores(store.sqlite, box, now) : pgStores(store.pg!.db, box, now);
    b = store.sqlite ? sqliteStores(store.sqlite, box, now) : pgStores(second!.db, box, now);
    await store.clear('portals'); // and, by ON DELETE CASCADE, every row a case added for the portal
  });

  /** acceptInstall's deps: the OAuth server confirms an administrator of the portal with a fresh pair. */
  const installDeps = (portals: Stores['portals']) => ({
    portals,
    log: captureLogs().log,
    clock,
    oauth: {
      trustedOrigin: () => 'https://oauth.bitrix.info',
      refresh: async () => ({
        access_token: 'AT-install',
        refresh_token: 'RT-install',
        expires_in: 3600,
        scope: 'crm,imopenlines',
        client_endpoint: ENDPOINT,
        server_endpoint: 'https://oauth.bitrix.info/rest/',
        member_id: M,
      }),
    },
    http: { fetch: (async () => Response.json({ result: { ID: 7, ADMIN: true } })) as unknown as typeof fetch },
  });
  const claim = { memberId: M, serverEndpoint: 'https://oauth.bitrix.info/rest/', refreshToken: 'RT-claim', applicationToken: 'APP' };

  it('acceptInstall: a markInstalled landing after its read is not undone — the portal stays active with its installed_at', async () => {
    await a.portals.save(portal(clock, { status: 'installing', installedAt: null }));
    const at = new Date(clock.now()).toISOString();
    const portals = interleave(a.portals, () => b.portals.markInstalled(M, at));
    const { portal: p } = await acceptInstall(installDeps(portals), claim);
    expect(portals.landed()).toBe(true);
    expect(p).toMatchObject({ status: 'active', installedAt: at, tokens: { accessToken: 'AT-install' }, scopes: ['crm', 'imopenlines'], installedBy: 7 });
    expect(await a.portals.get(M)).toMatchObject({ status: 'active', installedAt: at, tokens: { accessToken: 'AT-install', refreshToken: 'RT-install' } });
  });

  it('acceptInstall: a pair rotated after its read that expires later is kept; the rest of the install is written', async () => {
    await a.portals.save(portal(clock, { scopes: ['crm'], installedBy: 1 }));
    const rotated = { accessToken: 'AT-rotated', refreshToken: 'RT-rotated', expiresAt: clock.now() + 3600_000 + 5000 };
    const portals = interleave(a.portals, () => b.portals.saveTokens(M, rotated));
    const { portal: p } = await acceptInstall(installDeps(portals), claim);
    expect(portals.landed()).toBe(true);
    expect(p).toMatchObject({ status: 'active', tokens: rotated });
    expect(await a.portals.get(M)).toMatchObject({ status: 'active', tokens: rotated, scopes: ['crm', 'imopenlines'], installedBy: 7, applicationToken: 'APP' });
  });

  it('a portal\'s 302 to a new domain moves the endpoint only: a pair rotated while the request was on its way stays', async () => {
    await a.portals.save(portal(clock));
    const rotated = { accessToken: 'AT-rotated', refreshToken: 'RT-rotated', expiresAt: clock.now() + 7200_000 };
    const requests: Array<{ url: string; auth: unknown }> = [];
    const fetchStub = (async (url: string, init: RequestInit) => {
      requests.push({ url, auth: (JSON.parse(String(init.body)) as { auth?: unknown }).auth });
      if (requests.length === 1) {
        await b.portals.saveTokens(M, rotated); // another instance refreshed the pair meanwhile
        return new Response(null, { status: 302, headers: { location: 'https://renamed.bitrix24.ru/rest/profile' } });
      }
      return Response.json({ result: { ID: 1 }, time: { start: 0, finish: 0 } });
    }) as unknown as typeof fetch;
    const gateway = createBitrixGateway({
      portals: a.portals,
      oauth: { trustedOrigin: () => null, refresh: () => Promise.reject(new Error('no refresh expected')) },
      clock,
      rateLimit: { drainPerSec: 2, burst: 50 },
      log: captureLogs().log,
      fetch: fetchStub,
    });
    let done = false;
    const call = gateway.client(M).call('profile').finally(() => (done = true));
    for (let i = 0; i < 200 && !done; i++) await clock.advance(100);
    await expect(call).resolves.toMatchObject({ result: { ID: 1 } });
    expect(await a.portals.get(M)).toMatchObject({ tokens: rotated, clientEndpoint: 'https://renamed.bitrix24.ru/rest/', domain: 'renamed.bitrix24.ru' });
    expect(requests.map((r) => r.url)).toEqual([`${ENDPOINT}profile`, 'https://renamed.bitrix24.ru/rest/profile']);
  });

  it('ONIMCONNECTORDIALOGFINISH closes the session it names only: a new dialog\'s session written after the read stays open', async () => {
    await a.portals.save(portal(clock));
    await a.bridge.upsertChat({ memberId: M, uisChatId: '41', channelId: 'ch1', extChatId: 'uis_c41', b24ChatId: '900', b24SessionId: 'S1' });
    // the client's next message opened a new dialog meanwhile (the send.messages answer named its session)
    const bridge = interleave(a.bridge, () => b.bridge.upsertChat({ memberId: M, uisChatId: '41', channelId: 'ch1', b24SessionId: 'S2', b24SessionClosed: false }));
    const deps = { bridge, now: () => clock.now(), wake: () => {} } satisfies BridgeEventDeps;
    await onBridgeEvent(deps, M, {
      event: 'ONIMCONNECTORDIALOGFINISH',
      data: { CONNECTOR: CONNECTOR_ID, DATA: [{ chat: { id: 'uis_c41' }, session: { id: 'S1', closed: 'Y' } }] },
    });
    expect(bridge.landed()).toBe(true);
    expect(await a.bridge.chat(M, '41')).toMatchObject({ b24SessionId: 'S2', b24SessionClosed: false });
  });

  const chatsSaved = (over: Partial<CrmRulesSettings> = {}): CrmRulesSettings => ({ ...defaultCrmRulesSettings('chats'), enabled: true, createEntities: false, ...over });

  it("«Чаты» dropOpenLineChannel: an admin's save landing after its read is not lost", async () => {
    await a.portals.save(portal(clock));
    await a.crmRules.save(M, 'chats', chatsSaved());
    const admin = chatsSaved({ templates: { lead: 'Чат {{channel_name}}', deal: 'Сделка' }, addToClosed: true });
    const crmRules = interleave(a.crmRules, () => b.crmRules.save(M, 'chats', admin));
    await dropOpenLineChannel({ crmRules }, M, 'telegram');
    expect(crmRules.landed()).toBe(true);
    // the admin's save stands whole (it landed after the untick here: its own channel list stands too)
    expect((await a.crmRules.get(M, 'chats'))?.settings).toEqual(admin);
  });

  it("the admin's «Чаты» save: a line bound after its read of the bindings does not get its channel ticked again", async () => {
    await a.portals.save(portal(clock));
    await a.crmRules.save(M, 'chats', chatsSaved());
    // another instance binds an open line to the Telegram channel and unticks it, before the save writes
    const bridge = interleave(a.bridge, async () => {
      await b.bridge.bind(M, '3', '9');
      await dropOpenLineChannel({ crmRules: b.crmRules }, M, 'telegram');
    });
    const deps = {
      crmRules: a.crmRules,
      bridge,
      links: { get: async () => ({ memberId: M, connectionId: '77' }) },
      workspace: { channels: { list: async () => [{ memberId: M, accountId: '77', channelId: '9', type: 'telegram', name: 'Telegram', status: 'active' }] } },
    } as unknown as CrmRulesSettingsDeps;
    const view = await saveCrmRules(deps, M, 'chats', chatsSaved({ addToClosed: true }));
    expect(bridge.landed()).toBe(true);
    const stored = (await a.crmRules.get(M, 'chats'))?.settings;
    expect(stored?.addToClosed).toBe(true);
    expect(stored?.channels).not.toContain('telegram');
    expect(stored?.channels.length).toBe(defaultCrmRulesSettings('chats').channels.length - 1);
    expect(view.openLines.map((d) => d.type)).toEqual(['telegram']);
  });

  it('the employee-sync settings save: a daily run moving the next daily time after its read is not undone', async () => {
    await a.portals.save(portal(clock));
    const daily = { importStatuses: false, dailySync: true, userIds: [] };
    const due = clock.now() - 1000;
    await a.employeeSync.saveSettings(M, daily, due); // the daily sync is on and due
    const moved = clock.now() + DAY_MS; // the worker ran it and scheduled the next
    const employeeSync = interleave(a.employeeSync, () => b.employeeSync.setNextDailyAt(M, moved));
    const view = await saveEmployeeSyncSettings({ employeeSync, clock } as unknown as EmployeeSyncDeps, M, { ...daily, importStatuses: true });
    expect(employeeSync.landed()).toBe(true);
    expect(await a.employeeSync.getSettings(M)).toMatchObject({ settings: { importStatuses: true, dailySync: true }, nextDailyAt: moved });
    expect(view.nextDailyAt).toBe(new Date(moved).toISOString());
  });

  it.runIf(store.name === 'postgres')("«Чаты» untick beside an admin's save holding the row in another connection: it waits and unticks the channel in what the admin wrote", async () => {
    await a.portals.save(portal(clock));
    await a.crmRules.save(M, 'chats', chatsSaved());
    const admin = chatsSaved({ templates: { lead: 'Чат {{channel_name}}', deal: '' } });
    const conn = await second!.pool.connect();
    try {
      await conn.query('BEGIN');
      await conn.query(`SELECT settings FROM crm_rules_settings WHERE member_id = $1 AND kind = 'chats' FOR UPDATE`, [M]);
      let settled = false;
      const drop = dropOpenLineChannel({ crmRules: a.crmRules }, M, 'telegram').finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false); // waits for the admin's transaction
      await conn.query(`UPDATE crm_rules_settings SET settings = $1 WHERE member_id = $2 AND kind = 'chats'`, [JSON.stringify(admin), M]);
      await conn.query('COMMIT');
      expect(await drop).toBe(true);
    } finally {
      conn.release();
    }
    expect((await a.crmRules.get(M, 'chats'))?.settings).toEqual({ ...admin, channels: admin.channels.filter((c) => c !== 'telegram') });
  });
});
