/**
 * The «Телефония» store contract (issue #13's calls, issue #12's shared store), the same cases against
 * the SQLite repository (migration 018) and the PostgreSQL store (migrations-pg/018): settings and
 * the enabled portals, the notification URL's secret (sealed, found by its hash), notifications
 * recorded once and making their call due, reports, the due calls, a run's finish against a newer
 * version, missed-call activities, the reconciliation's cursor, the lines, retention and counts —
 * and on PostgreSQL two instances (two pools) at once: the same notification recorded by exactly
 * one, every fresh notification adding one version, one 'new' report, every recovered call counted.
 * Time is a hand-moved number, never the wall clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createSqliteTelephonyRepository } from '../../server/storage/telephony-repository';
import { createPgTelephonyStore } from '../../server/storage/pg/telephony-store';
import { createSecretBox } from '../../server/storage/secret-box';
import type { PgStore } from '../../server/storage/pg/connection';
import { defaultTelephonySettings } from '../../server/contracts/telephony-settings';
import type { CallNotification, CallReport } from '../../server/domain/telephony/events';
import type { TelephonyRepository } from '../../server/services/telephony/ports';
import { forEachStore, openTestPg, type TestStore } from '../support/stores';

const box = createSecretBox('k'.repeat(40));

function telephonyStore(store: TestStore, now: () => number, pg?: PgStore): TelephonyRepository {
  return store.sqlite ? createSqliteTelephonyRepository(store.sqlite, box, now) : createPgTelephonyStore((pg ?? store.pg!).db, box, now);
}

/** A query without parameters on either store. */
async function rows<T>(store: TestStore, q: string): Promise<T[]> {
  return store.sqlite ? (store.sqlite.prepare(q).all() as T[]) : ((await store.pg!.pool.query(q)).rows as T[]);
}
async function exec(store: TestStore, q: string): Promise<void> {
  if (store.sqlite) store.sqlite.prepare(q).run();
  else await store.pg!.pool.query(q);
}

async function seedPortals(store: TestStore, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    await exec(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${id}', '${id}.bitrix24.ru', 'c', 's', 'active', 't', 't')`);
  }
}

const note = (sessionId: number | null, over: Partial<CallNotification> = {}): CallNotification => ({
  event: 'incoming_call',
  receivedAt: 1_000_000,
  sessionId,
  communicationId: null,
  externalId: null,
  direction: 'in',
  virtualNumber: '74950000101',
  contactPhone: '+7 (916) 000-00-01',
  contactName: null,
  scenarioId: null,
  scenarioName: null,
  startTime: null,
  timestamp: null,
  employeeId: null,
  employeeName: null,
  extension: null,
  legId: null,
  legIds: [],
  employeeIds: [],
  talkSeconds: null,
  totalSeconds: null,
  waitSeconds: null,
  callStatus: null,
  fileLink: null,
  fileDuration: null,
  ...over,
});

const report = (id: number, over: Partial<CallReport> = {}): CallReport => ({
  id,
  communicationId: null,
  direction: 'in',
  startedAt: 900_000,
  finishedAt: 960_000,
  finishReason: 'subscriber_disconnects',
  isLost: false,
  contactPhone: '79160000002',
  contactName: null,
  virtualNumber: '74950000101',
  scenarioId: null,
  scenarioName: null,
  operations: [],
  employees: [{ id: 1, name: 'Анна', answered: true, talked: true }],
  firstTalkedId: 1,
  lastTalkedId: 1,
  talkSeconds: 42,
  recordLink: null,
  recordIds: [],
  externalId: null,
  campaignId: null,
  campaignName: null,
  firstCampaignId: null,
  firstCampaignName: null,
  siteId: null,
  siteName: null,
  sourceId: null,
  sourceName: null,
  utm: {},
  legs: null,
  ...over,
});

const TABLES = ['telephony_settings', 'telephony_hooks', 'telephony_events', 'telephony_event_types', 'telephony_calls', 'telephony_reconcile', 'telephony_lines', 'portals'];

forEachStore('telephony store', (store) => {
  let now = 1_000_000;
  let tel: TelephonyRepository;
  beforeEach(async () => {
    now = 1_000_000;
    await store.clear(...TABLES);
    await seedPortals(store, 'p1', 'p2');
    tel = telephonyStore(store, () => now);
  });

  it('settings: none before a save; saved with the time (ISO); the enabled portals listed; an unreadable shape reads as the defaults', async () => {
    expect(await tel.getSettings('p1')).toBeNull();
    expect(await tel.enabledPortals()).toEqual([]);
    const d = defaultTelephonySettings();
    const on = { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } };
    await tel.saveSettings('p1', on);
    await tel.saveSettings('p2', d);
    expect(await tel.getSettings('p1')).toEqual({ settings: on, updatedAt: new Date(1_000_000).toISOString() });
    expect(await tel.enabledPortals()).toEqual(['p1']);
    now += 5000;
    await tel.saveSettings('p2', on);
    await tel.saveSettings('p1', d);
    expect(await tel.getSettings('p1')).toEqual({ settings: d, updatedAt: new Date(1_005_000).toISOString() });
    expect(await tel.enabledPortals()).toEqual(['p2']);
    await exec(store, `UPDATE telephony_settings SET settings = '{"enabled": "yes"}' WHERE member_id = 'p2'`);
    expect(await tel.getSettings('p2')).toEqual({ settings: d, updatedAt: new Date(1_005_000).toISOString() });
  });

  it("the notification URL's secret: sealed at rest, found by its hash; a new one replaces the old", async () => {
    expect(await tel.hookToken('p1')).toBeNull();
    expect(await tel.memberByHookToken('secret-1')).toBeNull();
    await tel.saveHookToken('p1', 'secret-1');
    expect(await tel.hookToken('p1')).toBe('secret-1');
    expect(await tel.memberByHookToken('secret-1')).toBe('p1');
    const [row] = await rows<{ token_hash: string; token_sealed: string; created_at: string }>(store, `SELECT token_hash, token_sealed, created_at FROM telephony_hooks WHERE member_id = 'p1'`);
    expect(row!.token_hash).toBe(createHash('sha256').update('secret-1').digest('hex'));
    expect(row!.token_sealed).not.toContain('secret-1');
    expect(box.open(row!.token_sealed, 'telephony-hook:p1')).toBe('secret-1');
    expect(row!.created_at).toBe(new Date(1_000_000).toISOString());
    await tel.saveHookToken('p1', 'secret-2');
    expect(await tel.hookToken('p1')).toBe('secret-2');
    expect(await tel.memberByHookToken('secret-1')).toBeNull();
    expect(await tel.memberByHookToken('secret-2')).toBe('p1');
    // sealed for its portal: copied to another portal's row it does not open
    await exec(store, `INSERT INTO telephony_hooks (member_id, token_hash, token_sealed, created_at) VALUES ('p2', 'h', '${row!.token_sealed}', 't')`);
    await expect(tel.hookToken('p2')).rejects.toThrow();
  });

  it('record: a notification once (a repeat is false), counted either way; its call made pending, due, with the number as digits', async () => {
    expect(await tel.record({ memberId: 'p1', notification: note(101), dedupeKey: 'k1' }, 1_000_500)).toBe(true);
    expect(await tel.record({ memberId: 'p1', notification: note(101), dedupeKey: 'k1' }, 1_000_500)).toBe(false);
    expect(await tel.get('p1', 101)).toEqual({
      memberId: 'p1', sessionId: 101, status: 'pending', dueAt: 1_000_500, version: 1, attempts: 0, startedAt: 1_000_000, phone: '79160000001', report: null, state: null, outcome: null, reason: null,
    });
    expect(await tel.arrivals('p1')).toEqual([{ eventType: 'incoming_call', received: 2, lastAt: 1_000_000 }]);
    // without a session id: only counted
    expect(await tel.record({ memberId: 'p1', notification: note(null, { event: 'lost_call', receivedAt: 1_000_100 }), dedupeKey: 'k2' }, 1_000_500)).toBe(true);
    expect(await tel.counts('p1')).toEqual({ pending: 1 });
    // the same key in another portal is another notification
    expect(await tel.record({ memberId: 'p2', notification: note(101), dedupeKey: 'k1' }, 1_000_500)).toBe(true);
    expect(await tel.arrivals('p1')).toEqual([
      { eventType: 'incoming_call', received: 2, lastAt: 1_000_000 },
      { eventType: 'lost_call', received: 1, lastAt: 1_000_100 },
    ]);
    expect(await tel.arrivals('p2')).toEqual([{ eventType: 'incoming_call', received: 1, lastAt: 1_000_000 }]);
    expect(await tel.arrivals('p3')).toEqual([]);
  });

  it('a later notification adds a version, keeps an earlier due time of a pending call, keeps the first number and start; a finished call is re-opened', async () => {
    await tel.record({ memberId: 'p1', notification: note(101), dedupeKey: 'k1' }, 1_000_500);
    await tel.record({ memberId: 'p1', notification: note(101, { event: 'talk_started', receivedAt: 1_000_200, contactPhone: '79990000000' }), dedupeKey: 'k2' }, 1_009_000);
    expect(await tel.get('p1', 101)).toMatchObject({ status: 'pending', dueAt: 1_000_500, version: 2, startedAt: 1_000_000, phone: '79160000001' });
    const c = (await tel.get('p1', 101))!;
    await tel.finish(c, { status: 'waiting', outcome: null, reason: null, dueAt: 2_000_000 });
    await tel.record({ memberId: 'p1', notification: note(101, { event: 'call_finished', receivedAt: 1_000_300 }), dedupeKey: 'k3' }, 1_009_000);
    expect(await tel.get('p1', 101)).toMatchObject({ status: 'pending', dueAt: 1_009_000, version: 3 });
    // a later due time of a pending call is not taken, an earlier one is
    await tel.record({ memberId: 'p1', notification: note(101, { event: 'call_recorded', receivedAt: 1_000_400 }), dedupeKey: 'k4' }, 1_002_000);
    expect(await tel.get('p1', 101)).toMatchObject({ dueAt: 1_002_000, version: 4 });
    // a call without a number gets the first one that comes
    await tel.record({ memberId: 'p1', notification: note(102, { contactPhone: null }), dedupeKey: 'k5' }, 1_000_500);
    expect((await tel.get('p1', 102))?.phone).toBeNull();
    await tel.record({ memberId: 'p1', notification: note(102, { contactPhone: '8 916 000-00-03', event: 'talk_started' }), dedupeKey: 'k6' }, 1_000_500);
    expect((await tel.get('p1', 102))?.phone).toBe('89160000003');
  });

  it("notifications: a portal's calls' notifications in the order they were recorded; repeated and unknown ids are no trouble; long lists read whole", async () => {
    const n1 = note(101, { receivedAt: 1_000_300 });
    const n2 = note(102, { event: 'talk_started' });
    const n3 = note(101, { event: 'call_finished', receivedAt: 1_000_100 });
    await tel.record({ memberId: 'p1', notification: n1, dedupeKey: 'a' }, 0);
    await tel.record({ memberId: 'p1', notification: n2, dedupeKey: 'b' }, 0);
    await tel.record({ memberId: 'p1', notification: n3, dedupeKey: 'c' }, 0);
    await tel.record({ memberId: 'p2', notification: note(101), dedupeKey: 'a' }, 0);
    const got = await tel.notifications('p1', [101, 102, 101, 999]);
    expect([...got.keys()].sort()).toEqual([101, 102]);
    expect(got.get(101)).toEqual([n1, n3]);
    expect(got.get(102)).toEqual([n2]);
    expect(await tel.notifications('p1', [])).toEqual(new Map());
    const many = Array.from({ length: 450 }, (_, i) => 5000 + i);
    for (const id of many.filter((_, i) => i % 50 === 0 || i === 449)) await tel.record({ memberId: 'p1', notification: note(id), dedupeKey: `m${id}` }, 0);
    expect((await tel.notifications('p1', many)).size).toBe(10);
  });

  it("saveReport: 'new' makes a pending call with the report, the same report is 'unchanged', another one 'updated' (re-opened, a version more, earlier due kept)", async () => {
    const r1 = report(201);
    expect(await tel.saveReport('p1', r1, 1_000_500)).toBe('new');
    expect(await tel.get('p1', 201)).toEqual({
      memberId: 'p1', sessionId: 201, status: 'pending', dueAt: 1_000_500, version: 1, attempts: 0, startedAt: 900_000, phone: '79160000002', report: r1, state: null, outcome: null, reason: null,
    });
    expect(await tel.saveReport('p1', r1, 1_000_100)).toBe('unchanged');
    expect(await tel.get('p1', 201)).toMatchObject({ dueAt: 1_000_500, version: 1 });
    const r2 = report(201, { talkSeconds: 43, contactPhone: '79990000000', startedAt: 1 });
    expect(await tel.saveReport('p1', r2, 1_009_000)).toBe('updated');
    expect(await tel.get('p1', 201)).toMatchObject({ status: 'pending', dueAt: 1_000_500, version: 2, report: r2, phone: '79160000002', startedAt: 900_000 });
    const c = (await tel.get('p1', 201))!;
    await tel.finish(c, { status: 'done', outcome: 'primary', reason: null });
    const r3 = report(201, { talkSeconds: 44 });
    expect(await tel.saveReport('p1', r3, 1_009_000)).toBe('updated');
    expect(await tel.get('p1', 201)).toMatchObject({ status: 'pending', dueAt: 1_009_000, version: 3 });
    // a call notifications opened (no report, no number yet) takes the report's number and start
    await tel.record({ memberId: 'p1', notification: note(202, { contactPhone: null, receivedAt: 1_000_000 }), dedupeKey: 'x' }, 1_000_500);
    await exec(store, `UPDATE telephony_calls SET started_at = NULL WHERE session_id = 202`);
    expect(await tel.saveReport('p1', report(202), 1_000_700)).toBe('updated');
    expect(await tel.get('p1', 202)).toMatchObject({ phone: '79160000002', startedAt: 900_000, version: 2, dueAt: 1_000_500 });
    // a report without a start time or number
    expect(await tel.saveReport('p2', report(203, { startedAt: null, contactPhone: null }), 1_000_500)).toBe('new');
    expect(await tel.get('p2', 203)).toMatchObject({ startedAt: null, phone: null });
    expect(await tel.get('p1', 203)).toBeNull();
  });

  it('settled: the calls done or failed with a report; due, portalsWithDue, nextDueAt: the pending calls by due time', async () => {
    expect(await tel.nextDueAt()).toBeNull();
    await tel.saveReport('p1', report(1), 1_000_300);
    await tel.saveReport('p1', report(2), 1_000_100);
    await tel.saveReport('p1', report(3), 1_000_100);
    await tel.saveReport('p1', report(4), 1_000_900);
    await tel.record({ memberId: 'p1', notification: note(5), dedupeKey: 'n5' }, 1_000_050);
    await tel.saveReport('p2', report(6), 1_000_200);
    for (const [id, status] of [[4, 'done'], [5, 'failed'], [1, 'waiting']] as const) {
      await tel.finish((await tel.get('p1', id))!, { status, outcome: null, reason: 'r', dueAt: 1_500_000 });
    }
    expect([...(await tel.settled('p1', [1, 2, 3, 4, 5, 6, 4]))]).toEqual([4]); // 5 failed without a report
    await tel.saveReport('p1', report(5), 1_000_000);
    await tel.finish((await tel.get('p1', 5))!, { status: 'failed', outcome: null, reason: 'r' });
    expect([...(await tel.settled('p1', [1, 2, 3, 4, 5]))].sort()).toEqual([4, 5]);
    expect(await tel.settled('p2', [4, 5])).toEqual(new Set());

    expect((await tel.due('p1', 1_000_100, 10)).map((c) => c.sessionId)).toEqual([2, 3]);
    expect((await tel.due('p1', 2_000_000, 10)).map((c) => c.sessionId)).toEqual([2, 3]);
    expect((await tel.due('p1', 2_000_000, 1)).map((c) => c.sessionId)).toEqual([2]);
    expect(await tel.due('p1', 1_000_099, 10)).toEqual([]);
    expect((await tel.due('p2', 2_000_000, 10))[0]).toMatchObject({ sessionId: 6, report: report(6) });
    expect((await tel.portalsWithDue(1_000_100)).sort()).toEqual(['p1']);
    expect((await tel.portalsWithDue(1_000_200)).sort()).toEqual(['p1', 'p2']);
    expect(await tel.portalsWithDue(1_000_000)).toEqual([]);
    expect(await tel.nextDueAt()).toBe(1_000_100);
    expect(await tel.counts('p1')).toEqual({ pending: 2, done: 1, failed: 1, waiting: 1 });
    expect(await tel.counts('p3')).toEqual({});
  });

  it("saveState keeps the progress; finish takes the status unless a newer version arrived (then pending, due now); attempts default 0", async () => {
    await tel.record({ memberId: 'p1', notification: note(101), dedupeKey: 'k1' }, 1_000_000);
    const c = (await tel.get('p1', 101))!;
    now = 1_000_010;
    await tel.saveState({ ...c, state: { callId: 'CALL-1' } as never });
    expect((await tel.get('p1', 101))?.state).toEqual({ callId: 'CALL-1' });
    await tel.finish({ ...c, state: { callId: 'CALL-1', finished: true } as never }, { status: 'waiting', outcome: 'o', reason: 'why', dueAt: 1_500_000, attempts: 3 });
    expect(await tel.get('p1', 101)).toMatchObject({ status: 'waiting', dueAt: 1_500_000, attempts: 3, outcome: 'o', reason: 'why', state: { callId: 'CALL-1', finished: true }, version: 1 });
    // a run that read version 1 finishes after a notification made version 2: the call stays pending, due now
    await tel.record({ memberId: 'p1', notification: note(101, { event: 'call_finished' }), dedupeKey: 'k2' }, 1_000_020);
    now = 1_000_030;
    await tel.finish(c, { status: 'done', outcome: 'primary', reason: null });
    expect(await tel.get('p1', 101)).toMatchObject({ status: 'pending', dueAt: 1_000_030, attempts: 0, outcome: 'primary', reason: null, version: 2 });
    // finishing the current version with no due time: due now
    const c2 = (await tel.get('p1', 101))!;
    now = 1_000_040;
    await tel.finish(c2, { status: 'pending', outcome: null, reason: null });
    expect(await tel.get('p1', 101)).toMatchObject({ status: 'pending', dueAt: 1_000_040 });
    await tel.finish(c2, { status: 'done', outcome: null, reason: null });
    expect(await tel.due('p1', 9_999_999, 10)).toEqual([]);
  });

  it("missed-call activities: the open ones of a client's number, except the call itself; closed by their ids", async () => {
    for (const [id, phone] of [[1, '79160000001'], [2, '79160000001'], [3, '79160000001'], [4, '79160000009']] as const) {
      await tel.record({ memberId: 'p1', notification: note(id, { contactPhone: phone }), dedupeKey: `k${id}` }, 0);
    }
    await tel.record({ memberId: 'p2', notification: note(1), dedupeKey: 'k1' }, 0);
    await tel.setMissed('p1', 3, 303, true);
    await tel.setMissed('p1', 1, 101, true);
    await tel.setMissed('p1', 2, 202, false);
    await tel.setMissed('p1', 4, 404, true);
    await tel.setMissed('p2', 1, 999, true);
    expect(await tel.openMissed('p1', '79160000001', 0)).toEqual([{ sessionId: 1, activityId: 101 }, { sessionId: 3, activityId: 303 }]);
    expect(await tel.openMissed('p1', '79160000001', 3)).toEqual([{ sessionId: 1, activityId: 101 }]);
    await tel.closeMissed('p1', [101, 404, 999, 101]);
    expect(await tel.openMissed('p1', '79160000001', 0)).toEqual([{ sessionId: 3, activityId: 303 }]);
    expect(await tel.openMissed('p1', '79160000009', 0)).toEqual([]);
    expect(await tel.openMissed('p2', '79160000001', 0)).toEqual([{ sessionId: 1, activityId: 999 }]);
    await tel.setMissed('p1', 3, null, true); // no activity: not listed
    expect(await tel.openMissed('p1', '79160000001', 0)).toEqual([]);
    await tel.closeMissed('p1', []);
  });

  it("the reconciliation's cursor adds the recovered calls; the lines are replaced", async () => {
    expect(await tel.reconcileCursor('p1')).toBeNull();
    await tel.saveReconcile('p1', { seenTill: 5_000_000_000_000, lastRunAt: 1_000_000, recoveredAdd: 2, lastError: 'boom' });
    await tel.saveReconcile('p1', { seenTill: 5_000_000_060_000, lastRunAt: 1_060_000, recoveredAdd: 3, lastError: null });
    expect(await tel.reconcileCursor('p1')).toEqual({ seenTill: 5_000_000_060_000, lastRunAt: 1_060_000, recovered: 5, lastError: null });
    expect(await tel.reconcileCursor('p2')).toBeNull();

    expect(await tel.lines('p1')).toBeNull();
    const numbers = [{ number: '74950000101', name: 'Главный' }, { number: '74950000102', name: 'Реклама' }];
    await tel.saveLines('p1', { numbers, syncedAt: 1_000_000, lastError: null });
    expect(await tel.lines('p1')).toEqual({ numbers, syncedAt: 1_000_000, lastError: null });
    await tel.saveLines('p1', { numbers: [], syncedAt: 1_100_000, lastError: 'UIS refused' });
    expect(await tel.lines('p1')).toEqual({ numbers: [], syncedAt: 1_100_000, lastError: 'UIS refused' });
  });

  it('prune: notifications received before the bound, calls done or failed last changed before theirs, except an open missed call', async () => {
    await tel.record({ memberId: 'p1', notification: note(1, { receivedAt: 900 }), dedupeKey: 'a' }, 0);
    await tel.record({ memberId: 'p1', notification: note(2, { receivedAt: 999 }), dedupeKey: 'b' }, 0);
    await tel.record({ memberId: 'p1', notification: note(3, { receivedAt: 1000 }), dedupeKey: 'c' }, 0);
    await tel.record({ memberId: 'p1', notification: note(4, { receivedAt: 1000 }), dedupeKey: 'd' }, 0);
    for (const id of [1, 2]) await tel.finish((await tel.get('p1', id))!, { status: 'done', outcome: null, reason: null });
    await tel.finish((await tel.get('p1', 3))!, { status: 'failed', outcome: null, reason: null });
    await tel.setMissed('p1', 2, 555, true);
    now = 2_000_000;
    await tel.finish((await tel.get('p1', 4))!, { status: 'done', outcome: null, reason: null }); // changed at the bound
    expect(await tel.prune(1000, 2_000_000)).toEqual({ events: 2, calls: 2 });
    expect(await tel.get('p1', 1)).toBeNull();
    expect(await tel.get('p1', 2)).not.toBeNull();
    expect(await tel.get('p1', 3)).toBeNull();
    expect(await tel.get('p1', 4)).not.toBeNull();
    expect([...(await tel.notifications('p1', [1, 2, 3, 4])).keys()].sort()).toEqual([3, 4]);
    expect(await tel.prune(1000, 2_000_000)).toEqual({ events: 0, calls: 0 });
  });

  it('a fractional clock (a scaled one) is taken: times are written, the due calls found', async () => {
    now = 1_000_000.6;
    await tel.record({ memberId: 'p1', notification: note(101, { receivedAt: 1_000_000.4 }), dedupeKey: 'k1' }, 1_000_100.5);
    expect(await tel.due('p1', 1_000_100.4, 10)).toEqual([]);
    expect((await tel.due('p1', 1_000_101, 10)).map((c) => c.sessionId)).toEqual([101]);
    expect(await tel.portalsWithDue(1_000_101)).toEqual(['p1']);
    await tel.finish((await tel.get('p1', 101))!, { status: 'done', outcome: null, reason: null, dueAt: 1_000_200.5 });
    await tel.saveReconcile('p1', { seenTill: 1.5, lastRunAt: 2.5, recoveredAdd: 0, lastError: null });
    await tel.saveLines('p1', { numbers: [], syncedAt: 3.5, lastError: null });
    expect(await tel.prune(1_000_001, 1_000_002)).toEqual({ events: 1, calls: 1 });
  });

  if (store.name === 'postgres') {
    let other: PgStore;
    beforeAll(async () => {
      other = await openTestPg({ schema: store.pg!.schema, migrate: false });
    });
    afterAll(async () => {
      await other?.close();
    });

    it('two instances (two pools) at once: a notification delivered to both is recorded by exactly one, each fresh one adds one version and one arrival', async () => {
      const a = tel;
      const b = telephonyStore(store, () => now, other);
      for (let round = 0; round < 10; round++) {
        const sessionId = 1000 + round;
        const contenders = Array.from({ length: 8 }, (_, i) => (i % 2 ? b : a));
        const fresh = await Promise.all(contenders.map((t) => t.record({ memberId: 'p1', notification: note(sessionId), dedupeKey: `same-${round}` }, 1_000_500)));
        expect(fresh.filter(Boolean)).toHaveLength(1);
        expect((await a.get('p1', sessionId))?.version).toBe(1);
        // distinct notifications of one call at once: none lost
        const more = await Promise.all(contenders.map((t, i) => t.record({ memberId: 'p1', notification: note(sessionId, { event: 'talk_started' }), dedupeKey: `other-${round}-${i}` }, 1_000_500)));
        expect(more.every(Boolean)).toBe(true);
        expect((await b.get('p1', sessionId))?.version).toBe(9);
      }
      expect(await a.arrivals('p1')).toEqual([
        { eventType: 'incoming_call', received: 80, lastAt: 1_000_000 },
        { eventType: 'talk_started', received: 80, lastAt: 1_000_000 },
      ]);
      expect((await a.notifications('p1', [1000]))?.get(1000)).toHaveLength(9);
    });

    it("two instances (two pools) storing one call's report at once: exactly one 'new', the rest 'unchanged'; recovered calls all counted", async () => {
      const a = tel;
      const b = telephonyStore(store, () => now, other);
      for (let round = 0; round < 10; round++) {
        const r = report(2000 + round);
        const got = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? b : a).saveReport('p1', r, 1_000_500)));
        expect(got.filter((x) => x === 'new')).toHaveLength(1);
        expect(got.filter((x) => x === 'unchanged')).toHaveLength(7);
        expect(await a.get('p1', r.id)).toMatchObject({ version: 1, report: r });
        // a report and a notification of a new call at once: one row, both applied
        const id = 3000 + round;
        const [saved, fresh] = await Promise.all([b.saveReport('p1', report(id), 1_000_500), a.record({ memberId: 'p1', notification: note(id), dedupeKey: `n-${id}` }, 1_000_500)]);
        expect(fresh).toBe(true);
        expect(['new', 'updated']).toContain(saved);
        expect(await a.get('p1', id)).toMatchObject({ version: 2, report: report(id), status: 'pending' }); // either order: one row, a version each
      }
      await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? b : a).saveReconcile('p1', { seenTill: 1000 + i, lastRunAt: 1000 + i, recoveredAdd: 1, lastError: null })));
      expect((await a.reconcileCursor('p1'))?.recovered).toBe(12);
    });
  }
});
