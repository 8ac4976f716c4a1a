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
 * rules, the recording — over real HTTP. Each call sequence of docs/facts/telephony.md#call-sequence that belongs to
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
async function setup(settings: TelephonySettings, o: { faults?: NotificationFaults; notify?: boolean; fetch?: typeof fetch } = {}): Promise<World> {
  h = await startHarness({ clock, env: { LOG_LEVEL: 'warn' }, fetch: o.fetch });
  const { acc, session } = await installAndLink(h);
  const pbx = acc.pbx;
  const [anna, marina, oleg] = acc.employees.map((e) => e.id) as [number, number, number];
  await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
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

describe('incoming, answered (docs/facts/telephony.md#call-sequence)', () => {
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

// ---------------------------------------------------------------------------------------------
// Each sequence of docs/facts/telephony.md#call-sequence (Telephony I), with notifications as configured, lost, repeated,
// reordered, or none at all: the same Bitrix24 state, each call registered and finished once.

type Seq = 'incoming answered' | 'incoming missed' | 'incoming transferred' | 'outgoing answered' | 'outgoing unanswered';

/** Plays a sequence on the PBX (its own timing only: nothing here waits for the app). */
async function play(w: World, seq: Seq): Promise<number> {
  const vn = w.pbx.virtualNumbers[0]!.number;
  switch (seq) {
    case 'incoming answered': {
      const call = await w.pbx.incoming({ from: CLIENT, to: vn });
      await talk(3);
      call.answer(w.anna);
      await talk(30);
      call.hangup();
      return call.id;
    }
    case 'incoming missed': {
      const call = await w.pbx.incoming({ from: CLIENT, to: vn });
      await talk(5);
      call.noAnswer(); // the sales group: Анна, Марина
      await w.pbx.settle();
      await talk(5);
      call.noAnswer(); // the reserve, Олег (no Bitrix24 user)
      return call.id;
    }
    case 'incoming transferred': {
      const call = await w.pbx.incoming({ from: CLIENT, to: vn });
      await talk(2);
      call.answer(w.anna);
      await talk(10);
      call.transfer(w.marina);
      await talk(3);
      call.answer(w.marina);
      await talk(20);
      call.hangup();
      return call.id;
    }
    case 'outgoing answered': {
      const call = w.pbx.outgoing({ employeeId: w.anna, to: CLIENT });
      await talk(4);
      call.answer('contact');
      await talk(25);
      call.hangup();
      return call.id;
    }
    case 'outgoing unanswered': {
      const call = w.pbx.outgoing({ employeeId: w.anna, to: CLIENT });
      await talk(6);
      call.busy('contact');
      return call.id;
    }
  }
}

/** What Bitrix24 holds for a call: comparable across runs (no ids). */
function bitrixState(session: number) {
  const st = statOf(session);
  const callId = st[0]?.callId;
  return {
    registeredAndFinished: st.length,
    statusCode: st[0]?.record.CALL_FAILED_CODE,
    user: st[0]?.record.PORTAL_USER_ID,
    type: st[0]?.record.INCOMING,
    /** the statistics line: the UIS virtual number's external line */
    line: st[0]?.record.PORTAL_NUMBER,
    activities: callActivities()
      .filter((a) => a.call?.callId === callId)
      .map((a) => ({ owner: a.ownerType, completed: a.completed, responsible: a.responsibleId, records: a.call!.fileIds.length })),
    leads: ours(h.portal.crm.leads()).map((l) => ({ title: l.TITLE, responsible: l.ASSIGNED_BY_ID, source: l.SOURCE_DESCRIPTION })),
    cardsLeft: [1, 2, 3].flatMap(cards).length,
    liveCalls: h.portal.telephony.calls.size,
  };
}

const IN_TITLE = `Входящий звонок на номер +${CLIENT} из приложения UIS OMNI`;
const OUT_TITLE = `Исходящий звонок на номер +${CLIENT} из приложения UIS OMNI`;
const VN = '74950000101';
const EXPECTED: Record<Seq, ReturnType<typeof bitrixState>> = {
  'incoming answered': {
    registeredAndFinished: 1, statusCode: '200', user: 1, type: '2', line: VN,
    activities: [{ owner: 'LEAD', completed: 'Y', responsible: 1, records: 1 }],
    leads: [{ title: IN_TITLE, responsible: '1', source: VN }], cardsLeft: 0, liveCalls: 0,
  },
  // «Входящий пропущенный (без фильтров) = за лид и дело ответственный тот, кто в поле по умолчанию» (seed 002 line 190)
  'incoming missed': {
    registeredAndFinished: 1, statusCode: '304', user: 2, type: '2', line: VN,
    activities: [{ owner: 'LEAD', completed: 'N', responsible: 2, records: 0 }],
    leads: [{ title: IN_TITLE, responsible: '2', source: VN }], cardsLeft: 0, liveCalls: 0,
  },
  // the first talker by default (line 191); «первый виртуальный номер, который принял звонок» (line 78)
  'incoming transferred': {
    registeredAndFinished: 1, statusCode: '200', user: 1, type: '2', line: VN,
    activities: [{ owner: 'LEAD', completed: 'Y', responsible: 1, records: 1 }],
    leads: [{ title: IN_TITLE, responsible: '1', source: VN }], cardsLeft: 0, liveCalls: 0,
  },
  // «Исходящий, если сотрудник найден = в лиде и в деле ответственный тот кто делает исходящий звонок» (line 189)
  'outgoing answered': {
    registeredAndFinished: 1, statusCode: '200', user: 1, type: '1', line: VN,
    activities: [{ owner: 'LEAD', completed: 'Y', responsible: 1, records: 1 }],
    leads: [{ title: OUT_TITLE, responsible: '1', source: VN }], cardsLeft: 0, liveCalls: 0,
  },
  // busy: STATUS_CODE 486 from the report's finish_reason; outgoing activities are always completed
  'outgoing unanswered': {
    registeredAndFinished: 1, statusCode: '486', user: 1, type: '1', line: VN,
    activities: [{ owner: 'LEAD', completed: 'Y', responsible: 1, records: 0 }],
    leads: [{ title: OUT_TITLE, responsible: '1', source: VN }], cardsLeft: 0, liveCalls: 0,
  },
};

const DELIVERIES: Array<{ name: string; faults?: NotificationFaults; notify?: boolean }> = [
  { name: 'notifications as configured' },
  { name: 'the end lost (talk, end, lost and recording notifications dropped)', faults: { drop: ['talk_started', 'talk_finished', 'call_finished', 'lost_call', 'call_recorded'] } },
  { name: 'every notification delivered twice', faults: { duplicate: true } },
  { name: 'notifications in reverse order', faults: { reorder: 'reverse' } },
  { name: 'no notifications at all (the report alone)', notify: false },
  {
    // all three at once: the later half of a call's notifications first, each twice, the answer lost
    name: 'notifications halves swapped, each twice, «Начало разговора» lost',
    faults: { reorder: (l) => [...l.slice(Math.ceil(l.length / 2)), ...l.slice(0, Math.ceil(l.length / 2))], duplicate: true, drop: ['talk_started'] },
  },
];

describe.each(DELIVERIES)('call sequences with $name', ({ faults, notify }) => {
  it.each(Object.keys(EXPECTED) as Seq[])('%s', async (seq) => {
    const w = await setup(telephony(), { faults, notify });
    const session = await play(w, seq);
    const want = EXPECTED[seq];
    const done = () => {
      const s = bitrixState(session);
      return s.registeredAndFinished === 1 && s.activities.length === 1 && s.activities[0]!.records === want.activities[0]!.records && s.cardsLeft === 0;
    };
    // the report's reconciliation runs every minute in production; here after each settle
    await until(done, async () => {
      await settle(w);
      await h.app.deps.telephonyReconcile.run(h.portal.memberId);
    }, 300, 20);
    expect(bitrixState(session)).toEqual(want);
    // nothing left to do, nothing done twice
    for (let i = 0; i < 3; i++) {
      await settle(w);
      await h.app.deps.telephonyReconcile.run(h.portal.memberId);
    }
    expect(bitrixState(session)).toEqual(want);
    expect((await callRow(session))?.status).toBe('done');
  });
});

// ---------------------------------------------------------------------------------------------
// The rules as the manual words them, end to end.

const settleAll = async (w: World) => {
  await settle(w);
  await h.app.deps.telephonyReconcile.run(h.portal.memberId);
};
async function playAndWait(w: World, seq: Seq, done?: (session: number) => boolean): Promise<number> {
  const session = await play(w, seq);
  await until(() => (done ? done(session) : statOf(session).length === 1 && [1, 2].flatMap(cards).length === 0), () => settleAll(w), 300, 20);
  await settleAll(w);
  return session;
}
const activityOf = (session: number) => callActivities().find((a) => a.call?.callId === statOf(session)[0]?.callId);

describe('«Телефония» rules end to end', () => {
  it('«"не выполненное" предыдущее дело получит статус "Обработано"» (seed 002 line 64): a missed call, then an answered one from the same client', async () => {
    const w = await setup(telephony());
    const missed = await playAndWait(w, 'incoming missed');
    expect(activityOf(missed)).toMatchObject({ completed: 'N' });
    const answered = await playAndWait(w, 'incoming answered', (s) => activityOf(s)?.call?.fileIds.length === 1);
    expect(activityOf(missed)).toMatchObject({ completed: 'Y' });
    expect(activityOf(answered)).toMatchObject({ completed: 'Y', responsibleId: 1 });
    // a repeat call while the lead is open creates nothing new (line 62); both calls are on that lead
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
    expect([activityOf(missed)!.ownerId, activityOf(answered)!.ownerId]).toEqual([Number(ours(h.portal.crm.leads())[0]!.ID), Number(ours(h.portal.crm.leads())[0]!.ID)]);
  });

  it('«Обновлять ответственного через»: created with the default responsible, the responsible and the activity after the delay (line 69)', async () => {
    const w = await setup(telephony({ processing: { ...telephony().processing, responsibleDelay: { use: true, minutes: 1 } } }));
    const session = await play(w, 'incoming answered');
    await until(() => ours(h.portal.crm.leads()).length === 1 && [1, 2].flatMap(cards).length === 0, () => settleAll(w), 300, 20);
    await settleAll(w);
    expect(ours(h.portal.crm.leads())[0]).toMatchObject({ ASSIGNED_BY_ID: '2' });
    expect(statOf(session)).toHaveLength(0);
    await until(() => statOf(session).length === 1 && activityOf(session)?.call?.fileIds.length === 1, () => settleAll(w), 400, 20);
    expect(ours(h.portal.crm.leads())[0]).toMatchObject({ ASSIGNED_BY_ID: '1' });
    expect(activityOf(session)).toMatchObject({ responsibleId: 1, completed: 'Y' });
  });

  it('«Добавлять сообщение о совершенном звонке сотруднику в чат» on: the message for the employee; off: none (ADD_TO_CHAT sent as 0)', async () => {
    const on = await setup(telephony());
    await playAndWait(on, 'incoming missed');
    expect(h.portal.telephony.chat.map((c) => c.userId)).toEqual([2]);
    await h.close();
    const off = await setup(telephony({ chatMessage: false }));
    await playAndWait(off, 'incoming missed');
    expect(h.portal.telephony.chat).toEqual([]);
  });

  it('«Использовать другую телефонию»: nothing is created, the call is still registered and finished (lines 40–48)', async () => {
    const w = await setup(telephony({ processing: { ...telephony().processing, otherTelephony: true } }));
    const before = { leads: h.portal.crm.leads().length, deals: h.portal.crm.deals().length, contacts: h.portal.crm.contacts().length };
    const session = await playAndWait(w, 'incoming answered');
    expect(statOf(session)).toHaveLength(1);
    expect({ leads: h.portal.crm.leads().length, deals: h.portal.crm.deals().length, contacts: h.portal.crm.contacts().length }).toEqual(before);
  });

  it('three calls at once from the same new client create one lead; each call is registered and finished once', async () => {
    const w = await setup(telephony());
    const calls = await Promise.all(w.pbx.virtualNumbers.map((v) => w.pbx.incoming({ from: CLIENT, to: v.number })));
    await talk(2);
    for (const c of calls) c.abandon();
    await until(() => calls.every((c) => statOf(c.id).length === 1), () => settleAll(w), 300, 20);
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
    expect(calls.map((c) => statOf(c.id).length)).toEqual([1, 1, 1]);
  });

  it('a filter on «Сотрудник» registers a call only once answered: a missed call is not registered (line 89), an answered one is', async () => {
    const when = (values: string[]) => ({ join: 'and' as const, groups: [{ join: 'and' as const, conditions: [{ param: 'employee_id' as const, rule: 'allowed' as const, values }] }] });
    const base = telephony();
    const w = await setup(base);
    // the filter names Анна (the UIS employee id is known only now)
    await api(h.app.url, w.session, 'PUT', '/api/telephony', telephony({ processing: { ...base.processing, filter: { use: true, incoming: when([String(w.anna)]), outgoing: { join: 'and', groups: [] } } } }));
    const missed = await play(w, 'incoming missed');
    for (let i = 0; i < 20; i++) await settleAll(w);
    expect(statOf(missed)).toHaveLength(0);
    expect(await callRow(missed)).toMatchObject({ status: 'done', outcome: 'skip:missed-answer-filter' });
    const answered = await playAndWait(w, 'incoming answered');
    expect(statOf(answered)).toHaveLength(1);
  });

  it('«Передавать записи разговора» off: the call, no recording', async () => {
    const w = await setup(telephony({ recording: { transfer: false, withFilters: true } }));
    const session = await playAndWait(w, 'incoming answered');
    for (let i = 0; i < 10; i++) await settleAll(w);
    expect(activityOf(session)?.call?.fileIds).toEqual([]);
    expect(h.portal.telephony.files).toEqual([]);
  });

  it('a transfer: the second employee\'s card pops up while it rings; the first one\'s goes once the second answers; «последний разговаривающий» is the responsible when chosen', async () => {
    const w = await setup(telephony({ responsible: { ...telephony().responsible, talker: 'last' } }));
    const call = await w.pbx.incoming({ from: CLIENT, to: w.pbx.virtualNumbers[0]!.number });
    call.answer(w.anna);
    await waitFor(w, () => cards(1).length === 1 && cards(2).length === 0);
    call.transfer(w.marina);
    await waitFor(w, () => cards(2).length === 1);
    call.answer(w.marina);
    await waitFor(w, () => cards(1).length === 0 && cards(2).length === 1);
    await talk(10);
    call.hangup();
    await waitFor(w, () => statOf(call.id).length === 1 && cards(2).length === 0);
    expect(statOf(call.id)[0]!.record.PORTAL_USER_ID).toBe(2);
    expect(ours(h.portal.crm.leads())[0]).toMatchObject({ ASSIGNED_BY_ID: '2' });
  });
});

// ---------------------------------------------------------------------------------------------
// «within the Data API point budget» (issue #13, «How calls reach us»)

describe('the account\'s Data API point budget', () => {
  it('what the rules read of a call — the report, and its legs for a group filter — stays within the budget: once it is spent nothing more is asked, the legs included, and the call waits', async () => {
    /** the app's Data API requests: method and the mnemonic of a refusal */
    const asked: Array<{ method: string; refused: string | null }> = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input instanceof Request ? input.url : input).includes('/dataapi/') && typeof init?.body === 'string') {
        const body = (await res.clone().json().catch(() => ({}))) as { error?: { data?: { mnemonic?: string } } };
        asked.push({ method: String((JSON.parse(init.body) as { method?: unknown }).method), refused: body.error?.data?.mnemonic ?? null });
      }
      return res;
    };
    const base = telephony();
    const w = await setup(base, { fetch: recording });
    // «Выбранная посетителем группа» (line 97) is in the call's legs (docs/facts/telephony.md#call-fields)
    const sales = w.pbx.groups.find((g) => g.name === 'Отдел продаж')!;
    const byGroup = { join: 'and' as const, groups: [{ join: 'and' as const, conditions: [{ param: 'group_id' as const, rule: 'allowed' as const, values: [String(sales.id)] }] }] };
    const saved = await api(h.app.url, w.session, 'PUT', '/api/telephony', telephony({ processing: { ...base.processing, filter: { use: true, incoming: byGroup, outgoing: { join: 'and', groups: [] } } } }));
    expect(saved.status).toBe(200);
    const first = await playAndWait(w, 'incoming answered');
    expect(statOf(first)).toHaveLength(1);
    expect(asked.map((a) => a.method)).toContain('get.call_legs_report');

    // a new minute, of which the account's own scripts leave two points: one request, then the reserve
    await clock.sleep(61_000);
    const account = h.uis.accounts[0]!;
    account.setDataApiLimits({ minute: 2 });
    const before = asked.length;
    const second = await play(w, 'incoming answered');
    for (let i = 0; i < 20; i++) await settle(w);
    expect(asked.slice(before).filter((a) => a.refused)).toEqual([]);
    expect(asked.slice(before).map((a) => a.method)).not.toContain('get.call_legs_report');
    // the call waits for the budget: not decided without its group, so not filtered out
    expect(statOf(second)).toHaveLength(0);
    expect(await callRow(second)).toMatchObject({ status: 'pending', outcome: 'waits-for-budget' });
    // the points come back: the call is registered
    account.setDataApiLimits({ minute: 100 });
    await until(() => statOf(second).length === 1, async () => {
      await clock.sleep(5_000);
      await settle(w);
    }, 100, 20);
    expect(statOf(second)).toHaveLength(1);
    expect(asked.filter((a) => a.refused)).toEqual([]);
  });
});
