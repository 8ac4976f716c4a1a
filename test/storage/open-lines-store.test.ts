/**
 * The «Открытые линии» store contract (issue #12 over issue #16's tab), the same cases against the
 * SQLite repository (migration 021) and the PostgreSQL store (migrations-pg/021): the settings and
 * the switch, one job per lead or deal, due jobs in order, patches, the latest jobs — and on
 * PostgreSQL one event arriving at several instances at once (several pool connections): one job,
 * and exactly one of them told it is new. Time is a hand-moved number, never the wall clock.
 */
import { beforeEach, expect, it } from 'vitest';
import { createSqliteOpenLinesRepository } from '../../server/storage/open-lines-repository';
import { createPgOpenLinesStore } from '../../server/storage/pg/open-lines-store';
import type { OpenLinesRepository } from '../../server/services/open-lines/ports';
import type { OpenLinesSettings } from '../../server/contracts/open-lines';
import { forEachStore, type TestStore } from '../support/stores';

const M = 'member-a';
const B = 'member-b';

function repository(store: TestStore, now: () => number): OpenLinesRepository {
  return store.sqlite ? createSqliteOpenLinesRepository(store.sqlite, now) : createPgOpenLinesStore(store.pg!.db, now);
}

async function exec(store: TestStore, q: string): Promise<void> {
  if (store.sqlite) store.sqlite.prepare(q).run();
  else await store.pg!.pool.query(q);
}

const on: OpenLinesSettings = { enabled: true, fields: [{ uisField: 'communication_id', entity: 'lead', b24Field: 'UF_CRM_COMM', alwaysUpdate: false }] };
const off: OpenLinesSettings = { enabled: false, fields: [] };

forEachStore('open-lines store', (store) => {
  let now = 1_700_000_000_000;
  let lines: OpenLinesRepository;
  beforeEach(async () => {
    now = 1_700_000_000_000;
    await store.clear('portals', 'open_lines_settings', 'open_lines_jobs');
    for (const m of [M, B, 'member-C', 'member-c']) {
      await exec(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${m}', 'p.example', 'x', 'x', 'active', 'x', 'x')`);
    }
    lines = repository(store, () => now);
  });

  it('settings: none until saved, then the last saved with its time (ISO); the switch and the portals with it on', async () => {
    expect(await lines.getSettings(M)).toBeNull();
    expect(await lines.isEnabled(M)).toBe(false);
    expect(await lines.enabledPortals()).toEqual([]);
    await lines.saveSettings(M, on);
    expect(await lines.getSettings(M)).toEqual({ settings: on, updatedAt: '2023-11-14T22:13:20.000Z' });
    expect(await lines.isEnabled(M)).toBe(true);
    now += 1000;
    await lines.saveSettings(M, off);
    expect(await lines.getSettings(M)).toEqual({ settings: off, updatedAt: '2023-11-14T22:13:21.000Z' });
    expect(await lines.isEnabled(M)).toBe(false);
    for (const m of ['member-c', B, 'member-C', M]) await lines.saveSettings(m, on);
    await lines.saveSettings(B, off);
    expect(await lines.enabledPortals()).toEqual(['member-C', M, 'member-c']); // byte order
  });

  it('settings that no longer parse read as none', async () => {
    await exec(store, `INSERT INTO open_lines_settings (member_id, settings, enabled, updated_at) VALUES ('${M}', '{"enabled":true,"fields":[],"legacy":1}', 1, 'x')`);
    expect(await lines.getSettings(M)).toBeNull();
    expect(await lines.isEnabled(M)).toBe(true);
  });

  it('one job per lead or deal: a repeat of the event is refused and changes nothing', async () => {
    expect(await lines.enqueue(M, 'lead', 1, 5000)).toBe(true);
    now += 10;
    expect(await lines.enqueue(M, 'lead', 1, 9000)).toBe(false);
    expect(await lines.enqueue(M, 'deal', 1, 6000)).toBe(true); // another type
    expect(await lines.enqueue(B, 'lead', 1, 6000)).toBe(true); // another portal
    expect(await lines.recent(M, 10)).toEqual([
      { memberId: M, entityType: 'deal', entityId: 1, status: 'pending', attempts: 0, dueAt: 6000, createdAt: 6000, uisChatId: null, written: [], reason: null, updatedAt: now },
      { memberId: M, entityType: 'lead', entityId: 1, status: 'pending', attempts: 0, dueAt: 5000, createdAt: 5000, uisChatId: null, written: [], reason: null, updatedAt: now - 10 },
    ]);
  });

  it('due: pending jobs due now, oldest first (then by id), up to the limit; the portals with such jobs; the next due time', async () => {
    expect(await lines.nextDueAt()).toBeNull();
    await lines.enqueue(M, 'lead', 3, 300);
    await lines.enqueue(M, 'deal', 2, 100);
    await lines.enqueue(M, 'lead', 1, 300);
    await lines.enqueue(M, 'lead', 4, 900);
    await lines.enqueue(B, 'deal', 5, 50);
    expect((await lines.due(M, 300, 10)).map((j) => `${j.entityType}${j.entityId}`)).toEqual(['deal2', 'lead1', 'lead3']);
    expect((await lines.due(M, 300, 2)).map((j) => j.entityId)).toEqual([2, 1]);
    expect(await lines.due(M, 99, 10)).toEqual([]);
    expect((await lines.portalsWithDueJobs(100)).sort()).toEqual([M, B]);
    expect(await lines.portalsWithDueJobs(99)).toEqual([B]);
    expect(await lines.portalsWithDueJobs(49)).toEqual([]);
    expect(await lines.nextDueAt()).toBe(50);
    await lines.update({ memberId: B, entityType: 'deal', entityId: 5 }, { status: 'done' });
    await lines.update({ memberId: M, entityType: 'deal', entityId: 2 }, { status: 'skipped', reason: 'NOT_UIS_CHAT: no chat' });
    expect(await lines.nextDueAt()).toBe(300);
    expect((await lines.due(M, 1000, 10)).map((j) => j.entityId)).toEqual([1, 3, 4]);
    expect(await lines.portalsWithDueJobs(1000)).toEqual([M]);
  });

  it('update: only the fields given, null clears, the time of the change recorded; another job untouched', async () => {
    await lines.enqueue(M, 'lead', 1, 100);
    await lines.enqueue(M, 'lead', 2, 100);
    now += 1000;
    await lines.update({ memberId: M, entityType: 'lead', entityId: 1 }, { attempts: 1, dueAt: 5000, reason: 'HTTP_503: busy' });
    now += 1000;
    await lines.update({ memberId: M, entityType: 'lead', entityId: 1 }, { status: 'done', uisChatId: '777', written: ['UF_CRM_COMM', 'TITLE'], reason: null });
    const [job, other] = await lines.recent(M, 10);
    expect(job).toEqual({ memberId: M, entityType: 'lead', entityId: 1, status: 'done', attempts: 1, dueAt: 5000, createdAt: 100, uisChatId: '777', written: ['UF_CRM_COMM', 'TITLE'], reason: null, updatedAt: now });
    expect(other).toMatchObject({ entityId: 2, status: 'pending', attempts: 0, dueAt: 100, reason: null, written: [], updatedAt: now - 2000 });
    now += 1000;
    await lines.update({ memberId: M, entityType: 'lead', entityId: 2 }, {}); // nothing but the time
    expect((await lines.recent(M, 10)).map((j) => [j.entityId, j.updatedAt])).toEqual([
      [2, now],
      [1, now - 1000],
    ]);
    await lines.update({ memberId: M, entityType: 'deal', entityId: 9 }, { status: 'failed' }); // no such job: nothing
    expect(await lines.recent(M, 10)).toHaveLength(2);
  });

  it('recent: the latest changed first (then the higher id), this portal only, up to the limit', async () => {
    for (const id of [1, 2, 3]) await lines.enqueue(M, 'lead', id, 100);
    await lines.enqueue(B, 'lead', 9, 100);
    now += 5;
    await lines.update({ memberId: M, entityType: 'lead', entityId: 1 }, { status: 'failed', reason: 'X: y' });
    expect((await lines.recent(M, 10)).map((j) => j.entityId)).toEqual([1, 3, 2]);
    expect((await lines.recent(M, 2)).map((j) => j.entityId)).toEqual([1, 3]);
    expect((await lines.recent(B, 10)).map((j) => j.entityId)).toEqual([9]);
  });

  it('one event arriving at several instances at once (several connections on PostgreSQL): one job, one of them told it is new', async () => {
    const instances = Array.from({ length: 4 }, () => repository(store, () => now));
    for (let round = 0; round < 10; round++) {
      const told = await Promise.all(Array.from({ length: 8 }, (_, i) => instances[i % 4]!.enqueue(M, round % 2 ? 'deal' : 'lead', round, 100 + i)));
      expect(told.filter(Boolean)).toHaveLength(1);
    }
    const jobs = await lines.recent(M, 100);
    expect(jobs).toHaveLength(10);
    expect(jobs.every((j) => j.status === 'pending' && j.attempts === 0)).toBe(true);
  });
});
