import { afterEach, describe, expect, it } from 'vitest';
import { scaledClock } from '../../server/domain/clock';
import type { TelephonyView } from '../../server/contracts/telephony';
import { defaultTelephonySettings, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { installAndLink, until } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';
import type { Pbx } from '../emulator/uis/pbx/pbx';

/**
 * «Телефония» II end to end (issue #14): calls started from Bitrix24. An employee clicks a number on a
 * CRM card — the portal registers the call and sends ONEXTERNALCALLSTART; a site visitor submits the
 * contact-center callback form — ONEXTERNALCALLBACKSTART. The app starts a UIS Call API session, the
 * emulated PBX plays it and sends the notifications (with our external_id) the tab told the admin to
 * configure, and the call ends in Bitrix24 on the right CALL_ID. Failures close the call with a
 * reason the employee reads.
 */
let h: Harness;
afterEach(async () => h?.close());
const clock = scaledClock(20);
const talk = (seconds: number) => clock.sleep(seconds * 1000);

const CLIENT = '79161112233';

interface World {
  pbx: Pbx;
  anna: number;
  marina: number;
  oleg: number;
  /** the account's virtual numbers: «Основной», «Реклама», «Меню» */
  vns: string[];
  session: string;
  view: TelephonyView;
}

function settings(w: { vns: string[] }, over: { click?: Partial<NonNullable<TelephonySettings['clickToCall']>>; callback?: Partial<NonNullable<TelephonySettings['callback']>> } = {}): TelephonySettings {
  const d = defaultTelephonySettings();
  return {
    ...d,
    enabled: true,
    responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 },
    clickToCall: { use: true, number: w.vns[1]!, overrideCallerId: true, ...over.click },
    callback: { use: true, number: '74951230000', ...over.callback },
  };
}

/**
 * Install, link, pair Анна ↔ admin 1 and Марина ↔ Иван 2 (Олег, no SIP line, ↔ user 3 when asked),
 * save the tab, configure the notifications in UIS, and make the app's line «Основной» the portal's
 * default outgoing line and the callback form's line (what the tab tells the admin to do).
 */
async function setup(over: Parameters<typeof settings>[1] = {}, o: { pairOleg?: boolean; notify?: boolean } = {}): Promise<World> {
  h = await startHarness({ clock, env: { LOG_LEVEL: 'warn' } });
  const { acc, session } = await installAndLink(h);
  const pbx = acc.pbx;
  const [anna, marina, oleg] = acc.employees.map((e) => e.id) as [number, number, number];
  const maps = [
    { b24UserId: 1, uisEmployeeId: anna, matchedBy: 'email' as const },
    { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' as const },
  ];
  if (o.pairOleg) maps.push({ b24UserId: 3, uisEmployeeId: oleg, matchedBy: 'email' as const });
  await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, maps);
  const vns = pbx.virtualNumbers.map((v) => v.number);
  const saved = await api(h.app.url, session, 'PUT', '/api/telephony', settings({ vns }, over));
  expect(saved.status, JSON.stringify(saved.json)).toBe(200);
  const view = saved.json as unknown as TelephonyView;
  if (o.notify !== false) for (const n of view.notifications) pbx.addNotification({ eventType: n.type, method: n.method, url: n.url, body: n.body, contentType: n.contentType });
  pbx.settings.recordingDelayMs = 2000;
  h.portal.telephony.settings.defaultOutgoingLine = { kind: 'line', number: vns[0]! };
  h.portal.telephony.settings.callbackForm.line = { kind: 'line', number: vns[0]! };
  return { pbx, anna, marina, oleg, vns, session, view };
}

const settle = async (w: World) => {
  await w.pbx.settle();
  await h.portal.drainEvents();
  await h.app.deps.telephonyWorker.drain();
};
async function waitFor(w: World, done: () => boolean, rounds = 200): Promise<void> {
  await until(done, () => settle(w), rounds, 20);
  if (!done()) console.log(JSON.stringify({ api: w.pbx.callApiRequests, stats: h.portal.telephony.statistics.map((s) => s.record), logs: h.logs.lines().slice(-15) }, null, 1).slice(0, 5000));
  expect(done()).toBe(true);
}

const stats = () => h.portal.telephony.statistics;
const starts = (w: World) => w.pbx.callApiRequests.filter((r) => r.method.startsWith('start.'));
const notes = (userId: number) => h.portal.crm.notifications().filter((n) => n.userId === userId);
const callActivities = () => h.portal.crm.activities().filter((a) => a.providerId === 'VOXIMPLANT_CALL');

async function clientLead(): Promise<number> {
  const r = await h.app.deps.gateway.client(h.portal.memberId).call('crm.lead.add', { fields: { TITLE: 'Клиент', PHONE: [{ VALUE: `+${CLIENT}`, VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: 2 } });
  return Number(r.result);
}
const cardIds = (userId: number) => h.portal.telephony.visibleCards(userId).map((c) => c.callId);

/** The admin clicks the client's number on the lead card; the app starts the UIS call. */
async function click(w: World, userId = 1): Promise<{ callId: string; leadId: number }> {
  const leadId = await clientLead();
  const r = h.portal.clickToCall({ userId, phone: '+7 (916) 111-22-33', entityType: 'LEAD', entityId: leadId });
  expect(r.started, r.reason).toBe(true);
  return { callId: r.callId!, leadId };
}

/** ONEXTERNALCALLSTART as a forger would send it: a real portal id, a wrong application_token. */
async function forgedClick(): Promise<number> {
  const body = new URLSearchParams({
    event: 'ONEXTERNALCALLSTART',
    'data[CALL_ID]': 'externalCall.00000000000000000000000000000000.1',
    'data[USER_ID]': '1',
    'data[PHONE_NUMBER]': `+${CLIENT}`,
    'auth[member_id]': h.portal.memberId,
    'auth[application_token]': 'forged-token',
    ts: '1',
  });
  const r = await fetch(`${h.app.url}/b24/events`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return r.status;
}

describe('click-to-call (ONEXTERNALCALLSTART → start.employee_call)', () => {
  it('answered (a forged event refused first): Анна\'s phone rings first, then the client; the call Bitrix24 registered is finished on its CALL_ID, 200 with the talk, on the lead; nothing registered again', async () => {
    const w = await setup();
    expect(await forgedClick()).toBe(401); // refused before anything: no UIS call below but the real one
    const leadsBefore = h.portal.crm.leads().length;
    const { callId, leadId } = await click(w);
    await waitFor(w, () => starts(w).length === 1);
    const [req] = starts(w);
    expect(req).toMatchObject({ method: 'start.employee_call', ok: true });
    expect(req!.params).toMatchObject({ first_call: 'employee', direction: 'out', contact: CLIENT, employee: { id: w.anna }, virtual_phone_number: w.vns[1] });
    expect(String(req!.params.external_id)).toMatch(/^omni-[0-9a-f]{20}$/);
    const call = w.pbx.lastCall();
    expect(call.session.externalId).toBe(req!.params.external_id);
    await talk(2);
    call.answer(w.anna);
    await talk(2);
    call.answer('contact');
    await waitFor(w, () => cardIds(1).includes(callId));
    await talk(25);
    call.hangup();
    await waitFor(w, () => stats().length === 1 && h.portal.telephony.files.length === 1);
    const [stat] = stats();
    expect(stat!.callId).toBe(callId);
    expect(stat!.record).toMatchObject({ PORTAL_USER_ID: 1, INCOMING: '1', CALL_FAILED_CODE: '200', CALL_DURATION: call.session.talkSeconds, CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: leadId });
    expect(h.portal.telephony.calls.size).toBe(0); // no second registration left open
    const acts = callActivities();
    expect(acts).toHaveLength(1);
    expect(acts[0]).toMatchObject({ ownerType: 'LEAD', ownerId: leadId, responsibleId: 1 });
    expect(h.portal.crm.leads()).toHaveLength(leadsBefore + 1); // the clicked one: the rules created nothing for a call Bitrix24 bound itself
    await talk(30);
    await settle(w);
    expect(stats()).toHaveLength(1);
  });

  it('unanswered: the client is busy — the same CALL_ID is finished with 486 «Абонент занят», one call in Bitrix24', async () => {
    const w = await setup();
    const { callId } = await click(w);
    await waitFor(w, () => starts(w).length === 1);
    const call = w.pbx.lastCall();
    call.answer(w.anna);
    await talk(2);
    call.busy('contact');
    await waitFor(w, () => stats().length === 1);
    expect(stats()[0]!.callId).toBe(callId);
    expect(stats()[0]!.record).toMatchObject({ PORTAL_USER_ID: 1, CALL_FAILED_CODE: '486', CALL_DURATION: 0 });
    expect(h.portal.telephony.calls.size).toBe(0);
    await talk(30);
    await settle(w);
    expect(stats()).toHaveLength(1);
  });

  it('no notification reaches the app: the calls report (call_api_external_id) finishes the click on the CALL_ID Bitrix24 gave, once', async () => {
    const w = await setup({}, { notify: false });
    const { callId, leadId } = await click(w);
    await waitFor(w, () => starts(w).length === 1);
    const call = w.pbx.lastCall();
    call.answer(w.anna);
    await talk(1);
    call.answer('contact');
    await talk(12);
    call.hangup();
    await until(() => stats().length === 1, async () => {
      await settle(w);
      await h.app.deps.telephonyReconcile.run(h.portal.memberId);
    }, 300, 20);
    expect(stats()).toHaveLength(1);
    expect(stats()[0]!.callId).toBe(callId);
    expect(stats()[0]!.record).toMatchObject({ PORTAL_USER_ID: 1, INCOMING: '1', CALL_FAILED_CODE: '200', CRM_ENTITY_ID: leadId });
    expect(h.portal.telephony.calls.size).toBe(0);
    await h.app.deps.telephonyReconcile.run(h.portal.memberId);
    await settle(w);
    expect(stats()).toHaveLength(1);
  });

  it('«Переопределять АОН» off: the client sees the number of Анна\'s SIP line (or the Bitrix24 line when she has none); on: the chosen number', async () => {
    const w = await setup({ click: { overrideCallerId: false } });
    h.portal.telephony.settings.defaultOutgoingLine = { kind: 'line', number: w.vns[2]! };
    await click(w);
    await waitFor(w, () => starts(w).length === 1);
    const annaLine = w.pbx.sipLines.find((l) => l.employee_id === w.anna)!;
    expect(starts(w)[0]!.params.virtual_phone_number).toBe(annaLine.virtual_phone_number);
    expect([w.vns[1], w.vns[2]]).not.toContain(annaLine.virtual_phone_number);

    // Олег has no SIP line: the line the click went through («Меню», the portal's default)
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
      { b24UserId: 1, uisEmployeeId: w.anna, matchedBy: 'email' },
      { b24UserId: 3, uisEmployeeId: w.oleg, matchedBy: 'email' },
    ]);
    const r3 = h.portal.clickToCall({ userId: 3, phone: '+7 916 111-22-44' });
    expect(r3.started, r3.reason).toBe(true);
    await waitFor(w, () => starts(w).length === 2);
    expect(starts(w)[1]!.params).toMatchObject({ employee: { id: w.oleg }, virtual_phone_number: w.vns[2] });

    const on = await api(h.app.url, w.session, 'PUT', '/api/telephony', settings(w, { click: { overrideCallerId: true } }));
    expect(on.status).toBe(200);
    h.portal.clickToCall({ userId: 1, phone: '+7 916 111-22-55' });
    await waitFor(w, () => starts(w).length === 3);
    expect(starts(w)[2]!.params).toMatchObject({ employee: { id: w.anna }, virtual_phone_number: w.vns[1] });
  });

  it('every failure closes the call Bitrix24 registered with the reason, tells the employee, and the tab lists it', async () => {
    const w = await setup();
    const cases: Array<{ name: string; prepare(): unknown; userId: number; phone?: string; status: string; reason: RegExp; code: string }> = [
      { name: 'not paired', prepare: () => {}, userId: 3, status: '403', reason: /не сопоставлены с сотрудником UIS/, code: 'EMPLOYEE_NOT_PAIRED' },
      {
        name: 'no SIP, no phone',
        prepare: async () => {
          // Олег's only phone is switched off: UIS has nothing to ring (no_active_phone_number)
          for (const p of w.pbx.telephonyOf(w.oleg).phones) p.status = 'inactive';
          await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
            { b24UserId: 1, uisEmployeeId: w.anna, matchedBy: 'email' },
            { b24UserId: 3, uisEmployeeId: w.oleg, matchedBy: 'email' },
          ]);
        },
        userId: 3,
        status: '480',
        reason: /нет SIP-линии или другого активного номера/,
        code: 'no_active_phone_number',
      },
      { name: 'blocked number', prepare: () => w.pbx.callApi.blacklist.add('79169990000'), userId: 1, phone: '+7 916 999-00-00', status: '423', reason: /заблокирован/, code: 'contact_in_blacklist' },
      { name: 'UIS refused (Call API component off)', prepare: () => (w.pbx.callApi.componentEnabled = false), userId: 1, status: '403', reason: /Call API/, code: 'component_disabled' },
    ];
    let n = 0;
    for (const c of cases) {
      await c.prepare();
      const r = h.portal.clickToCall({ userId: c.userId, phone: c.phone ?? `+7 916 111-30-0${n}` });
      expect(r.started, c.name).toBe(true);
      n++;
      await waitFor(w, () => stats().length === n);
      const stat = stats()[n - 1]!;
      expect(stat.callId, c.name).toBe(r.callId);
      expect(stat.record, c.name).toMatchObject({ PORTAL_USER_ID: c.userId, CALL_FAILED_CODE: c.status, CALL_DURATION: 0 });
      expect(String(stat.record.CALL_FAILED_REASON), c.name).toMatch(c.reason);
      expect(cardIds(c.userId), c.name).not.toContain(r.callId);
      expect(notes(c.userId).map((x) => x.message).join('\n'), c.name).toMatch(c.reason);
    }
    expect(h.portal.telephony.calls.size).toBe(0);
    const view = (await api(h.app.url, w.session, 'GET', '/api/telephony')).json as unknown as TelephonyView;
    expect(view.startFailures!.map((f) => f.code)).toEqual(cases.map((c) => c.code).reverse());
    expect(view.startFailures![0]).toMatchObject({ kind: 'click', reason: expect.stringMatching(/Call API/) });
  });

  it('switched off in the tab: the click is refused with the reason (the card closes, the employee is told)', async () => {
    const w = await setup({ click: { use: false } });
    const { callId } = await click(w);
    await waitFor(w, () => stats().length === 1);
    expect(stats()[0]!.callId).toBe(callId);
    expect(String(stats()[0]!.record.CALL_FAILED_REASON)).toMatch(/выключены/);
    expect(starts(w)).toHaveLength(0);
  });

});

describe('the callback form (ONEXTERNALCALLBACKSTART)', () => {
  it('the lead\'s responsible is paired and has a SIP line: his SIP rings with the form\'s text, then the client; a TYPE 4 call on the lead, answered, with the text on the timeline', async () => {
    const w = await setup();
    h.portal.telephony.settings.callbackForm.responsibleId = 2; // Иван ↔ Марина (SIP)
    const form = h.portal.submitCallbackForm({ name: 'Пётр', phone: '+7 916 111-22-33' });
    expect(form.started).toBe(true);
    await waitFor(w, () => starts(w).length === 1);
    const marinaSip = w.pbx.sipLines.find((l) => l.employee_id === w.marina)!;
    expect(starts(w)[0]).toMatchObject({ method: 'start.employee_call', ok: true });
    expect(starts(w)[0]!.params).toMatchObject({ first_call: 'employee', contact: CLIENT, employee: { id: w.marina, phone_number: marinaSip.phone_number }, virtual_phone_number: w.vns[0], employee_message: { type: 'tts', value: h.portal.telephony.settings.callbackForm.text } });
    expect(starts(w)[0]!.params.direction).toBeUndefined(); // a callback is the client's request: UIS's default, incoming
    const call = w.pbx.lastCall();
    call.answer(w.marina);
    await talk(1);
    call.answer('contact');
    await talk(15);
    call.hangup();
    await waitFor(w, () => stats().length === 1);
    expect(stats()[0]!.record).toMatchObject({ PORTAL_USER_ID: 2, INCOMING: '4', CALL_FAILED_CODE: '200', CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: form.leadId });
    expect(callActivities()[0]).toMatchObject({ ownerType: 'LEAD', ownerId: form.leadId, completed: 'Y' });
    const comments = h.portal.crm.comments().filter((c) => c.entityType === 'LEAD' && c.entityId === form.leadId).map((c) => c.comment);
    expect(comments.join('\n')).toContain(h.portal.telephony.settings.callbackForm.text);
    expect(h.portal.telephony.calls.size).toBe(0);
  });

  it('no paired responsible: the number from the settings rings (start.simple_call), then the client; missed → an open callback activity', async () => {
    const w = await setup();
    h.portal.telephony.settings.callbackForm.responsibleId = 3; // Мария: not paired with anyone in UIS
    const form = h.portal.submitCallbackForm({ phone: '+7 916 111-22-33' });
    await waitFor(w, () => starts(w).length === 1);
    expect(starts(w)[0]).toMatchObject({ method: 'start.simple_call', ok: true });
    expect(starts(w)[0]!.params).toMatchObject({ first_call: 'operator', operator: '74951230000', contact: CLIENT, virtual_phone_number: w.vns[0] });
    const call = w.pbx.lastCall();
    call.noAnswer('operator');
    await waitFor(w, () => stats().length === 1);
    expect(stats()[0]!.record).toMatchObject({ PORTAL_USER_ID: 3, INCOMING: '4', CALL_FAILED_CODE: '304', CRM_ENTITY_ID: form.leadId });
    expect(callActivities()[0]).toMatchObject({ ownerId: form.leadId, completed: 'N' });
  });

  it('the responsible is paired but has no SIP line: the number from the settings rings, not his mobile', async () => {
    const w = await setup({}, { pairOleg: true });
    h.portal.telephony.settings.callbackForm.responsibleId = 3; // ↔ Олег: mobile only
    h.portal.submitCallbackForm({ phone: '+7 916 111-22-33' });
    await waitFor(w, () => starts(w).length === 1);
    expect(starts(w)[0]).toMatchObject({ method: 'start.simple_call', ok: true });
    expect(starts(w)[0]!.params).toMatchObject({ operator: '74951230000' });
  });

  it('the lead\'s responsible has left (inactive in Bitrix24): the callback is registered for the default responsible for missed calls and still rings', async () => {
    const w = await setup();
    h.portal.telephony.settings.callbackForm.responsibleId = 4; // Олег Уволенный: Bitrix24 refuses to register for him
    const form = h.portal.submitCallbackForm({ phone: '+7 916 111-22-33' });
    await waitFor(w, () => starts(w).length === 1);
    expect(starts(w)[0]).toMatchObject({ method: 'start.simple_call', ok: true });
    w.pbx.lastCall().noAnswer('operator');
    await waitFor(w, () => stats().length === 1);
    expect(stats()[0]!.record).toMatchObject({ PORTAL_USER_ID: 2, INCOMING: '4', CALL_FAILED_CODE: '304', CRM_ENTITY_ID: form.leadId });
    const view = (await api(h.app.url, w.session, 'GET', '/api/telephony')).json as unknown as TelephonyView;
    expect(view.startFailures).toEqual([]);
  });

  it('UIS refuses: the registered callback is closed with the reason, the responsible is told', async () => {
    const w = await setup();
    h.portal.telephony.settings.callbackForm.responsibleId = 2;
    w.pbx.callApi.blacklist.add(CLIENT);
    h.portal.submitCallbackForm({ phone: '+7 916 111-22-33' });
    await waitFor(w, () => stats().length === 1);
    expect(stats()[0]!.record).toMatchObject({ INCOMING: '4', CALL_FAILED_CODE: '423', PORTAL_USER_ID: 2 });
    expect(notes(2).map((x) => x.message).join('\n')).toMatch(/Обратный звонок.*заблокирован/);
  });
});
