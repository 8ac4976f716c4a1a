/**
 * Open Lines bridge (issue #3), the seed behaviours («Открытые линии» in the seeds): close both
 * ways, operator messages written in the UIS workspace (РМО), repeat contacts, operator-initiated
 * chats, edits, the default operator, resumable multi-part messages and retention. Real server over
 * real HTTP against the emulated portal and the emulated UIS platform.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { scaledClock } from '../../server/domain/clock';
import { until } from '../support/bridge-fixture';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

const EMPLOYEE = 900_001; // the admin's UIS employee (same e-mail as Bitrix24 user 1)

async function linked(o?: Parameters<typeof startHarness>[0]) {
  h = await startHarness(o);
  await installApp(h);
  const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const acc = h.uis.accounts[0]!;
  acc.employees.push({ id: EMPLOYEE, first_name: 'Анна', last_name: 'Админова', full_name: 'Админова Анна', email: 'admin@portal.example', login: 'aadmin', operator_chat_enabled: true, status: 'available' });
  const r = await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  await acc.settle();
  const wa = String(acc.adapterChannels().find((c) => c.type === 'whatsapp')!.id);
  expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: wa })).status).toBe(200);
  return { session, acc, wa };
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    await h.uis.accounts[0]!.settle();
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
  }
}

const mapped = (uisChatId: number) => h.app.deps.bridge.chat(h.portal.memberId, String(uisChatId));
const olChat = async (uisChatId: number) => {
  const c = await mapped(uisChatId);
  return c?.b24ChatId ? h.portal.openLines.chat(Number(c.b24ChatId)) : undefined;
};
const uisChat = (id: number) => h.uis.accounts[0]!.chats().find((c) => c.id === id)!;

/** The UIS operator workspace (РМО) as a person uses it. */
async function workspace(action: 'reply' | 'close' | 'start', body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${h.uis.origin}/workspace/api/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: h.uis.accounts[0]!.appId, ...body }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

describe('operator messages written in the UIS workspace (РМО)', () => {
  it('are hidden while the open-line dialog is not accepted (the client gets them), then shown as the mapped operator, never echoed back', async () => {
    const { acc } = await linked();
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230001' }, text: 'Здравствуйте' });
    await settle();
    const b24ChatId = (await olChat(w.chatId))!.id;

    const early = await workspace('reply', { chat_id: w.chatId, operator_id: EMPLOYEE, text: 'Ответ из РМО до принятия' });
    await settle();
    expect(h.portal.openLines.chat(b24ChatId)!.messages.filter((m) => m.direction === 'out' && !m.hidden)).toHaveLength(0);
    expect(await h.app.deps.bridge.link(h.portal.memberId, 'uis', String(early.id))).toMatchObject({ state: 'skipped', error: expect.stringContaining('not accepted') });

    h.portal.operatorAccept(b24ChatId, 1);
    const later = await workspace('reply', { chat_id: w.chatId, operator_id: EMPLOYEE, text: 'Ответ из РМО после принятия' });
    await settle();
    const shown = h.portal.openLines.chat(b24ChatId)!.messages.filter((m) => m.direction === 'out' && !m.hidden);
    expect(shown.map((m) => [m.text, m.authorId])).toEqual([['Ответ из РМО после принятия', 1]]);
    expect((await h.app.deps.bridge.link(h.portal.memberId, 'uis', String(later.id)))?.state).toBe('relayed');

    // the portal relayed it back as ONIMCONNECTORMESSAGEADD: dropped, the client has each once
    await new Promise((r) => setTimeout(r, 300));
    await settle();
    expect(uisChat(w.chatId).messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['Ответ из РМО до принятия', 'Ответ из РМО после принятия']);
    expect(await h.app.deps.bridge.countLinks(h.portal.memberId)).toMatchObject({ 'uis:relayed': 2, 'uis:skipped': 1, 'b24:skipped': 1 });
    expect((await h.app.deps.bridge.countJobs(h.portal.memberId))['out:pending'] ?? 0).toBe(0);

    // an operator answer written in the open line still goes out normally
    h.portal.operatorReply({ chatId: b24ChatId, userId: 1, text: 'Ответ из ОЛ' });
    await settle();
    expect(uisChat(w.chatId).messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['Ответ из РМО до принятия', 'Ответ из РМО после принятия', 'Ответ из ОЛ']);
  });
});

describe('operator messages written in the UIS workspace: sends that failed', () => {
  it('a reply whose send was lost before the portal (checked: not in the open line), then refused outright, then went: one echo mark — an operator message with the same text written in the open line still reaches UIS', async () => {
    const isSend = (url: string) => /\/rest\/(batch|imconnector\.send\.messages)$/.test(url);
    let armed = false;
    let sends = 0;
    const faulty = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (armed && isSend(url) && ++sends <= 2) {
        // 1: a proxy's 502 before the portal (outcome unknown to us); 2: the portal refuses the call
        if (sends === 1) return new Response('<html><body><h1>502</h1></body></html>', { status: 502, headers: { 'content-type': 'text/html' } });
        return Response.json({ error: 'ERROR_ARGUMENT', error_description: 'refused for the test' }, { status: 400 });
      }
      return fetch(input, init);
    }) as typeof fetch;
    const { acc } = await linked({ clock: scaledClock(20), env: { LOG_LEVEL: 'warn' }, fetch: faulty });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230010' }, text: 'Здравствуйте' });
    await settle();
    const b24ChatId = (await olChat(w.chatId))!.id;
    h.portal.operatorAccept(b24ChatId, 1);
    armed = true;
    const reply = await workspace('reply', { chat_id: w.chatId, operator_id: EMPLOYEE, text: 'Принято' });
    const relayed = async () => (await h.app.deps.bridge.link(h.portal.memberId, 'uis', String(reply.id)))?.state === 'relayed';
    expect(await until(relayed, settle, 150)).toBe(true);
    expect(sends).toBeGreaterThanOrEqual(3);
    const shown = () => h.portal.openLines.chat(b24ChatId)!.messages.filter((m) => m.direction === 'out' && !m.hidden).map((m) => m.text);
    expect(shown()).toEqual(['Принято']); // put in the open line once
    // its echo (ONIMCONNECTORMESSAGEADD) is dropped: the client has the reply once
    await new Promise((r) => setTimeout(r, 300));
    await settle();
    const fromOperators = () => uisChat(w.chatId).messages.filter((m) => m.source === 'operator').map((m) => m.text);
    expect(fromOperators()).toEqual(['Принято']);
    expect((await h.app.deps.bridge.countLinks(h.portal.memberId))['b24:skipped']).toBe(1);

    // the operator writes the same words in the open line himself: not an echo, the client gets it
    h.portal.operatorReply({ chatId: b24ChatId, userId: 1, text: 'Принято' });
    await until(() => fromOperators().length === 2, settle, 100);
    expect(fromOperators()).toEqual(['Принято', 'Принято']);
  });
});

describe('operators paired by the employee sync', () => {
  it('a workspace reply of a UIS employee paired by name (different e-mails) is shown as the paired Bitrix24 user, as the CRM rules would name him', async () => {
    const { acc } = await linked();
    acc.employees.push({ id: 900_002, first_name: 'Иван', last_name: 'Сотрудников', full_name: 'Сотрудников Иван', email: 'ivan.s@other.example', login: 'isotr', operator_chat_enabled: true, status: 'available' });
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [{ b24UserId: 2, uisEmployeeId: 900_002, matchedBy: 'name' }]);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230009' }, text: 'Здравствуйте' });
    await settle();
    const b24ChatId = (await olChat(w.chatId))!.id;
    h.portal.operatorAccept(b24ChatId, 2);
    await workspace('reply', { chat_id: w.chatId, operator_id: 900_002, text: 'Иван на связи' });
    await settle();
    const shown = h.portal.openLines.chat(b24ChatId)!.messages.filter((m) => m.direction === 'out' && !m.hidden);
    expect(shown.map((m) => [m.text, m.authorId])).toEqual([['Иван на связи', 2]]);
  });
});

describe('closing both ways and repeat contacts', () => {
  it('finishing the dialog in the open line leaves the UIS chat open; the next client message opens a new dialog with the same client user', async () => {
    const { acc } = await linked();
    const w1 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230002' }, text: 'первое' });
    await settle();
    const chat = (await olChat(w1.chatId))!;
    h.portal.operatorAccept(chat.id, 1);
    h.portal.operatorClose(chat.id, 1);
    await settle();
    expect(uisChat(w1.chatId).status).toBe('active'); // seed: closing in ОЛ does not close the РМО chat
    expect(await mapped(w1.chatId)).toMatchObject({ b24SessionClosed: true, status: 'open' });

    const w2 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230002' }, text: 'снова я' });
    await settle();
    expect(w2.chatId).toBe(w1.chatId); // UIS chat still open: same UIS chat
    const after = h.portal.openLines.chat(chat.id)!;
    expect(after.sessions).toHaveLength(2); // seed case 3: a new dialog in the open line
    expect(after.sessions[1]!.parentId).toBe(after.sessions[0]!.id);
    expect(after.user.id).toBe(chat.user.id);
    expect(await mapped(w1.chatId)).toMatchObject({ b24SessionClosed: false, b24SessionId: String(after.sessions[1]!.id) });
  });

  it('a UIS close puts a notice in the open-line dialog; the returning client gets a new open-line chat with the same Bitrix24 user', async () => {
    const { acc } = await linked();
    const w1 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230003' }, text: 'вопрос' });
    await settle();
    const first = (await olChat(w1.chatId))!;
    await workspace('close', { chat_id: w1.chatId, operator_id: EMPLOYEE });
    await settle();
    const notice = h.portal.openLines.chat(first.id)!.messages.filter((m) => m.text.includes('Чат завершён в UIS'));
    expect(notice).toHaveLength(1);
    expect(notice[0]!.text).toContain('closed_by_operator');
    expect(h.portal.openLines.chat(first.id)!.sessions).toHaveLength(1); // the notice did not start another dialog
    expect((await mapped(w1.chatId))?.status).toBe('closed');

    const w2 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230003' }, text: 'я вернулся' });
    await settle();
    expect(w2.chatId).not.toBe(w1.chatId);
    expect(w2.visitorId).toBe(w1.visitorId);
    const second = (await olChat(w2.chatId))!;
    expect(second.id).not.toBe(first.id); // seed case 2: a new open-line chat
    expect(second.user.id).toBe(first.user.id); // stable user.id per visitor
    expect((await h.app.deps.bridge.visitor(h.portal.memberId, String(w1.visitorId)))?.b24UserId).toBe(String(first.user.id));
    expect(second.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual(['я вернулся']);
    // a duplicate /chat/close changes nothing
    await workspace('reply', { chat_id: w2.chatId, operator_id: EMPLOYEE, text: 'ok' });
    await settle();
    expect(h.portal.openLines.chat(first.id)!.messages.filter((m) => m.text.includes('Чат завершён в UIS'))).toHaveLength(1);
  });

  it('the operator writes in the open-line chat after UIS closed the chat: a new UIS chat is started with the client and continues that open-line chat (seed «Исходящая коммуникация» 2)', async () => {
    const { acc } = await linked();
    const w1 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230006' }, text: 'хочу заказать' });
    await settle();
    const first = (await olChat(w1.chatId))!;
    h.portal.operatorAccept(first.id, 1);
    await workspace('close', { chat_id: w1.chatId, operator_id: EMPLOYEE });
    await settle();
    expect((await mapped(w1.chatId))?.status).toBe('closed');

    h.portal.operatorReply({ chatId: first.id, userId: 1, text: 'Заказ готов, когда привезти?' });
    await settle();
    const started = acc.chats().filter((c) => c.visitorId === w1.visitorId && c.id !== w1.chatId);
    expect(started).toHaveLength(1); // a new chat «В работе» in UIS, with the same client
    const next = started[0]!;
    expect(next.initiator).toBe('operator');
    expect(next.status).toBe('active');
    expect(next.messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['Заказ готов, когда привезти?']);
    const ol = () => h.portal.openLines.chat(first.id)!;
    expect(ol().messages.some((m) => m.text.includes('не доставлено'))).toBe(false);
    expect(ol().messages.some((m) => m.text.startsWith('Чат начат оператором'))).toBe(false); // our own start is not announced
    expect((await mapped(w1.chatId))?.successorUisChatId).toBe(String(next.id));

    // the client answers in the new chat: it lands in the same open-line chat, no new one
    const w2 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230006' }, text: 'завтра в 10' });
    await settle();
    expect(w2.chatId).toBe(next.id);
    expect((await olChat(w2.chatId))?.id).toBe(first.id);
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(1);
    expect(ol().messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual(['хочу заказать', expect.stringContaining('Чат завершён в UIS'), 'завтра в 10']);
    // the operator's next message follows the new chat; nothing else is started
    h.portal.operatorReply({ chatId: first.id, userId: 1, text: 'Договорились' });
    await settle();
    expect(acc.chats().filter((c) => c.visitorId === w1.visitorId)).toHaveLength(2);
    expect(uisChat(next.id).messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['Заказ готов, когда привезти?', 'Договорились']);
    expect(await h.app.deps.bridge.countLinks(h.portal.memberId)).toMatchObject({ 'b24:delivered': 2 });
  });

  it('a closed chat on a channel that cannot write first (Telegram bot): the operator is told in the open-line chat, nothing is sent or started', async () => {
    const { acc, session } = await linked();
    const tg = String(acc.adapterChannels().find((c) => c.type === 'telegram')!.id);
    expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: tg })).status).toBe(200);
    const w1 = await acc.visitorWrite({ channelType: 'telegram', visitor: { name: 'Гость' }, text: 'привет из бота' });
    await settle();
    const first = (await olChat(w1.chatId))!;
    h.portal.operatorAccept(first.id, 1);
    await workspace('close', { chat_id: w1.chatId, operator_id: EMPLOYEE });
    await settle();
    const chatsBefore = acc.chats().length;
    h.portal.operatorReply({ chatId: first.id, userId: 1, text: 'вы тут?' });
    await settle();
    expect(acc.chats()).toHaveLength(chatsBefore);
    expect(uisChat(w1.chatId).messages.some((m) => m.text === 'вы тут?')).toBe(false);
    const notices = h.portal.openLines.chat(first.id)!.messages.filter((m) => m.text.includes('не доставлено'));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('cannot start a new chat');
    expect(await h.app.deps.bridge.countLinks(h.portal.memberId)).toMatchObject({ 'b24:failed': 1 });
  });

  it('both chats open: the conversation stays in the same chats (seed case 4)', async () => {
    const { acc } = await linked();
    const w1 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230004' }, text: 'раз' });
    await settle();
    const w2 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230004' }, text: 'два' });
    await settle();
    expect(w2.chatId).toBe(w1.chatId);
    const chat = (await olChat(w1.chatId))!;
    expect(chat.sessions).toHaveLength(1);
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(1);
  });
});

describe('operator-initiated chats', () => {
  it('a chat started from the app («Написать новому клиенту», CRM tab) reaches the open line though UIS sends no /chat for it; the client’s answer joins it', async () => {
    const { acc, session, wa } = await linked();
    const r = await api(h.app.url, session, 'POST', '/api/workspace/chats', { channelId: wa, phone: '+79161230008', text: 'Ваш заказ готов' });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const uisChatId = Number(r.json.chatId);
    expect(acc.callbacks.some((c) => c.path === '/chat' && (c.body as { chat_id?: number }).chat_id === uisChatId)).toBe(false); // adapter-started: no /chat
    await settle();
    const chat = (await olChat(uisChatId))!;
    expect(chat, 'open-line chat of the started chat').toBeDefined();
    expect(chat.user.phone).toBe('+79161230008');
    expect(chat.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual([expect.stringMatching(/^Чат начат оператором/)]);
    const reply = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230008' }, text: 'Привезите завтра' });
    await settle();
    expect(reply.chatId).toBe(uisChatId);
    expect((await olChat(uisChatId))?.id).toBe(chat.id);
    expect(h.portal.openLines.chat(chat.id)!.messages.filter((m) => m.direction === 'in').map((m) => m.text).at(-1)).toBe('Привезите завтра');
    expect(await h.app.deps.bridge.countJobs(h.portal.memberId)).not.toHaveProperty(['in:failed']);
  });

  it('a chat started in the UIS workspace creates the open-line chat (lead per line rules) without the operator message until accepted', async () => {
    const { acc } = await linked();
    const leadsBefore = h.portal.crm.leads().length;
    const started = await workspace('start', { channel_type: 'whatsapp', phone: '+79161230005', operator_id: EMPLOYEE, text: 'Здравствуйте, это магазин' });
    await settle();
    const uisChatId = Number(started.chat_id);
    expect(uisChat(uisChatId).initiator).toBe('operator');
    const chat = (await olChat(uisChatId))!;
    expect(chat).toBeDefined();
    expect(chat.user.phone).toBe('+79161230005');
    expect(chat.messages.filter((m) => m.direction === 'out' && !m.hidden)).toHaveLength(0); // seed: not shown until accepted
    expect(chat.messages.some((m) => m.direction === 'in' && m.text.startsWith('Чат начат оператором'))).toBe(true);
    expect(h.portal.crm.leads().length).toBe(leadsBefore + 1);
    expect(uisChat(uisChatId).messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['Здравствуйте, это магазин']);

    h.portal.operatorAccept(chat.id, 1);
    await workspace('reply', { chat_id: uisChatId, operator_id: EMPLOYEE, text: 'Вы здесь?' });
    const reply = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230005' }, text: 'Да' });
    await settle();
    expect(reply.chatId).toBe(uisChatId);
    const after = h.portal.openLines.chat(chat.id)!;
    expect(after.messages.filter((m) => !m.hidden && m.direction !== 'system').map((m) => m.text).slice(-2)).toEqual(['Вы здесь?', 'Да']);
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(1);
  });
});

describe('edits', () => {
  it('a visitor edit as UIS sends it (v2: POST /message, same id, no source) edits the message in the open line, every time — edited back to an earlier text too', async () => {
    const { acc } = await linked();
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230016' }, text: 'опечтка' });
    await settle();
    const inbox = await h.app.deps.uisInbox.count(h.portal.memberId);
    const shown = async () => (await olChat(w.chatId))!.messages.find((x) => x.externalId === String(w.messageId))!;
    await acc.visitorEdit(w.messageId, 'опечатка');
    await settle();
    expect(acc.callbacks.at(-1)).toMatchObject({ path: '/message', method: 'POST', status: 204 });
    expect(acc.callbacks.at(-1)!.body).not.toHaveProperty('source');
    expect((await shown()).text).toBe('опечатка');
    expect((await shown()).params.IS_EDITED).toBe('Y');
    await acc.visitorEdit(w.messageId, 'опечтка');
    await settle();
    expect((await shown()).text).toBe('опечтка');
    await acc.visitorEdit(w.messageId, 'опечатка'); // the same body as the first edit: a new edit all the same
    await settle();
    expect((await shown()).text).toBe('опечатка');
    expect((await olChat(w.chatId))!.messages.filter((x) => x.direction === 'in')).toHaveLength(1);
    expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBe(inbox + 3); // each edit recorded
  });

  it('a UIS message update (PATCH /message) edits the message in the open line', async () => {
    const { acc } = await linked();
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230006' }, text: 'опечтка' });
    await settle();
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const res = await fetch(`${h.app.url}/uis/callbacks/${link.hookId}/message`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account_id: Number(link.connectionId), channel_id: Number((await mapped(w.chatId))!.channelId), chat_id: w.chatId, id: w.messageId, source: 'visitor', text: 'опечатка' }),
    });
    expect(res.status).toBe(204);
    await settle();
    const m = (await olChat(w.chatId))!.messages.find((x) => x.externalId === String(w.messageId))!;
    expect(m.text).toBe('опечатка');
    expect(m.params.IS_EDITED).toBe('Y');
  });
});

describe('default operator', () => {
  it('lists UIS employees, refuses unknown or chat-disabled ones, and is used for an operator without a matching e-mail', async () => {
    const { session, acc } = await linked();
    const list = await api(h.app.url, session, 'GET', '/api/connector/employees');
    expect(list.status, JSON.stringify(list.json)).toBe(200);
    const employees = list.json.employees as Array<{ id: number; name: string; chatEnabled: boolean }>;
    expect(employees.length).toBe(acc.employees.length);
    expect(list.json.defaultOperatorId).toBeNull();
    expect((await api(h.app.url, session, 'PUT', '/api/connector/default-operator', { operatorId: 123 })).json.error).toBe('OPERATOR_NOT_FOUND');
    const disabled = employees.find((e) => !e.chatEnabled)!;
    expect((await api(h.app.url, session, 'PUT', '/api/connector/default-operator', { operatorId: disabled.id })).json.error).toBe('OPERATOR_NOT_ALLOWED');
    expect((await api(h.app.url, session, 'PUT', '/api/connector/default-operator', { operatorId: 'x' })).json.error).toBe('VALIDATION_FAILED');
    const employee = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app`, userId: h.portal.userId })).boot.session!;
    expect((await api(h.app.url, employee, 'PUT', '/api/connector/default-operator', { operatorId: acc.employees[0]!.id })).status).toBe(403);
    const anna = acc.employees[0]!;
    const set = await api(h.app.url, session, 'PUT', '/api/connector/default-operator', { operatorId: anna.id });
    expect(set.status, JSON.stringify(set.json)).toBe(200);
    expect((await api(h.app.url, session, 'GET', '/api/connector?line=1')).json.defaultOperatorId).toBe(anna.id);

    // user 2 (ivan@portal.example) is no UIS employee: the reply goes out as the default operator
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230007' }, text: 'привет' });
    await settle();
    const chat = (await olChat(w.chatId))!;
    h.portal.operatorAccept(chat.id, 2);
    h.portal.operatorReply({ chatId: chat.id, userId: 2, text: 'ответ сотрудника' });
    await settle();
    const ops = uisChat(w.chatId).messages.filter((m) => m.source === 'operator');
    expect(ops.map((m) => [m.text, m.operatorId])).toEqual([['ответ сотрудника', anna.id]]);
    expect((await api(h.app.url, session, 'PUT', '/api/connector/default-operator', { operatorId: null })).json.defaultOperatorId).toBeNull();
  });
});

describe('resumable multi-part messages and retention', () => {
  it('a files-then-text message resumes after the parts already sent (as after a crash), and done jobs / old inbox rows are pruned', async () => {
    const { acc } = await linked();
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230008' }, text: 'пришлите прайс' });
    await settle();
    const chat = (await olChat(w.chatId))!;
    // as if the process died after part 0 (the file) went to UIS: its per-part link is durable
    const repo = h.app.deps.bridge;
    await repo.addLink(h.portal.memberId, { origin: 'b24', key: '777001#0', uisChatId: String(w.chatId), uisMessageId: '555', b24ChatId: String(chat.id), b24MessageId: '777001', b24UserId: '1', state: 'relayed', error: null });
    const taken = await h.app.deps.bridgeWorker.onMessageAdd!(h.portal.memberId, {
      CONNECTOR: 'uis_omni',
      LINE: '1',
      MESSAGES: [
        {
          im: { chat_id: String(chat.id), message_id: '777001' },
          message: { user_id: '1', text: 'Прайс во вложении', files: [{ name: 'price.pdf', type: 'file', mime: 'application/pdf', link: 'http://127.0.0.1:9/never-fetched' }] },
          chat: { id: `uis_c${w.chatId}` },
        },
      ],
    });
    expect(taken).toBe(true);
    await settle();
    const ops = uisChat(w.chatId).messages.filter((m) => m.source === 'operator');
    expect(ops.map((m) => m.text)).toEqual(['Прайс во вложении']); // the file was not sent again (nor fetched)
    expect(await repo.link(h.portal.memberId, 'b24', '777001')).toMatchObject({ state: expect.stringMatching(/relayed|delivered/), uisMessageId: `555,${ops[0]!.id}` });

    const jobs = await repo.countJobs(h.portal.memberId);
    expect(jobs['in:done']).toBeGreaterThan(0);
    const pruned = await repo.prune(Date.now() + 60_000);
    expect(pruned.jobs).toBeGreaterThan(0);
    // the callbacks' record: uis_inbox on SQLite; on PostgreSQL the callback inbox (its consumer prunes it after 30 days)
    if (h.app.storeKind === 'sqlite') expect(pruned.inbox).toBeGreaterThan(0);
    else expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBeGreaterThan(0);
    expect(Object.keys(await repo.countJobs(h.portal.memberId)).filter((k) => k.endsWith(':done'))).toEqual([]);
    // a repeat of an already relayed UIS message after its job was pruned is still not relayed twice
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const again = await fetch(`${h.app.url}/uis/callbacks/${link.hookId}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account_id: Number(link.connectionId), channel_id: Number((await mapped(w.chatId))!.channelId), chat_id: w.chatId, id: w.messageId, source: 'visitor', text: 'пришлите прайс', status: 'sent', resource: null }),
    });
    expect(again.status).toBe(204);
    await settle();
    expect((await olChat(w.chatId))!.messages.filter((m) => m.direction === 'in')).toHaveLength(1);
  });
});
