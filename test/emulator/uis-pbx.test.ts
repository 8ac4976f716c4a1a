/**
 * The emulated UIS PBX against the public contracts (comagic/comagic.github.io: data_api/report/
 * get_calls_report, get_call_legs_report, data_api/vn/get_virtual_numbers, data_api/scenario/
 * get_scenarios, data_api/sip/get_sip_lines, data_api/employee/get_employees,
 * data_api/report_new/flat/get_notifications, call_api/index.html, call_api/create_call/
 * start_employee_call, start_simple_call, call_api/manage_call/release_call,
 * interactive_call_processing/index.html) and docs/facts/telephony.md#uis-call-signals (notifications),
 * over real HTTP. The clock moves only by hand (test/support/fake-clock.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../support/fake-clock';
import { startUisEmulator, type UisAccount, type UisEmulator } from './uis';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Hit {
  method: string;
  path: string;
  query: string;
  contentType: string;
  raw: string;
}

/** Records every request; `route[path]` may answer differently (status, body, delay in real ms). */
async function startReceiver() {
  const hits: Hit[] = [];
  const route: Record<string, { status?: number; body?: unknown; delayMs?: number }> = {};
  /** requests being answered now, and the most at once */
  const load = { now: 0, peak: 0 };
  const app = express();
  app.use(express.text({ type: () => true }));
  app.all('/{*rest}', async (req, res) => {
    const q = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
    hits.push({ method: req.method, path: req.path, query: q, contentType: String(req.headers['content-type'] ?? ''), raw: typeof req.body === 'string' ? req.body : '' });
    load.peak = Math.max(load.peak, ++load.now);
    const r = route[req.path] ?? {};
    try {
      if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
      if (res.destroyed) return;
      res.status(r.status ?? 200).type('application/json').send(JSON.stringify(r.body ?? { ok: true }));
    } finally {
      load.now--;
    }
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    route,
    load,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const START = Date.UTC(2026, 7, 21, 9, 0, 0); // 12:00 Moscow
const DAY = { date_from: '2026-08-21 00:00:00', date_till: '2026-08-21 23:59:59' };

async function setup(o: { notify?: boolean } = {}) {
  const receiver = await startReceiver();
  const clock = new FakeClock(START);
  const emu: UisEmulator = await startUisEmulator({ clock });
  cleanups.push(receiver.close, emu.close);
  const account = emu.accounts[0] as UisAccount;
  const pbx = account.pbx;
  if (o.notify !== false) pbx.notifyAll(`${receiver.url}/n/{event}`);
  const [anna, marina, oleg] = account.employees.map((e) => e.id) as [number, number, number];
  const main = pbx.virtualNumbers[0]!.number;
  const rpc = async (url: string, method: string, params: Json, id: unknown = 1) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
    return (await res.json()) as Json;
  };
  const data = (method: string, params: Json = {}) => rpc(emu.dataApiUrl, method, { access_token: account.dataApiToken, ...params });
  const callApi = (method: string, params: Json = {}, id: unknown = 1) => rpc(emu.callApiUrl, method, { access_token: account.dataApiToken, ...params }, id);
  /** notifications received, parsed (JSON bodies) with their event type from the path */
  const notes = () => receiver.hits.filter((h) => h.path.startsWith('/n/')).map((h) => ({ event: h.path.slice(3), body: h.contentType.includes('json') ? (JSON.parse(h.raw) as Json) : {}, raw: h.raw, hit: h }));
  const settle = async (ms = 0) => {
    if (ms > 0) await clock.advance(ms);
    await pbx.settle();
  };
  return { receiver, clock, emu, account, pbx, anna, marina, oleg, main, data, callApi, notes, settle };
}

// ---------------------------------------------------------------------------------------------

describe('PBX directories (Data API)', () => {
  it('get.virtual_numbers: numbers with name, type and scenario; limit is not a parameter of this method', async () => {
    // data_api/vn/get_virtual_numbers: request parameters are filter, fields, sort only
    const { data, pbx } = await setup({ notify: false });
    const r = await data('get.virtual_numbers');
    expect(r.result.data).toHaveLength(3);
    expect(r.result.data[0]).toMatchObject({ virtual_phone_number: pbx.virtualNumbers[0]!.number, name: 'Основной', type: 'va', status: 'active', scenarios: [{ scenario_name: 'Входящие — отдел продаж', is_active: true }] });
    expect(r.result.data[1].type).toBe('call_tracking');
    expect(r.result.data[1].campaigns[0]).toMatchObject({ campaign_id: expect.any(Number), site_domain_name: 'romashka.example' });
    const bad = await data('get.virtual_numbers', { limit: 10 });
    expect(bad.error).toMatchObject({ code: -32602, data: { mnemonic: 'unexpected_parameters', field: 'limit' } });
  });

  it('get.scenarios: operations only when asked (not «Ответ по умолчанию»); get.sip_lines with the Russian physical_state', async () => {
    const { data, anna } = await setup({ notify: false });
    const plain = await data('get.scenarios');
    expect(plain.result.data[0]).not.toHaveProperty('operations');
    expect(plain.result.data[0].virtual_phone_numbers).toHaveLength(1);
    const full = await data('get.scenarios', { fields: ['id', 'name', 'operations'] });
    expect(full.result.data[0].operations.map((o: Json) => o.name)).toEqual(['Приветствие', 'Отдел продаж', 'Резерв: Олег']);
    const sip = await data('get.sip_lines');
    // data_api/sip/get_sip_lines: physical_state «Зарегистрирован/Не зарегистрирован», virtual_phone_number = the line's caller id
    expect(sip.result.data[0]).toMatchObject({ employee_id: anna, type: 'in_out', physical_state: 'Зарегистрирован', employee_full_name: 'Смирнова Анна', virtual_phone_number: expect.stringMatching(/^7495/) });
  });

  it('get.employees carries extension, phone_numbers, groups and call_recording from the PBX', async () => {
    // data_api/employee/get_employees: groups[], phone_numbers[]{phone_id, phone_number, channels_count, dial_time, status}, extension{…}, call_recording
    const { data } = await setup({ notify: false });
    const r = await data('get.employees');
    const [a, m, o] = r.result.data as Json[];
    expect(a!.extension).toEqual({ extension_phone_number: '101', extension_voice_mail_enabled: false, extension_queue_enabled: false });
    expect(a!.groups).toEqual([{ group_id: expect.any(Number), group_name: 'Отдел продаж' }]);
    expect(a!.call_recording).toBe('all');
    expect(m!.phone_numbers.map((p: Json) => p.status)).toEqual(['active', 'inactive']);
    expect(o!.phone_numbers).toEqual([{ phone_id: expect.any(Number), phone_number: '79261110003', channels_count: 1, dial_time: 30, status: 'active' }]);
    expect(o!.call_recording).toBe('off');
  });
});

describe('incoming call, answered', () => {
  it('sends the event chain with the documented variables, JSON values unquoted', async () => {
    const { pbx, main, anna, marina, notes, settle } = await setup();
    const call = await pbx.incoming({ from: '+7 916 123-45-67', to: main });
    await settle();
    // docs/facts/telephony.md#notifications: incoming → one «Ожидание ответа» per ringing employee (ring-all group)
    expect(notes().map((n) => n.event)).toEqual(['incoming_call', 'waiting_for_answer', 'waiting_for_answer']);
    const [incoming, w1, w2] = notes();
    expect(incoming!.body).toMatchObject({ notification_mnemonic: 'incoming_call', virtual_phone_number: main, contact_phone_number: '79161234567', call_session_id: call.id, scenario_name: 'Входящие — отдел продаж', direction: 'in', call_source: 'va' });
    expect(incoming!.raw).toContain(`"call_session_id": ${call.id}`); // a number, not a string
    expect([w1!.body.employee_id, w2!.body.employee_id]).toEqual([anna, marina]);
    expect(w1!.body.leg_id).toEqual(expect.any(Number));
    expect(w1!.body.external_id).toBeNull();

    await settle(8000);
    call.answer(marina);
    await settle(95_000);
    call.hangup('contact');
    await settle();
    expect(notes().map((n) => n.event).slice(3)).toEqual(['talk_started', 'talk_finished', 'call_finished']);
    const finished = notes()[5]!.body;
    expect(finished).toMatchObject({ employee_id: marina, employee_full_name: 'Иванова Марина', talk_time_duration: 95, wait_time_duration: 8, total_time_duration: 103, direction: 'in' });
    // Марина records incoming calls: «Записанный разговор» comes after the recording delay
    await settle(pbx.settings.recordingDelayMs);
    const rec = notes()[6]!;
    expect(rec.event).toBe('call_recorded');
    expect(rec.body.file_link).toMatch(/\/media\/\d+\/\d+$/);
    expect(rec.body.file_duration).toBe(95);
  });

  it('get.calls_report / get.call_legs_report agree with the call; ongoing calls only with include_ongoing_calls', async () => {
    const { pbx, main, marina, anna, data, settle } = await setup({ notify: false });
    const call = await pbx.incoming({ from: '79161234567', to: main });
    await settle(5000);
    expect((await data('get.calls_report', DAY)).result.data).toEqual([]);
    const ongoing = await data('get.calls_report', { ...DAY, include_ongoing_calls: true });
    expect(ongoing.result.data[0]).toMatchObject({ id: call.id, finish_time: null });
    call.answer(anna);
    await settle(30_000);
    call.hangup('employee');
    await settle();
    const r = await data('get.calls_report', { ...DAY, fields: ['id', 'start_time', 'finish_time', 'direction', 'source', 'is_lost', 'talk_duration', 'wait_duration', 'total_duration', 'employees', 'first_talked_employee_id', 'last_answered_employee_id', 'scenario_operations', 'virtual_phone_number', 'contact_phone_number', 'finish_reason', 'call_records', 'full_record_file_link', 'communication_id'] });
    const row = r.result.data[0] as Json;
    expect(row).toMatchObject({
      id: call.id,
      start_time: '2026-08-21 12:00:00',
      finish_time: '2026-08-21 12:00:35',
      direction: 'in',
      source: 'va',
      is_lost: false,
      talk_duration: 30,
      wait_duration: 5,
      total_duration: 35,
      first_talked_employee_id: anna,
      last_answered_employee_id: anna,
      virtual_phone_number: main,
      contact_phone_number: '79161234567',
      finish_reason: 'operator_disconnects',
    });
    expect(row.employees).toEqual([
      { employee_id: anna, employee_full_name: 'Смирнова Анна', is_answered: true, is_talked: true },
      { employee_id: marina, employee_full_name: 'Иванова Марина', is_answered: false, is_talked: false },
    ]);
    expect(row.scenario_operations.map((o: Json) => o.name)).toEqual(['Приветствие', 'Отдел продаж']);
    expect(row.call_records).toHaveLength(1);
    const legs = await data('get.call_legs_report', { ...DAY, fields: ['id', 'call_session_id', 'employee_id', 'is_operator', 'is_failed', 'finish_reason', 'duration', 'action_name', 'group_name', 'is_talked'] });
    expect(legs.result.data.map((l: Json) => [l.employee_id, l.is_operator, l.is_failed, l.finish_reason, l.group_name])).toEqual([
      [null, false, false, 'operator_disconnects', null],
      [anna, true, false, 'operator_disconnects', 'Отдел продаж'],
      [marina, true, true, 'another_operator_answer', 'Отдел продаж'],
    ]);
    expect(legs.result.data[1].duration).toBe(30);
    expect(legs.result.metadata.total_items).toBe(3);
  });

  it('the recording link answers 404 until the file is ready, then MP3 bytes', async () => {
    const { pbx, main, anna, settle, emu } = await setup({ notify: false });
    pbx.settings.recordingFileLagMs = 10_000;
    const call = await pbx.incoming({ from: '79161234567', to: main });
    call.answer(anna);
    await settle(20_000);
    call.hangup();
    await settle();
    const rec = pbx.recordings[0]!;
    const url = pbx.recordingUrl(rec);
    expect(url.startsWith(emu.origin)).toBe(true);
    expect((await fetch(url)).status).toBe(404);
    await settle(pbx.settings.recordingDelayMs + 10_000);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('ID3');
    // the report's documented link forms serve the same record
    const talk = await fetch(`${emu.origin}/system/media/talk/${rec.communicationId}/${rec.id}/`);
    expect(talk.status).toBe(200);
    const wav = await fetch(`${emu.origin}/system/media/wav/${rec.communicationId}/${rec.id}/`);
    expect(Buffer.from(await wav.arrayBuffer()).subarray(0, 4).toString('latin1')).toBe('RIFF');
  });
});

describe('incoming call, missed and transferred', () => {
  it('nobody answers: the scenario moves on, then «Потерянный звонок» and «Завершение звонка» with zero talk', async () => {
    const { pbx, main, oleg, notes, data, settle } = await setup();
    const call = await pbx.incoming({ from: '79161234567', to: main });
    await settle(20_000);
    call.noAnswer(); // the group's time is up → «Резерв: Олег» rings
    await settle();
    expect(notes().filter((n) => n.event === 'waiting_for_answer').map((n) => n.body.employee_id).at(-1)).toBe(oleg);
    await settle(20_000);
    call.noAnswer();
    await settle();
    expect(notes().map((n) => n.event).slice(-2)).toEqual(['lost_call', 'call_finished']);
    const lost = notes().at(-2)!.body;
    expect(lost.employee_ids).toHaveLength(3);
    expect(lost.wait_time_duration).toBe(40);
    expect(notes().at(-1)!.body.talk_time_duration).toBe(0);
    const row = (await data('get.calls_report', { ...DAY, fields: ['is_lost', 'talk_duration', 'finish_reason', 'attributes'] })).result.data[0];
    expect(row).toEqual({ is_lost: true, talk_duration: 0, finish_reason: 'no_success_operator_call', attributes: ['lost'] });
    expect(pbx.recordings).toHaveLength(0);
  });

  it('the caller hangs up while it rings', async () => {
    const { pbx, main, notes, settle } = await setup();
    const call = await pbx.incoming({ from: '79161234567', to: main });
    call.abandon();
    await settle();
    expect(notes().map((n) => n.event)).toEqual(['incoming_call', 'waiting_for_answer', 'waiting_for_answer', 'lost_call', 'call_finished']);
    expect(call.session.finishReason).toBe('subscriber_disconnects');
  });

  it('transfer: a second leg with another employee; the report shows the first and the last talker', async () => {
    const { pbx, main, anna, oleg, notes, data, settle } = await setup();
    const call = await pbx.incoming({ from: '79161234567', to: main });
    call.answer(anna);
    await settle(10_000);
    call.transfer(oleg);
    await settle(3_000);
    call.answer(oleg);
    await settle(20_000);
    call.hangup();
    await settle();
    const events = notes().map((n) => [n.event, n.body.employee_id]);
    expect(events.slice(3)).toEqual([
      ['talk_started', anna],
      ['waiting_for_answer', oleg],
      ['talk_finished', anna],
      ['talk_started', oleg],
      ['talk_finished', oleg],
      ['call_finished', oleg],
    ]);
    const row = (await data('get.calls_report', { ...DAY, fields: ['is_transfer', 'first_talked_employee_id', 'last_talked_employee_id', 'talk_duration'] })).result.data[0];
    expect(row).toEqual({ is_transfer: true, first_talked_employee_id: anna, last_talked_employee_id: oleg, talk_duration: 33 });
    const legs = (await data('get.call_legs_report', { ...DAY, fields: ['employee_id', 'is_transfered', 'finish_reason'] })).result.data;
    expect(legs.find((l: Json) => l.employee_id === oleg)).toEqual({ employee_id: oleg, is_transfered: true, finish_reason: 'subscriber_disconnects' });
    expect(legs.find((l: Json) => l.employee_id === anna).finish_reason).toBe('transfer_disconnects');
  });
});

describe('outgoing call from a SIP phone', () => {
  it('answered: «Исходящий звонок» with the SIP number and the line caller id, then talk and end', async () => {
    const { pbx, anna, notes, data, settle } = await setup();
    const call = pbx.outgoing({ employeeId: anna, to: '79161234567' });
    await settle(6000);
    call.answer('contact');
    await settle(40_000);
    call.hangup('employee');
    await settle();
    expect(notes().map((n) => n.event).slice(0, 4)).toEqual(['outgoing_call', 'talk_started', 'talk_finished', 'call_finished']);
    const out = notes()[0]!.body;
    expect(out).toMatchObject({ employee_id: anna, contact_phone_number: '79161234567', virtual_phone_number: pbx.sipLines[0]!.virtual_phone_number, employee_phone_number: pbx.sipLines[0]!.phone_number });
    expect(notes()[3]!.body).toMatchObject({ direction: 'out', talk_time_duration: 40, call_source: 'sip' });
    const row = (await data('get.calls_report', { ...DAY, fields: ['direction', 'source', 'is_lost', 'talk_duration'] })).result.data[0];
    expect(row).toEqual({ direction: 'out', source: 'sip', is_lost: false, talk_duration: 40 });
  });

  it('unanswered: busy client → «Завершение звонка» with zero talk, no «Потерянный звонок»', async () => {
    const { pbx, anna, notes, settle } = await setup();
    const call = pbx.outgoing({ employeeId: anna, to: '79161234567' });
    await settle(4000);
    call.busy('contact');
    await settle();
    expect(notes().map((n) => n.event)).toEqual(['outgoing_call', 'call_finished']);
    expect(notes()[1]!.body.talk_time_duration).toBe(0);
    expect(call.session.finishReason).toBe('subscriber_busy');
  });
});

describe('HTTP notifications: templates and faults (docs/facts/telephony.md#notifications)', () => {
  it('GET with a query template: values as text, null as None, URL-encoded; POST with a form template', async () => {
    const { pbx, main, receiver, settle } = await setup({ notify: false });
    pbx.addNotification({ eventType: 'incoming_call', method: 'GET', url: `${receiver.url}/g?id={{call_session_id}}&vn={{virtual_phone_number}}&ext={{external_id}}&sc={{scenario_name}}` });
    pbx.addNotification({ eventType: 'incoming_call', method: 'POST', url: `${receiver.url}/f`, body: 'id={{call_session_id}}&name={{notification_name}}' });
    const call = await pbx.incoming({ from: '79161234567', to: main });
    await settle();
    const g = receiver.hits.find((h) => h.path === '/g')!;
    expect(g.method).toBe('GET');
    const q = new URLSearchParams(g.query);
    expect(q.get('id')).toBe(String(call.id));
    expect(q.get('vn')).toBe(main);
    expect(q.get('ext')).toBe('None');
    expect(q.get('sc')).toBe('Входящие — отдел продаж');
    const f = receiver.hits.find((h) => h.path === '/f')!;
    expect(f.contentType).toContain('application/x-www-form-urlencoded');
    expect(new URLSearchParams(f.raw).get('name')).toBe('Входящий звонок на виртуальный номер');
  });

  it('a quoted placeholder is the template author\'s problem: the rendered body is not JSON', async () => {
    const { pbx, main, receiver, settle } = await setup({ notify: false });
    pbx.addNotification({ eventType: 'incoming_call', url: `${receiver.url}/q`, body: '{"vn": "{{virtual_phone_number}}"}', contentType: 'application/json' });
    await pbx.incoming({ from: '79161234567', to: main });
    await settle();
    expect(receiver.hits[0]!.raw).toBe(`{"vn": ""${main}""}`);
  });

  it('drop, duplicate, null fields; once only, never retried; get.notifications audits what was sent', async () => {
    const { pbx, main, anna, receiver, notes, data, settle } = await setup();
    receiver.route['/n/talk_finished'] = { status: 500 };
    pbx.setNotificationFaults({ drop: ['talk_started'], duplicate: ['call_finished'], nullFields: ['employee_full_name'] });
    const call = await pbx.incoming({ from: '79161234567', to: main });
    call.answer(anna);
    await settle(10_000);
    call.hangup();
    await settle(pbx.settings.recordingDelayMs);
    const events = notes().map((n) => n.event);
    expect(events).not.toContain('talk_started');
    expect(events.filter((e) => e === 'call_finished')).toHaveLength(2);
    expect(events.filter((e) => e === 'talk_finished')).toHaveLength(1); // failed once, not retried
    expect(notes().find((n) => n.event === 'call_finished')!.body.employee_full_name).toBeNull();
    // data_api/report_new/flat/get_notifications: without fields the answer is empty
    const empty = await data('get.notifications', { report_id: 1, ...DAY });
    expect(empty.result.data).toEqual([]);
    const noReport = await data('get.notifications', { ...DAY, fields: ['notification_id'] });
    expect(noReport.error.data).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'report_id' });
    const audit = await data('get.notifications', { report_id: 1, ...DAY, fields: ['event_type', 'notification_status', 'notification_send_to', 'communication_id'] });
    const rows = audit.result.data as Json[];
    expect(rows.some((r) => r.event_type.value_id === 'talk_started')).toBe(false);
    const failed = rows.find((r) => r.event_type.value_id === 'talk_finished')!;
    expect(failed.notification_status.value_id).toBe('not_sent');
    expect(rows.find((r) => r.event_type.value_id === 'incoming_call')).toMatchObject({ notification_status: { value: 'Отправлено', value_id: 'sent' }, communication_id: call.session.communicationId });
  });

  it('reorder: a session\'s notifications arrive in reverse (call end before talk start, recording before call end)', async () => {
    const { pbx, main, anna, notes, settle } = await setup();
    pbx.setNotificationFaults({ reorder: 'reverse' });
    const call = await pbx.incoming({ from: '79161234567', to: main });
    call.answer(anna);
    await settle(5000);
    call.hangup();
    await settle();
    expect(notes()).toHaveLength(0); // held until the session is complete (its recording included)
    await settle(pbx.settings.recordingDelayMs);
    expect(notes().map((n) => n.event)).toEqual(['call_recorded', 'call_finished', 'talk_finished', 'talk_started', 'waiting_for_answer', 'waiting_for_answer', 'incoming_call']);
  });

  it('the sender\'s pool: many calls at once get at most maxInFlight notifications in flight, each call\'s in order, none lost', async () => {
    const { pbx, main, receiver, notes, settle } = await setup();
    receiver.route['/n/incoming_call'] = { delayMs: 40 };
    receiver.route['/n/waiting_for_answer'] = { delayMs: 40 };
    expect(pbx.notifications.maxInFlight).toBe(16);
    const calls = await Promise.all(Array.from({ length: 40 }, (_, i) => pbx.incoming({ from: `7916100${String(i).padStart(4, '0')}`, to: main })));
    await settle();
    expect(receiver.load.peak).toBeGreaterThan(1); // different calls' notifications go at the same time
    expect(receiver.load.peak).toBeLessThanOrEqual(16);
    for (const c of calls) {
      const mine = notes().filter((n) => n.body.call_session_id === c.id).map((n) => n.event);
      expect(mine).toEqual(['incoming_call', 'waiting_for_answer', 'waiting_for_answer']);
    }
    expect(pbx.notifications.sent.every((n) => n.ok)).toBe(true);
  });

  it('delay: a notification waits on the clock', async () => {
    const { pbx, main, notes, settle } = await setup();
    pbx.setNotificationFaults({ delayMs: (n) => (n.eventType === 'incoming_call' ? 60_000 : 0) });
    await pbx.incoming({ from: '79161234567', to: main });
    await settle();
    expect(notes().map((n) => n.event)).toEqual(['waiting_for_answer', 'waiting_for_answer']);
    await settle(60_000);
    expect(notes().map((n) => n.event).at(-1)).toBe('incoming_call');
  });
});

describe('Data API reports: filters, paging, limits', () => {
  it('filter_prohibited for a field without «Фильтрация»; filter trees; paging with total_items; metadata.limits', async () => {
    const { pbx, main, anna, data, settle } = await setup({ notify: false });
    for (let i = 0; i < 3; i++) {
      const c = await pbx.incoming({ from: `7916123456${i}`, to: main });
      if (i === 1) c.abandon();
      else {
        c.answer(anna);
        await settle(1000);
        c.hangup();
      }
      await settle(1000);
    }
    // get_calls_report: start_time is sortable but not filterable
    const prohibited = await data('get.calls_report', { ...DAY, filter: { field: 'start_time', operator: '>', value: '2026-08-21 00:00:00' } });
    expect(prohibited.error).toMatchObject({ code: -32602, data: { mnemonic: 'filter_prohibited', field: 'start_time', metadata: { limits: expect.any(Object) } } });
    const lost = await data('get.calls_report', { ...DAY, fields: ['id', 'is_lost'], filter: { filters: [{ field: 'is_lost', operator: '=', value: true }, { field: 'direction', operator: '=', value: 'in' }], condition: 'and' } });
    expect(lost.result.data).toHaveLength(1);
    const page = await data('get.calls_report', { ...DAY, limit: 2, offset: 1, sort: [{ field: 'start_time', order: 'desc' }], fields: ['contact_phone_number'] });
    expect(page.result.data.map((r: Json) => r.contact_phone_number)).toEqual(['79161234561', '79161234560']);
    expect(page.result.metadata.total_items).toBe(3);
    expect(page.result.metadata.limits).toMatchObject({ day_limit: expect.any(Number), minute_remaining: expect.any(Number) });
    const tooLong = await data('get.calls_report', { date_from: '2026-01-01 00:00:00', date_till: '2026-08-21 00:00:00' });
    expect(tooLong.error.data.mnemonic).toBe('date_interval_limit_reached');
  });

  it('−32029 limit_exceeded within the point budget; reports lag behind the call when told to', async () => {
    const { account, pbx, main, data, settle } = await setup({ notify: false });
    pbx.settings.reportLagMs = 120_000;
    const c = await pbx.incoming({ from: '79161234567', to: main });
    c.abandon();
    await settle();
    expect((await data('get.calls_report', DAY)).result.data).toHaveLength(0);
    await settle(120_000);
    expect((await data('get.calls_report', DAY)).result.data).toHaveLength(1);
    account.setDataApiLimits({ minute: 1 });
    await settle(61_000);
    expect((await data('get.call_legs_report', DAY)).result).toBeDefined();
    const over = await data('get.call_legs_report', DAY);
    expect(over.error).toMatchObject({ code: -32029, data: { mnemonic: 'limit_exceeded' } });
  });
});

describe('Call API (call_api/index.html, start_employee_call, start_simple_call, release_call)', () => {
  it('start.employee_call: direction defaults to "in"; external_id reaches the notifications and call_api_external_id', async () => {
    const { pbx, anna, main, callApi, notes, data, settle } = await setup();
    const r = await callApi('start.employee_call', { first_call: 'employee', virtual_phone_number: main, contact: '79161234567', employee: { id: anna }, external_id: 'b24-call-1' }, 'req1');
    expect(r).toMatchObject({ jsonrpc: '2.0', id: 'req1', result: { data: { call_session_id: expect.any(Number) }, metadata: { limits: expect.any(Object) } } });
    const call = pbx.call(r.result.data.call_session_id);
    await settle();
    expect(notes().map((n) => n.event)).toEqual(['waiting_for_answer']);
    expect(notes()[0]!.body).toMatchObject({ external_id: 'b24-call-1', employee_id: anna, direction: 'in', call_source: 'callapi' });
    call.answer(anna);
    await settle(4000);
    call.answer('contact');
    await settle(12_000);
    call.hangup();
    await settle();
    expect(notes().map((n) => n.event)).toEqual(['waiting_for_answer', 'talk_started', 'talk_finished', 'call_finished']);
    const row = (await data('get.calls_report', { ...DAY, fields: ['direction', 'source', 'call_api_external_id', 'call_api_request_id', 'talk_duration'] })).result.data[0];
    expect(row).toMatchObject({ direction: 'in', source: 'callapi', call_api_external_id: 'b24-call-1', call_api_request_id: expect.any(Number), talk_duration: 12 });
  });

  it('direction "out": the employee rings first, then «Исходящий звонок» to the contact; behaviours answer by themselves', async () => {
    const { pbx, anna, main, callApi, notes, settle } = await setup();
    pbx.behave(anna, { action: 'answer', afterMs: 3000 });
    pbx.behave('contact', { action: 'answer', afterMs: 5000, talkMs: 30_000 });
    const r = await callApi('start.employee_call', { first_call: 'employee', direction: 'out', virtual_phone_number: main, contact: '79161234567', employee: { id: anna }, external_id: 'x1' });
    await settle(3000);
    await settle(5000);
    await settle(30_000);
    await settle(pbx.settings.recordingDelayMs);
    expect(notes().map((n) => n.event)).toEqual(['waiting_for_answer', 'outgoing_call', 'talk_started', 'talk_finished', 'call_finished', 'call_recorded']);
    expect(notes().every((n) => n.body.external_id === 'x1' || n.event === 'outgoing_call')).toBe(true);
    expect(notes()[4]!.body).toMatchObject({ direction: 'out', talk_time_duration: 30, call_session_id: r.result.data.call_session_id });
  });

  it('the employee is busy / the contact does not answer: the session ends without a conversation', async () => {
    const { pbx, anna, marina, main, callApi, notes, settle } = await setup();
    pbx.behave(anna, { action: 'busy', afterMs: 2000 });
    const a = await callApi('start.employee_call', { first_call: 'employee', direction: 'out', virtual_phone_number: main, contact: '79161234567', employee: { id: anna } });
    await settle(2000);
    expect(pbx.session(a.result.data.call_session_id)!.finishReason).toBe('operator_busy');
    pbx.behave(marina, { action: 'answer', afterMs: 1000 });
    pbx.behave('79169999999', { action: 'no-answer', afterMs: 30_000 });
    const b = await callApi('start.employee_call', { first_call: 'employee', direction: 'out', virtual_phone_number: main, contact: '79169999999', employee: { id: marina } });
    await settle(1000);
    await settle(30_000);
    expect(pbx.session(b.result.data.call_session_id)!.finishReason).toBe('subscriber_not_responsible');
    expect(notes().filter((n) => n.event === 'call_finished').map((n) => n.body.talk_time_duration)).toEqual([0, 0]);
  });

  it('documented errors: required, unexpected, number not ours, employee, phones, own number, blacklist, direction, combination', async () => {
    const { pbx, anna, marina, main, callApi, data } = await setup({ notify: false });
    const base = { first_call: 'employee', virtual_phone_number: main, contact: '79161234567', employee: { id: anna } };
    const e = async (params: Json) => (await callApi('start.employee_call', params)).error;
    expect(await e({ ...base, first_call: undefined })).toMatchObject({ code: -32602, data: { mnemonic: 'required_parameter_missed', field: 'first_call' } });
    expect(await e({ ...base, employee: undefined })).toMatchObject({ data: { mnemonic: 'required_parameter_missed', field: 'employee' } });
    expect(await e({ ...base, unknown: 1 })).toMatchObject({ data: { mnemonic: 'unexpected_parameters', field: 'unknown' } });
    expect(await e({ ...base, virtual_phone_number: '74990000000' })).toMatchObject({ code: -32007, data: { mnemonic: 'virtual_phone_number_not_found' } });
    expect(await e({ ...base, employee: { id: 1 } })).toMatchObject({ code: -32602, data: { mnemonic: 'employee_not_found' } });
    expect(await e({ ...base, employee: { id: marina, phone_number: '79261110002' } })).toMatchObject({ data: { mnemonic: 'no_active_phone_number' } });
    const created = await data('create.employees', { last_name: 'Безсипов', first_name: 'Пётр' });
    expect(await e({ ...base, employee: { id: created.result.data.id } })).toMatchObject({ data: { mnemonic: 'no_active_phone_number' } });
    expect(await e({ ...base, contact: pbx.virtualNumbers[1]!.number })).toMatchObject({ data: { mnemonic: 'own_virtual_phone_number_not_allowed' } });
    pbx.callApi.blacklist.add('79160000000');
    expect(await e({ ...base, contact: '79160000000' })).toMatchObject({ code: -32002, data: { mnemonic: 'contact_in_blacklist' } });
    expect(await e({ ...base, contact: '4930123456' })).toMatchObject({ code: -32002 });
    expect(await e({ ...base, contact: '+7 916' })).toMatchObject({ data: { mnemonic: 'invalid_parameter_value', field: 'contact' } });
    expect(await e({ ...base, early_switching: true })).toMatchObject({ data: { mnemonic: 'invalid_parameters_combination' } });
    expect(await e({ ...base, direction: 'sideways' })).toMatchObject({ data: { mnemonic: 'invalid_parameter_value', field: 'direction' } });
    expect(await e({ ...base, virtual_phone_usage_rule: 'random' })).toMatchObject({ code: -32008 });
    expect(await e({ ...base, employee_message: { type: 'tts', value: 'x'.repeat(501) } })).toMatchObject({ data: { mnemonic: 'tts_text_exceeded' } });
    expect(pbx.sessions).toHaveLength(0);
  });

  it('points only for successful calls; component, IP and account switches; limits; JSON-RPC envelope rules', async () => {
    const { pbx, anna, main, callApi, emu, account } = await setup({ notify: false });
    const ok = { first_call: 'employee', virtual_phone_number: main, contact: '79161234567', employee: { id: anna } };
    const r1 = await callApi('start.employee_call', ok);
    const remaining = r1.result.metadata.limits.minute_remaining as number;
    const bad = await callApi('start.employee_call', { ...ok, contact: 'x' });
    expect(bad.error.data.metadata.limits.minute_remaining).toBe(remaining); // failed calls are free
    pbx.callApi.componentEnabled = false;
    expect((await callApi('start.employee_call', ok)).error).toMatchObject({ code: -32008, data: { mnemonic: 'component_disabled' } });
    pbx.callApi.componentEnabled = true;
    pbx.callApi.ipWhitelisted = false;
    expect((await callApi('start.employee_call', ok)).error).toMatchObject({ code: -32003, data: { mnemonic: 'ip_not_whitelisted' } });
    pbx.callApi.ipWhitelisted = true;
    pbx.callApiBudget.set({ minute: 1 });
    expect((await callApi('start.employee_call', ok)).error).toMatchObject({ code: -32029, data: { mnemonic: 'limit_exceeded' } });
    const wrongToken = await fetch(emu.callApiUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'start.employee_call', params: { ...ok, access_token: 'nope' } }) });
    expect(((await wrongToken.json()) as Json).error.data.mnemonic).toBe('access_token_invalid');
    const batch = await fetch(emu.callApiUrl, { method: 'POST', body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'release.call', params: {} }]) });
    expect(((await batch.json()) as Json).error.code).toBe(-32099);
    expect((await fetch(emu.callApiUrl)).status).toBe(405);
    // login.user gives a session key the Call API accepts
    pbx.callApiBudget.set({ minute: 100 });
    const login = await callApi('login.user', { login: account.login, password: account.password, access_token: undefined });
    expect(login.result.data.access_token).toEqual(expect.any(String));
  });

  it('release.call ends the session ("success": "true" as the example); an unknown session is call_session_not_found', async () => {
    const { pbx, anna, main, callApi, notes, settle } = await setup();
    const r = await callApi('start.employee_call', { first_call: 'employee', virtual_phone_number: main, contact: '79161234567', employee: { id: anna } });
    const id = r.result.data.call_session_id as number;
    pbx.call(id).answer(anna);
    pbx.call(id).answer('contact');
    await settle(7000);
    const rel = await callApi('release.call', { call_session_id: id });
    expect(rel.result.data).toEqual({ success: 'true' });
    await settle();
    expect(notes().at(-1)!.event).toBe('call_finished');
    expect((await callApi('release.call', { call_session_id: id })).error).toMatchObject({ code: -32602, data: { mnemonic: 'call_session_not_found' } });
  });

  it('start.simple_call: an operator number, not an employee', async () => {
    const { pbx, main, callApi, data, settle } = await setup({ notify: false });
    const missing = await callApi('start.simple_call', { first_call: 'operator', virtual_phone_number: main, contact: '79161234567' });
    expect(missing.error.data).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'operator' });
    const r = await callApi('start.simple_call', { first_call: 'operator', virtual_phone_number: main, contact: '79161234567', operator: '79262444491', direction: 'out' });
    const call = pbx.call(r.result.data.call_session_id);
    call.answer('operator');
    call.answer('contact');
    await settle(9000);
    call.hangup();
    await settle();
    const row = (await data('get.calls_report', { ...DAY, fields: ['operator_phone_number', 'employees', 'talk_duration', 'source'] })).result.data[0];
    expect(row).toEqual({ operator_phone_number: '79262444491', employees: [], talk_duration: 9, source: 'callapi' });
  });
});

describe('interactive call processing (interactive_call_processing/index.html)', () => {
  it('POST with the chosen parameters; {"phones":[…]} rings those numbers (an employee\'s number → that employee)', async () => {
    const { pbx, receiver, oleg, notes, settle } = await setup();
    const op = pbx.interactiveOperation();
    op.url = `${receiver.url}/crm`;
    receiver.route['/crm'] = { body: { phones: ['79261110003'], message_name: '10sec.mp3' } };
    const ad = pbx.virtualNumbers[1]!.number;
    const call = await pbx.incoming({ from: '79161234567', to: ad });
    await settle();
    const req = receiver.hits.find((h) => h.path === '/crm')!;
    expect(req.method).toBe('POST');
    const p = new URLSearchParams(req.raw);
    expect(Object.fromEntries(p)).toEqual({ cdr_id: expect.any(String), start_time: String(START / 1000), input_result: 'None', numa: '79161234567', numb: ad, call_session_id: String(call.id) });
    expect(notes().filter((n) => n.event === 'waiting_for_answer').map((n) => n.body.employee_id)).toEqual([oleg]);
    expect(pbx.interactiveLog[0]).toMatchObject({ status: 200, outcome: 'redirect', answer: { phones: ['79261110003'] } });
  });

  it('GET query; returned_code → the linked operation; no answer in time → «связанная операция»', async () => {
    const { pbx, receiver, anna, marina, settle } = await setup();
    const op = pbx.interactiveOperation();
    const sc = pbx.scenarios.find((s) => s.operations.includes(op))!;
    const hangupId = 999001;
    sc.operations.push({ id: hangupId, name: 'Отбой', kind: 'hangup' });
    op.url = `${receiver.url}/crm?token=s`;
    op.method = 'GET';
    op.returnedCodes = { '7': hangupId };
    receiver.route['/crm'] = { body: { returned_code: 7 } };
    const ad = pbx.virtualNumbers[1]!.number;
    const branched = await pbx.incoming({ from: '79161234567', to: ad, dtmf: '42' });
    const q = new URLSearchParams(receiver.hits.find((h) => h.path === '/crm')!.query);
    expect(q.get('token')).toBe('s');
    expect(q.get('input_result')).toBe('42');
    expect(branched.session.state).toBe('ended');
    expect(branched.session.operations.map((o) => o.name)).toEqual(['Переадресация на персонального менеджера из CRM', 'Отбой']);

    op.timeoutMs = 150;
    receiver.route['/crm'] = { delayMs: 600, body: { phones: ['79261110003'] } };
    const late = await pbx.incoming({ from: '79161234567', to: ad });
    await settle();
    expect(pbx.interactiveLog.at(-1)).toMatchObject({ status: 'timeout', outcome: 'no-answer' });
    expect(late.session.legs.filter((l) => l.state === 'ringing').map((l) => l.employeeId)).toEqual([anna, marina]);

    receiver.route['/crm'] = { status: 500 };
    const failed = await pbx.incoming({ from: '79161234567', to: ad });
    expect(pbx.interactiveLog.at(-1)).toMatchObject({ status: 500, outcome: 'no-answer' });
    expect(failed.session.legs.filter((l) => l.state === 'ringing')).toHaveLength(2);
  });

  it('a malformed answer (a "+7…" or numeric entry in "phones", an empty list) is unusable → «связанная операция», not a partial redirect', async () => {
    const { pbx, receiver, anna, marina, settle } = await setup({ notify: false });
    const op = pbx.interactiveOperation();
    op.url = `${receiver.url}/crm`;
    const ad = pbx.virtualNumbers[1]!.number;
    for (const body of [{ phones: ['+79261110003'] }, { phones: ['79261110003', 79261110003] }, { phones: [] }]) {
      receiver.route['/crm'] = { body };
      const call = await pbx.incoming({ from: '79161234567', to: ad });
      await settle();
      expect(pbx.interactiveLog.at(-1), JSON.stringify(body)).toMatchObject({ status: 200, outcome: 'no-answer' });
      expect(call.session.legs.filter((l) => l.state === 'ringing').map((l) => l.employeeId)).toEqual([anna, marina]);
      call.abandon();
      await settle();
    }
  });

  it('an outside number in "phones" rings as an operator leg (operator_phone_number in the report)', async () => {
    const { pbx, receiver, data, settle } = await setup({ notify: false });
    const op = pbx.interactiveOperation();
    op.url = `${receiver.url}/crm`;
    receiver.route['/crm'] = { body: { phones: ['74959876543'] } };
    const call = await pbx.incoming({ from: '79161234567', to: pbx.virtualNumbers[1]!.number });
    call.answer({ phone: '74959876543' });
    await settle(15_000);
    call.hangup();
    await settle();
    const row = (await data('get.calls_report', { ...DAY, fields: ['operator_phone_number', 'talk_duration', 'is_lost', 'source'] })).result.data[0];
    expect(row).toEqual({ operator_phone_number: '74959876543', talk_duration: 15, is_lost: false, source: 'call_tracking' });
  });
});

describe('sandbox page /pbx', () => {
  it('a person calls as a client and answers as an employee through the page API', async () => {
    const { emu, account, pbx, main, anna, settle } = await setup({ notify: false });
    const html = await (await fetch(`${emu.origin}/pbx?account=${account.appId}`)).text();
    expect(html).toContain('Позвонить как клиент');
    expect(html).toContain(`+${main}`);
    const post = (path: string, body: Json) => fetch(`${emu.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: account.appId, ...body }) });
    const started = (await (await post('/pbx/api/incoming', { from: '79161234567', to: main })).json()) as Json;
    const state = (await (await fetch(`${emu.origin}/pbx/api/state?account=${account.appId}`)).json()) as Json;
    const leg = state.calls[0].legs.find((l: Json) => l.employeeId === anna);
    expect(leg.state).toBe('ringing');
    expect((await post('/pbx/api/action', { call: started.callSessionId, act: 'answer', leg: leg.id })).status).toBe(200);
    await settle(10_000);
    expect((await post('/pbx/api/action', { call: started.callSessionId, act: 'hangup', by: 'contact' })).status).toBe(200);
    expect(pbx.session(started.callSessionId)!.talkSeconds).toBe(10);
    // the interactive operation's URL, as an admin types it into the scenario
    expect((await post('/pbx/api/interactive', { url: 'ftp://x' })).status).toBe(400);
    expect((await post('/pbx/api/interactive', { url: 'https://app.example/uis/manager/abc' })).status).toBe(200);
    expect(pbx.interactiveOperation().url).toBe('https://app.example/uis/manager/abc');
    expect(await (await fetch(`${emu.origin}/pbx?account=${account.appId}`)).text()).toContain('https://app.example/uis/manager/abc');
    const again = await post('/pbx/api/action', { call: started.callSessionId, act: 'hangup' });
    expect(again.status).toBe(400);
  });
});

describe('sandbox page /pbx in headless Chromium', () => {
  it('a person calls a virtual number as a client, answers as Анна and hangs up', async () => {
    const { launchChromium } = await import('../support/browser');
    const { emu, account, pbx, anna, notes } = await setup();
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${emu.origin}/pbx?account=${account.appId}`);
    await page.getByTestId('pbx-from').fill('79161234567');
    await page.getByTestId('pbx-call-in').click();
    const leg = page.locator(`[data-testid="pbx-leg"][data-employee="${anna}"][data-state="ringing"]`);
    await leg.waitFor({ timeout: 5000 });
    await leg.getByTestId('pbx-answer').click();
    await page.locator('[data-testid="pbx-call"][data-state="talking"]').waitFor({ timeout: 5000 });
    await page.getByTestId('pbx-hangup').click();
    await page.locator('[data-testid="pbx-call"][data-state="ended"]').waitFor({ timeout: 5000 });
    await pbx.settle();
    expect(pbx.sessions[0]!.finishReason).toBe('subscriber_disconnects');
    expect(notes().map((n) => n.event)).toContain('talk_started');
  });
});
