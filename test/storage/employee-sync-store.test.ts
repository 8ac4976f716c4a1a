/**
 * The employee sync store contract (issue #12): the same cases against the SQLite repository
 * (migrations 010, 011, 022, through asyncPort) and the PostgreSQL store (migrations-pg/010, 011,
 * 022) — settings with the next daily time and the last status import (a save keeps a daily time
 * already scheduled, decided in its one statement), the scheduled portals, the
 * Bitrix24 user ⇄ UIS employee mapping replaced whole and looked up both ways, the imported
 * statuses, the runs (one running per portal, progress, finish, the latest and the latest result,
 * interrupted ones failed), fractional times, U+0000 in free text. And two instances (on PostgreSQL
 * two pools, their own connections) at once: starting one portal's run (exactly one starts),
 * replacing its mapping (one mapping stands whole), saving the settings beside a daily run moving
 * the next time (the moved time stays). Time is a hand-moved number, never the wall
 * clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { EmployeeSyncResult, EmployeeSyncSettings, StatusImportView } from '../../server/contracts/employee-sync';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { EmployeeMapping, EmployeeSyncRepository } from '../../server/services/employee-sync/ports';
import { createSqliteEmployeeSyncRepository } from '../../server/storage/employee-sync-repository';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { createPgEmployeeSyncStore } from '../../server/storage/pg/employee-sync-store';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['employee_sync_settings', 'employee_map', 'employee_sync_runs', 'employee_status_import'];

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

const settings = (over: Partial<EmployeeSyncSettings> = {}): EmployeeSyncSettings => ({ importStatuses: false, dailySync: false, userIds: [], ...over });
const result = (b24UserId = 1): EmployeeSyncResult => ({
  pairs: [{ b24UserId, b24Name: 'Иван Петров', uisEmployeeId: 10 + b24UserId, uisName: 'Иван Петров', matchedBy: 'email', updated: ['email'] }],
  unmatchedB24: [{ b24UserId: 9, name: 'Без Фамилии', email: null, reason: 'no_last_name' }],
  unmatchedUis: [],
  noLastName: [],
  problems: [],
});
const map = (b24UserId: number, uisEmployeeId: number, matchedBy: EmployeeMapping['matchedBy'] = 'email'): EmployeeMapping => ({ b24UserId, uisEmployeeId, matchedBy });

forEachStore('employee sync store', (store) => {
  let now = T0;
  let repo: AsyncPort<EmployeeSyncRepository>;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: AsyncPort<EmployeeSyncRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear(...TABLES);
    for (const m of ['p1', 'p2', 'p3']) await addPortal(store, m);
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqliteEmployeeSyncRepository(store.sqlite, () => now)) : createPgEmployeeSyncStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const iso = (t: number) => new Date(t).toISOString();

  it('settings: none until saved; the next daily time and the last status import kept with them; a save replaces settings and time, not the import', async () => {
    expect(await repo.getSettings('p1')).toBeNull();
    await repo.saveSettings('p1', settings({ dailySync: true, userIds: [3, 1] }), T0 + 86_400_000);
    expect(await repo.getSettings('p1')).toEqual({ settings: settings({ dailySync: true, userIds: [3, 1] }), nextDailyAt: T0 + 86_400_000, statusImport: null });
    const imported: StatusImportView = { at: iso(T0), updated: 3, unchanged: 4, error: null };
    await repo.setStatusImport('p1', imported);
    await repo.setNextDailyAt('p1', null);
    expect(await repo.getSettings('p1')).toEqual({ settings: settings({ dailySync: true, userIds: [3, 1] }), nextDailyAt: null, statusImport: imported });
    await repo.setNextDailyAt('p1', T0 + 5);
    expect((await repo.getSettings('p1'))?.nextDailyAt).toBe(T0 + 5);
    now += 1000;
    await repo.saveSettings('p1', settings({ importStatuses: true }), null);
    expect(await repo.getSettings('p1')).toEqual({ settings: settings({ importStatuses: true }), nextDailyAt: null, statusImport: imported });
    expect(await run(store, `SELECT updated_at FROM employee_sync_settings`)).toEqual([{ updated_at: iso(T0 + 1000) }]);
    // no settings row: nothing to update
    await repo.setNextDailyAt('p2', T0);
    await repo.setStatusImport('p2', imported);
    expect(await repo.getSettings('p2')).toBeNull();
  });

  it('settings save and the daily schedule in one statement: a time already scheduled with the daily sync on is kept (a daily run moved it meanwhile); switched on now takes the first time given; off clears it', async () => {
    await repo.saveSettings('p1', settings({ dailySync: true }), T0 + 100);
    expect((await repo.getSettings('p1'))?.nextDailyAt).toBe(T0 + 100);
    await other.setNextDailyAt('p1', T0 + 86_400_000); // the worker ran the daily sync and scheduled the next
    await repo.saveSettings('p1', settings({ dailySync: true, importStatuses: true, userIds: [2] }), T0 + 200);
    expect(await repo.getSettings('p1')).toMatchObject({ settings: settings({ dailySync: true, importStatuses: true, userIds: [2] }), nextDailyAt: T0 + 86_400_000 });
    // daily on but no time scheduled (cleared): the first time given
    await repo.setNextDailyAt('p1', null);
    await repo.saveSettings('p1', settings({ dailySync: true }), T0 + 300);
    expect((await repo.getSettings('p1'))?.nextDailyAt).toBe(T0 + 300);
    // off: cleared, whatever is given; on again: the first time given, not the one stored while off
    await repo.saveSettings('p1', settings(), null);
    expect((await repo.getSettings('p1'))?.nextDailyAt).toBeNull();
    await repo.setNextDailyAt('p1', T0 + 5); // a late daily run of the worker that read the settings on
    await repo.saveSettings('p1', settings({ dailySync: true }), T0 + 400);
    expect((await repo.getSettings('p1'))?.nextDailyAt).toBe(T0 + 400);
  });

  it('settings save beside a daily run moving the next time at once (on PostgreSQL two pools): the moved time is never undone', async () => {
    for (let round = 0; round < 10; round++) {
      await repo.saveSettings('p1', settings(), null);
      await repo.saveSettings('p1', settings({ dailySync: true }), T0 + round);
      const moved = T0 + 86_400_000 + round;
      await Promise.all([repo.saveSettings('p1', settings({ dailySync: true, importStatuses: round % 2 === 0 }), T0 + 999), other.setNextDailyAt('p1', moved)]);
      expect((await repo.getSettings('p1'))?.nextDailyAt).toBe(moved);
    }
  });

  it('settings that no longer parse are refused on read (as SQLite always did)', async () => {
    await run(store, `INSERT INTO employee_sync_settings (member_id, settings, updated_at) VALUES ('p1', '{"importStatuses":true}', 'x')`);
    await expect(repo.getSettings('p1')).rejects.toThrow();
    await expect(repo.scheduledPortals()).rejects.toThrow();
  });

  it('scheduled portals: those with the status import or the daily sync on', async () => {
    expect(await repo.scheduledPortals()).toEqual([]);
    await repo.saveSettings('p3', settings({ importStatuses: true }), null);
    await repo.saveSettings('p1', settings({ dailySync: true }), T0 + 10);
    await repo.saveSettings('p2', settings(), T0);
    const got = (await repo.scheduledPortals()).sort((a, b) => a.memberId.localeCompare(b.memberId));
    expect(got).toEqual([
      { memberId: 'p1', settings: settings({ dailySync: true }), nextDailyAt: T0 + 10 },
      { memberId: 'p3', settings: settings({ importStatuses: true }), nextDailyAt: null },
    ]);
  });

  it('mapping: replaced whole, read by Bitrix24 user, looked up both ways; another portal untouched', async () => {
    expect(await repo.mappings('p1')).toEqual([]);
    expect(await repo.uisEmployeeFor('p1', 1)).toBeNull();
    await repo.replaceMappings('p1', [map(3, 30, 'name'), map(1, 10), map(2, 20, 'extension')]);
    await repo.replaceMappings('p2', [map(1, 99, 'created')]);
    expect(await repo.mappings('p1')).toEqual([map(1, 10), map(2, 20, 'extension'), map(3, 30, 'name')]);
    expect(await repo.uisEmployeeFor('p1', 2)).toBe(20);
    expect(await repo.b24UserFor('p1', 30)).toBe(3);
    expect(await repo.b24UserFor('p1', 99)).toBeNull();
    expect(await repo.uisEmployeeFor('p2', 1)).toBe(99);
    now += 1000;
    await repo.replaceMappings('p1', [map(2, 10, 'created')]); // employee 10 now someone else's
    expect(await repo.mappings('p1')).toEqual([map(2, 10, 'created')]);
    expect(await repo.uisEmployeeFor('p1', 1)).toBeNull();
    expect(await repo.b24UserFor('p1', 10)).toBe(2);
    expect(await run(store, `SELECT updated_at FROM employee_map WHERE member_id = 'p1'`)).toEqual([{ updated_at: iso(T0 + 1000) }]);
    expect(await repo.mappings('p2')).toEqual([map(1, 99, 'created')]);
    // a mapping breaking the one-to-one rule is refused whole: the previous one stands
    await expect(repo.replaceMappings('p1', [map(5, 50), map(6, 50)])).rejects.toThrow();
    expect(await repo.mappings('p1')).toEqual([map(2, 10, 'created')]);
    await repo.replaceMappings('p1', []);
    expect(await repo.mappings('p1')).toEqual([]);
    const many = Array.from({ length: 2500 }, (_, i) => map(i + 1, 100_000 + i));
    await repo.replaceMappings('p1', many);
    expect(await repo.mappings('p1')).toEqual(many);
  });

  it('imported statuses: none before the first import; the last one per user', async () => {
    expect(await repo.importedStatus('p1', 1)).toBeNull();
    await repo.setImportedStatus('p1', 1, 'available');
    await repo.setImportedStatus('p1', 2, 'away');
    await repo.setImportedStatus('p1', 1, 'do_not_disturb');
    expect(await repo.importedStatus('p1', 1)).toBe('do_not_disturb');
    expect(await repo.importedStatus('p1', 2)).toBe('away');
    expect(await repo.importedStatus('p2', 1)).toBeNull();
  });

  it('runs: one running per portal; progress; finished with a result or an error; the latest run and the latest result', async () => {
    expect(await repo.latestRun('p1')).toBeNull();
    expect(await repo.latestResult('p1')).toBeNull();
    const first = await repo.startRun('p1', 'manual');
    expect(first).toEqual({ id: expect.any(Number), trigger: 'manual', status: 'running', progress: { done: 0, total: 0 }, startedAt: iso(T0), finishedAt: null, error: null, result: null });
    expect(await repo.startRun('p1', 'daily')).toBeNull();
    const elsewhere = await repo.startRun('p2', 'daily');
    expect(elsewhere).toMatchObject({ trigger: 'daily', status: 'running' });
    await repo.progress(first!.id, 2, 7);
    expect((await repo.latestRun('p1'))?.progress).toEqual({ done: 2, total: 7 });
    now += 1000;
    await repo.finishRun(first!.id, { result: result() });
    const done = { ...first!, status: 'done', progress: { done: 7, total: 7 }, finishedAt: iso(T0 + 1000), result: result() };
    expect(await repo.latestRun('p1')).toEqual(done);
    expect(await repo.latestResult('p1')).toEqual(done);
    now += 1000;
    const next = await repo.startRun('p1', 'daily');
    expect(next!.id).toBeGreaterThan(first!.id);
    expect(await repo.latestRun('p1')).toMatchObject({ id: next!.id, status: 'running' });
    expect(await repo.latestResult('p1')).toEqual(done); // shown while the new run works
    await repo.progress(next!.id, 1, 3);
    await repo.finishRun(next!.id, { error: 'UIS_UNAVAILABLE: 503' });
    expect(await repo.latestRun('p1')).toEqual({ ...next!, status: 'failed', progress: { done: 3, total: 3 }, finishedAt: iso(T0 + 2000), error: 'UIS_UNAVAILABLE: 503', result: null });
    expect(await repo.latestResult('p1')).toEqual(done);
    expect(await repo.latestRun('p3')).toBeNull();
  });

  it('interrupted runs: every running one failed, or one portal\'s only; the portals with a run running', async () => {
    expect(await repo.runningPortals()).toEqual([]);
    const a = await repo.startRun('p1', 'manual');
    await repo.startRun('p2', 'daily');
    await repo.startRun('p3', 'daily');
    await repo.finishRun((await repo.latestRun('p3'))!.id, { result: result() });
    expect((await repo.runningPortals()).sort()).toEqual(['p1', 'p2']);
    now += 500;
    expect(await repo.failInterrupted('Interrupted: the instance stopped', 'p1')).toBe(1);
    expect(await repo.latestRun('p1')).toEqual({ ...a!, status: 'failed', finishedAt: iso(T0 + 500), error: 'Interrupted: the instance stopped' });
    expect(await repo.runningPortals()).toEqual(['p2']);
    expect(await repo.failInterrupted('Interrupted', 'p1')).toBe(0);
    expect(await repo.failInterrupted('Interrupted')).toBe(1);
    expect(await repo.latestRun('p2')).toMatchObject({ status: 'failed', error: 'Interrupted' });
    expect(await repo.latestRun('p3')).toMatchObject({ status: 'done', error: null });
    expect(await repo.runningPortals()).toEqual([]);
    expect(await repo.startRun('p1', 'manual')).not.toBeNull(); // a failed run does not block the next
  });

  it('a fractional clock (a scaled one): the next daily time is stored', async () => {
    await repo.saveSettings('p1', settings({ dailySync: true }), T0 + 0.6);
    expect(Math.abs((await repo.getSettings('p1'))!.nextDailyAt! - (T0 + 0.6))).toBeLessThanOrEqual(0.5);
    await repo.setNextDailyAt('p1', T0 + 10.4);
    expect(Math.abs((await repo.getSettings('p1'))!.nextDailyAt! - (T0 + 10.4))).toBeLessThanOrEqual(0.5);
  });

  it('U+0000 in free text (an error, a reason, a status) is stored: PostgreSQL writes U+FFFD; JSON keeps it', async () => {
    const nul = store.name === 'sqlite' ? '\u0000' : '\uFFFD';
    const r1 = await repo.startRun('p1', 'manual');
    await repo.finishRun(r1!.id, { error: 'E: a\u0000b' });
    expect((await repo.latestRun('p1'))?.error).toBe(`E: a${nul}b`);
    await repo.startRun('p2', 'manual');
    expect(await repo.failInterrupted('why\u0000')).toBe(1);
    expect((await repo.latestRun('p2'))?.error).toBe(`why${nul}`);
    await repo.setImportedStatus('p1', 1, 'st\u0000');
    expect(await repo.importedStatus('p1', 1)).toBe(`st${nul}`);
    const r2 = await repo.startRun('p1', 'manual');
    const withNul = { ...result(), problems: ['x\u0000y'] };
    await repo.finishRun(r2!.id, { result: withNul });
    expect((await repo.latestResult('p1'))?.result).toEqual(withNul);
    await repo.saveSettings('p1', settings(), null);
    await repo.setStatusImport('p1', { at: iso(T0), updated: 0, unchanged: 0, error: 'e\u0000' });
    expect((await repo.getSettings('p1'))?.statusImport?.error).toBe('e\u0000');
  });

  it('two instances (on PostgreSQL 8 calls over two pools) starting one portal\'s run at once: exactly one starts', async () => {
    for (let round = 0; round < 10; round++) {
      const started = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : repo).startRun('p1', i % 3 ? 'daily' : 'manual')));
      const winners = started.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(await repo.latestRun('p1')).toEqual(winners[0]);
      await repo.finishRun(winners[0]!.id, { result: result(round + 1) });
    }
    expect(await run(store, `SELECT COUNT(*) AS n FROM employee_sync_runs`)).toEqual([{ n: 10 }]);
  });

  it("two instances (on PostgreSQL two pools) replacing one portal's mapping at once: no error, one mapping stands whole", async () => {
    for (let round = 0; round < 10; round++) {
      // every variant pairs the same employees with other users, so two mixed would collide
      const variants = Array.from({ length: 6 }, (_, v) => Array.from({ length: 50 }, (_, i) => map(1000 * v + i + 1, i + 1)));
      await Promise.all(variants.map((rows, v) => (v % 2 ? other : repo).replaceMappings('p1', rows)));
      const got = await other.mappings('p1');
      expect(variants).toContainEqual(got);
    }
  });
});
