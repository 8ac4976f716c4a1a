import { afterEach, describe, expect, it } from 'vitest';
import type { TelephonyView } from '../../server/contracts/telephony';
import { installAndLink } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';
import { changedTables, storeSnapshot } from '../support/db-snapshot';

/**
 * How calls reach us (issue #13): UIS HTTP notifications at our URL with the portal's secret in the
 * path, JSON, form or query, every field optional; forged ones refused with nothing recorded,
 * malformed ones a 4xx with the reason; a notification is recorded before it is answered; the tab
 * shows what to configure per event type and which types have arrived.
 */
let h: Harness;
afterEach(async () => h?.close());

async function setup(): Promise<{ view: TelephonyView; session: string; urlOf(type: string): string }> {
  h = await startHarness({ env: { LOG_LEVEL: 'warn' } });
  const { session } = await installAndLink(h);
  const r = await api(h.app.url, session, 'GET', '/api/telephony');
  expect(r.status).toBe(200);
  const view = r.json as unknown as TelephonyView;
  return { view, session, urlOf: (type) => view.notifications.find((n) => n.type === type)!.url };
}

const post = (url: string, body: string, type = 'application/json') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
/** Nothing of «Телефония» was written (other features' background work may write meanwhile). */
const telephonyChanged = async (before: Awaited<ReturnType<typeof storeSnapshot>>) => changedTables(before, await storeSnapshot(h)).filter((t) => t.startsWith('telephony_'));
const events = async () => (await h.sql.all('SELECT event_type, session_id, body FROM telephony_events ORDER BY id')) as Array<{ event_type: string; session_id: number | null; body: string }>;

describe('the notification URL', () => {
  it('the tab shows, per event type, POST to our URL with the secret and the body template of the variables we read', async () => {
    const { view } = await setup();
    expect(view.notifications.map((n) => n.type)).toEqual(['incoming_call', 'waiting_for_answer', 'talk_started', 'talk_finished', 'outgoing_call', 'call_finished', 'lost_call', 'call_recorded']);
    const finished = view.notifications.find((n) => n.type === 'call_finished')!;
    expect(finished).toMatchObject({ name: 'Завершение звонка', method: 'POST', contentType: 'application/json', arrived: null });
    expect(finished.url).toMatch(new RegExp(`^${h.app.url}/uis/calls/[A-Za-z0-9_-]{43}/call_finished$`));
    expect(finished.body).toContain('"call_session_id": {{call_session_id}}');
    expect(finished.body).toContain('"talk_time_duration": {{talk_time_duration}}');
    expect(view.notifications.find((n) => n.type === 'call_recorded')!.body).toContain('"file_link": {{file_link}}');
    // the secret is the same on every event type, and survives a reload
    const again = (await api(h.app.url, (await setupSession()).session, 'GET', '/api/telephony')).json as unknown as TelephonyView;
    expect(again.notifications.map((n) => n.url)).toEqual(view.notifications.map((n) => n.url));
  });

  it('a wrong or missing secret is refused with 401 and nothing is recorded', async () => {
    const { urlOf } = await setup();
    const before = await storeSnapshot(h);
    const good = urlOf('incoming_call');
    const forged = good.replace(/calls\/[^/]+\//, `calls/${'A'.repeat(43)}/`);
    for (const url of [forged, good.replace(/calls\/[^/]+\//, 'calls/short/'), `${h.app.url}/uis/calls/`]) {
      const r = await post(url, JSON.stringify({ call_session_id: 1 }));
      expect([401, 404]).toContain(r.status);
    }
    expect((await fetch(`${forged}?call_session_id=1`)).status).toBe(401);
    expect(await telephonyChanged(before)).toEqual([]);
  });

  it('JSON, form and query bodies are read; every field is optional, null, "None" or a number as text', async () => {
    const { urlOf, session } = await setup();
    expect((await post(urlOf('incoming_call'), JSON.stringify({ call_session_id: 11, contact_phone_number: '79161234567', virtual_phone_number: 74950000101, scenario_name: null }))).status).toBe(204);
    expect((await post(urlOf('waiting_for_answer'), 'call_session_id=11&employee_id=77&leg_id=None&contact_full_name=None', 'application/x-www-form-urlencoded')).status).toBe(204);
    expect((await fetch(`${urlOf('talk_started')}?call_session_id=11&employee_id=77&leg_ids=%5B1%2C2%5D`)).status).toBe(204);
    expect((await post(urlOf('call_finished'), '{}')).status).toBe(204);
    expect((await post(urlOf('lost_call'), '')).status).toBe(204);
    const rows = await events();
    expect(rows.map((r) => [r.event_type, r.session_id])).toEqual([
      ['incoming_call', 11],
      ['waiting_for_answer', 11],
      ['talk_started', 11],
      ['call_finished', null],
      ['lost_call', null],
    ]);
    expect(JSON.parse(rows[0]!.body)).toMatchObject({ virtualNumber: '74950000101', contactPhone: '79161234567', scenarioName: null });
    expect(JSON.parse(rows[1]!.body)).toMatchObject({ employeeId: 77, legId: null, contactName: null });
    expect(JSON.parse(rows[2]!.body)).toMatchObject({ legIds: [1, 2] });
    // the check on the tab: which event types arrived, which did not
    const view = (await api(h.app.url, session, 'GET', '/api/telephony')).json as unknown as TelephonyView;
    const arrived = Object.fromEntries(view.notifications.map((n) => [n.type, n.arrived?.count ?? 0]));
    expect(arrived).toEqual({ incoming_call: 1, waiting_for_answer: 1, talk_started: 1, talk_finished: 0, outgoing_call: 0, call_finished: 1, lost_call: 1, call_recorded: 0 });
  });

  it('a notification delivered twice is recorded once (and counted as arrived twice)', async () => {
    const { urlOf } = await setup();
    const body = JSON.stringify({ call_session_id: 12, employee_id: 5, leg_id: 99 });
    expect((await post(urlOf('waiting_for_answer'), body)).status).toBe(204);
    expect((await post(urlOf('waiting_for_answer'), body)).status).toBe(204);
    expect(await events()).toHaveLength(1);
  });

  it('malformed bodies get a 4xx with the reason and change nothing', async () => {
    const { urlOf } = await setup();
    const before = await storeSnapshot(h);
    const cases: Array<[string, RequestInit, number, string]> = [
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"call_session_id": 1,' }, 400, 'MALFORMED_NOTIFICATION'],
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1, 2]' }, 400, 'MALFORMED_NOTIFICATION'],
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"call_session_id": "abc"}' }, 400, 'MALFORMED_NOTIFICATION'],
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"talk_time_duration": -5}' }, 400, 'MALFORMED_NOTIFICATION'],
      [urlOf('call_recorded'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"file_link": "javascript:alert(1)"}' }, 400, 'MALFORMED_NOTIFICATION'],
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"a":${'['.repeat(50)}${']'.repeat(50)}}` }, 400, 'MALFORMED_NOTIFICATION'],
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<call/>' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [urlOf('call_finished').replace(/call_finished$/, 'call_exploded'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 404, 'UNKNOWN_EVENT'],
      [urlOf('call_finished').replace(/\/call_finished$/, ''), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"call_session_id": 1}' }, 400, 'UNKNOWN_EVENT'],
      [urlOf('call_finished'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"x":"${'a'.repeat(70_000)}"}` }, 413, 'BODY_TOO_LARGE'],
    ];
    for (const [url, init, status, code] of cases) {
      const r = await fetch(url, init);
      const json = (await r.json()) as { error: string; message: string };
      expect([r.status, json.error], String(init.body).slice(0, 60)).toEqual([status, code]);
      expect(json.message.length).toBeGreaterThan(5);
    }
    expect(await telephonyChanged(before)).toEqual([]);
  });

  it('a notification is recorded before the 204: with the worker stopped it is there, and the call is due', async () => {
    const { urlOf } = await setup();
    h.app.deps.telephonyWorker.stop();
    expect((await post(urlOf('incoming_call'), JSON.stringify({ call_session_id: 13, contact_phone_number: '79161234567' }))).status).toBe(204);
    const row = await h.app.deps.telephony.get(h.portal.memberId, 13);
    expect(row).toMatchObject({ status: 'pending', phone: '79161234567' });
    expect(await events()).toHaveLength(1);
  });

  it('a new secret replaces the old one: the old URLs stop working at once', async () => {
    const { urlOf, session } = await setup();
    const old = urlOf('incoming_call');
    const r = await api(h.app.url, session, 'POST', '/api/telephony/hook/rotate');
    const fresh = (r.json as unknown as TelephonyView).notifications.find((n) => n.type === 'incoming_call')!.url;
    expect(fresh).not.toBe(old);
    expect((await post(old, '{}')).status).toBe(401);
    expect((await post(fresh, '{}')).status).toBe(204);
  });

  it('only administrators see the URLs (they carry the secret)', async () => {
    await setup();
    const { openPage } = await import('../support/harness');
    const employee = (await openPage(h.portal, { userId: 2, handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    const r = await api(h.app.url, employee, 'GET', '/api/telephony');
    expect(r.status).toBe(200);
    expect((r.json as unknown as TelephonyView).notifications).toEqual([]);
    expect((await api(h.app.url, employee, 'PUT', '/api/telephony', {})).status).toBe(403);
  });
});

async function setupSession(): Promise<{ session: string }> {
  const { openPage } = await import('../support/harness');
  return { session: (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session! };
}

describe('what a notification may make the app do', () => {
  it('a recording link that is not a UIS host is never fetched (a notification names it): the call is finished, the recording given up with the reason', async () => {
    const fetched: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      fetched.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      return fetch(input, init);
    };
    h = await startHarness({ env: { LOG_LEVEL: 'warn' }, fetch: spy });
    const { session } = await installAndLink(h);
    const { defaultTelephonySettings } = await import('../../server/contracts/telephony-settings');
    const d = defaultTelephonySettings();
    const saved = await api(h.app.url, session, 'PUT', '/api/telephony', { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } });
    expect(saved.status).toBe(200);
    const url = (type: string) => (saved.json as unknown as TelephonyView).notifications.find((n) => n.type === type)!.url;
    const base = { call_session_id: 77, contact_phone_number: '79161230077', virtual_phone_number: '74950000101', direction: 'in' };
    for (const [type, extra] of [
      ['incoming_call', {}],
      ['call_finished', { talk_time_duration: 30, employee_id: 1 }],
      ['call_recorded', { file_link: 'http://169.254.169.254/latest/meta-data/iam' }],
    ] as const) {
      expect((await post(url(type), JSON.stringify({ ...base, ...extra }))).status).toBe(204);
    }
    for (let i = 0; i < 100 && (await h.app.deps.telephony.get(h.portal.memberId, 77))?.status !== 'done'; i++) {
      await h.app.deps.telephonyWorker.drain();
      await new Promise((r) => setTimeout(r, 20));
    }
    const row = await h.app.deps.telephony.get(h.portal.memberId, 77);
    expect(row).toMatchObject({ status: 'done' });
    expect(row!.state!.finished).toBe(true);
    expect(row!.state!.record).toMatchObject({ gaveUp: true, lastError: expect.stringContaining('not a UIS host') });
    expect(fetched.filter((u) => u.includes('169.254'))).toEqual([]);
  });

  it('retention: old notifications and long-finished calls are removed, a call whose missed activity is open stays', async () => {
    await setup();
    const repo = h.app.deps.telephony;
    const m = h.portal.memberId;
    const n = (sessionId: number, receivedAt: number) => ({ event: 'lost_call' as const, receivedAt, sessionId, communicationId: null, externalId: null, direction: 'in' as const, virtualNumber: null, contactPhone: '79160000000', contactName: null, scenarioId: null, scenarioName: null, startTime: null, timestamp: null, employeeId: null, employeeName: null, extension: null, legId: null, legIds: [], employeeIds: [], talkSeconds: null, totalSeconds: null, waitSeconds: null, callStatus: null, fileLink: null, fileDuration: null });
    await repo.record({ memberId: m, notification: n(1, 1000), dedupeKey: 'a' }, 1000);
    await repo.record({ memberId: m, notification: n(2, 1000), dedupeKey: 'b' }, 1000);
    for (const id of [1, 2]) {
      const c = (await repo.get(m, id))!;
      await repo.finish(c, { status: 'done', outcome: 'primary', reason: null });
    }
    await repo.setMissed(m, 2, 555, true);
    const now = Date.now() + 1000;
    expect(await repo.prune(now, now)).toEqual({ events: 2, calls: 1 });
    expect(await repo.get(m, 1)).toBeNull();
    expect(await repo.get(m, 2)).not.toBeNull();
    expect(await repo.openMissed(m, '79160000000', 0)).toEqual([{ sessionId: 2, activityId: 555 }]);
  });
});

describe('external lines follow the account\'s virtual numbers', () => {
  it('saving the tab makes one line per active virtual number (named as in UIS, CRM_AUTO_CREATE=N); a renamed number is renamed, a removed one deleted; the install plan runs the same step', async () => {
    const { session } = await setup();
    const pbx = h.uis.accounts[0]!.pbx;
    const { defaultTelephonySettings } = await import('../../server/contracts/telephony-settings');
    const d = defaultTelephonySettings();
    const settings = { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } };
    expect((await api(h.app.url, session, 'PUT', '/api/telephony', settings)).status).toBe(200);
    const lines = () => h.portal.telephony.lines.map((l) => [l.number, l.name, l.crmAutoCreate]).sort();
    expect(lines()).toEqual(pbx.virtualNumbers.map((v) => [v.number, v.name, 'N']).sort());

    pbx.virtualNumbers[0]!.name = 'Главный';
    pbx.virtualNumbers.splice(2, 1);
    const synced = await api(h.app.url, session, 'POST', '/api/telephony/lines/sync');
    expect((synced.json as unknown as TelephonyView).lines).toMatchObject({ numbers: [{ name: 'Главный' }, { name: 'Реклама' }], lastError: null });
    expect(lines()).toEqual(pbx.virtualNumbers.map((v) => [v.number, v.name, 'N']).sort());

    // the install plan's step (re-run on ONAPPUPDATE) brings back what was lost
    h.portal.telephony.lines.splice(0);
    await h.portal.updateApp();
    for (let i = 0; i < 100 && h.portal.telephony.lines.length < 2; i++) {
      await h.app.deps.background.idle();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lines()).toEqual(pbx.virtualNumbers.map((v) => [v.number, v.name, 'N']).sort());
  });
});
