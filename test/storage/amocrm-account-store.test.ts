/**
 * The amoCRM account store contract (issues #15, #12): the same cases against the SQLite
 * repository (migration 019) and the PostgreSQL store (migrations-pg/019) — the connection, its
 * webhook and status, the OAuth pair sealed at rest (never in clear), saved compare-and-set on the
 * refresh token it replaces, and the refresh lease. amoCRM's refresh token works once, so on
 * PostgreSQL two instances (two pools, their own connections) race for the lease and the save:
 * exactly one wins each; and two gateways needing a fresh token at once refresh it once against the
 * emulated amoCRM. Store time is a hand-moved number.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createAmoGateway } from '../../server/amocrm/client';
import { authorizeUrl, exchangeCode, type AmoOAuthConfig, type AmoTokens } from '../../server/amocrm/oauth';
import { systemClock } from '../../server/domain/clock';
import type { AmoAccountRepository } from '../../server/services/chat-sources/ports';
import { createSqliteAmoAccountRepository } from '../../server/storage/amocrm-account-repository';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { createPgAmoAccountStore } from '../../server/storage/pg/amocrm-account-store';
import { createSecretBox } from '../../server/storage/secret-box';
import { startAmoEmulator, type AmoEmulator } from '../emulator/amocrm';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
const box = createSecretBox('k'.repeat(64));

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

const conn = (memberId: string, over: Partial<{ name: string; origin: string; accountId: number; connectedAt: number; webhook: { mode: 'api' | 'manual'; disabled: boolean; detail: string | null } }> = {}) => ({
  memberId,
  name: 'Ромашка',
  origin: 'https://romashka.amocrm.ru',
  accountId: 31_000_001,
  webhook: { mode: 'api' as const, disabled: false, detail: null },
  connectedAt: T0 - 10,
  ...over,
});
const pair = (n: number, expiresAt = T0 + 86_400_000): AmoTokens => ({ accessToken: `access-${n}-секрет`, refreshToken: `refresh-${n}-секрет`, expiresAt });

forEachStore('amoCRM account store', (store) => {
  let now = T0;
  let repo: AmoAccountRepository;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AmoAccountRepository;
  let amo: AmoEmulator | undefined;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  afterEach(async () => {
    await amo?.close();
    amo = undefined;
  });
  beforeEach(async () => {
    now = T0;
    await store.clear('amocrm_accounts'); // the portals stay (emptying them would cascade to every table): added once, kept
    for (const m of ['p1', 'p2', 'P0', 'p-x'])
      await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x') ON CONFLICT (member_id) DO NOTHING`, [m]);
    const make = (which: 'a' | 'b', clock: () => number = () => now) =>
      store.sqlite ? createSqliteAmoAccountRepository(store.sqlite, box, clock) : createPgAmoAccountStore(which === 'a' ? store.pg!.db : second!.db, box, clock);
    repo = make('a');
    other = make('b');
  });

  const raw = async (memberId: string) => (await run(store, 'SELECT * FROM amocrm_accounts WHERE member_id = ?', [memberId]))[0];

  it('connect: the connection as given, active; the pair sealed at rest and loaded back; get/load of an unknown portal are null', async () => {
    expect(await repo.get('p1')).toBeNull();
    expect(await repo.load('p1')).toBeNull();
    await repo.connect(conn('p1', { webhook: { mode: 'manual', disabled: true, detail: 'no rights' } }), pair(1), T0 - 5);
    expect(await repo.get('p1')).toEqual({
      memberId: 'p1',
      name: 'Ромашка',
      origin: 'https://romashka.amocrm.ru',
      accountId: 31_000_001,
      expiresAt: T0 + 86_400_000,
      refreshedAt: T0 - 5,
      status: 'active',
      statusReason: null,
      webhook: { mode: 'manual', disabled: true, detail: 'no rights' },
      connectedAt: T0 - 10,
    });
    expect(await repo.load('p1')).toEqual({ origin: 'https://romashka.amocrm.ru', status: 'active', tokens: pair(1) });
    const r = (await raw('p1'))!;
    for (const column of ['access_token', 'refresh_token']) {
      expect(String(r[column])).toMatch(/^v1:/);
      expect(String(r[column])).not.toContain('секрет');
    }
    expect(r.updated_at).toBe(new Date(T0).toISOString());
    expect(r.refresh_lease_until).toBeNull();
  });

  it("the pair is bound to its portal: copied to another portal's row it does not open", async () => {
    await repo.connect(conn('p1'), pair(1), T0);
    await repo.connect(conn('p2'), pair(2), T0);
    const stolen = (await raw('p1'))!;
    await run(store, 'UPDATE amocrm_accounts SET access_token = ?, refresh_token = ? WHERE member_id = ?', [stolen.access_token, stolen.refresh_token, 'p2']);
    await expect(repo.load('p2')).rejects.toThrow();
  });

  it('a reconnection replaces the connection and the pair, and clears the status and the refresh lease', async () => {
    await repo.connect(conn('p1'), pair(1), T0);
    await repo.setStatus('p1', 'reauth', 'refresh token revoked');
    expect(await repo.leaseRefresh('p1', T0 + 60_000, T0)).toBe(true);
    now += 1000;
    await repo.connect(conn('p1', { name: 'Лютик', origin: 'https://lutik.kommo.com', accountId: 42, connectedAt: T0 + 900, webhook: { mode: 'manual', disabled: false, detail: 'manual' } }), pair(2), T0 + 950);
    expect(await repo.get('p1')).toEqual({
      memberId: 'p1',
      name: 'Лютик',
      origin: 'https://lutik.kommo.com',
      accountId: 42,
      expiresAt: T0 + 86_400_000,
      refreshedAt: T0 + 950,
      status: 'active',
      statusReason: null,
      webhook: { mode: 'manual', disabled: false, detail: 'manual' },
      connectedAt: T0 + 900,
    });
    expect((await repo.load('p1'))!.tokens).toEqual(pair(2));
    expect(await repo.leaseRefresh('p1', T0 + 60_000, T0 + 1000)).toBe(true); // the old lease is gone
    expect((await raw('p1'))!.updated_at).toBe(new Date(T0 + 1000).toISOString());
  });

  it('setWebhook, setStatus (the reason cut at 300), connected (by portal), remove', async () => {
    expect(await repo.connected()).toEqual([]);
    await repo.connect(conn('p2'), pair(2), T0);
    await repo.connect(conn('p1'), pair(1), T0);
    await repo.connect(conn('P0'), pair(3), T0);
    await repo.connect(conn('p-x'), pair(4), T0);
    now += 10;
    await repo.setWebhook('p1', { mode: 'manual', disabled: true, detail: 'amoCRM switched it off' });
    expect((await repo.get('p1'))!.webhook).toEqual({ mode: 'manual', disabled: true, detail: 'amoCRM switched it off' });
    expect((await raw('p1'))!.updated_at).toBe(new Date(T0 + 10).toISOString());
    await repo.setWebhook('p1', { mode: 'api', disabled: false, detail: null });
    expect((await repo.get('p1'))!.webhook).toEqual({ mode: 'api', disabled: false, detail: null });
    await repo.setStatus('p2', 'reauth', 'ж'.repeat(400));
    expect(await repo.get('p2')).toMatchObject({ status: 'reauth', statusReason: 'ж'.repeat(300) });
    expect((await repo.load('p2'))!.status).toBe('reauth');
    await repo.setStatus('p2', 'active', null);
    expect(await repo.get('p2')).toMatchObject({ status: 'active', statusReason: null });
    expect((await repo.connected()).map((c) => c.memberId)).toEqual(['P0', 'p-x', 'p1', 'p2']); // byte order
    await repo.remove('p1');
    await repo.remove('p9');
    expect(await repo.get('p1')).toBeNull();
    expect((await repo.connected()).map((c) => c.memberId)).toEqual(['P0', 'p-x', 'p2']);
    await repo.setWebhook('p1', { mode: 'api', disabled: false, detail: null }); // gone: nothing happens
    await repo.setStatus('p1', 'reauth', null);
    expect(await repo.get('p1')).toBeNull();
  });

  it('free text with U+0000 is stored; PostgreSQL, whose text cannot hold it, keeps U+FFFD', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    await repo.connect(conn('p1', { name: 'Ром\u0000ашка', webhook: { mode: 'manual', disabled: false, detail: 'HTTP 400: \u0000' } }), pair(1), T0);
    expect(await repo.get('p1')).toMatchObject({ name: kept('Ром\u0000ашка'), webhook: { mode: 'manual', disabled: false, detail: kept('HTTP 400: \u0000') } });
    await repo.setWebhook('p1', { mode: 'manual', disabled: true, detail: '\u0000' });
    await repo.setStatus('p1', 'reauth', 'invalid_grant \u0000');
    expect(await repo.get('p1')).toMatchObject({ status: 'reauth', statusReason: kept('invalid_grant \u0000'), webhook: { detail: kept('\u0000') } });
  });

  it('saveTokens: only over the refresh token it replaces (compare-and-set), sealed, with the refresh time', async () => {
    expect(await repo.saveTokens('p1', pair(2), 'refresh-1-секрет')).toBe(false); // not connected
    await repo.connect(conn('p1'), pair(1), T0 - 5);
    now += 100;
    expect(await repo.saveTokens('p1', pair(2, T0 + 5000), 'refresh-0-секрет')).toBe(false);
    expect((await repo.load('p1'))!.tokens).toEqual(pair(1));
    expect(await repo.saveTokens('p1', pair(2, T0 + 5000), 'refresh-1-секрет')).toBe(true);
    expect((await repo.load('p1'))!.tokens).toEqual(pair(2, T0 + 5000));
    expect(await repo.get('p1')).toMatchObject({ expiresAt: T0 + 5000, refreshedAt: T0 + 100 });
    expect(String((await raw('p1'))!.refresh_token)).not.toContain('секрет');
    expect(await repo.saveTokens('p1', pair(3), 'refresh-1-секрет')).toBe(false); // spent: another refresh replaced it
    expect((await repo.load('p1'))!.tokens).toEqual(pair(2, T0 + 5000));
  });

  it('the refresh lease: one holder until it lapses (strictly before now) or is released', async () => {
    expect(await repo.leaseRefresh('p1', T0 + 1000, T0)).toBe(false); // not connected
    await repo.connect(conn('p1'), pair(1), T0);
    await repo.connect(conn('p2'), pair(2), T0);
    expect(await repo.leaseRefresh('p1', T0 + 1000, T0)).toBe(true);
    expect(await other.leaseRefresh('p1', T0 + 2000, T0 + 500)).toBe(false);
    expect(await other.leaseRefresh('p1', T0 + 2000, T0 + 1000)).toBe(false); // until == now: still held
    expect(await other.leaseRefresh('p2', T0 + 2000, T0 + 500)).toBe(true); // another portal's
    expect(await other.leaseRefresh('p1', T0 + 2000, T0 + 1000.5)).toBe(true); // lapsed
    expect(await repo.leaseRefresh('p1', T0 + 3000, T0 + 1500)).toBe(false);
    await other.releaseRefresh('p1');
    expect(await repo.leaseRefresh('p1', T0 + 3000, T0 + 1500)).toBe(true);
    await repo.releaseRefresh('p9'); // nothing to release
  });

  it('two instances (two pools on PostgreSQL) racing for the refresh lease and for saving the rotated pair: one wins each', async () => {
    await repo.connect(conn('p1'), pair(1), T0);
    for (let round = 0; round < 10; round++) {
      const at = T0 + round * 10_000;
      const leased = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).leaseRefresh('p1', at + 5000, at)));
      expect(leased.filter(Boolean)).toHaveLength(1);
      const previous = (await repo.load('p1'))!.tokens.refreshToken;
      const saved = await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).saveTokens('p1', pair(100 * round + n), previous)));
      expect(saved.filter(Boolean)).toHaveLength(1);
      expect((await repo.load('p1'))!.tokens).toEqual(pair(100 * round + saved.indexOf(true)));
    }
  });

  it('two gateways (each on its own pool on PostgreSQL) needing a fresh token at once: amoCRM sees one refresh, and both go on with it', async () => {
    amo = await startAmoEmulator({ integration: { redirectUri: 'http://127.0.0.1:1/oauth/amocrm/callback' } });
    const cfg: AmoOAuthConfig = { clientId: amo.integration.clientId, clientSecret: amo.integration.clientSecret, redirectUri: amo.integration.redirectUri, trustedHosts: [amo.origin] };
    const back = new URL(await amo.authorize(authorizeUrl(cfg, amo.origin, 'state')));
    const tokens = await exchangeCode(cfg, amo.origin, back.searchParams.get('code')!, Date.now());
    const account = amo.accounts[0]!;
    // the gateways run on the wall clock (the emulator's tokens do); the access token about to lapse
    const stores = store.sqlite
      ? [0, 1].map(() => createSqliteAmoAccountRepository(store.sqlite!, box))
      : [store.pg!.db, second!.db].map((db) => createPgAmoAccountStore(db, box));
    await stores[0]!.connect({ memberId: 'p1', name: account.name ?? 'amo', origin: amo.origin, accountId: account.id, webhook: { mode: 'manual', disabled: false, detail: null }, connectedAt: Date.now() }, { ...tokens, expiresAt: Date.now() + 60_000 }, Date.now());
    const gateways = stores.map((s) => createAmoGateway({ store: s, oauth: cfg, clock: systemClock }));
    const answers = await Promise.all(gateways.flatMap((g) => [0, 1, 2].map(() => g.client('p1').get<{ id: number }>('/api/v4/account'))));
    expect(answers.map((x) => x?.id)).toEqual(Array(6).fill(account.id));
    const grants = amo.oauth.log.filter((l) => l.grantType === 'refresh_token');
    expect(grants).toHaveLength(1);
    expect(grants[0]!.ok).toBe(true);
    expect(await stores[1]!.load('p1')).toMatchObject({ status: 'active' });
    expect((await stores[1]!.load('p1'))!.tokens.refreshToken).not.toBe(tokens.refreshToken);
  });
});
