/**
 * The emulated portal's CRM against the legacy crm.* contract (
 * docs/facts/bitrix24.md#crm, docs/facts/bitrix24.md#event-delivery), over real HTTP: shapes, filters, paging, permissions, duplicates, events.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import qs from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../server/domain/clock';
import { startBitrixEmulator, type EmulatedPortal } from './bitrix';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function fakeClock(start = Date.UTC(2026, 7, 21, 9, 0, 0)): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, sleep: async (ms) => void (t += ms), advance: (ms) => void (t += ms) };
}

async function startReceiver() {
  const hits: Array<{ path: string; raw: string; body: Json }> = [];
  const app = express();
  app.use(express.text({ type: () => true }));
  app.all('/{*rest}', (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    hits.push({ path: req.path, raw, body: qs.parse(raw) as Json });
    res.send('ok');
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** An installed app with an admin token and an employee token; the bucket is roomy. */
async function setup() {
  const receiver = await startReceiver();
  const emu = await startBitrixEmulator({
    app: { clientId: 'local.crm1', clientSecret: 's3cret', appUrl: receiver.url },
    clock: fakeClock(),
    rateLimit: { drainPerSec: 100, burst: 10_000 },
  });
  cleanups.push(receiver.close, emu.close);
  const portal = emu.portals[0] as EmulatedPortal;
  portal.beginInstall();
  const admin = portal.openApp().form.AUTH_ID as string;
  await portal.finishInstall();
  const employee = portal.openApp({ userId: portal.userId }).form.AUTH_ID as string;
  const call = async (method: string, params: Json = {}, token = admin) => {
    const res = await fetch(`${portal.clientEndpoint}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, auth: token }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  return { portal, receiver, admin, employee, call };
}

describe('crm.lead.*: legacy shapes', () => {
  it('get returns strings, null for empty, multifields only when present', async () => {
    const { call } = await setup();
    const lead = (await call('crm.lead.get', { id: 1 })).body.result as Json;
    expect(lead).toMatchObject({
      ID: '1',
      TITLE: 'Иван Петров — заявка с сайта',
      NAME: 'Иван',
      LAST_NAME: 'Петров',
      SECOND_NAME: null,
      ASSIGNED_BY_ID: '2',
      OPENED: 'N',
      OPPORTUNITY: '0.00',
      CURRENCY_ID: 'RUB',
      STATUS_SEMANTIC_ID: 'P',
      HAS_PHONE: 'Y',
      HAS_EMAIL: 'Y',
      HAS_IMOL: 'N',
      BIRTHDATE: '',
      UF_CRM_YA_CID: '',
    });
    expect(lead.DATE_CREATE).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$/);
    expect(lead.PHONE).toEqual([{ ID: expect.stringMatching(/^\d+$/), VALUE_TYPE: 'WORK', VALUE: '+79161234567', TYPE_ID: 'PHONE' }]);
    expect(lead.EMAIL).toEqual([{ ID: expect.any(String), VALUE_TYPE: 'WORK', VALUE: 'ivan@example.com', TYPE_ID: 'EMAIL' }]);
    expect(lead).not.toHaveProperty('IM');
    expect(lead).not.toHaveProperty('WEB');
    const bare = (await call('crm.lead.get', { id: 2 })).body.result as Json;
    expect(bare).not.toHaveProperty('PHONE');
    expect(bare.HAS_PHONE).toBe('N');
  });

  it('add/update: defaults, type coercion, read-only fields ignored, multifield add/replace/delete', async () => {
    const { call } = await setup();
    const added = await call('crm.lead.add', {
      fields: { NAME: 'Ольга', OPPORTUNITY: 1500.5, OPENED: true, ID: 999, DATE_CREATE: '2000-01-01', UF_CRM_YA_CID: '123.456', PHONE: [{ VALUE: '+79990000001' }, { VALUE: '' }] },
    });
    expect(added.status).toBe(200);
    expect(typeof added.body.result).toBe('number');
    const id = added.body.result as number;
    let lead = (await call('crm.lead.get', { id })).body.result as Json;
    expect(lead).toMatchObject({ ID: String(id), TITLE: `Лид #${id}`, OPPORTUNITY: '1500.50', OPENED: 'Y', STATUS_ID: 'NEW', ASSIGNED_BY_ID: '1', CREATED_BY_ID: '1', UF_CRM_YA_CID: '123.456' });
    expect(lead.DATE_CREATE).not.toContain('2000');
    expect(lead.PHONE).toEqual([{ ID: expect.any(String), VALUE_TYPE: 'WORK', VALUE: '+79990000001', TYPE_ID: 'PHONE' }]);
    const phoneId = lead.PHONE[0].ID as string;

    // an entry without ID is added, with ID replaced; other types stay
    await call('crm.lead.update', { id, fields: { PHONE: [{ ID: phoneId, VALUE: '+79990000002', VALUE_TYPE: 'MOBILE' }, { VALUE: '+79990000003' }], EMAIL: [{ VALUE: 'o@example.com' }] } });
    lead = (await call('crm.lead.get', { id })).body.result as Json;
    expect(lead.PHONE.map((p: Json) => [p.ID === phoneId, p.VALUE, p.VALUE_TYPE])).toEqual([
      [true, '+79990000002', 'MOBILE'],
      [false, '+79990000003', 'WORK'],
    ]);
    // ID + empty VALUE removes; DELETE=Y removes; sending PHONE does not wipe EMAIL
    const second = lead.PHONE[1].ID as string;
    await call('crm.lead.update', { id, fields: { PHONE: [{ ID: phoneId, VALUE: '' }, { ID: second, VALUE: 'x', DELETE: 'Y' }] } });
    lead = (await call('crm.lead.get', { id })).body.result as Json;
    expect(lead).not.toHaveProperty('PHONE');
    expect(lead.HAS_PHONE).toBe('N');
    expect(lead.EMAIL).toHaveLength(1);

    expect((await call('crm.lead.update', { id, fields: { STATUS_ID: 'CONVERTED' } })).body.result).toBe(true);
    expect((await call('crm.lead.get', { id })).body.result).toMatchObject({ STATUS_SEMANTIC_ID: 'S', DATE_CLOSED: expect.stringContaining('T') });
  });

  it('fails like the legacy layer: empty code, HTTP 400', async () => {
    const { call } = await setup();
    expect(await call('crm.lead.get', { id: 0 })).toMatchObject({ status: 400, body: { error: '', error_description: 'ID is not defined or invalid.' } });
    expect(await call('crm.lead.get', { id: 999 })).toMatchObject({ status: 400, body: { error: '', error_description: 'Not found' } });
    expect(await call('crm.lead.update', { id: 999, fields: { TITLE: 'x' } })).toMatchObject({ status: 400, body: { error: '', error_description: 'Lead is not found' } });
    expect(await call('crm.lead.add', { fields: 'oops' })).toMatchObject({ status: 400, body: { error: '', error_description: "Parameter 'fields' must be array." } });
    const described = (await call('crm.lead.fields')).body.result as Json;
    expect(described.ID).toMatchObject({ type: 'integer', isReadOnly: true });
    expect(described.STATUS_ID).toMatchObject({ type: 'crm_status', statusType: 'STATUS' });
    expect(described.PHONE).toMatchObject({ type: 'crm_multifield', isMultiple: true });
    expect(described.UF_CRM_UIS_CHAT_ID).toMatchObject({ type: 'string', isDynamic: true });
  });
});

describe('crm.deal.* and contacts', () => {
  it('funnels, stages, contacts of a deal', async () => {
    const { call } = await setup();
    const deal = (await call('crm.deal.get', { id: 1 })).body.result as Json;
    expect(deal).toMatchObject({ ID: '1', CATEGORY_ID: '0', STAGE_ID: 'PREPARATION', CONTACT_ID: '1', COMPANY_ID: '1', OPPORTUNITY: '120000.00', CLOSED: 'N', OPENED: 'Y', ASSIGNED_BY_ID: '1' });
    expect((await call('crm.deal.contact.items.get', { id: 1 })).body.result).toEqual([{ CONTACT_ID: 1, SORT: 10, ROLE_ID: 0, IS_PRIMARY: 'Y' }]);

    const contactId = (await call('crm.contact.add', { fields: { NAME: 'Анна', PHONE: [{ VALUE: '+79001112233', VALUE_TYPE: 'MOBILE' }] } })).body.result as number;
    const id = (await call('crm.deal.add', { fields: { TITLE: 'Повтор', CATEGORY_ID: 1, CONTACT_IDS: [contactId, 1] } })).body.result as number;
    let got = (await call('crm.deal.get', { id })).body.result as Json;
    expect(got).toMatchObject({ CATEGORY_ID: '1', STAGE_ID: 'C1:NEW', CONTACT_ID: String(contactId), STAGE_SEMANTIC_ID: 'P' });
    expect((await call('crm.deal.contact.items.get', { id })).body.result.map((c: Json) => [c.CONTACT_ID, c.IS_PRIMARY])).toEqual([
      [contactId, 'Y'],
      [1, 'N'],
    ]);
    // a stage of another funnel is refused, CATEGORY_ID cannot change on update, WON closes
    await call('crm.deal.update', { id, fields: { STAGE_ID: 'WON', CATEGORY_ID: 0 } });
    expect((await call('crm.deal.get', { id })).body.result).toMatchObject({ CATEGORY_ID: '1', STAGE_ID: 'C1:NEW' });
    await call('crm.deal.update', { id, fields: { STAGE_ID: 'C1:WON' } });
    got = (await call('crm.deal.get', { id })).body.result as Json;
    expect(got).toMatchObject({ STAGE_ID: 'C1:WON', CLOSED: 'Y', STAGE_SEMANTIC_ID: 'S' });

    const contact = (await call('crm.contact.get', { id: 1 })).body.result as Json;
    expect(contact).toMatchObject({ NAME: 'Пётр', LAST_NAME: 'Клиентов', COMPANY_ID: '1', TYPE_ID: 'CLIENT' });
    expect(contact.PHONE[0]).toMatchObject({ VALUE: '+79031234567', VALUE_TYPE: 'MOBILE' });
    expect((await call('crm.company.get', { id: 1 })).body.result).toMatchObject({ TITLE: 'ООО «Ромашка»' });
    expect((await call('crm.company.list', { select: ['ID', 'TITLE'] })).body).toMatchObject({ result: [{ ID: '1', TITLE: 'ООО «Ромашка»' }], total: 1 });
  });

  it('directories: statuses, funnels, lead user fields, users', async () => {
    const { call, employee } = await setup();
    const stages = (await call('crm.status.list', { filter: { ENTITY_ID: 'DEAL_STAGE_1' }, order: { SORT: 'ASC' } })).body;
    expect(stages.result.map((s: Json) => s.STATUS_ID)).toEqual(['C1:NEW', 'C1:PREPARATION', 'C1:EXECUTING', 'C1:WON', 'C1:LOSE']);
    expect(stages.result[3]).toMatchObject({ CATEGORY_ID: '1', SEMANTICS: 'S', EXTRA: { SEMANTICS: 'success' } });
    const lead = (await call('crm.status.list', { filter: { ENTITY_ID: 'STATUS' } })).body.result as Json[];
    expect(lead[0]).toMatchObject({ STATUS_ID: 'NEW', SYSTEM: 'Y', CATEGORY_ID: null, SEMANTICS: null, SORT: '10' });

    const cats = await call('crm.category.list', { entityTypeId: 2 });
    expect(cats.body.result).toEqual({
      categories: [
        { id: 0, name: 'Общая', sort: 100, entityTypeId: 2, isDefault: 'Y', originId: '', originatorId: '' },
        { id: 1, name: 'Повторные продажи', sort: 200, entityTypeId: 2, isDefault: 'N', originId: '', originatorId: '' },
      ],
    });
    expect(cats.body.total).toBe(2);
    expect((await call('crm.category.list', { entityTypeId: 1 })).body.error).toBe('ENTITY_TYPE_NOT_SUPPORTED');

    const ufs = (await call('crm.lead.userfield.list', { filter: { LANG: 'ru' } })).body.result as Json[];
    expect(ufs.map((u) => [u.FIELD_NAME, u.USER_TYPE_ID, u.EDIT_FORM_LABEL])).toEqual([
      ['UF_CRM_UIS_CHAT_ID', 'string', 'ID чата UIS'],
      ['UF_CRM_YA_CID', 'string', 'Яндекс ClientID'],
    ]);

    const users = (await call('user.get', {}, employee)).body;
    expect(users.total).toBe(4); // the system user is never listed
    expect(users.result.map((u: Json) => [u.ID, u.ACTIVE, u.LAST_NAME])).toEqual([
      ['1', true, 'Админова'],
      ['2', true, 'Сотрудников'],
      ['3', true, ''],
      ['4', false, 'Уволенный'],
    ]);
    expect(users.result[0]).toMatchObject({ NAME: 'Анна', EMAIL: 'admin@portal.example', UF_DEPARTMENT: [1], USER_TYPE: 'employee' });
    expect((await call('user.get', { FILTER: { ACTIVE: true } })).body.total).toBe(3);
    expect((await call('user.get', { ID: 3 })).body.result).toHaveLength(1);
  });
});

describe('crm.*.list: filters, select, order, paging', () => {
  it('understands the filter prefixes, multifields and select', async () => {
    const { call } = await setup();
    const titles = async (filter: Json, extra: Json = {}) =>
      ((await call('crm.lead.list', { filter, select: ['ID'], order: { ID: 'ASC' }, ...extra })).body.result as Json[]).map((l) => Number(l.ID));
    expect(await titles({ '%TITLE': 'заявка' })).toEqual([1, 2]);
    expect(await titles({ '>ID': 1, '<=ID': 3 })).toEqual([2, 3]);
    expect(await titles({ '@ID': [1, 3] })).toEqual([1, 3]);
    expect(await titles({ '!ID': 2 })).toEqual([1, 3]);
    expect(await titles({ '=OPENED': 'N' })).toEqual([1, 3]);
    expect(await titles({ STATUS_ID: 'IN_PROCESS' })).toEqual([1]);
    expect(await titles({ PHONE: '+7 (916) 123-45-67' })).toEqual([1]);
    expect(await titles({ EMAIL: 'IVAN@example.com' })).toEqual([1]);
    expect(await titles({ ASSIGNED_BY_ID: 2, NOT_A_FIELD: 'x' })).toEqual([1]);
    expect(await titles({}, { order: { ID: 'DESC' } })).toEqual([3, 2, 1]);

    const rows = (await call('crm.lead.list', { filter: { ID: 1 }, select: ['TITLE', 'PHONE', 'UF_*'] })).body.result as Json[];
    expect(rows[0]).toEqual({
      ID: '1',
      TITLE: 'Иван Петров — заявка с сайта',
      UF_CRM_UIS_CHAT_ID: null,
      UF_CRM_YA_CID: null,
      PHONE: [{ ID: expect.any(String), VALUE_TYPE: 'WORK', VALUE: '+79161234567', TYPE_ID: 'PHONE' }],
    });
    const star = (await call('crm.lead.list', { filter: { ID: 1 }, select: ['*'] })).body.result[0] as Json;
    expect(star).toHaveProperty('STATUS_ID', 'IN_PROCESS');
    expect(star).not.toHaveProperty('PHONE');
    expect(star).not.toHaveProperty('UF_CRM_YA_CID');
    expect((await call('crm.lead.list', { select: ['TITLE'], filter: { ID: 2 } })).body.result).toEqual([{ TITLE: 'Заявка без контактов' }]);
  });

  it('pages by 50 with total/next; start rounds down to a page; start=-1 skips counting', async () => {
    const { call } = await setup();
    for (let i = 0; i < 57; i++) await call('crm.lead.add', { fields: { TITLE: `Пакет ${i}`, SOURCE_ID: 'CALL' } });
    const first = (await call('crm.lead.list', { filter: { SOURCE_ID: 'CALL' }, select: ['ID'] })).body;
    expect(first.result).toHaveLength(50);
    expect(first.total).toBe(57);
    expect(first.next).toBe(50);
    const second = (await call('crm.lead.list', { filter: { SOURCE_ID: 'CALL' }, select: ['ID'], start: 55 })).body;
    expect(second.result).toHaveLength(7);
    expect(second.total).toBe(57);
    expect(second).not.toHaveProperty('next');
    const fast = (await call('crm.lead.list', { filter: { SOURCE_ID: 'CALL', '>ID': 10 }, select: ['ID'], order: { ID: 'ASC' }, start: -1 })).body;
    expect(fast.result[0]).toEqual({ ID: '11' });
    expect(fast).not.toHaveProperty('total');
    expect(fast).not.toHaveProperty('next');
  });
});

describe('permissions: own + opened', () => {
  it('the employee sees their own and opened items; others are "Access denied."', async () => {
    const { call, employee } = await setup();
    expect((await call('crm.lead.get', { id: 1 }, employee)).body.result.ID).toBe('1');
    expect(await call('crm.lead.get', { id: 3 }, employee)).toMatchObject({ status: 400, body: { error: '', error_description: 'Access denied.' } });
    // a missing id is also "Access denied." for the employee (rights are checked first)
    expect((await call('crm.lead.get', { id: 404 }, employee)).body.error_description).toBe('Access denied.');
    const seen = (await call('crm.lead.list', { select: ['ID'] }, employee)).body;
    expect(seen.result.map((l: Json) => l.ID)).toEqual(['1', '2']);
    expect(seen.total).toBe(2);
    expect((await call('crm.lead.list', { select: ['ID'] })).body.total).toBe(3);

    expect((await call('crm.lead.update', { id: 3, fields: { TITLE: 'x' } }, employee)).body).toEqual({ error: '', error_description: 'Access denied.' });
    expect((await call('crm.lead.update', { id: 2, fields: { TITLE: 'Открытый лид' } }, employee)).body.result).toBe(true);
    expect((await call('crm.lead.get', { id: 2 })).body.result).toMatchObject({ TITLE: 'Открытый лид', MODIFY_BY_ID: '2' });

    // the employee's new lead is theirs; made closed and given away, it disappears for them
    const id = (await call('crm.lead.add', { fields: { TITLE: 'Мой' } }, employee)).body.result as number;
    expect((await call('crm.lead.get', { id }, employee)).body.result).toMatchObject({ ASSIGNED_BY_ID: '2', CREATED_BY_ID: '2' });
    await call('crm.lead.update', { id, fields: { OPENED: 'N', ASSIGNED_BY_ID: 1 } }, employee);
    expect((await call('crm.lead.get', { id }, employee)).body.error_description).toBe('Access denied.');
    expect((await call('crm.deal.get', { id: 1 }, employee)).body.result.ID).toBe('1'); // OPENED=Y
    expect((await call('crm.timeline.comment.add', { fields: { ENTITY_ID: 3, ENTITY_TYPE: 'lead', COMMENT: 'x' } }, employee)).body.error).toBe('ACCESS_DENIED');
  });
});

describe('duplicates, timeline, notifications', () => {
  it('crm.duplicate.findbycomm: normalised phones, [] when nothing, deals refused', async () => {
    const { call } = await setup();
    expect((await call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['8 (916) 123-45-67'] })).body.result).toEqual({ LEAD: [1] });
    expect((await call('crm.duplicate.findbycomm', { type: 'EMAIL', values: ['PETR@example.com', 'nobody@example.com'] })).body.result).toEqual({ CONTACT: [1] });
    expect((await call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['+70000000000'] })).body.result).toEqual([]);
    expect((await call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['+79161234567'], entity_type: 'CONTACT' })).body.result).toEqual([]);
    expect((await call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['1'], entity_type: 'DEAL' })).body).toEqual({ error: '', error_description: 'Deal is not supported in current context.' });
    expect((await call('crm.duplicate.findbycomm', { type: 'FAX', values: ['1'] })).body.error_description).toBe("Communication type 'FAX' is not supported in current context.");
  });

  it('timeline comments, to-dos and system notifications are stored and visible', async () => {
    const { call, portal } = await setup();
    const commentId = (await call('crm.timeline.comment.add', { fields: { ENTITY_ID: 1, ENTITY_TYPE: 'deal', COMMENT: 'Чат с клиентом: [b]важно[/b]' } })).body.result;
    expect(typeof commentId).toBe('number');
    expect((await call('crm.timeline.comment.add', { fields: { ENTITY_ID: 1, ENTITY_TYPE: 'deal', COMMENT: ' ' } })).body.error).toBe('INVALID_ARG_VALUE');
    expect((await call('crm.timeline.comment.add', { FIELDS: { ENTITY_ID: 1, ENTITY_TYPE: 'deal', COMMENT: 'x' } })).body.error).toBe('INVALID_ARG_VALUE');
    const todo = await call('crm.activity.todo.add', { ownerTypeId: 1, ownerId: 1, deadline: '2026-08-22T10:00:00+03:00', title: 'Перезвонить' });
    expect(todo.body.result).toEqual({ id: expect.any(Number) });
    const note = await call('im.notify.system.add', { USER_ID: 2, MESSAGE: 'Новый чат [b]UIS[/b]', TAG: 'uis|1' });
    expect(typeof note.body.result).toBe('number');
    await call('im.notify.system.add', { USER_ID: 2, MESSAGE: 'Повтор', TAG: 'uis|1' });
    expect((await call('im.notify.system.add', { USER_ID: 2 })).body.error).toBe('MESSAGE_EMPTY');

    expect(portal.crm.comments().find((c) => c.id === commentId)).toMatchObject({ entityType: 'DEAL', entityId: 1, comment: 'Чат с клиентом: [b]важно[/b]', authorId: 1 });
    expect(portal.crm.activities().find((a) => a.id === todo.body.result.id)).toMatchObject({ ownerType: 'LEAD', ownerId: 1, subject: 'Перезвонить', providerId: 'CRM_TODO' });
    expect(portal.crm.notifications().map((n) => n.message)).toEqual(['Повтор']); // same TAG replaces

    // the card page shows them
    const html = await (await fetch(`${portal.origin}/crm/deal/details/1/?user=1`)).text();
    expect(html).toContain('Чат с клиентом');
    expect(html).toContain('Поставка оборудования');
  });
});

describe('CRM events', () => {
  it('every add fires ONCRM<TYPE>ADD to online handlers and queues offline rows', async () => {
    const { call, receiver, portal } = await setup();
    for (const event of ['ONCRMLEADADD', 'ONCRMDEALADD', 'ONCRMCONTACTADD']) {
      expect((await call('event.bind', { event, handler: `${receiver.url}/b24/events` })).body.result).toBe(true);
    }
    await call('event.bind', { event: 'ONCRMLEADADD', event_type: 'offline' });
    const leadId = (await call('crm.lead.add', { fields: { TITLE: 'Событие' } })).body.result;
    const contactId = (await call('crm.contact.add', { fields: { NAME: 'К' } })).body.result;
    const dealId = (await call('crm.deal.add', { fields: { TITLE: 'С' } })).body.result;
    await portal.drainEvents();
    const byEvent = Object.fromEntries(receiver.hits.filter((h) => h.path === '/b24/events').map((h) => [h.body.event, h]));
    expect(byEvent.ONCRMLEADADD?.raw).toContain(`data%5BFIELDS%5D%5BID%5D=${leadId}`);
    expect(byEvent.ONCRMCONTACTADD?.body.data).toEqual({ FIELDS: { ID: String(contactId) } });
    expect(byEvent.ONCRMDEALADD?.body.data).toEqual({ FIELDS: { ID: String(dealId) } });
    const auth = byEvent.ONCRMLEADADD?.body.auth as Json;
    expect(auth).toMatchObject({ member_id: portal.memberId, user_id: '1', application_token: portal.state().applicationToken });
    expect(auth.access_token).toMatch(/^[0-9a-f]{70}$/);
    expect(auth).not.toHaveProperty('refresh_token');

    const offline = (await call('event.offline.get', {})).body.result as Json;
    expect(offline.events).toEqual([expect.objectContaining({ EVENT_NAME: 'ONCRMLEADADD', EVENT_DATA: { FIELDS: { ID: leadId } }, EVENT_ADDITIONAL: { user_id: 1 } })]);
  });

  it('crm.contact.delete: true, the contact is gone (get: "Not found", a second delete: "Contact is not found"), the deal loses its binding, ONCRMCONTACTDELETE fires; an employee may not delete what he cannot see', async () => {
    const { call, receiver, portal, employee } = await setup();
    expect((await call('event.bind', { event: 'ONCRMCONTACTDELETE', handler: `${receiver.url}/b24/events` })).body.result).toBe(true);
    const contactId = (await call('crm.contact.add', { fields: { NAME: 'Удаляемый', ASSIGNED_BY_ID: 1, OPENED: 'N' } })).body.result;
    const dealId = (await call('crm.deal.add', { fields: { TITLE: 'С', CONTACT_ID: contactId } })).body.result;
    expect((await call('crm.contact.delete', { id: contactId }, employee)).body).toMatchObject({ error: '', error_description: 'Access denied.' });
    expect((await call('crm.contact.delete', { id: contactId })).body.result).toBe(true);
    expect(await call('crm.contact.get', { id: contactId })).toMatchObject({ status: 400, body: { error_description: 'Not found' } });
    expect(await call('crm.contact.delete', { id: contactId })).toMatchObject({ status: 400, body: { error_description: 'Contact is not found' } });
    expect((await call('crm.deal.get', { id: dealId })).body.result.CONTACT_ID).toBeNull();
    await portal.drainEvents();
    const hit = receiver.hits.find((h) => h.body.event === 'ONCRMCONTACTDELETE');
    expect(hit?.body.data).toEqual({ FIELDS: { ID: String(contactId) } });
  });
});
