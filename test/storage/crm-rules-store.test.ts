/**
 * The «Чаты» / «Оффлайн заявки» rules store contract (issue #12): the same cases against the SQLite
 * repository (migration 008, through asyncPort) and the PostgreSQL store (migrations-pg/008) — the
 * rules of each tab saved and replaced with their time, the switch and the portals with it on (as
 * json_extract reads it: JSON true or 1), the CRM directory cache (an older shape reads as none),
 * U+0000 in the JSON (a template, a name) kept on both; one channel unticked atomically
 * (removeChannel), beside an admin's save from another instance too. And two instances (on
 * PostgreSQL two pools) saving one portal's rules at once: no error, one of the saves stands whole. Time is a hand-moved
 * number, never the wall clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import type { CrmDirectory } from '../../server/contracts/crm-settings';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { CrmRulesRepository } from '../../server/services/crm-rules/ports';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import { createSqliteCrmRulesRepository } from '../../server/storage/crm-rules-repository';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { createPgCrmRulesStore } from '../../server/storage/pg/crm-rules-store';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['crm_rules_settings', 'crm_directory'];

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

async function addPortal(store: TestStore, memberId: string): Promise<void> {
  await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x') ON CONFLICT (member_id) DO NOTHING`, [memberId]);
}

const off: CrmRulesSettings = defaultCrmRulesSettings('chats');
const on: CrmRulesSettings = { ...defaultCrmRulesSettings('chats'), enabled: true, createEntities: false, templates: { lead: 'Чат {{channel_name}}', deal: '' } };
const offlineOn: CrmRulesSettings = { ...defaultCrmRulesSettings('offline'), enabled: true, createEntities: false };

const directory = (fetchedAt: string, name = 'Иван'): CrmDirectory => ({
  leadStatuses: [{ id: 'NEW', name: 'Новый', semantics: 'process' }],
  dealCategories: [{ id: 0, name: 'Общая', stages: [{ id: 'C0:NEW', name: 'Новая', semantics: 'process' }] }],
  users: [{ id: 1, name, lastName: 'Петров', email: null }],
  fields: { lead: [{ id: 'TITLE', name: 'Название', custom: false }], deal: [], contact: [], company: [] },
  fetchedAt,
});

forEachStore('crm rules store', (store) => {
  let now = T0;
  let repo: AsyncPort<CrmRulesRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<CrmRulesRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear(...TABLES);
    for (const m of ['p1', 'p2', 'P3', 'p3']) await addPortal(store, m);
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqliteCrmRulesRepository(store.sqlite, () => now)) : createPgCrmRulesStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const iso = (t: number) => new Date(t).toISOString();

  it('rules: none until saved, then the last saved with its time (ISO); each tab its own', async () => {
    expect(await repo.get('p1', 'chats')).toBeNull();
    await repo.save('p1', 'chats', off);
    expect(await repo.get('p1', 'chats')).toEqual({ settings: off, updatedAt: iso(T0) });
    expect(await repo.get('p1', 'offline')).toBeNull();
    expect(await repo.get('p2', 'chats')).toBeNull();
    now += 1000;
    await repo.save('p1', 'chats', on);
    await repo.save('p1', 'offline', offlineOn);
    expect(await repo.get('p1', 'chats')).toEqual({ settings: on, updatedAt: iso(T0 + 1000) });
    expect(await repo.get('p1', 'offline')).toEqual({ settings: offlineOn, updatedAt: iso(T0 + 1000) });
  });

  it("removeChannel: one channel unticked in the saved rules, the rest kept, with the time; false (nothing written) when it is not ticked or nothing is saved", async () => {
    expect(await repo.removeChannel('p1', 'chats', 'telegram')).toBe(false);
    expect(await repo.get('p1', 'chats')).toBeNull();
    await repo.save('p1', 'chats', on);
    await repo.save('p1', 'offline', { ...offlineOn, channels: ['telegram'] });
    now += 1000;
    expect(await repo.removeChannel('p1', 'chats', 'telegram')).toBe(true);
    expect(await repo.get('p1', 'chats')).toEqual({ settings: { ...on, channels: on.channels.filter((c) => c !== 'telegram') }, updatedAt: iso(T0 + 1000) });
    expect((await repo.get('p1', 'offline'))?.settings.channels).toEqual(['telegram']); // the other tab untouched
    now += 1000;
    expect(await repo.removeChannel('p1', 'chats', 'telegram')).toBe(false);
    expect((await repo.get('p1', 'chats'))?.updatedAt).toBe(iso(T0 + 1000));
    // U+0000 in a template survives the rewrite on both stores
    await repo.save('p2', 'chats', { ...on, templates: { lead: 'a\u0000b', deal: '' } });
    expect(await repo.removeChannel('p2', 'chats', 'whatsapp')).toBe(true);
    expect((await repo.get('p2', 'chats'))?.settings).toEqual({ ...on, templates: { lead: 'a\u0000b', deal: '' }, channels: on.channels.filter((c) => c !== 'whatsapp') });
  });

  it("removeChannel beside an admin's saves from another instance at once (on PostgreSQL two pools): the admin's save stands whole, the channel unticked when the save came first", async () => {
    for (let round = 0; round < 10; round++) {
      await repo.save('p1', 'chats', on);
      const admin: CrmRulesSettings = { ...on, templates: { lead: `round ${round}`, deal: '' } };
      await Promise.all([repo.removeChannel('p1', 'chats', 'telegram'), other.save('p1', 'chats', admin)]);
      const got = (await repo.get('p1', 'chats'))!.settings;
      expect([admin, { ...admin, channels: admin.channels.filter((c) => c !== 'telegram') }]).toContainEqual(got);
    }
  });

  it('rules that no longer parse are refused on read (as SQLite always did)', async () => {
    await run(store, `INSERT INTO crm_rules_settings (member_id, kind, settings, updated_at) VALUES ('p1', 'chats', '{"enabled":true}', 'x')`);
    await expect(repo.get('p1', 'chats')).rejects.toThrow();
    expect(await repo.isEnabled('p1', 'chats')).toBe(true); // the switch alone is still read
  });

  it('the switch: off until saved on; the portals with a tab on, per tab', async () => {
    expect(await repo.isEnabled('p1', 'chats')).toBe(false);
    expect(await repo.enabledPortals('chats')).toEqual([]);
    await repo.save('p3', 'chats', on);
    await repo.save('p1', 'chats', on);
    await repo.save('p2', 'chats', off);
    await repo.save('P3', 'chats', on);
    await repo.save('p2', 'offline', offlineOn);
    expect(await repo.isEnabled('p1', 'chats')).toBe(true);
    expect(await repo.isEnabled('p1', 'offline')).toBe(false);
    expect(await repo.isEnabled('p2', 'chats')).toBe(false);
    expect(await repo.isEnabled('p2', 'offline')).toBe(true);
    expect((await repo.enabledPortals('chats')).sort()).toEqual(['P3', 'p1', 'p3']);
    expect(await repo.enabledPortals('offline')).toEqual(['p2']);
    await repo.save('p1', 'chats', off);
    expect(await repo.isEnabled('p1', 'chats')).toBe(false);
    expect((await repo.enabledPortals('chats')).sort()).toEqual(['P3', 'p3']);
  });

  it('the switch as json_extract reads it: true or 1 is on; "1", false, 0 and none are off', async () => {
    const put = (m: string, kind: string, json: string) => run(store, `INSERT INTO crm_rules_settings (member_id, kind, settings, updated_at) VALUES (?, ?, ?, 'x')`, [m, kind, json]);
    await put('p1', 'chats', '{"enabled":1}');
    await put('p2', 'chats', '{"enabled":"1"}');
    await put('p3', 'chats', '{"enabled":0}');
    await put('P3', 'chats', '{"other":true}');
    await put('p1', 'offline', '{"enabled":false}');
    expect(await repo.isEnabled('p1', 'chats')).toBe(true);
    for (const m of ['p2', 'p3', 'P3']) expect(await repo.isEnabled(m, 'chats')).toBe(false);
    expect(await repo.isEnabled('p1', 'offline')).toBe(false);
    expect(await repo.enabledPortals('chats')).toEqual(['p1']);
    expect(await repo.enabledPortals('offline')).toEqual([]);
  });

  it('U+0000 in the rules (a template) is kept on both: JSON escapes it, and the switch is still read', async () => {
    const withNul: CrmRulesSettings = { ...on, templates: { lead: 'a\u0000b', deal: '' } };
    await repo.save('p1', 'chats', withNul);
    expect((await repo.get('p1', 'chats'))?.settings).toEqual(withNul);
    expect(await repo.isEnabled('p1', 'chats')).toBe(true);
    expect(await repo.enabledPortals('chats')).toEqual(['p1']);
  });

  it('directory: none until saved, then the last saved; an older shape reads as none; U+0000 in a name kept (JSON)', async () => {
    expect(await repo.getDirectory('p1')).toBeNull();
    await repo.saveDirectory('p1', directory(iso(T0)));
    expect(await repo.getDirectory('p1')).toEqual(directory(iso(T0)));
    expect(await repo.getDirectory('p2')).toBeNull();
    await repo.saveDirectory('p1', directory(iso(T0 + 5000), 'a\u0000b'));
    expect(await repo.getDirectory('p1')).toEqual(directory(iso(T0 + 5000), 'a\u0000b'));
    expect(await run(store, 'SELECT fetched_at FROM crm_directory')).toEqual([{ fetched_at: iso(T0 + 5000) }]);
    await run(store, `UPDATE crm_directory SET data = '{"users":[]}' WHERE member_id = 'p1'`);
    expect(await repo.getDirectory('p1')).toBeNull();
    // a fetchedAt with U+0000 (not an ISO time, but a string): stored, PostgreSQL's column with U+FFFD
    await repo.saveDirectory('p2', directory('x\u0000'));
    expect((await repo.getDirectory('p2'))?.fetchedAt).toBe('x\u0000');
    expect(await run(store, `SELECT fetched_at FROM crm_directory WHERE member_id = 'p2'`)).toEqual([{ fetched_at: store.name === 'sqlite' ? 'x\u0000' : 'x\uFFFD' }]);
  });

  it('two instances (on PostgreSQL two pools) saving one portal\'s rules and directory at once: no error, one save stands whole', async () => {
    for (let round = 0; round < 5; round++) {
      const variants = Array.from({ length: 8 }, (_, i): CrmRulesSettings => ({ ...on, templates: { lead: `v${round}-${i}`, deal: `v${round}-${i}` } }));
      await Promise.all(variants.map((s, i) => (i % 2 ? other : repo).save('p1', 'chats', s)));
      const got = (await repo.get('p1', 'chats'))!.settings;
      expect(variants).toContainEqual(got);
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : repo).saveDirectory('p1', directory(`t${i}`, `n${i}`))));
      const d = (await other.getDirectory('p1'))!;
      expect(d.users[0]!.name).toBe(`n${d.fetchedAt.slice(1)}`);
    }
    expect(await run(store, `SELECT COUNT(*) AS n FROM crm_rules_settings`)).toEqual([{ n: 1 }]);
  });
});
