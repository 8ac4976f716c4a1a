/**
 * The portal store contract (issue #12): the same cases against the SQLite repository (wrapped by
 * asyncPort) and the PostgreSQL store — a portal saved and replaced (created_at kept), the OAuth
 * pair and the application token sealed at rest with the portal as context (never in clear), a
 * rotated pair with the endpoints the OAuth server confirmed, an accepted install decided from the
 * row as written (saveInstall: an active portal of the same installation stays active, a later pair
 * stays) and a 302's new endpoint alone (saveEndpoint), statuses, the install plan's completion
 * (markInstalled), uninstall (markDeleted wipes the secrets; purge deletes everything the app holds
 * for the portal) and the counts by status. On
 * PostgreSQL, two instances (two pools) installing one portal at once and rotating its pair at once:
 * one row, and the pair left whole — one of the writers', never a mix. Store time is a hand-moved number.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { InstallWrite, PortalRepository } from '../../server/services/ports';
import type { Portal } from '../../server/domain/portal';
import { createSqlitePortalRepository } from '../../server/storage/portal-repository';
import { createPgPortalStore } from '../../server/storage/pg/portal-store';
import type { PgStore } from '../../server/storage/pg/connection';
import { createSecretBox } from '../../server/storage/secret-box';
import { forEachStore, openTestPg, type TestStore } from '../support/stores';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const box = createSecretBox('k'.repeat(64));
const iso = (t: number) => new Date(t).toISOString();

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

const portal = (memberId: string, over: Partial<Portal> = {}): Portal => ({
  memberId,
  domain: `${memberId}.bitrix24.ru`,
  clientEndpoint: `https://${memberId}.bitrix24.ru/rest/`,
  serverEndpoint: 'https://oauth.bitrix.info/rest/',
  tokens: { accessToken: `access-${memberId}-секрет`, refreshToken: `refresh-${memberId}-секрет`, expiresAt: T0 + 3600_000 },
  applicationToken: `app-${memberId}-секрет`,
  scopes: ['crm', 'imopenlines', 'user'],
  installedBy: 1,
  status: 'active',
  statusReason: null,
  createdAt: 'ignored',
  updatedAt: 'ignored',
  installedAt: iso(T0 - 1000),
  ...over,
});

forEachStore('portal store', (store) => {
  let now = T0;
  let repo: AsyncPort<PortalRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<PortalRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openTestPg({ schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await run(store, 'DELETE FROM portals'); // and, by ON DELETE CASCADE, the rows a case added for them (TRUNCATE … CASCADE would empty every table: slower)
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqlitePortalRepository(store.sqlite, box, () => now)) : createPgPortalStore(which === 'a' ? store.pg!.db : second!.db, box, () => now);
    repo = make('a');
    other = make('b');
  });

  const raw = async (memberId: string) => (await run(store, 'SELECT * FROM portals WHERE member_id = ?', [memberId]))[0];

  it('save and get: the portal as saved, created/updated now; unknown is null; secrets sealed at rest with the portal as context', async () => {
    expect(await repo.get('p1')).toBeNull();
    await repo.save(portal('p1'));
    expect(await repo.get('p1')).toEqual({ ...portal('p1'), createdAt: iso(T0), updatedAt: iso(T0) });
    const r = (await raw('p1'))!;
    for (const [col, plain] of [['access_token_enc', 'access-p1-секрет'], ['refresh_token_enc', 'refresh-p1-секрет'], ['application_token_enc', 'app-p1-секрет']] as const) {
      expect(String(r[col])).not.toContain(plain);
      expect(String(r[col])).not.toContain('p1-');
      expect(box.open(String(r[col]), 'p1')).toBe(plain);
      expect(() => box.open(String(r[col]), 'p2')).toThrow();
    }
    expect(r).toMatchObject({ scopes: 'crm,imopenlines,user', expires_at: T0 + 3600_000, installed_by: 1 });
  });

  it('save again replaces every field but created_at; no tokens, no application token, no scopes are stored as NULL/empty', async () => {
    await repo.save(portal('p1'));
    now += 5000;
    const bare = portal('p1', { domain: 'renamed.bitrix24.ru', tokens: null, applicationToken: null, scopes: [], installedBy: null, status: 'installing', statusReason: 'why', installedAt: null });
    await repo.save(bare);
    expect(await repo.get('p1')).toEqual({ ...bare, createdAt: iso(T0), updatedAt: iso(T0 + 5000) });
    expect(await raw('p1')).toMatchObject({ access_token_enc: null, refresh_token_enc: null, expires_at: null, application_token_enc: null, scopes: '' });
    // an empty secret is no secret
    await repo.save(portal('p1', { applicationToken: '', tokens: { accessToken: '', refreshToken: 'r', expiresAt: 5 } }));
    expect(await repo.get('p1')).toMatchObject({ applicationToken: null, tokens: null });
    expect(await raw('p1')).toMatchObject({ access_token_enc: null, application_token_enc: null, expires_at: 5 });
  });

  it('saveTokens: the rotated pair sealed, its expiry, updated now; endpoints when given, kept when not; an unknown portal is untouched', async () => {
    await repo.save(portal('p1'));
    now += 1000;
    await repo.saveTokens('p1', { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 });
    expect(await repo.get('p1')).toMatchObject({
      tokens: { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 },
      domain: 'p1.bitrix24.ru',
      clientEndpoint: 'https://p1.bitrix24.ru/rest/',
      applicationToken: 'app-p1-секрет',
      createdAt: iso(T0),
      updatedAt: iso(T0 + 1000),
    });
    expect(String((await raw('p1'))!.refresh_token_enc)).not.toContain('r2');
    now += 1000;
    await repo.saveTokens('p1', { accessToken: 'a3', refreshToken: 'r3', expiresAt: T0 + 9000_000 }, { clientEndpoint: 'https://new.bitrix24.ru/rest/', domain: 'new.bitrix24.ru' });
    expect(await repo.get('p1')).toMatchObject({ tokens: { accessToken: 'a3', refreshToken: 'r3' }, domain: 'new.bitrix24.ru', clientEndpoint: 'https://new.bitrix24.ru/rest/', updatedAt: iso(T0 + 2000) });
    await repo.saveTokens('p9', { accessToken: 'a', refreshToken: 'r', expiresAt: 1 });
    expect(await repo.get('p9')).toBeNull();
  });

  const install = (memberId: string, over: Partial<InstallWrite> = {}): InstallWrite => ({
    memberId,
    domain: `${memberId}.bitrix24.ru`,
    clientEndpoint: `https://${memberId}.bitrix24.ru/rest/`,
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    tokens: { accessToken: 'a-install', refreshToken: 'r-install', expiresAt: T0 + 3600_000 },
    applicationToken: 'app-install',
    scopes: ['crm', 'im'],
    installedBy: 7,
    ...over,
  });

  it('saveInstall: a new portal is inserted installing; a known one takes what the install gives, its reason cleared, installing again — the row as written is answered', async () => {
    const first = await repo.saveInstall(install('p1'), { sameInstall: false });
    expect(first).toEqual({ ...install('p1'), status: 'installing', statusReason: null, createdAt: iso(T0), updatedAt: iso(T0), installedAt: null });
    expect(await repo.get('p1')).toEqual(first);
    expect(String((await raw('p1'))!.access_token_enc)).not.toContain('a-install');
    await repo.setStatus('p1', 'reauth-required', 'invalid_grant');
    now += 1000;
    const again = install('p1', { domain: 'moved.bitrix24.ru', clientEndpoint: 'https://moved.bitrix24.ru/rest/', scopes: ['crm'], installedBy: 9, tokens: { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 } });
    expect(await repo.saveInstall(again, { sameInstall: true })).toEqual({ ...again, status: 'installing', statusReason: null, createdAt: iso(T0), updatedAt: iso(T0 + 1000), installedAt: null });
  });

  it('saveInstall: an active portal of the same installation stays active with its installed_at, as it is when written; another installation or a deleted portal is installing again', async () => {
    await repo.save(portal('p1', { applicationToken: 'app-install', status: 'installing', installedAt: null }));
    // the install plan completed after the caller read `installing`: the row is active when written
    expect(await repo.markInstalled('p1', iso(T0 + 5))).toBe(true);
    expect(await repo.saveInstall(install('p1'), { sameInstall: true })).toMatchObject({ status: 'active', statusReason: null, installedAt: iso(T0 + 5), tokens: { accessToken: 'a-install' } });
    // a reinstall with another application token: installing, installed_at cleared
    expect(await repo.saveInstall(install('p1', { applicationToken: 'app-new' }), { sameInstall: false })).toMatchObject({ status: 'installing', installedAt: null, applicationToken: 'app-new' });
    await repo.markInstalled('p1', iso(T0 + 6));
    await repo.markDeleted('p1');
    expect(await repo.saveInstall(install('p1'), { sameInstall: true })).toMatchObject({ status: 'installing', installedAt: null, applicationToken: 'app-install', tokens: { accessToken: 'a-install' } });
  });

  it('saveInstall: a stored pair that expires later (rotated since the verification) stays for the same installation of a portal that can call REST; otherwise the pair given is written', async () => {
    const later = { accessToken: 'a-rotated', refreshToken: 'r-rotated', expiresAt: T0 + 3600_000 + 1 };
    await repo.save(portal('p1', { applicationToken: 'app-install', tokens: later }));
    expect((await repo.saveInstall(install('p1'), { sameInstall: true })).tokens).toEqual(later);
    expect((await repo.get('p1'))!.tokens).toEqual(later);
    // another installation: its verified pair
    expect((await repo.saveInstall(install('p1'), { sameInstall: false })).tokens).toEqual(install('p1').tokens);
    // an earlier or equal expiry: the pair given
    await repo.saveTokens('p1', { ...later, expiresAt: T0 + 3600_000 });
    expect((await repo.saveInstall(install('p1'), { sameInstall: true })).tokens).toEqual(install('p1').tokens);
    // a portal parked on a refused refresh: its pair is dead, the verified one is written
    await repo.saveTokens('p1', later);
    await repo.setStatus('p1', 'reauth-required', 'refresh refused: invalid_grant');
    expect((await repo.saveInstall(install('p1'), { sameInstall: true })).tokens).toEqual(install('p1').tokens);
  });

  it('saveEndpoint: the endpoint and domain, updated now; the pair, the application token and the status stay; an unknown portal is untouched', async () => {
    await repo.save(portal('p1'));
    await repo.saveTokens('p1', { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 });
    now += 1000;
    await repo.saveEndpoint('p1', { clientEndpoint: 'https://renamed.bitrix24.ru/rest/', domain: 'renamed.bitrix24.ru' });
    expect(await repo.get('p1')).toEqual({
      ...portal('p1'),
      tokens: { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 },
      clientEndpoint: 'https://renamed.bitrix24.ru/rest/',
      domain: 'renamed.bitrix24.ru',
      createdAt: iso(T0),
      updatedAt: iso(T0 + 1000),
    });
    await repo.saveEndpoint('p9', { clientEndpoint: 'https://x/rest/', domain: 'x' });
    expect(await repo.get('p9')).toBeNull();
  });

  it('saveInstall beside markInstalled and a rotation by another instance (two pools on PostgreSQL): the portal ends active and holds the later pair', async () => {
    for (let round = 0; round < 8; round++) {
      const m = `inst-${round}`;
      await repo.save(portal(m, { applicationToken: 'app-install', status: 'installing', installedAt: null, tokens: { accessToken: 'a0', refreshToken: 'r0', expiresAt: T0 } }));
      const rotated = { accessToken: `a-rot-${round}`, refreshToken: `r-rot-${round}`, expiresAt: T0 + 3600_000 + 10 };
      await Promise.all([
        repo.saveInstall(install(m), { sameInstall: true }),
        other.markInstalled(m, iso(T0 + round)),
        other.saveTokens(m, rotated),
      ]);
      // whichever order they committed in: markInstalled after the install activates it; before, the install keeps it active
      expect(await repo.get(m)).toMatchObject({ status: 'active', installedAt: iso(T0 + round), tokens: rotated });
    }
  });

  it('setStatus and markDeleted: the status and its reason; uninstall wipes the pair, its expiry and the application token, the rest stays', async () => {
    await repo.save(portal('p1'));
    now += 1000;
    await repo.setStatus('p1', 'reauth-required', 'invalid_grant');
    expect(await repo.get('p1')).toMatchObject({ status: 'reauth-required', statusReason: 'invalid_grant', updatedAt: iso(T0 + 1000), tokens: { accessToken: 'access-p1-секрет' } });
    await repo.setStatus('p1', 'active', null);
    expect(await repo.get('p1')).toMatchObject({ status: 'active', statusReason: null });
    now += 1000;
    await repo.markDeleted('p1');
    expect(await repo.get('p1')).toEqual({ ...portal('p1'), tokens: null, applicationToken: null, status: 'deleted', statusReason: 'uninstalled', createdAt: iso(T0), updatedAt: iso(T0 + 2000) });
    expect(await raw('p1')).toMatchObject({ access_token_enc: null, refresh_token_enc: null, expires_at: null, application_token_enc: null });
    await repo.setStatus('p9', 'active', null);
    await repo.markDeleted('p9');
    expect(await repo.get('p9')).toBeNull();
  });

  it('markInstalled: active, reason cleared, installed_at kept or set; the pair rotated meanwhile stays; a deleted or unknown portal is untouched', async () => {
    await repo.save(portal('p1', { status: 'installing', statusReason: 'plan failed', installedAt: null }));
    await repo.saveTokens('p1', { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 });
    now += 1000;
    expect(await repo.markInstalled('p1', iso(T0 + 500))).toBe(true);
    expect(await repo.get('p1')).toMatchObject({
      status: 'active', statusReason: null, installedAt: iso(T0 + 500), updatedAt: iso(T0 + 1000),
      tokens: { accessToken: 'a2', refreshToken: 'r2', expiresAt: T0 + 7200_000 }, applicationToken: 'app-p1-секрет',
    });
    await repo.setStatus('p1', 'installing', null);
    expect(await repo.markInstalled('p1', iso(T0 + 9000))).toBe(true);
    expect(await repo.get('p1')).toMatchObject({ status: 'active', installedAt: iso(T0 + 500) });
    await repo.markDeleted('p1');
    expect(await repo.markInstalled('p1', iso(T0 + 9000))).toBe(false);
    expect(await repo.get('p1')).toMatchObject({ status: 'deleted', statusReason: 'uninstalled', tokens: null, applicationToken: null });
    expect(await repo.markInstalled('p9', iso(T0))).toBe(false);
    expect(await repo.get('p9')).toBeNull();
  });

  it('countByStatus: portals per status, none when empty', async () => {
    expect(await repo.countByStatus()).toEqual({});
    await repo.save(portal('p1'));
    await repo.save(portal('p2'));
    await repo.save(portal('p3', { status: 'installing' }));
    await repo.save(portal('p4'));
    await repo.markDeleted('p4');
    expect(await repo.countByStatus()).toEqual({ active: 2, installing: 1, deleted: 1 });
  });

  it("purge: the portal and everything the app holds for it (the tables referencing it) are gone; another portal's stay", async () => {
    for (const m of ['p1', 'p2']) {
      await repo.save(portal(m));
      await run(store, `INSERT INTO event_inbox (member_id, event, data, ts, dedupe_key, received_at) VALUES (?, 'E', '{}', 1, 'k', 'x')`, [m]);
      await run(store, `INSERT INTO uis_inbox (member_id, path, body, dedupe_key, received_at) VALUES (?, 'POST /x', '{}', 'k', 'x')`, [m]);
      await run(store, `INSERT INTO uis_channels (member_id, channel_id, account_id, type, name, status, updated_at) VALUES (?, '1', 'a', 't', 'n', 'active', 'x')`, [m]);
      await run(
        store,
        `INSERT INTO uis_links (member_id, project, login, password_enc, data_api_token_enc, account_id, adapter_login, adapter_password_enc, hook_id, webhook_secret_enc, linked_at)
         VALUES (?, 'uis', 'l', 'x', 'x', 'a', 'al', 'x', ?, 'x', 'x')`,
        [m, `hook-${m}`],
      );
      await run(store, `INSERT INTO open_lines_settings (member_id, settings, enabled, updated_at) VALUES (?, '{}', 1, 'x')`, [m]);
      // tables without a foreign key to portals: the REST bucket's level, callbacks waiting in the inbox
      await run(store, `INSERT INTO rest_buckets (member_id, level, at) VALUES (?, 1, 1)`, [m]);
      await run(store, `INSERT INTO uis_callback_inbox (member_id, path, body, dedupe_key, received_at) VALUES (?, 'POST /message', '{}', 'k', 1)`, [m]);
    }
    const tables = ['event_inbox', 'uis_inbox', 'uis_channels', 'uis_links', 'open_lines_settings', 'rest_buckets', 'uis_callback_inbox'];
    await repo.purge('p1');
    expect(await repo.get('p1')).toBeNull();
    expect(await repo.get('p2')).not.toBeNull();
    for (const t of tables) {
      expect(await run(store, `SELECT member_id FROM ${t} WHERE member_id = ?`, ['p1']), t).toEqual([]);
      expect(await run(store, `SELECT member_id FROM ${t} WHERE member_id = ?`, ['p2']), t).toHaveLength(1);
    }
    await repo.purge('p1'); // nothing left to purge
    expect(await repo.countByStatus()).toEqual({ active: 1 });
  });

  it('free text with U+0000 is stored; PostgreSQL, whose text cannot hold it, keeps U+FFFD; secrets with it are kept exactly', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    const p = portal('p1', { domain: 'p\u00001', statusReason: 'x\u0000', scopes: ['a\u0000', 'b'], tokens: { accessToken: 'a\u0000', refreshToken: 'r\u0000', expiresAt: 1 }, applicationToken: '\u0000' });
    await repo.save(p);
    expect(await repo.get('p1')).toEqual({
      ...p,
      domain: kept('p\u00001'),
      statusReason: kept('x\u0000'),
      scopes: [kept('a\u0000'), 'b'],
      createdAt: iso(T0),
      updatedAt: iso(T0),
    });
    await repo.saveTokens('p1', { accessToken: 'a', refreshToken: 'r', expiresAt: 2 }, { clientEndpoint: 'c\u0000', domain: 'd\u0000' });
    await repo.setStatus('p1', 'active', 'y\u0000');
    expect(await repo.get('p1')).toMatchObject({ clientEndpoint: kept('c\u0000'), domain: kept('d\u0000'), statusReason: kept('y\u0000') });
    expect(await repo.get('p\u00001')).toBeNull();
  });

  it('two instances (two pools on PostgreSQL) installing one portal at once: one row, created_at of the first, no error', async () => {
    for (let round = 0; round < 5; round++) {
      const m = `race-${round}`;
      await Promise.all(Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).save(portal(m, { installedBy: n }))));
      const got = (await repo.get(m))!;
      expect(got.createdAt).toBe(iso(T0));
      expect(got.installedBy).toBeGreaterThanOrEqual(0);
      expect(await run(store, 'SELECT member_id FROM portals WHERE member_id = ?', [m])).toHaveLength(1);
    }
    expect(await repo.countByStatus()).toEqual({ active: 5 });
  });

  it('two instances rotating the pair at once (last writer wins, as in SQLite): the pair left is one of the writers\' whole, never a mix', async () => {
    await repo.save(portal('p1'));
    for (let round = 0; round < 10; round++) {
      const pairs = Array.from({ length: 8 }, (_, n) => ({ accessToken: `a-${round}-${n}`, refreshToken: `r-${round}-${n}`, expiresAt: T0 + round * 100 + n }));
      const ends = Array.from({ length: 8 }, (_, n) => ({ clientEndpoint: `https://e${n}.example/rest/`, domain: `e${n}.example` }));
      await Promise.all(pairs.map((t, n) => (n % 2 ? other : repo).saveTokens('p1', t, ends[n])));
      const got = (await repo.get('p1'))!;
      const n = pairs.findIndex((t) => t.accessToken === got.tokens!.accessToken);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(got.tokens).toEqual(pairs[n]);
      expect({ clientEndpoint: got.clientEndpoint, domain: got.domain }).toEqual(ends[n]);
    }
  });
});
