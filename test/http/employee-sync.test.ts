import { afterEach, describe, expect, it } from 'vitest';
import type { EmployeeSyncView } from '../../server/contracts/employee-sync';
import type { DirectoryUser } from '../emulator/bitrix/crm/types';
import type { EmulatedPortal } from '../emulator/bitrix/index';
import { STATUS_TICK_MS } from '../../server/services/employee-sync/worker';
import { FakeClock } from '../support/fake-clock';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
let clock: FakeClock;
afterEach(async () => h?.close());

const person = (id: number, name: string, lastName: string, email: string): DirectoryUser => ({ id, name, lastName, email, active: true, department: [1], workPosition: '', externalAuthId: '' });

/**
 * Portal users: 1 Анна Админова, 2 Иван Сотрудников, 3 Мария (no last name), 4 fired, plus
 * 6 Марина Иванова (same e-mail as the UIS employee) and 7 Олег Петров (same name, other e-mail).
 * UIS: Анна Смирнова, Марина Иванова, Олег Петров.
 */
async function setup(o: { portals?: number } = {}) {
  clock = new FakeClock(Date.now());
  // this clock moves only when told to; the sync uses no events, so they go without the queue's delay
  h = await startHarness({ clock, portals: o.portals, events: { delayMs: 0 } });
  await installApp(h);
  const admin = await sessionOf(h.portal);
  const employee = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app`, userId: 2 })).boot.session!;
  const acc = h.uis.accounts[0]!;
  const link = await api(h.app.url, admin, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  expect(link.status).toBe(200);
  h.portal.crm.directory.users.push(person(6, 'Марина', 'Иванова', 'Marina@Example.com'), person(7, 'Олег', 'Петров', 'petrov@portal.example'));
  return { admin, employee, acc };
}

/**
 * Let `ms` pass on the clock tick by tick of the worker, each tick done before the clock moves on.
 * A tick sleeps for the next one only once it ends: on PostgreSQL its queries take real time, so a
 * single advance() would jump past the ticks due meanwhile (the daily sync seen 20 minutes late).
 */
async function pass(ms: number) {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    await h.app.deps.employeeSyncWorker.idle();
    await clock.advance(Math.min(STATUS_TICK_MS, end - clock.now()));
  }
}

const sessionOf = async (portal: EmulatedPortal) => (await openPage(portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;

async function syncNow(session: string): Promise<EmployeeSyncView> {
  const started = await api(h.app.url, session, 'POST', '/api/employee-sync/run');
  expect(started.status, JSON.stringify(started.json)).toBe(202);
  expect((started.json as unknown as EmployeeSyncView).run).toMatchObject({ status: 'running', trigger: 'manual' });
  return waitDone(session);
}

async function waitDone(session: string): Promise<EmployeeSyncView> {
  await h.app.deps.employeeSyncWorker.idle();
  const view = (await api(h.app.url, session, 'GET', '/api/employee-sync')).json as unknown as EmployeeSyncView;
  expect(view.run?.status, view.run?.error ?? '').toBe('done');
  return view;
}

describe('employee sync', () => {
  it('when the background work starts, then a run a previous process left «running» is marked failed, so the admin can run it again', async () => {
    const { admin } = await setup();
    const leftover = (await h.app.deps.employeeSync.startRun(h.portal.memberId, 'manual'))!; // as if the process died mid-run
    expect((await api(h.app.url, admin, 'POST', '/api/employee-sync/run')).status).toBe(409); // one run at a time
    h.app.deps.employeeSyncWorker.start(3_600_000);
    await h.app.deps.employeeSyncWorker.idle();
    h.app.deps.employeeSyncWorker.stop();
    const view = (await api(h.app.url, admin, 'GET', '/api/employee-sync')).json as unknown as EmployeeSyncView;
    expect(view.run).toMatchObject({ id: leftover.id, status: 'failed', error: expect.stringContaining('Interrupted by a restart') });
    await syncNow(admin);
  });

  it('when the admin syncs, then users pair by e-mail, then by the internal number (UF_PHONE_INNER = UIS extension), then by name, missing ones are created in UIS, and users without a last name are listed', async () => {
    const { admin, acc } = await setup();
    const [anna, marina, oleg] = acc.employees.map((e) => e.id);
    const view = await syncNow(admin);
    const r = view.run!.result!;
    expect(view.run!.progress).toEqual({ done: 2 + acc.employeeWrites.length, total: 2 + acc.employeeWrites.length }); // two reads, then one step per employee written in UIS
    const byUser = Object.fromEntries(r.pairs.map((p) => [p.b24UserId, p]));
    expect(byUser[6]).toMatchObject({ uisEmployeeId: marina, matchedBy: 'email' });
    expect(byUser[7]).toMatchObject({ uisEmployeeId: oleg, matchedBy: 'name' });
    // the admin's internal number 101 is Анна's extension in UIS (telephony, issue #13)
    expect(byUser[1]).toMatchObject({ matchedBy: 'extension', uisEmployeeId: anna, b24Name: 'Админова Анна' });
    expect(byUser[2]).toMatchObject({ matchedBy: 'created' });
    expect(byUser[4]).toBeUndefined(); // fired
    expect(r.noLastName).toEqual([{ b24UserId: 3, name: 'Мария', email: 'maria@portal.example' }]);
    expect(r.unmatchedB24).toEqual([{ b24UserId: 3, name: 'Мария', email: 'maria@portal.example', reason: 'no_last_name' }]);
    expect(r.unmatchedUis).toEqual([]);

    // what UIS received: create.employees with names and e-mail; nothing for user 3
    const created = acc.employeeWrites.filter((w) => w.method === 'create.employees');
    expect(created.map((w) => w.params)).toEqual([{ first_name: 'Иван', last_name: 'Сотрудников', email: 'ivan@portal.example' }]);
    expect(acc.employees.find((e) => e.id === byUser[2]!.uisEmployeeId)).toMatchObject({ full_name: 'Сотрудников Иван', email: 'ivan@portal.example' });

    // the mapping port other services use
    const dir = h.app.deps.employeeDirectory;
    expect(await dir.uisEmployeeFor(h.portal.memberId, 6)).toBe(marina);
    expect(await dir.b24UserFor(h.portal.memberId, oleg!)).toBe(7);
    expect(await dir.uisEmployeeFor(h.portal.memberId, 3)).toBeNull();

    // a second run creates nothing more: everyone now pairs by e-mail, number or name
    const again = await syncNow(admin);
    expect(acc.employeeWrites.filter((w) => w.method === 'create.employees')).toHaveLength(1);
    expect(again.run!.result!.pairs.filter((p) => p.matchedBy === 'created')).toEqual([]);
    expect(again.run!.result!.pairs).toHaveLength(4);
  });

  it('when users are chosen, then only they are synced', async () => {
    const { admin, acc } = await setup();
    const saved = await api(h.app.url, admin, 'PUT', '/api/employee-sync/settings', { importStatuses: false, dailySync: false, userIds: [7, 6] });
    expect(saved.status, JSON.stringify(saved.json)).toBe(200);
    expect((saved.json as unknown as EmployeeSyncView).settings.userIds).toEqual([6, 7]);
    const r = (await syncNow(admin)).run!.result!;
    expect(r.pairs.map((p) => p.b24UserId)).toEqual([6, 7]);
    expect(r.noLastName).toEqual([]);
    expect(acc.employeeWrites.filter((w) => w.method === 'create.employees')).toEqual([]);
    expect(await h.app.deps.employeeDirectory.uisEmployeeFor(h.portal.memberId, 1)).toBeNull();
  });

  it('when a Bitrix24 user pairs by name with a UIS employee whose e-mail differs, then the workspace opens as that employee (the sync mapping comes before the e-mail match)', async () => {
    const { admin, employee, acc } = await setup();
    const ivan = { id: 367_990, first_name: 'Иван', last_name: 'Сотрудников', full_name: 'Сотрудников Иван', email: 'i.sotrudnikov@uis.example', login: 'isotr', operator_chat_enabled: true, status: 'available' as const };
    acc.employees.push(ivan);
    const before = await api(h.app.url, employee, 'GET', '/api/workspace');
    expect(new URL(String(before.json.url)).searchParams.has('operator_id')).toBe(false);
    const view = await syncNow(admin);
    expect(view.run?.result?.pairs.find((p) => p.b24UserId === 2)).toMatchObject({ uisEmployeeId: ivan.id, matchedBy: 'name' });
    const after = await api(h.app.url, employee, 'GET', '/api/workspace');
    expect(new URL(String(after.json.url)).searchParams.get('operator_id')).toBe(String(ivan.id));
  });

  it('when statuses import is on, then every 20 minutes the synced UIS employees take their Bitrix24 state', async () => {
    const { admin, acc } = await setup();
    h.app.deps.employeeSyncWorker.start();
    await syncNow(admin);
    expect((await api(h.app.url, admin, 'PUT', '/api/employee-sync/settings', { importStatuses: true, dailySync: false, userIds: [] })).status).toBe(200);
    const users = h.portal.crm.directory.users;
    const marina = acc.employees.find((e) => e.email === 'marina@example.com')!;
    const oleg = acc.employees.find((e) => e.last_name === 'Петров')!;
    expect([marina.status, oleg.status]).toEqual(['available', 'not_at_work']);
    users.find((u) => u.id === 6)!.presence = { status: 'dnd' };
    users.find((u) => u.id === 7)!.presence = { status: 'away' };
    users.find((u) => u.id === 1)!.presence = { absentUntil: clock.now() + 7 * 86_400_000 };
    const updatesBefore = acc.employeeWrites.filter((w) => w.method === 'update.employees').length;

    await clock.advance(19 * 60_000);
    await h.app.deps.employeeSyncWorker.idle();
    expect(marina.status).toBe('available'); // not yet

    await clock.advance(60_000);
    await h.app.deps.employeeSyncWorker.idle();
    expect(marina.status).toBe('do_not_disturb');
    expect(oleg.status).toBe('not_at_workplace');
    // the admin is Анна in UIS (paired by the internal number)
    const adminEmployee = await h.app.deps.employeeDirectory.uisEmployeeFor(h.portal.memberId, 1);
    expect(acc.employees.find((e) => e.id === adminEmployee)!.status).toBe('not_at_work');
    const writes = acc.employeeWrites.filter((w) => w.method === 'update.employees').slice(updatesBefore);
    expect(writes.find((w) => w.id === marina.id)!.params).toEqual({ id: marina.id, last_name: 'Иванова', status_id: 3 });
    const view = (await api(h.app.url, admin, 'GET', '/api/employee-sync')).json as unknown as EmployeeSyncView;
    expect(view.lastStatusImport).toMatchObject({ error: null });
    expect(view.lastStatusImport).toMatchObject({ updated: 3, unchanged: 1 });

    // nothing changed → nothing written on the next tick
    const count = acc.employeeWrites.length;
    users.find((u) => u.id === 6)!.presence = { status: 'dnd' };
    await clock.advance(20 * 60_000);
    await h.app.deps.employeeSyncWorker.idle();
    expect(acc.employeeWrites.filter((w) => w.id === marina.id && w.params.status_id !== undefined).length).toBe(1);
    expect(acc.employeeWrites.length).toBe(count);

    // Marina takes a break in UIS herself: her Bitrix24 state has not changed, so the break stands…
    marina.status = 'break';
    await clock.advance(20 * 60_000);
    await h.app.deps.employeeSyncWorker.idle();
    expect(marina.status).toBe('break');
    // …until it does: back online in Bitrix24 → available in UIS
    users.find((u) => u.id === 6)!.presence = { status: 'online', lastActivity: clock.now() };
    await clock.advance(20 * 60_000);
    await h.app.deps.employeeSyncWorker.idle();
    expect(marina.status).toBe('available');
  });

  it('when the daily sync is on, then a sync runs 24 hours later and every 24 hours after', async () => {
    const { admin } = await setup();
    h.app.deps.employeeSyncWorker.start();
    const saved = await api(h.app.url, admin, 'PUT', '/api/employee-sync/settings', { importStatuses: false, dailySync: true, userIds: [] });
    expect((saved.json as unknown as EmployeeSyncView).nextDailyAt).toBe(new Date(clock.now() + 86_400_000).toISOString());
    await pass(23 * 60 * 60_000);
    await h.app.deps.employeeSyncWorker.idle();
    // page sessions expire: a day later the admin opens the page again
    expect((await api(h.app.url, await sessionOf(h.portal), 'GET', '/api/employee-sync')).json.run).toBeNull();
    await pass(60 * 60_000);
    const view = await waitDone(await sessionOf(h.portal));
    expect(view.run).toMatchObject({ trigger: 'daily', status: 'done' });
    expect(view.run!.result!.pairs.length).toBe(4);
    const first = view.run!.id;
    await pass(24 * 60 * 60_000);
    const next = await waitDone(await sessionOf(h.portal));
    expect(next.run!.id).toBeGreaterThan(first);
    expect(next.run!.trigger).toBe('daily');
  });

  it('when a non-admin tries to change or run the sync, then 403 and nothing changes; they see the result without e-mails', async () => {
    const { admin, employee } = await setup();
    expect((await api(h.app.url, employee, 'PUT', '/api/employee-sync/settings', { importStatuses: true, dailySync: true, userIds: [] })).status).toBe(403);
    const run = await api(h.app.url, employee, 'POST', '/api/employee-sync/run');
    expect(run.status).toBe(403);
    expect(run.json.error).toBe('NOT_ADMIN');
    expect((await api(h.app.url, admin, 'GET', '/api/employee-sync')).json).toMatchObject({ settings: { importStatuses: false, dailySync: false }, run: null });
    await syncNow(admin);
    const seen = (await api(h.app.url, employee, 'GET', '/api/employee-sync')).json as unknown as EmployeeSyncView;
    expect(seen.run!.result!.noLastName).toEqual([{ b24UserId: 3, name: 'Мария', email: null }]);
  });

  it('when input is bad, then 400 with the reason and nothing is saved', async () => {
    const { admin } = await setup();
    const cases: Array<[unknown, RegExp]> = [
      [{ importStatuses: 'yes', dailySync: false, userIds: [] }, /importStatuses/],
      [{ importStatuses: true, dailySync: false, userIds: [0] }, /userIds\.0/],
      [{ importStatuses: true, dailySync: false, userIds: [6, 6] }, /userIds: Each user may be listed once/],
      [{ importStatuses: true, dailySync: false, userIds: [], extra: 1 }, /extra/],
      [{ importStatuses: true, dailySync: false, userIds: [6, 4, 999] }, /userIds: 4, 999 are not active employees/],
    ];
    for (const [body, reason] of cases) {
      const res = await api(h.app.url, admin, 'PUT', '/api/employee-sync/settings', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error).toBe('VALIDATION_FAILED');
      expect(String(res.json.message)).toMatch(reason);
    }
    expect((await api(h.app.url, admin, 'GET', '/api/employee-sync')).json).toMatchObject({ settings: { importStatuses: false, dailySync: false, userIds: [] } });
  });

  it('when another portal looks, then it sees none of this portal’s sync, mapping or settings', async () => {
    const { admin } = await setup({ portals: 2 });
    await api(h.app.url, admin, 'PUT', '/api/employee-sync/settings', { importStatuses: true, dailySync: true, userIds: [6] });
    await syncNow(admin);
    const other = h.emu.portals[1]!;
    await installApp(h, other);
    const otherSession = await sessionOf(other);
    const seen = await api(h.app.url, otherSession, 'GET', '/api/employee-sync');
    expect(seen.json).toMatchObject({ settings: { importStatuses: false, dailySync: false, userIds: [] }, run: null, lastResult: null });
    expect(await h.app.deps.employeeDirectory.uisEmployeeFor(other.memberId, 6)).toBeNull();
    const run = await api(h.app.url, otherSession, 'POST', '/api/employee-sync/run');
    expect(run.status).toBe(409);
    expect(run.json.error).toBe('UIS_NOT_LINKED');
  });
});
