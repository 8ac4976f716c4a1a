/**
 * The UIS link store contract (issue #12): the same cases against the SQLite repository (wrapped by
 * asyncPort) and the PostgreSQL store — a link saved, read by portal and by its hook id, replaced,
 * deleted; every secret sealed at rest with the portal as context (never in clear); a hook id
 * already another portal's refused; U+0000. On PostgreSQL, two instances (two pools) saving one
 * portal's link at once leave one of them whole, never a mix.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { UisLinkRepository } from '../../server/services/ports';
import type { UisLink } from '../../server/domain/uis-link';
import { createSqliteUisLinkRepository } from '../../server/storage/uis-link-repository';
import { createPgUisLinkStore } from '../../server/storage/pg/uis-link-store';
import type { PgStore } from '../../server/storage/pg/connection';
import { createSecretBox } from '../../server/storage/secret-box';
import { forEachStore, openTestPg, type TestStore } from '../support/stores';

const box = createSecretBox('k'.repeat(64));

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

const link = (memberId: string, over: Partial<UisLink> = {}): UisLink => ({
  memberId,
  project: 'uis',
  login: `login-${memberId}`,
  password: `password-${memberId}-секрет`,
  dataApiToken: `token-${memberId}-секрет`,
  accountId: '777',
  accountName: 'Ромашка',
  adapterId: 'ad-1',
  connectionId: 'cn-1',
  adapterLogin: `b24omni_${memberId}`,
  adapterPassword: `adapter-${memberId}-секрет`,
  hookId: `hook-${memberId}`,
  webhookSecret: `webhook-${memberId}-секрет`,
  linkedAt: '2026-05-01T12:00:00.000Z',
  lastError: null,
  ...over,
});

const SECRETS = [
  ['password_enc', 'password'],
  ['data_api_token_enc', 'dataApiToken'],
  ['adapter_password_enc', 'adapterPassword'],
  ['webhook_secret_enc', 'webhookSecret'],
] as const;

forEachStore('UIS link store', (store) => {
  let repo: AsyncPort<UisLinkRepository>;
  let second: PgStore | undefined;
  let other: AsyncPort<UisLinkRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openTestPg({ schema: store.pg.schema, migrate: false, max: 4 });
    for (const m of ['p1', 'p2'])
      await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x')`, [m]);
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    await store.clear('uis_links'); // the portals stay (emptying them would cascade to every table)
    const make = (which: 'a' | 'b') => (store.sqlite ? asyncPort(createSqliteUisLinkRepository(store.sqlite, box)) : createPgUisLinkStore(which === 'a' ? store.pg!.db : second!.db, box));
    repo = make('a');
    other = make('b');
  });

  it('save, get by portal and by hook id; unknown ones are null; the secrets sealed at rest with the portal as context', async () => {
    expect(await repo.get('p1')).toBeNull();
    expect(await repo.getByHook('hook-p1')).toBeNull();
    await repo.save(link('p1'));
    await repo.save(link('p2', { project: 'comagic', accountName: null, adapterId: null, connectionId: null, lastError: 'E: x' }));
    expect(await repo.get('p1')).toEqual(link('p1'));
    expect(await repo.getByHook('hook-p1')).toEqual(link('p1'));
    expect(await repo.getByHook('hook-p2')).toEqual(link('p2', { project: 'comagic', accountName: null, adapterId: null, connectionId: null, lastError: 'E: x' }));
    expect(await repo.getByHook('hook-p9')).toBeNull();
    const r = (await run(store, 'SELECT * FROM uis_links WHERE member_id = ?', ['p1']))[0]!;
    for (const [col, field] of SECRETS) {
      const plain = link('p1')[field];
      expect(String(r[col])).not.toContain(plain);
      expect(String(r[col])).not.toContain('p1-');
      expect(box.open(String(r[col]), 'p1')).toBe(plain);
      expect(() => box.open(String(r[col]), 'p2')).toThrow();
    }
  });

  it('save again replaces every field (a new hook id moves the lookup); delete removes it, of that portal only', async () => {
    await repo.save(link('p1'));
    await repo.save(link('p2'));
    const next = link('p1', { login: 'l2', password: 'pw2', dataApiToken: 't2', accountId: '888', accountName: null, hookId: 'hook-new', webhookSecret: 'ws2', adapterPassword: 'ap2', lastError: 'X' });
    await repo.save(next);
    expect(await repo.get('p1')).toEqual(next);
    expect(await repo.getByHook('hook-new')).toEqual(next);
    expect(await repo.getByHook('hook-p1')).toBeNull();
    await repo.delete('p1');
    expect(await repo.get('p1')).toBeNull();
    expect(await repo.getByHook('hook-new')).toBeNull();
    expect(await repo.get('p2')).toEqual(link('p2'));
    await repo.delete('p9'); // nothing to delete
  });

  it("a hook id already another portal's is refused (the statement fails); the other link stays", async () => {
    await repo.save(link('p1'));
    await expect(repo.save(link('p2', { hookId: 'hook-p1' }))).rejects.toThrow();
    expect(await repo.get('p2')).toBeNull();
    expect(await repo.getByHook('hook-p1')).toEqual(link('p1'));
  });

  it('free text with U+0000 is stored (PostgreSQL keeps U+FFFD); secrets with it are kept exactly; a lookup with it answers', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    const l = link('p1', { login: 'l\u0000', accountName: 'Ром\u0000ашка', lastError: 'E\u0000', password: 'pw\u0000', webhookSecret: '\u0000' });
    await repo.save(l);
    expect(await repo.get('p1')).toEqual({ ...l, login: kept('l\u0000'), accountName: kept('Ром\u0000ашка'), lastError: kept('E\u0000') });
    expect(await repo.getByHook('hook-\u0000')).toBeNull();
    expect(await repo.get('p\u00001')).toBeNull();
    await repo.delete('p\u00001');
    expect(await repo.get('p1')).not.toBeNull();
  });

  it('two instances (two pools on PostgreSQL) saving one link at once: one row, one of the writers\' link whole', async () => {
    for (let round = 0; round < 8; round++) {
      const links = Array.from({ length: 8 }, (_, n) => link('p1', { login: `l-${round}-${n}`, password: `pw-${round}-${n}`, dataApiToken: `t-${round}-${n}`, hookId: `h-${round}-${n}`, webhookSecret: `ws-${round}-${n}` }));
      await Promise.all(links.map((l, n) => (n % 2 ? other : repo).save(l)));
      const got = (await repo.get('p1'))!;
      const n = links.findIndex((l) => l.login === got.login);
      expect(got).toEqual(links[n]);
      expect(await run(store, 'SELECT member_id FROM uis_links')).toHaveLength(1);
    }
  });
});
