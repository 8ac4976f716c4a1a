import { afterEach, describe, expect, it } from 'vitest';
import { scaledClock } from '../../server/domain/clock';
import type { TelephonyView } from '../../server/contracts/telephony';
import { defaultTelephonySettings, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { installAndLink } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';
import type { Pbx } from '../emulator/uis/pbx/pbx';

/**
 * «Переадресация на персонального менеджера из CRM» end to end (issue #14; docs/facts/telephony.md#interactive-processing, docs/facts/telephony.md#personal-manager):
 * the emulated UIS PBX runs the scenario of its «Реклама» number — «Интерактивная обработка
 * вызова» configured as the «Телефония» tab says, then the linked operation «Отдел продаж» (Анна
 * and Марина ring) — and asks the app, over real HTTP, for the caller's manager. Found: only the
 * manager's phone rings. Not found, switched off, no answer in time: the linked operation.
 */
let h: Harness;
afterEach(async () => h?.close());
const clock = scaledClock(20);

interface World {
  pbx: Pbx;
  anna: number;
  marina: number;
  view: TelephonyView;
  /** the «Реклама» number: its scenario starts with the interactive operation */
  ad: string;
  session: string;
}

function telephony(use: boolean): TelephonySettings {
  const d = defaultTelephonySettings();
  return { ...d, enabled: true, personalManager: { use }, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } };
}

/** Install, link, pair Анна ↔ admin 1 and Марина ↔ Иван 2, save the tab, set the UIS operation up as the tab shows. */
async function setup(o: { use?: boolean; notify?: boolean } = {}): Promise<World> {
  h = await startHarness({ clock, env: { LOG_LEVEL: 'warn' } });
  const { acc, session } = await installAndLink(h);
  const pbx = acc.pbx;
  const [anna, marina] = acc.employees.map((e) => e.id) as [number, number];
  await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
    { b24UserId: 1, uisEmployeeId: anna, matchedBy: 'email' },
    { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' },
  ]);
  const saved = await api(h.app.url, session, 'PUT', '/api/telephony', telephony(o.use ?? true));
  expect(saved.status, JSON.stringify(saved.json)).toBe(200);
  const view = saved.json as unknown as TelephonyView;
  if (o.notify) for (const n of view.notifications) pbx.addNotification({ eventType: n.type, method: n.method, url: n.url, body: n.body, contentType: n.contentType });
  const setupPm = view.personalManager!;
  const op = pbx.interactiveOperation();
  Object.assign(op, { url: setupPm.url, method: setupPm.method, params: setupPm.params, timeoutMs: setupPm.waitSeconds * 1000 });
  return { pbx, anna, marina, view, ad: pbx.virtualNumbers[1]!.number, session };
}

const phone = (n: string) => [{ VALUE: `+7 (${n.slice(1, 4)}) ${n.slice(4, 7)}-${n.slice(7, 9)}-${n.slice(9)}`, VALUE_TYPE: 'WORK' }];
const add = (type: 'CONTACT' | 'COMPANY' | 'LEAD' | 'DEAL', fields: Record<string, unknown>) => h.portal.crm.add(type, fields, null, 0).id;

/** A client calls «Реклама»; which employees' phones ring once the scenario got past the interactive operation. */
async function ringing(w: World, from: string): Promise<{ employees: Array<number | null>; log: (typeof w.pbx.interactiveLog)[number] }> {
  const call = await w.pbx.incoming({ from, to: w.ad });
  const employees = call.session.legs.filter((l) => l.state === 'ringing').map((l) => l.employeeId);
  const log = w.pbx.interactiveLog.at(-1)!;
  call.abandon();
  await w.pbx.settle();
  return { employees, log };
}

const pm = () => h.app.deps.personalManager!;
const mapOwner = async (n: string) => (await pm().map.clientOf(h.portal.memberId, n))?.contacts[0]?.responsibleId ?? null;
/** Polls `check`, letting the map's worker run in between (events arrive 0.5–2.5 s late on the emulator's clock). */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) {
    await pm().worker.drain();
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await check()).toBe(true);
}
const crmRequests = () => Object.entries(h.portal.stats.byMethod).filter(([m]) => m.startsWith('crm.') || m === 'batch').reduce((a, [, n]) => a + n, 0);

describe('personal manager (interactive call processing)', () => {
  it('the contact\'s responsible: only his UIS employee\'s phone rings, the answer is the documented {"phones":[…]}', async () => {
    const w = await setup();
    add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110001'), ASSIGNED_BY_ID: 2 });
    const r = await ringing(w, '79161110001');
    expect(r.log).toMatchObject({ status: 200, outcome: 'redirect' });
    expect((r.log.answer as { phones: string[] }).phones.every((p) => /^\d+$/.test(p))).toBe(true);
    expect(r.employees).toEqual([w.marina]);
    // the tab: UIS asks (the answers are counted once sent)
    const asked = async () => ((await api(h.app.url, w.session, 'GET', '/api/telephony')).json as unknown as TelephonyView).personalManager?.asked;
    await eventually(async () => (await asked())?.count === 1);
    expect(await asked()).toMatchObject({ count: 1, withManager: 1, lastOutcome: 'manager' });
  });

  it('the priority Contact → Company → Lead/Deal decides whose phone rings', async () => {
    const w = await setup();
    // contact (Анна) and company (Марина) share the number: the contact wins
    const company = add('COMPANY', { TITLE: 'ООО Клиент', PHONE: phone('79161110002'), ASSIGNED_BY_ID: 2 });
    add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110002'), ASSIGNED_BY_ID: 1, COMPANY_ID: company });
    // a company alone
    add('COMPANY', { TITLE: 'ООО Второй', PHONE: phone('79161110003'), ASSIGNED_BY_ID: 2 });
    // a lead alone
    add('LEAD', { TITLE: 'Лид', PHONE: phone('79161110004'), ASSIGNED_BY_ID: 2 });
    // a converted lead (Анна) and the open deal made from it (Марина): the open deal wins
    const lead = add('LEAD', { TITLE: 'Сконвертирован', PHONE: phone('79161110005'), ASSIGNED_BY_ID: 1, STATUS_ID: 'CONVERTED' });
    const deal = h.portal.crm.add('DEAL', { TITLE: 'Сделка', ASSIGNED_BY_ID: 2 }, null, 0);
    deal.fields.LEAD_ID = String(lead); // what the conversion sets (read-only over REST)

    expect((await ringing(w, '79161110002')).employees).toEqual([w.anna]);
    expect((await ringing(w, '79161110003')).employees).toEqual([w.marina]);
    expect((await ringing(w, '79161110004')).employees).toEqual([w.marina]);
    expect((await ringing(w, '79161110005')).employees).toEqual([w.marina]);
  });

  it('not a client: an empty answer, the linked operation rings the sales group; a second call asks Bitrix24 nothing (the miss is kept)', async () => {
    const w = await setup();
    const r = await ringing(w, '79161119999');
    expect(r.log).toMatchObject({ status: 200, outcome: 'no-answer', answer: {} });
    expect(r.employees).toEqual([w.anna, w.marina]);
    const before = crmRequests();
    expect((await ringing(w, '79161119999')).employees).toEqual([w.anna, w.marina]);
    expect(crmRequests()).toBe(before);
  });

  it('live lookups do not flood a slow portal: one per number, at most two per portal at once — the rest answered "no manager" at once', async () => {
    const w = await setup();
    const url = w.view.personalManager!.url;
    const lookups = () => h.portal.stats.byMethod['crm.duplicate.findbycomm'] ?? 0;
    const before = lookups();
    const held = h.portal.holdAnswers(['crm.duplicate.findbycomm'], 1000);
    try {
      const ask = (n: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `numa=${n}` }).then(async (r) => [r.status, await r.json()]);
      const numbers = ['79161120001', '79161120001', '79161120002', '79161120003', '79161120004', '79161120005'];
      const answers = await Promise.all(numbers.map(ask));
      expect(answers).toEqual(numbers.map(() => [200, {}]));
      expect(lookups() - before).toBe(2);
    } finally {
      held.release();
    }
  });

  it('the responsible is not paired with a UIS employee: "no manager", the linked operation', async () => {
    const w = await setup();
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [{ b24UserId: 1, uisEmployeeId: w.anna, matchedBy: 'email' }]);
    add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110012'), ASSIGNED_BY_ID: 2 });
    const r = await ringing(w, '79161110012');
    expect(r.log).toMatchObject({ status: 200, outcome: 'no-answer', answer: {} });
    expect(r.employees).toEqual([w.anna, w.marina]);
    await eventually(async () => ((await api(h.app.url, w.session, 'GET', '/api/telephony')).json as unknown as TelephonyView).personalManager?.asked?.lastOutcome === 'not-paired');
  });

  it('the forwarding switched off: "no manager" at once, without a CRM request — the linked operation', async () => {
    const w = await setup({ use: false });
    add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110006'), ASSIGNED_BY_ID: 2 });
    const before = crmRequests();
    const r = await ringing(w, '79161110006');
    expect(r.log).toMatchObject({ status: 200, outcome: 'no-answer' });
    expect(r.employees).toEqual([w.anna, w.marina]);
    expect(crmRequests()).toBe(before);
    expect(await pm().map.asks(h.portal.memberId)).toBeNull(); // not counted while off
  });

  it('a slow portal (its REST answers held beyond UIS\'s wait): the answer still comes in time, from the map; a number the map lacks falls through in time', async () => {
    const w = await setup();
    add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110007'), ASSIGNED_BY_ID: 2 });
    // the ONCRMCONTACTADD event puts the contact in the map
    await eventually(async () => (await mapOwner('79161110007')) === 2);
    const held = h.portal.holdAnswers(['batch', 'crm.duplicate.findbycomm', 'crm.contact.list', 'crm.contact.get'], 1000);
    try {
      const r = await ringing(w, '79161110007');
      expect(r.log).toMatchObject({ status: 200, outcome: 'redirect' });
      expect(r.employees).toEqual([w.marina]);
      const unknown = await ringing(w, '79161110008');
      expect(unknown.log).toMatchObject({ status: 200, outcome: 'no-answer' }); // our empty answer, not UIS's timeout
      expect(unknown.employees).toEqual([w.anna, w.marina]);
    } finally {
      held.release();
    }
  });

  it('a CRM event changing the responsible changes the answer; a lost event is caught up by the upkeep', async () => {
    const w = await setup();
    await pm().worker.upkeep(h.portal.memberId); // the first full read done: below, the upkeep only re-reads stale rows
    const id = add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110009'), ASSIGNED_BY_ID: 2 });
    expect((await ringing(w, '79161110009')).employees).toEqual([w.marina]);
    h.portal.crm.update('CONTACT', id, { ASSIGNED_BY_ID: 1 }, null, 0);
    await eventually(async () => (await mapOwner('79161110009')) === 1);
    expect((await ringing(w, '79161110009')).employees).toEqual([w.anna]);

    // events in reverse order: the item is read as it is now, so the last change wins whatever came last
    h.portal.eventQueue.hold();
    h.portal.crm.update('CONTACT', id, { ASSIGNED_BY_ID: 2 }, null, 0);
    h.portal.crm.update('CONTACT', id, { PHONE: [{ VALUE: '+7 916 111-00-10', VALUE_TYPE: 'WORK' }] }, null, 0);
    await h.portal.eventQueue.release('reverse');
    await eventually(async () => (await mapOwner('79161110009')) === 2);
    expect((await ringing(w, '79161110009')).employees).toEqual([w.marina]);

    // the event is lost: the row grows old (6 h pass) and the upkeep reads it again
    await h.portal.eventQueue.idle();
    await pm().worker.drain(); // both reordered events' reads done
    h.portal.eventQueue.configure({ dropRate: 1 });
    h.portal.crm.update('CONTACT', id, { ASSIGNED_BY_ID: 1 }, null, 0);
    await h.portal.eventQueue.idle();
    await pm().worker.drain();
    expect(await mapOwner('79161110009')).toBe(2);
    await h.sql.run('UPDATE pm_entities SET read_at = read_at - ?', 6 * 3600_000 + 1);
    await pm().worker.upkeep(h.portal.memberId);
    await eventually(async () => (await mapOwner('79161110009')) === 1);
    expect((await ringing(w, '79161110009')).employees).toEqual([w.anna]);
  });

  it('our own writes: the lead a call creates is in the map at once, with every Bitrix24 event lost and the portal slow afterwards', async () => {
    const w = await setup({ notify: true });
    h.portal.eventQueue.configure({ dropRate: 1 });
    const call = await w.pbx.incoming({ from: '79161110011', to: w.pbx.virtualNumbers[0]!.number });
    call.answer(w.anna);
    await clock.sleep(20_000);
    call.hangup();
    await eventually(async () => (await h.app.deps.telephony.get(h.portal.memberId, call.id))?.status === 'done');
    const [lead] = h.portal.crm.leads().filter((l) => l.ORIGINATOR_ID === 'uis_omni');
    expect(lead).toMatchObject({ ASSIGNED_BY_ID: '1' });
    await eventually(async () => (await pm().map.clientOf(h.portal.memberId, '79161110011'))?.leads[0]?.responsibleId === 1);
    const held = h.portal.holdAnswers(['batch', 'crm.duplicate.findbycomm'], 1000);
    try {
      expect((await ringing(w, '79161110011')).employees).toEqual([w.anna]);
    } finally {
      held.release();
    }
  });

  it('the client\'s contact deleted in Bitrix24 (ONCRMCONTACTDELETE): he is no longer anyone\'s client — the linked operation', async () => {
    const w = await setup();
    const id = add('CONTACT', { NAME: 'Клиент', PHONE: phone('79161110013'), ASSIGNED_BY_ID: 2 });
    await eventually(async () => (await mapOwner('79161110013')) === 2);
    expect((await ringing(w, '79161110013')).employees).toEqual([w.marina]);
    h.portal.crm.delete('CONTACT', id, null, 0);
    await eventually(async () => (await pm().map.clientOf(h.portal.memberId, '79161110013')) === null);
    const r = await ringing(w, '79161110013');
    expect(r.log).toMatchObject({ status: 200, outcome: 'no-answer' });
    expect(r.employees).toEqual([w.anna, w.marina]);
  });

  it('clients from before the forwarding was switched on (their events not followed) are read once by the upkeep, and answered from the map while the portal is slow', async () => {
    const w = await setup({ use: false });
    add('CONTACT', { NAME: 'Давний клиент', PHONE: phone('79161110014'), ASSIGNED_BY_ID: 2 });
    await h.portal.eventQueue.idle();
    await pm().worker.drain();
    expect(await pm().map.clientOf(h.portal.memberId, '79161110014')).toBeNull();
    const stored = (await h.app.deps.telephony.getSettings(h.portal.memberId))!.settings;
    await h.app.deps.telephony.saveSettings(h.portal.memberId, { ...stored, personalManager: { use: true } });
    await pm().worker.upkeep(h.portal.memberId);
    expect(await mapOwner('79161110014')).toBe(2);
    const held = h.portal.holdAnswers(['batch', 'crm.duplicate.findbycomm'], 1000);
    try {
      expect((await ringing(w, '79161110014')).employees).toEqual([w.marina]);
    } finally {
      held.release();
    }
  });

  it('a forged URL is refused before anything is read or recorded; a request without the caller\'s number is 400 with the reason', async () => {
    const w = await setup();
    const url = w.view.personalManager!.url;
    const forged = url.replace(/[^/]+$/, 'A'.repeat(43));
    const before = crmRequests();
    const r = await fetch(forged, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'numa=79161110001&numb=74950000102' });
    expect(r.status).toBe(401);
    expect(crmRequests()).toBe(before);
    expect(await pm().map.isMiss(h.portal.memberId, '79161110001', Date.now())).toBe(false);

    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'numb=74950000102' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/numa/);
    const hidden = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'numa=anonymous&numb=74950000102' });
    expect(hidden.status).toBe(200); // a hidden number is nobody's client, not a broken request
    expect(await hidden.json()).toEqual({});
    const junk = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"numa":' });
    expect(junk.status).toBe(400);
    const koi8 = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=koi8-r' }, body: 'numa=79161110001' });
    expect(koi8.status).toBe(415);
    expect(h.logs.lines().join('\n')).not.toContain(url.split('/').at(-1));
  });
});
