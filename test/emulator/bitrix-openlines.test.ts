/**
 * Open lines on the emulated portal (docs/facts/bitrix24.md#imconnector, docs/facts/bitrix24.md#openlines-chats, docs/facts/uis.md#bitrix-connector-summary,
 * docs/facts/uis.md#bridge-rules) over real HTTP: imconnector.send.messages rules, the CRM tracker, operator replies as
 * ONIMCONNECTORMESSAGEADD, delivery marks, finding chats from CRM, history, livechat custom data.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import qs from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../server/domain/clock';
import { launchChromium } from '../support/browser';
import { startBitrixEmulator, type EmulatedPortal } from './bitrix';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** 1×1 transparent PNG */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

function fakeClock(start = Date.UTC(2026, 7, 21, 9, 0, 0)): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, sleep: async (ms) => void (t += ms), advance: (ms) => void (t += ms) };
}

/** The "app": records event POSTs and serves a file the portal downloads. */
async function startApp() {
  const hits: Array<{ path: string; raw: string; contentType: string; body: Json }> = [];
  const app = express();
  app.get('/files/photo.png', (_req, res) => void res.type('image/png').send(PNG));
  // a site script as the app would ship it: hands the visitor session to the widget
  app.get('/site.js', (_req, res) =>
    void res
      .type('application/javascript')
      .send(
        `window.addEventListener('onBitrixLiveChat', function (e) { e.detail.widget.setCustomData([{ GRID: [{ NAME: 'UIS visitor', VALUE: 'vs-777', DISPLAY: 'LINE' }] }]); });`,
      ),
  );
  app.use(express.text({ type: () => true }));
  app.all('/{*rest}', (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    hits.push({ path: req.path, raw, contentType: String(req.headers['content-type'] ?? ''), body: qs.parse(raw, { depth: 10 }) as Json });
    res.send('ok');
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, hits, events: (name: string) => hits.filter((h) => h.body.event === name), close: () => new Promise<void>((r) => server.close(() => r())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const EVENTS = [
  'ONIMCONNECTORMESSAGEADD',
  'ONIMCONNECTORDIALOGSTART',
  'ONIMCONNECTORDIALOGFINISH',
  'ONIMCONNECTORSTATUSDELETE',
  'ONIMCONNECTORLINEDELETE',
  'ONCRMLEADADD',
  'ONCRMLEADUPDATE',
];

/** Installed app, connector `uis_omni` registered (and by default active on line 1), events bound. */
async function setup(o: { activate?: boolean; flags?: Json } = {}) {
  const app = await startApp();
  const clock = fakeClock();
  const emu = await startBitrixEmulator({ app: { clientId: 'local.ol1', clientSecret: 's3cret', appUrl: app.url }, clock, rateLimit: { drainPerSec: 100, burst: 10_000 } });
  cleanups.push(app.close, emu.close);
  const portal = emu.portals[0] as EmulatedPortal;
  cleanups.push(() => portal.drainEvents()); // deliveries still in flight would hold the app server open
  portal.beginInstall();
  const admin = portal.openApp().form.AUTH_ID as string;
  const call = async (method: string, params: Json = {}, token = admin) => {
    const res = await fetch(`${portal.clientEndpoint}${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...params, auth: token }) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const reg = await call('imconnector.register', {
    ID: 'uis_omni',
    NAME: 'UIS OMNI',
    ICON: { DATA_IMAGE: 'data:image/svg+xml,x' },
    PLACEMENT_HANDLER: `${app.url}/b24/connector`,
    ...(o.flags ?? {}),
  });
  expect(reg.body.result).toEqual({ result: true });
  for (const event of EVENTS) await call('event.bind', { event, handler: `${app.url}/b24/events` });
  await portal.finishInstall();
  if (o.activate !== false) await call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 1 });
  const employee = portal.openApp({ userId: portal.userId }).form.AUTH_ID as string;
  const send = (messages: Json[], line = 1) => call('imconnector.send.messages', { CONNECTOR: 'uis_omni', LINE: line, MESSAGES: messages });
  const item = (userId: string, chatId: string, text: string, extra: { user?: Json; message?: Json } = {}) => ({
    user: { id: userId, name: 'Мария', last_name: 'Иванова', ...(extra.user ?? {}) },
    message: { id: `m-${Math.random().toString(16).slice(2)}`, date: 1766047124, text, ...(extra.message ?? {}) },
    chat: { id: chatId },
  });
  return { app, clock, portal, admin, employee, call, send, item };
}

describe('imconnector.send.messages: rules', () => {
  it('refuses before the connector is active on the line, and bad structure', async () => {
    const { call, send, item } = await setup({ activate: false });
    expect(await send([item('u1', 'c1', 'привет')])).toMatchObject({ status: 400, body: { error: 'NOT_ACTIVE_LINE' } });
    expect((await call('imconnector.send.messages', { CONNECTOR: 'uis_omni', LINE: 1 })).body).toMatchObject({ error: 'ERROR_ARGUMENT', argument: 'MESSAGES' });
    expect((await call('imconnector.send.messages', { CONNECTOR: 'uis_omni', LINE: 1, MESSAGES: [{ user: { id: '1' } }] })).body).toMatchObject({
      error: 'ERROR_ARGUMENT',
      error_description: 'The incorrect structure of a message inside MESSAGES parameter.',
    });
    expect((await call('imconnector.send.messages', { CONNECTOR: 'nope', LINE: 1, MESSAGES: [item('u', 'c', 'x')] })).body.error).toBe('IMCONNECTOR_NOT_SPECIFIED_CORRECT_CONNECTOR');
    await call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 1 });
    expect((await send([item('u1', 'c1', 'привет')])).body.result.SUCCESS).toBe(true);
    await call('imconnector.set.error', { CONNECTOR: 'uis_omni', LINE: 1 });
    expect((await call('imconnector.status', { CONNECTOR: 'uis_omni', LINE: 1 })).body.result).toMatchObject({ ERROR: true, STATUS: false });
    expect((await send([item('u1', 'c1', 'ещё')])).body.error).toBe('NOT_ACTIVE_LINE');
  });

  it('answers per item with stable internal user, session and chat ids', async () => {
    const { send, item, portal } = await setup();
    const first = await send([item('client-1', 'chat-1', 'Здравствуйте', { user: { phone: '+79055550001', skip_phone_validate: 'Y' } })]);
    expect(first.status).toBe(200);
    const r1 = first.body.result.DATA.RESULT[0] as Json;
    expect(first.body.result.SUCCESS).toBe(true);
    expect(r1).toMatchObject({ SUCCESS: true, chat: { id: 'chat-1' }, extra: { skip_phone_validate: 'Y' }, message: { text: 'Здравствуйте', date: {} } });
    expect(typeof r1.user).toBe('number'); // just created: CUser::Add returns an int
    expect(r1.session).toEqual({ ID: expect.stringMatching(/^\d+$/), CHAT_ID: expect.stringMatching(/^\d+$/) });

    const [same, other] = (await send([item('client-1', 'chat-1', 'Вы тут?'), item('client-2', 'chat-2', 'Другой клиент', { message: { disable_crm: 'Y' } })])).body.result.DATA
      .RESULT as Json[];
    expect(same).toMatchObject({ user: String(r1.user), session: r1.session }); // existing user: the DB row's string id
    expect(other?.user).not.toBe(r1.user);
    expect(other?.session.CHAT_ID).not.toBe(r1.session.CHAT_ID);
    expect(other?.extra).toEqual({ disable_tracker: 'Y' });
    expect(other?.message).not.toHaveProperty('disable_crm');

    const chat = portal.openLines.chat(Number(r1.session.CHAT_ID));
    expect(chat).toMatchObject({
      connector: 'uis_omni',
      lineId: 1,
      externalChatId: 'chat-1',
      userCode: `uis_omni|1|chat-1|${r1.user}`,
      title: 'Мария Иванова - Открытая линия 1',
      accepted: false,
      user: { externalId: 'client-1', phone: '+79055550001', name: 'Мария', lastName: 'Иванова' },
    });
    expect(chat?.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual(['Здравствуйте', 'Вы тут?']);
    expect(chat?.messages.find((m) => m.text === 'Здравствуйте')?.connectorMid).toHaveLength(1);
    // an item without text and files fails alone
    const empty = (await send([item('client-3', 'chat-3', '')])).body.result.DATA.RESULT[0] as Json;
    expect(empty).toMatchObject({ SUCCESS: false, ERRORS: [expect.any(String)] });
    expect(empty).not.toHaveProperty('session');
  });

  it('downloads files; an unreachable URL leaves a broken file', async () => {
    const { send, item, app, portal } = await setup();
    const r = (await send([item('f1', 'fc1', '', { message: { files: [{ url: `${app.url}/files/photo.png`, name: 'photo.png' }, { url: 'http://127.0.0.1:9/gone.pdf' }] } })])).body.result.DATA.RESULT[0] as Json;
    expect(r.SUCCESS).toBe(true);
    expect(r.message.files).toHaveLength(2);
    const files = portal.openLines.chat(Number(r.session.CHAT_ID))?.messages.find((m) => m.direction === 'in')?.files ?? [];
    expect(files.map((f) => [f.name, f.fetched, f.size, f.mime])).toEqual([
      ['photo.png', true, PNG.length, 'image/png'],
      ['gone.pdf', false, 0, 'application/pdf'],
    ]);
    expect(files[1]?.error).not.toBe('');
    const served = await fetch(files[0]?.downloadLink ?? '');
    expect(Buffer.from(await served.arrayBuffer()).equals(PNG)).toBe(true);
  });
});

describe('the CRM tracker', () => {
  it('creates a lead for a new session: SOURCE_ID "<line>|<CONNECTOR>", IM imol|…, token-less ONCRMLEADADD', async () => {
    const { send, item, portal, app, call } = await setup();
    const r = (await send([item('tg-42', 'tg-chat-42', 'Хочу заказать', { user: { phone: '+79057770042', email: 'maria@example.com' } })])).body.result.DATA.RESULT[0] as Json;
    await portal.drainEvents();
    const lead = portal.crm.leads().at(-1) as Json;
    expect(lead).toMatchObject({
      SOURCE_ID: '1|UIS_OMNI',
      TITLE: 'Мария Иванова - Открытая линия 1',
      NAME: 'Мария',
      LAST_NAME: 'Иванова',
      HAS_IMOL: 'Y',
      ASSIGNED_BY_ID: '1',
      STATUS_ID: 'NEW',
      OPENED: 'Y',
    });
    expect(lead.IM).toEqual([{ ID: expect.any(String), VALUE_TYPE: 'IMOL', VALUE: `imol|uis_omni|1|tg-chat-42|${r.user}`, TYPE_ID: 'IM' }]);
    expect(lead.PHONE[0]).toMatchObject({ VALUE: '+79057770042', VALUE_TYPE: 'WORK' });
    expect(lead.EMAIL[0]).toMatchObject({ VALUE: 'maria@example.com', VALUE_TYPE: 'WORK' });
    expect(lead.LINK[0]).toMatchObject({ VALUE: String(r.user), VALUE_TYPE: 'USER' });
    expect(portal.crm.statuses('SOURCE').find((s) => s.STATUS_ID === '1|UIS_OMNI')).toMatchObject({ SORT: '115', SYSTEM: 'N' });
    expect(portal.crm.activities().at(-1)).toMatchObject({ providerId: 'IMOPENLINES_SESSION', ownerType: 'LEAD', ownerId: Number(lead.ID), originId: `IMOL_${r.session.ID}` });

    const event = app.events('ONCRMLEADADD')[0];
    expect(event?.body.data).toEqual({ FIELDS: { ID: lead.ID } });
    expect(event?.body.auth).toEqual({
      domain: portal.domain,
      server_endpoint: expect.stringContaining('/rest/'),
      client_endpoint: portal.clientEndpoint,
      member_id: portal.memberId,
      application_token: portal.state().applicationToken,
    });
    const start = app.events('ONIMCONNECTORDIALOGSTART')[0]?.body.data as Json;
    expect(start).toMatchObject({ CONNECTOR: 'uis_omni', LINE: '1', DATA: [{ connector: { chat_id: 'tg-chat-42', user_id: String(r.user) }, session: { id: r.session.ID, closed: 'N' }, chat: { id: 'tg-chat-42' } }] });

    // the chat is found from the CRM item, and the dialog knows its CRM binding
    expect((await call('imopenlines.crm.chat.get', { CRM_ENTITY_TYPE: 'lead', CRM_ENTITY: lead.ID })).body.result).toEqual([
      { CHAT_ID: r.session.CHAT_ID, CONNECTOR_ID: 'uis_omni', CONNECTOR_TITLE: 'UIS OMNI' },
    ]);
    expect((await call('imopenlines.crm.chat.getLastId', { CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY: lead.ID })).body.result).toBe(Number(r.session.CHAT_ID));
    expect(await call('imopenlines.crm.chat.getLastId', { CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY: 2 })).toMatchObject({ status: 400, body: { error: 'CRM_CHAT_EMPTY_CRM_DATA' } });
    expect((await call('imopenlines.crm.chat.get', { CRM_ENTITY_TYPE: 'lead', CRM_ENTITY: 2 })).body.result).toEqual([]);
    const dialog = (await call('imopenlines.dialog.get', { USER_CODE: `imol|uis_omni|1|tg-chat-42|${r.user}` })).body.result as Json;
    expect(dialog).toMatchObject({
      id: Number(r.session.CHAT_ID),
      dialog_id: `chat${r.session.CHAT_ID}`,
      entity_type: 'LINES',
      entity_id: `uis_omni|1|tg-chat-42|${r.user}`,
      entity_data_2: `LEAD|${lead.ID}|COMPANY|0|CONTACT|0|DEAL|0`,
      type: 'lines',
    });
    expect(dialog.entity_data_1).toMatch(new RegExp(`^Y\\|LEAD\\|${lead.ID}\\|N\\|N\\|${r.session.ID}\\|\\d+\\|0\\|0\\|0$`));
  });

  it('attaches to exactly one open lead with the phone; with two or more creates another', async () => {
    const { send, item, portal, call } = await setup();
    const before = portal.crm.leads().length;
    const first = (await send([item('p1', 'pc1', 'добрый день', { user: { phone: '+79161234567' } })])).body.result.DATA.RESULT[0] as Json;
    expect(portal.crm.leads()).toHaveLength(before); // seeded lead 1 has this phone
    expect(portal.openLines.chat(Number(first.session.CHAT_ID))?.sessions[0]?.crm.LEAD).toBe(1);
    expect((portal.crm.leads()[0] as Json).IM[0].VALUE).toBe(`imol|uis_omni|1|pc1|${first.user}`);

    await call('crm.lead.add', { fields: { TITLE: 'Второй с тем же номером', PHONE: [{ VALUE: '8 916 123 45 67' }] } });
    const second = (await send([item('p2', 'pc2', 'это снова я', { user: { phone: '+79161234567' } })])).body.result.DATA.RESULT[0] as Json;
    const created = portal.crm.leads().at(-1) as Json;
    expect(portal.crm.leads()).toHaveLength(before + 2);
    expect(portal.openLines.chat(Number(second.session.CHAT_ID))?.sessions[0]?.crm.LEAD).toBe(Number(created.ID));

    // no phone at all: always a new lead
    await send([item('p3', 'pc3', 'без телефона')]);
    expect(portal.crm.leads()).toHaveLength(before + 3);
  });

  it('CRM_CREATE deal: a contact and a deal in the default funnel; CRM=N: nothing', async () => {
    const { send, item, portal, call } = await setup();
    const line = (await call('imopenlines.config.add', { PARAMS: { LINE_NAME: 'Сделки', CRM_CREATE: 'deal' } })).body.result as number;
    await call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: line, ACTIVE: 1 });
    const r = (await send([item('deal-1', 'dc-1', 'нужен счёт', { user: { phone: '+79015550001' } })], line)).body.result.DATA.RESULT[0] as Json;
    const session = portal.openLines.chat(Number(r.session.CHAT_ID))?.sessions[0];
    const deal = portal.crm.deals().find((d) => Number(d.ID) === session?.crm.DEAL) as Json;
    expect(deal).toMatchObject({ SOURCE_ID: `${line}|UIS_OMNI`, STAGE_ID: 'NEW', CATEGORY_ID: '0', CONTACT_ID: String(session?.crm.CONTACT) });
    const contact = portal.crm.contacts().find((c) => Number(c.ID) === session?.crm.CONTACT) as Json;
    expect(contact.IM[0].VALUE).toBe(`imol|uis_omni|${line}|dc-1|${r.user}`);
    expect((await call('imopenlines.crm.chat.get', { CRM_ENTITY_TYPE: 'DEAL', CRM_ENTITY: deal.ID })).body.result).toHaveLength(1);

    await call('imopenlines.config.update', { CONFIG_ID: line, PARAMS: { CRM: 'N' } });
    const leads = portal.crm.leads().length;
    const deals = portal.crm.deals().length;
    await send([item('deal-2', 'dc-2', 'без CRM', { user: { phone: '+79015550002' } })], line);
    expect([portal.crm.leads().length, portal.crm.deals().length]).toEqual([leads, deals]);
  });

  it('disable_crm turns off the message tracker only; the session-start lead still appears', async () => {
    const { send, item, portal } = await setup();
    const r = (await send([item('d1', 'dc1', 'мой номер +7 903 111-22-33', { message: { disable_crm: 'Y' } })])).body.result.DATA.RESULT[0] as Json;
    const session = portal.openLines.chat(Number(r.session.CHAT_ID))?.sessions[0];
    expect(session?.extra).toEqual({ disable_tracker: 'Y' });
    const lead = portal.crm.leads().find((l) => Number(l.ID) === session?.crm.LEAD) as Json;
    expect(lead).toMatchObject({ SOURCE_ID: '1|UIS_OMNI' });
    expect(lead).not.toHaveProperty('PHONE');

    const t = (await send([item('t1', 'tc1', 'привет')])).body.result.DATA.RESULT[0] as Json;
    await send([item('t1', 'tc1', 'пишите на t1@example.com или +7 903 555-00-11')]);
    const tracked = portal.crm.leads().find((l) => Number(l.ID) === portal.openLines.chat(Number(t.session.CHAT_ID))?.sessions[0]?.crm.LEAD) as Json;
    expect(tracked.PHONE.map((p: Json) => p.VALUE)).toEqual(['+7 903 555-00-11']);
    expect(tracked.EMAIL.map((p: Json) => p.VALUE)).toEqual(['t1@example.com']);
  });
});

describe('operator replies', () => {
  it('needs an accepted chat, then sends ONIMCONNECTORMESSAGEADD with signature and fetchable files', async () => {
    const { send, item, portal, app, call } = await setup();
    const r = (await send([item('o1', 'oc1', 'Есть вопрос')])).body.result.DATA.RESULT[0] as Json;
    const chatId = Number(r.session.CHAT_ID);
    expect(() => portal.operatorReply({ chatId, userId: 1, text: 'Здравствуйте' })).toThrow(/accept/);
    portal.operatorAccept(chatId, 1);
    expect(portal.openLines.chat(chatId)).toMatchObject({ accepted: true, operatorId: 1 });
    const { messageId } = portal.operatorReply({ chatId, userId: 1, text: 'Здравствуйте!\nЧем помочь?', files: [{ name: 'price.png', content: PNG }] });
    await portal.drainEvents();

    const hit = app.events('ONIMCONNECTORMESSAGEADD')[0];
    expect(hit?.contentType).toBe('application/x-www-form-urlencoded');
    expect(hit?.raw).toContain('data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=' + chatId);
    const data = hit?.body.data as Json;
    expect(data.CONNECTOR).toBe('uis_omni');
    expect(data.LINE).toBe('1');
    const m = data.MESSAGES[0];
    expect(m.im).toEqual({ chat_id: String(chatId), message_id: String(messageId) });
    expect(m.chat).toEqual({ id: 'oc1' });
    expect(m.message.user_id).toBe('1');
    expect(m.message.text).toBe('[b]Анна Админова:[/b] [br]Здравствуйте!\nЧем помочь?');
    expect(m).not.toHaveProperty('user');
    expect(m.message.files).toEqual([
      { name: 'price.png', type: 'image', mime: 'image/png', link: expect.stringContaining(portal.origin), downloadLink: expect.stringContaining(portal.origin), size: String(PNG.length), sizef: expect.any(String), width: '1', height: '1' },
    ]);
    for (const url of [m.message.files[0].link, m.message.files[0].downloadLink]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
    }
    expect(hit?.body.auth).toMatchObject({ user_id: '1', access_token: expect.any(String) });

    // delivery: sending until the app confirms, then delivered with the external id
    const mark = () => portal.openLines.chat(chatId)?.messages.find((x) => x.id === messageId);
    expect(mark()?.delivery).toBe('sending');
    const ok = await call('imconnector.send.status.delivery', {
      CONNECTOR: 'uis_omni',
      LINE: 1,
      MESSAGES: [{ im: m.im, message: { id: ['uis-out-1'], date: 1766047200 }, chat: { id: 'oc1' } }],
    });
    expect(ok.body.result).toEqual({ SUCCESS: true, DATA: [] });
    expect(mark()).toMatchObject({ delivery: 'delivered', connectorMid: ['uis-out-1'] });
  });

  it('an unconfirmed message shows as not delivered after a while', async () => {
    const { send, item, portal, clock } = await setup();
    const chatId = Number((await send([item('n1', 'nc1', 'x')])).body.result.DATA.RESULT[0].session.CHAT_ID);
    portal.operatorAccept(chatId, 2);
    const { messageId } = portal.operatorReply({ chatId, userId: 2, text: 'ответ' });
    clock.advance(120_000);
    expect(portal.openLines.chat(chatId)?.messages.find((x) => x.id === messageId)?.delivery).toBe('not-delivered');
  });

  it('a message sent as an operator through the connector is hidden until the chat is accepted, then echoed back', async () => {
    const { send, item, portal, app } = await setup();
    const r = (await send([item('h1', 'hc1', 'клиент пишет')])).body.result.DATA.RESULT[0] as Json;
    const chatId = Number(r.session.CHAT_ID);
    const hidden = (await send([item('h1', 'hc1', 'ответ из РМО', { message: { user_id: 1 } })])).body.result.DATA.RESULT[0] as Json;
    expect(hidden.SUCCESS).toBe(true);
    expect(hidden).not.toHaveProperty('session');
    expect(portal.openLines.chat(chatId)?.messages.find((x) => x.text === 'ответ из РМО')).toMatchObject({ hidden: true, direction: 'out' });

    portal.operatorAccept(chatId, 1);
    const shown = (await send([item('h1', 'hc1', 'второй ответ из РМО', { message: { user_id: 1 } })])).body.result.DATA.RESULT[0] as Json;
    expect(shown.session).toEqual(r.session);
    await portal.drainEvents();
    expect(app.events('ONIMCONNECTORMESSAGEADD').map((e) => e.body.data.MESSAGES[0].message.text)).toEqual(['[b]Анна Админова:[/b] [br]второй ответ из РМО']);
  });

  it('closing finishes the session; the client starts a new one; ACTIVE=0 and line deletion send their events', async () => {
    const { send, item, portal, app, call } = await setup();
    const r = (await send([item('c1', 'cc1', 'первый')])).body.result.DATA.RESULT[0] as Json;
    const chatId = Number(r.session.CHAT_ID);
    portal.operatorAccept(chatId, 1);
    portal.operatorClose(chatId);
    const again = (await send([item('c1', 'cc1', 'я вернулся')])).body.result.DATA.RESULT[0] as Json;
    expect(again.session.CHAT_ID).toBe(r.session.CHAT_ID);
    expect(again.session.ID).not.toBe(r.session.ID);
    const chat = portal.openLines.chat(chatId);
    expect(chat?.sessions.map((s) => [s.closed, s.parentId])).toEqual([
      [true, 0],
      [false, Number(r.session.ID)],
    ]);
    expect(chat?.accepted).toBe(false);
    // the returning client is found by the chat's imol code: no second lead
    expect(chat?.sessions[1]?.crm.LEAD).toBe(chat?.sessions[0]?.crm.LEAD);

    await call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    const lineId = (await call('imopenlines.config.add', { PARAMS: { LINE_NAME: 'Вторая линия', CRM_CREATE: 'deal' } })).body.result as number;
    portal.deleteLine(lineId);
    await portal.drainEvents();
    const finish = app.events('ONIMCONNECTORDIALOGFINISH')[0]?.body.data as Json;
    expect(finish).toMatchObject({ CONNECTOR: 'uis_omni', LINE: '1', DATA: [{ session: { id: r.session.ID, closed: 'Y' }, chat: { id: 'cc1' } }] });
    expect(app.events('ONIMCONNECTORSTATUSDELETE')[0]?.body.data).toEqual({ connector: 'uis_omni', line: '1' });
    expect(app.events('ONIMCONNECTORLINEDELETE')[0]?.body.data).toBe(String(lineId));
  });
});

describe('reading chats back', () => {
  it('session history, dialog messages (participants only), update/delete, chat name', async () => {
    const { send, item, portal, call, employee } = await setup();
    const r = (await send([item('r1', 'rc1', 'Здравствуйте', { message: { id: 'ext-1' } })])).body.result.DATA.RESULT[0] as Json;
    const chatId = Number(r.session.CHAT_ID);
    const history = (await call('imopenlines.session.history.get', { SESSION_ID: r.session.ID })).body.result as Json;
    expect(history).toMatchObject({ chatId, sessionId: Number(r.session.ID), userId: `chat${chatId}`, canJoin: 'Y' });
    const client = Object.values(history.message as Json).find((m: Json) => m.text === 'Здравствуйте') as Json;
    expect(client).toMatchObject({ chatid: String(chatId), senderid: String(r.user), recipientid: `chat${chatId}`, params: { connectorMid: ['ext-1'] } });
    expect(history.usersMessage[`chat${chatId}`]).toContain(client.id);
    expect(history.users[String(r.user)]).toMatchObject({ firstName: 'Мария', lastName: 'Иванова', externalAuthId: 'imconnector', connector: true });
    expect(history.chat[String(chatId)]).toMatchObject({ entityId: `uis_omni|1|rc1|${r.user}`, entityType: 'LINES' });
    expect((await call('imopenlines.session.history.get', { CHAT_ID: chatId })).body.result.sessionId).toBe(Number(r.session.ID));

    expect((await call('im.dialog.messages.get', { DIALOG_ID: `chat${chatId}` })).body).toMatchObject({ error: 'ACCESS_ERROR' });
    portal.operatorAccept(chatId, 2);
    const dialog = (await call('im.dialog.messages.get', { DIALOG_ID: `chat${chatId}`, LIMIT: 50 }, employee)).body.result as Json;
    expect(dialog.chat_id).toBe(chatId);
    expect(dialog.messages[0].id).toBeGreaterThan(dialog.messages.at(-1).id); // newest first
    expect(dialog.messages.find((m: Json) => m.text === 'Здравствуйте')).toMatchObject({ author_id: Number(r.user), params: { CONNECTOR_MID: ['ext-1'] } });

    const upd = await call('imconnector.update.messages', { CONNECTOR: 'uis_omni', LINE: 1, MESSAGES: [{ user: { id: 'r1' }, message: { id: 'ext-1', text: 'Здравствуйте!!' }, chat: { id: 'rc1' } }] });
    expect(upd.body.result.DATA.RESULT[0].SUCCESS).toBe(true);
    await call('imconnector.delete.messages', { CONNECTOR: 'uis_omni', LINE: 1, MESSAGES: [{ user: { id: 'r1' }, message: { id: 'ext-1' }, chat: { id: 'rc1' } }] });
    expect(portal.openLines.chat(chatId)?.messages.find((m) => m.externalId === 'ext-1')).toMatchObject({ text: 'Здравствуйте!!', deleted: true });

    expect((await call('imconnector.chat.name.set', { CONNECTOR: 'uis_omni', LINE: 1, CHAT_ID: 'rc1', NAME: 'Мария (WhatsApp)' })).body).toMatchObject({ error: 'ERROR_ARGUMENT', argument: 'USER_ID' });
    const named = await call('imconnector.chat.name.set', { CONNECTOR: 'uis_omni', LINE: 1, CHAT_ID: 'rc1', USER_ID: 'r1', NAME: 'Мария (WhatsApp)' });
    expect(named.body.result).toEqual({ SUCCESS: true, DATA: { RESULT: {} } });
    expect((await call('imopenlines.dialog.get', { CHAT_ID: chatId })).body.result.name).toBe('Мария (WhatsApp)');
  });

  it('open-line configs', async () => {
    const { call, employee } = await setup();
    const list = (await call('imopenlines.config.list.get', { OPTIONS: { QUEUE: 'Y' } })).body.result as Json[];
    expect(list).toEqual([expect.objectContaining({ ID: '1', LINE_NAME: 'Открытая линия 1', CRM: 'Y', CRM_CREATE: 'lead', CRM_SOURCE: 'create', QUEUE: ['1', '2'] })]);
    const id = (await call('imopenlines.config.add', { PARAMS: { LINE_NAME: 'Продажи', CRM_CREATE: 'none', QUEUE: [{ ENTITY_TYPE: 'user', ENTITY_ID: 2 }] } })).body.result;
    expect(id).toBe(2);
    expect((await call('imopenlines.config.get', { CONFIG_ID: id })).body.result).toMatchObject({ ID: '2', LINE_NAME: 'Продажи', CRM_CREATE: 'none', QUEUE: ['2'] });
    expect((await call('imopenlines.config.get', {})).body.error).toBe('CONFIG_ID_EMPTY');
    expect((await call('imopenlines.config.add', { PARAMS: { LINE_NAME: 'x' } }, employee)).body.result).toBe(false);
  });
});

describe('livechat widget', () => {
  it('keeps setCustomData blocks on the session as a "received data" message with an attach', async () => {
    const { portal, call } = await setup();
    const customData = [
      { USER: { NAME: 'Посетитель сайта' } },
      { GRID: [{ NAME: 'UIS visitor', VALUE: 'vs-123456', DISPLAY: 'LINE' }, { NAME: 'Страница', VALUE: 'https://shop.example/cart' }] },
    ];
    const w = portal.livechatWrite({ visitor: 'visitor-hash-1', text: 'Здравствуйте, есть в наличии?', customData });
    const chat = portal.openLines.chat(w.chatId);
    expect(chat).toMatchObject({ connector: 'livechat', connectorTitle: 'Онлайн-чат', userCode: expect.stringMatching(/^livechat\|1\|\d+\|\d+$/) });
    expect(chat?.customData).toEqual([
      { USER: [{ NAME: 'Посетитель сайта' }] },
      { GRID: [{ NAME: 'UIS visitor', VALUE: 'vs-123456', DISPLAY: 'LINE' }, { NAME: 'Страница', VALUE: 'https://shop.example/cart', DISPLAY: 'BLOCK' }] },
    ]);
    const received = chat?.messages.find((m) => m.text === '[B]Получены данные[/B]');
    expect(received?.direction).toBe('system');

    // session.history.get: params.attach with objectEncode'd keys
    const history = (await call('imopenlines.session.history.get', { SESSION_ID: w.sessionId })).body.result as Json;
    const sys = history.message[String(received?.id)] as Json;
    expect(sys.senderid).toBe('0');
    expect(sys.params.attach[0].blocks).toEqual([
      { user: [{ name: 'Посетитель сайта' }] },
      { grid: [{ name: 'UIS visitor', value: 'vs-123456', display: 'LINE' }, { name: 'Страница', value: 'https://shop.example/cart', display: 'BLOCK' }] },
    ]);
    // im.dialog.messages.get keeps the ATTACH param as stored
    portal.operatorAccept(w.chatId, 1);
    const dm = (await call('im.dialog.messages.get', { DIALOG_ID: `chat${w.chatId}` })).body.result as Json;
    expect(dm.messages.find((m: Json) => m.id === received?.id).params.ATTACH[0].BLOCKS[1].GRID[0]).toEqual({ NAME: 'UIS visitor', VALUE: 'vs-123456', DISPLAY: 'LINE' });
    // dialog.get: entity fields only (the custom data is not part of the chat record)
    expect((await call('imopenlines.dialog.get', { SESSION_ID: w.sessionId })).body.result).toMatchObject({ entity_id: chat?.userCode, entity_data_1: expect.stringMatching(/^N\|NONE\|0\|/) });
  });

  it('livechat leads come from the tracker: contact details in text or the form, SOURCE_ID "1|OPENLINE"', async () => {
    const { portal, app } = await setup();
    const before = portal.crm.leads().length;
    const w = portal.livechatWrite({ visitor: 'v-2', text: 'добрый день' });
    expect(portal.crm.leads()).toHaveLength(before); // livechat sessions only search at start
    portal.livechatWrite({ visitor: 'v-2', text: 'мой телефон 8 999 123-45-67' });
    const lead = portal.crm.leads().at(-1) as Json;
    expect(portal.crm.leads()).toHaveLength(before + 1);
    expect(lead).toMatchObject({ SOURCE_ID: '1|OPENLINE' });
    expect(lead.IM[0]).toMatchObject({ VALUE_TYPE: 'OPENLINE', VALUE: `imol|${portal.openLines.chat(w.chatId)?.userCode}` });
    expect(lead.PHONE[0].VALUE).toBe('8 999 123-45-67');
    const form = portal.livechatWrite({ visitor: { id: 'v-3', name: 'Олег', phone: '+79990001122' }, text: 'перезвоните' });
    expect(portal.openLines.chat(form.chatId)?.sessions[0]?.crm.LEAD).toBe(Number((portal.crm.leads().at(-1) as Json).ID));
    await portal.drainEvents();
    // no ONIMCONNECTORMESSAGEADD for built-in connectors
    portal.operatorAccept(w.chatId, 1);
    portal.operatorReply({ chatId: w.chatId, userId: 1, text: 'Перезвоним!' });
    await portal.drainEvents();
    expect(app.events('ONIMCONNECTORMESSAGEADD')).toHaveLength(0);
    expect(app.events('ONCRMLEADADD').length).toBeGreaterThanOrEqual(2);
  });
});

describe('in a browser: the site widget and the operator screen', () => {
  it('a visitor writes with custom data from the site script; the operator accepts and answers', async () => {
    const { portal, app } = await setup();
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const site = await browser.newPage();
    await site.goto(`${portal.origin}/online/?line=1&script=${encodeURIComponent(`${app.url}/site.js`)}`);
    await site.click('#bx-livechat-button');
    await site.fill('#bx-livechat-text', 'Здравствуйте, я с сайта');
    await site.click('#bx-livechat-send button');
    await site.waitForSelector('.bxlc-msg.is-client');
    const chat = portal.openLines.chats().find((c) => c.connector === 'livechat');
    expect(chat?.customData).toEqual([{ GRID: [{ NAME: 'UIS visitor', VALUE: 'vs-777', DISPLAY: 'LINE' }] }]);
    expect(chat?.messages.some((m) => m.text === 'Здравствуйте, я с сайта')).toBe(true);

    const operator = await browser.newPage();
    await operator.goto(`${portal.origin}/online/operator/?user=2&chat=${chat?.id}`);
    await operator.waitForSelector('#ol-accept');
    expect(await operator.textContent('#ol-dialog')).toContain('vs-777'); // the "received data" attach
    await operator.click('#ol-accept');
    await operator.waitForSelector('#ol-text');
    await operator.fill('#ol-text', 'Добрый день! Чем помочь?');
    await operator.click('#ol-reply button[type=submit]');
    await site.waitForSelector('.bxlc-msg.is-operator');
    expect(await site.textContent('.bxlc-msg.is-operator')).toContain('Добрый день! Чем помочь?');
    expect(portal.openLines.chat(chat?.id ?? 0)).toMatchObject({ accepted: true, operatorId: 2 });
    await operator.click('#ol-close');
    await operator.waitForFunction(() => document.querySelector('#ol-dialog')?.textContent?.includes('диалог завершён'));
    expect(portal.openLines.chat(chat?.id ?? 0)?.closed).toBe(true);
  });
});
