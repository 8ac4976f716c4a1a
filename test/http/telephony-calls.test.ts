import { afterEach, describe, expect, it } from 'vitest';
import { scaledClock } from '../../server/domain/clock';
import type { TelephonyView } from '../../server/contracts/telephony';
import { defaultTelephonySettings, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { installAndLink, until } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';
import type { Pbx } from '../emulator/uis/pbx/pbx';
import type { NotificationFaults } from '../emulator/uis/pbx/notify';

/**
 * «Телефония» end to end (issue #13): the emulated UIS PBX plays call sessions and sends the
 * notifications the «Телефония» tab tells the admin to configure; the app brings each call into the
 * emulated portal's external telephony — cards, register/finish, the call activity, CRM items by the
 * rules, the recording — over real HTTP. Each call sequence of telephony.md §5 that belongs to
 * Telephony I, and the same sequences with notifications lost, repeated and reordered: the same
 * Bitrix24 state, each call once.
 */
let h: Harness;
afterEach(async () => h?.close());
/** Talk lengths and recording delays in seconds of the shared clock, 20× faster than real time. */
const clock = scaledClock(20);
const talk = (seconds: number) => clock.sleep(seconds * 1000);

const CLIENT = '79161112233';

/** The tab switched on with the manual's defaults: user 2 for missed incoming calls, user 1 for outgoing. */
function telephony(over: Partial<TelephonySettings> = {}): TelephonySettings {
  const d = defaultTelephonySettings();
  return { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 }, ...over };
}

interface World {
  pbx: Pbx;
  anna: number;
  marina: number;
  oleg: number;
  view: TelephonyView;
  session: string;
}

/**
 * Install, link, pair UIS employees with Bitrix24 users (Анна → admin 1, Марина → Иван 2, as their
 * extensions 101/102 say), save the tab, and configure in UIS exactly the notifications the tab shows.
 */
async function setup(settings: TelephonySettings, o: { faults?: NotificationFaults; notify?: boolean } = {}): Promise<World> {
  h = await startHarness({ clock, env: { LOG_LEVEL: 'warn' } });
  const { acc, session } = await installAndLink(h);
  const pbx = acc.pbx;
  const [anna, marina, oleg] = acc.employees.map((e) => e.id) as [number, number, number];
  h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
    { b24UserId: 1, uisEmployeeId: anna, matchedBy: 'email' },
    { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' },
  ]);
  const saved = await api(h.app.url, session, 'PUT', '/api/telephony', settings);
  expect(saved.status, JSON.stringify(saved.json)).toBe(200);
  const view = saved.json as unknown as TelephonyView;
  if (o.notify !== false) {
    for (const n of view.notifications) pbx.addNotification({ eventType: n.type, method: n.method, url: n.url, body: n.body, contentType: n.contentType });
  }
  pbx.settings.recordingDelayMs = 3000;
  if (o.faults) pbx.setNotificationFaults(o.faults);
  return { pbx, anna, marina, oleg, view, session };
}

const settle = async (w: World) => {
  await w.pbx.settle();
  await h.app.deps.telephonyWorker.drain();
};
async function waitFor(w: World, done: () => boolean, rounds = 150): Promise<void> {
  await until(done, () => settle(w), rounds, 20);
  if (!done()) {
    const rows = await Promise.all(w.pbx.sessions.map((s) => callRow(s.id)));
    console.log(JSON.stringify({ sent: w.pbx.notifications.sent.map((n) => [n.eventType, n.status]), rows, logs: h.logs.lines().slice(-20) }, null, 1).slice(0, 6000));
  }
  expect(done()).toBe(true);
}

const stats = () => h.portal.telephony.statistics;
const statOf = (session: number) => stats().filter((s) => s.record.EXTERNAL_CALL_ID === String(session));
const callActivities = () => h.portal.crm.activities().filter((a) => a.providerId === 'VOXIMPLANT_CALL');
const ours = (rows: Array<Record<string, unknown>>) => rows.filter((r) => r.ORIGINATOR_ID === 'uis_omni');
const cards = (user: number) => h.portal.telephony.visibleCards(user).map((c) => c.callId);
const callRow = (session: number) => h.app.deps.telephony.get(h.portal.memberId, session);

describe('incoming, answered (telephony.md §5)', () => {
  it('a new client calls «Основной»: cards pop up for the ringing employees and go when Анна answers; a lead with the manual\'s title; finish 200 for Анна; the recording on the call', async () => {
    const w = await setup(telephony());
    const vn = w.pbx.virtualNumbers[0]!.number;
    const call = await w.pbx.incoming({ from: CLIENT, to: vn });
    await waitFor(w, () => cards(1).length === 1 && cards(2).length === 1);
    const live = [...h.portal.telephony.calls.values()].find((c) => c.externalCallId === String(call.id));
    expect(live).toMatchObject({ type: 2, phone: `+${CLIENT}` });
    expect(h.portal.telephony.lines.map((l) => l.number)).toContain(vn);

    call.answer(w.anna);
    await waitFor(w, () => cards(2).length === 0);
    expect(cards(1)).toHaveLength(1);
    await talk(42);
    call.hangup();
    await waitFor(w, () => statOf(call.id).length === 1 && cards(1).length === 0);
    await waitFor(w, () => h.portal.telephony.files.length === 1);

    const [stat] = statOf(call.id);
    expect(stat!.record).toMatchObject({ PORTAL_USER_ID: 1, INCOMING: '2', CALL_FAILED_CODE: '200', CALL_DURATION: call.session.talkSeconds });
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ TITLE: `Входящий звонок на номер +${CLIENT} из приложения UIS OMNI`, ASSIGNED_BY_ID: '1', SOURCE_DESCRIPTION: vn });
    const acts = callActivities();
    expect(acts).toHaveLength(1);
    expect(acts[0]).toMatchObject({ ownerType: 'LEAD', ownerId: Number(lead!.ID), completed: 'Y', responsibleId: 1 });
    expect(acts[0]!.call!.fileIds).toHaveLength(1);
    expect((await callRow(call.id))?.status).toBe('done');
  });
});
