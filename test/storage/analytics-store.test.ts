/**
 * The «Аналитика» store contract (issue #12): the same cases against the SQLite repository
 * (migration 005, through asyncPort) and the PostgreSQL store (migrations-pg/005) — settings found
 * by portal and by hook (the hook id kept), one job per lead or deal, the due jobs (pending, and
 * uploaded ones due for a re-check), patches, the next due time, the enabled portals, the latest
 * jobs, fractional times, U+0000 in free text. And two instances (on PostgreSQL two pools, their
 * own connections) enqueuing one event at once: one job, exactly one of them told it is new. Time
 * is a hand-moved number, never the wall clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { AnalyticsSettings } from '../../server/contracts/analytics';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { AnalyticsRepository } from '../../server/services/ports';
import { createSqliteAnalyticsRepository } from '../../server/storage/analytics-repository';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { createPgAnalyticsStore } from '../../server/storage/pg/analytics-store';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['analytics_jobs', 'analytics_settings'];

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

const off: AnalyticsSettings = {
  enabled: false,
  employeeId: null,
  trafficType: 'source',
  defaults: { sourceId: null, siteId: null, campaignId: null },
  messengers: {},
  webhookToken: null,
};
const on: AnalyticsSettings = { ...off, enabled: true, employeeId: 7, defaults: { sourceId: 1, siteId: 2, campaignId: null }, messengers: { telegrambot: { sourceId: 3, siteId: 2, campaignId: null } }, webhookToken: 'tok' };

forEachStore('analytics store', (store) => {
  let now = T0;
  let repo: AsyncPort<AnalyticsRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<AnalyticsRepository>;

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
      store.sqlite ? asyncPort(createSqliteAnalyticsRepository(store.sqlite, () => now)) : createPgAnalyticsStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const iso = (t: number) => new Date(t).toISOString();

  it('settings: none until saved; found by portal and by hook; a save replaces the settings and keeps the first hook id', async () => {
    expect(await repo.getSettings('p1')).toBeNull();
    expect(await repo.getByHook('h1')).toBeNull();
    await repo.saveSettings('p1', off, 'h1');
    expect(await repo.getSettings('p1')).toEqual({ settings: off, hookId: 'h1' });
    expect(await repo.getByHook('h1')).toEqual({ memberId: 'p1', settings: off });
    now += 1000;
    await repo.saveSettings('p1', on, 'h-other');
    expect(await repo.getSettings('p1')).toEqual({ settings: on, hookId: 'h1' });
    expect(await repo.getByHook('h1')).toEqual({ memberId: 'p1', settings: on });
    expect(await repo.getByHook('h-other')).toBeNull();
    expect(await run(store, 'SELECT updated_at FROM analytics_settings')).toEqual([{ updated_at: iso(now) }]);
    // a hook id is one portal's
    await expect(repo.saveSettings('p2', on, 'h1')).rejects.toThrow();
    expect(await repo.getSettings('p2')).toBeNull();
  });

  it('settings that no longer parse are refused on read (as SQLite always did)', async () => {
    await run(store, `INSERT INTO analytics_settings (member_id, settings, hook_id, updated_at) VALUES ('p1', '{"enabled":true}', 'h1', 'x')`);
    await expect(repo.getSettings('p1')).rejects.toThrow();
    await expect(repo.getByHook('h1')).rejects.toThrow();
  });

  it('enabled portals: those whose settings have it on', async () => {
    expect(await repo.enabledPortals()).toEqual([]);
    await repo.saveSettings('p3', on, 'h3');
    await repo.saveSettings('p1', on, 'h1');
    await repo.saveSettings('p2', off, 'h2');
    await repo.saveSettings('P3', on, 'h4');
    expect((await repo.enabledPortals()).sort()).toEqual(['P3', 'p1', 'p3']);
    await repo.saveSettings('p1', off, 'h1');
    expect((await repo.enabledPortals()).sort()).toEqual(['P3', 'p3']);
  });

  it('one job per lead or deal: a repeat of the event is refused and changes nothing', async () => {
    expect(await repo.enqueue('p1', 'lead', 1, T0 + 500)).toBe(true);
    now += 10;
    expect(await repo.enqueue('p1', 'lead', 1, T0 + 900)).toBe(false);
    expect(await repo.enqueue('p1', 'deal', 1, T0 + 600)).toBe(true); // another type
    expect(await repo.enqueue('p2', 'lead', 1, T0 + 600)).toBe(true); // another portal
    const jobs = await repo.recent('p1', 10);
    expect(jobs).toEqual([
      { id: expect.any(Number), memberId: 'p1', entityType: 'deal', entityId: 1, status: 'pending', attempts: 0, dueAt: T0 + 600, createdAt: now, chatId: null, attribution: null, reason: null, recheckAt: null, updatedAt: iso(now) },
      { id: expect.any(Number), memberId: 'p1', entityType: 'lead', entityId: 1, status: 'pending', attempts: 0, dueAt: T0 + 500, createdAt: T0, chatId: null, attribution: null, reason: null, recheckAt: null, updatedAt: iso(T0) },
    ]);
    expect(jobs[0]!.id).toBeGreaterThan(jobs[1]!.id);
  });

  it('due: pending jobs due now and uploaded ones due for a re-check, by due time then id, up to the limit; the portals with work due; the next due time', async () => {
    expect(await repo.nextDueAt()).toBeNull();
    expect(await repo.portalsWithDueJobs(T0 + 10_000)).toEqual([]);
    await repo.enqueue('p1', 'lead', 3, T0 + 300);
    await repo.enqueue('p1', 'deal', 2, T0 + 100);
    await repo.enqueue('p1', 'lead', 1, T0 + 300);
    await repo.enqueue('p1', 'lead', 4, T0 + 900);
    await repo.enqueue('p2', 'deal', 5, T0 + 50);
    const ids = async (at: number, limit = 10) => (await repo.due('p1', at, limit)).map((j) => `${j.entityType}${j.entityId}`);
    expect(await ids(T0 + 300)).toEqual(['deal2', 'lead3', 'lead1']); // lead3 was enqueued first: the lower id
    expect(await ids(T0 + 300, 2)).toEqual(['deal2', 'lead3']);
    expect(await ids(T0 + 99)).toEqual([]);
    expect((await repo.portalsWithDueJobs(T0 + 100)).sort()).toEqual(['p1', 'p2']);
    expect(await repo.portalsWithDueJobs(T0 + 99)).toEqual(['p2']);
    expect(await repo.portalsWithDueJobs(T0 + 49)).toEqual([]);
    expect(await repo.nextDueAt()).toBe(T0 + 50);

    const byEntity = async (m: string, id: number) => (await repo.recent(m, 100)).find((j) => j.entityId === id)!;
    // uploaded with a re-check: due again at the re-check, whatever its due time
    await repo.update((await byEntity('p2', 5)).id, { status: 'uploaded', recheckAt: T0 + 5000 });
    await repo.update((await byEntity('p1', 2)).id, { status: 'skipped', reason: 'NO_CONTACT: none' });
    await repo.update((await byEntity('p1', 3)).id, { status: 'uploaded', recheckAt: null }); // no re-check: never due again
    expect(await repo.nextDueAt()).toBe(T0 + 300);
    expect(await ids(T0 + 1000)).toEqual(['lead1', 'lead4']);
    expect(await repo.portalsWithDueJobs(T0 + 1000)).toEqual(['p1']);
    expect(await repo.portalsWithDueJobs(T0 + 5000)).toEqual(expect.arrayContaining(['p1', 'p2']));
    expect((await repo.due('p2', T0 + 4999, 10)).length).toBe(0);
    expect((await repo.due('p2', T0 + 5000, 10)).map((j) => j.entityId)).toEqual([5]);
    for (const id of [1, 4]) await repo.update((await byEntity('p1', id)).id, { status: 'failed' });
    expect(await repo.nextDueAt()).toBe(T0 + 5000); // only the re-check is left
    await repo.update((await byEntity('p1', 4)).id, { status: 'uploaded', recheckAt: T0 + 4000 });
    expect(await repo.nextDueAt()).toBe(T0 + 4000);
    await repo.update((await byEntity('p1', 1)).id, { status: 'pending', dueAt: T0 + 3000 });
    expect(await repo.nextDueAt()).toBe(T0 + 3000);
  });

  it('update: only the fields given, null clears, the time of the change recorded; an empty patch changes nothing; another job untouched', async () => {
    await repo.enqueue('p1', 'lead', 1, T0 + 100);
    await repo.enqueue('p1', 'lead', 2, T0 + 100);
    const [second1, first] = await repo.recent('p1', 10);
    now += 1000;
    await repo.update(first!.id, { attempts: 1, dueAt: T0 + 5000, reason: 'HTTP_503: busy', chatId: 77, attribution: 'session' });
    now += 1000;
    await repo.update(first!.id, { status: 'uploaded', reason: null, recheckAt: T0 + 9000 });
    now += 1000;
    await repo.update(first!.id, {}); // nothing, not even the time
    expect((await repo.recent('p1', 10)).find((j) => j.id === first!.id)).toEqual({
      ...first,
      status: 'uploaded',
      attempts: 1,
      dueAt: T0 + 5000,
      chatId: 77,
      attribution: 'session',
      reason: null,
      recheckAt: T0 + 9000,
      updatedAt: iso(T0 + 2000),
    });
    expect((await repo.recent('p1', 10)).find((j) => j.id === second1!.id)).toEqual(second1);
    await repo.update(first!.id, { chatId: null, attribution: undefined });
    expect((await repo.recent('p1', 10)).find((j) => j.id === first!.id)).toMatchObject({ chatId: null, attribution: null, updatedAt: iso(now) });
    await repo.update(999_999, { status: 'failed' }); // no such job: nothing
    expect(await repo.recent('p1', 10)).toHaveLength(2);
  });

  it('recent: the newest job first, this portal only, up to the limit', async () => {
    for (const id of [5, 3, 9]) await repo.enqueue('p1', 'lead', id, T0);
    await repo.enqueue('p2', 'lead', 1, T0);
    expect((await repo.recent('p1', 10)).map((j) => j.entityId)).toEqual([9, 3, 5]);
    expect((await repo.recent('p1', 2)).map((j) => j.entityId)).toEqual([9, 3]);
    expect((await repo.recent('p2', 10)).map((j) => j.entityId)).toEqual([1]);
    expect(await repo.recent('p3', 10)).toEqual([]);
  });

  it('a fractional clock (a scaled one) is taken: times are written, the due jobs found', async () => {
    now = T0 + 0.6;
    expect(await repo.enqueue('p1', 'lead', 1, T0 + 100.5)).toBe(true);
    expect(await repo.due('p1', T0 + 100.4, 10)).toEqual([]);
    const [job] = await repo.due('p1', T0 + 101, 10);
    expect(job?.entityId).toBe(1);
    expect(await repo.portalsWithDueJobs(T0 + 101)).toEqual(['p1']);
    await repo.update(job!.id, { status: 'uploaded', recheckAt: T0 + 200.5, dueAt: T0 + 150.5 });
    expect(await repo.due('p1', T0 + 200.4, 10)).toEqual([]);
    expect((await repo.due('p1', T0 + 201, 10)).map((j) => j.id)).toEqual([job!.id]);
    expect(await repo.nextDueAt()).toBeGreaterThanOrEqual(T0 + 200);
  });

  it('U+0000 in free text (an attribution, a reason) is stored: PostgreSQL writes U+FFFD', async () => {
    await repo.enqueue('p1', 'lead', 1, T0);
    const [job] = await repo.recent('p1', 1);
    await repo.update(job!.id, { status: 'skipped', reason: 'X: a\u0000b', attribution: '\u0000' });
    const [got] = await repo.recent('p1', 1);
    const nul = store.name === 'sqlite' ? '\u0000' : '\uFFFD';
    expect(got).toMatchObject({ status: 'skipped', reason: `X: a${nul}b`, attribution: nul });
    // settings are JSON: the escape keeps U+0000 on both
    await repo.saveSettings('p1', { ...on, webhookToken: 'a\u0000b' }, 'h1');
    expect((await repo.getSettings('p1'))?.settings.webhookToken).toBe('a\u0000b');
  });

  it('one event arriving at two instances at once (on PostgreSQL: 8 calls over two pools): one job, exactly one of them told it is new', async () => {
    for (let round = 0; round < 10; round++) {
      const told = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : repo).enqueue('p1', round % 2 ? 'deal' : 'lead', round, T0 + i)));
      expect(told.filter(Boolean)).toHaveLength(1);
    }
    const jobs = await repo.recent('p1', 100);
    expect(jobs).toHaveLength(10);
    expect(jobs.every((j) => j.status === 'pending' && j.attempts === 0)).toBe(true);
  });
});
