/**
 * Open Lines bridge (issue #3) over real HTTP: the emulated UIS platform and the emulated portal
 * around the real server. Each case ends with a count of what both sides hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { api, installApp, openPage, postEvent, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function linked(o: Parameters<typeof startHarness>[0] = {}) {
  h = await startHarness(o);
  await installApp(h);
  const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const acc = h.uis.accounts[0]!;
  // the portal admin (user 1) is a UIS employee by e-mail: operator replies go out as them
  acc.employees.push({ id: 900_001, first_name: 'Анна', last_name: 'Админова', full_name: 'Админова Анна', email: 'admin@portal.example', login: 'aadmin', operator_chat_enabled: true, status: 'available' });
  const r = await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  await acc.settle();
  const channel = (type: string) => String(acc.adapterChannels().find((c) => c.type === type)!.id);
  return { session, acc, channel };
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    await h.uis.accounts[0]!.settle();
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
  }
}

const olChat = async (uisChatId: number) => {
  const c = await h.app.deps.bridge.chat(h.portal.memberId, String(uisChatId));
  return c?.b24ChatId ? h.portal.openLines.chat(Number(c.b24ChatId)) : undefined;
};

describe('connector page API: line ⇄ channel binding', () => {
  it('lists channels, binds one to a line (activate + data.set), moves it to another line with a notice, and unbinds', async () => {
    const { session, channel } = await linked();
    const wa = channel('whatsapp');
    const view = await api(h.app.url, session, 'GET', '/api/connector?line=1');
    expect(view.status, JSON.stringify(view.json)).toBe(200);
    expect(view.json).toMatchObject({ line: '1', linked: true, binding: null });
    expect((view.json.channels as unknown[]).length).toBeGreaterThan(3);

    const bound = await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: wa });
    expect(bound.status, JSON.stringify(bound.json)).toBe(200);
    expect(bound.json).toMatchObject({ binding: { channelId: wa, status: 'active', chatsRulesOff: true, channelType: 'whatsapp' }, portal: { active: true }, movedFrom: null });

    // a second line takes the same channel: it moves, line 1 is switched off in Bitrix24
    const line2 = await h.app.deps.gateway.client(h.portal.memberId).call('imopenlines.config.add', { PARAMS: { LINE_NAME: 'Вторая' } });
    const lineId = String(line2.result);
    expect(lineId).toMatch(/^\d+$/);
    if (lineId) {
      const moved = await api(h.app.url, session, 'PUT', '/api/connector', { line: lineId, channelId: wa });
      expect(moved.json).toMatchObject({ movedFrom: '1', binding: { channelId: wa } });
      const old = await api(h.app.url, session, 'GET', '/api/connector?line=1');
      expect(old.json).toMatchObject({ binding: null, portal: { active: false } });
      await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: wa });
    }

    const off = await api(h.app.url, session, 'DELETE', '/api/connector?line=1');
    expect(off.json).toMatchObject({ binding: null, portal: { active: false } });
    expect(await h.app.deps.bridge.bindings(h.portal.memberId)).toEqual([]);
  });

  it('does not offer SMS or Yandex channels (seed 002: they do not work with Open Lines) and refuses to bind them if asked directly', async () => {
    const { session, acc, channel } = await linked();
    const sms = channel('sms');
    // UIS announces a Yandex.Realty channel of the account (adapter channel type realty_yandex)
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const announce = await fetch(`${h.app.url}/uis/callbacks/${link.hookId}/channel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 987_654, name: 'Яндекс.Недвижимость', type: 'realty_yandex', account_id: Number(link.connectionId), context: { app_id: acc.appId, chat_channel_id: 987_000 }, status: 'active' }),
    });
    expect(announce.status).toBe(204);
    await h.app.callbacksHandled(); // on PostgreSQL the channel is learnt after the 204
    await h.app.deps.background.idle();
    const yandex = '987654';

    const view = await api(h.app.url, session, 'GET', '/api/connector?line=1');
    expect(view.status, JSON.stringify(view.json)).toBe(200);
    const offered = (view.json.channels as Array<{ channelId: string; type: string }>).map((c) => c.type);
    expect(offered).toContain('whatsapp');
    expect(offered).not.toContain('sms');
    expect(offered).not.toContain('realty_yandex');
    expect(view.json.notForOpenLines).toEqual(expect.arrayContaining([expect.objectContaining({ channelId: sms, type: 'sms' }), expect.objectContaining({ channelId: yandex, type: 'realty_yandex' })]));

    for (const channelId of [sms, yandex]) {
      const r = await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId });
      expect(r.status, JSON.stringify(r.json)).toBe(400);
      expect(r.json.error).toBe('CHANNEL_NOT_FOR_OPEN_LINES');
    }
    expect(await h.app.deps.bridge.bindings(h.portal.memberId)).toEqual([]);
    expect((await api(h.app.url, session, 'GET', '/api/connector?line=1')).json).toMatchObject({ binding: null, portal: { active: false } });
  });

  it('refuses non-admins and bad input', async () => {
    const { channel } = await linked();
    const employee = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app`, userId: h.portal.userId })).boot.session!;
    expect((await api(h.app.url, employee, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') })).status).toBe(403);
    const admin = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    expect((await api(h.app.url, admin, 'PUT', '/api/connector', { line: 'x', channelId: '1' })).json.error).toBe('VALIDATION_FAILED');
    expect((await api(h.app.url, admin, 'PUT', '/api/connector', { line: '1', channelId: '999999' })).json.error).toBe('CHANNEL_NOT_FOUND');
  });
});

describe('messages both ways', () => {
  it('a visitor whose UIS phone lacks the country code reaches the open line with the E.164 every other part uses', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '9161230077' }, text: 'Здравствуйте' });
    await settle();
    expect(acc.callbacks.find((c) => c.path === '/chat')?.body).toMatchObject({ visitor_phone: '9161230077' });
    expect((await olChat(w.chatId))!.user.phone).toBe('+79161230077'); // the CRM rules and analytics write this same number
  });

  it('visitor → open line → operator reply → visitor, with stable ids, E.164 phone, delivery mark, no echo', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });

    const w1 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567', name: 'Мария' }, text: 'Здравствуйте' });
    const w2 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567' }, text: 'Есть вопрос' });
    await settle();
    expect(w2.chatId).toBe(w1.chatId);
    const chat = (await olChat(w1.chatId))!;
    expect(chat).toBeDefined();
    expect(chat.externalChatId).toBe(`uis_c${w1.chatId}`);
    const inbound = chat.messages.filter((m) => m.direction === 'in');
    expect(inbound.map((m) => m.text)).toEqual(['Здравствуйте', 'Есть вопрос']);
    expect(inbound.map((m) => m.externalId)).toEqual([String(w1.messageId), String(w2.messageId)]);
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(1);

    const b24ChatId = chat.id;
    h.portal.operatorAccept(b24ChatId, 1);
    const { messageId } = h.portal.operatorReply({ chatId: b24ChatId, userId: 1, text: 'Добрый день!\nЧем помочь?' });
    await settle();
    await new Promise((r) => setTimeout(r, 700)); // UIS status callbacks: accepted → sent → delivered
    await settle();
    const uisChat = acc.chats().find((c) => c.id === w1.chatId)!;
    const ops = uisChat.messages.filter((m) => m.source === 'operator');
    expect(ops.map((m) => m.text)).toEqual(['Добрый день!\nЧем помочь?']);
    expect(ops[0]!.operatorId).toBeGreaterThan(0);
    const mark = h.portal.openLines.chat(b24ChatId)!.messages.find((m) => m.id === messageId)!;
    expect(mark.delivery).toBe('delivered');
    expect(mark.params.CONNECTOR_MID ?? (mark as unknown as { connectorMid?: unknown }).connectorMid).toEqual([String(ops[0]!.id)]);

    // replaying the event (offline twin, duplicate delivery) sends nothing twice
    const again = await h.app.deps.bridgeWorker.onMessageAdd!(h.portal.memberId, {
      CONNECTOR: 'uis_omni',
      LINE: '1',
      MESSAGES: [{ im: { chat_id: String(b24ChatId), message_id: String(messageId) }, message: { user_id: '1', text: 'x' }, chat: { id: `uis_c${w1.chatId}` } }],
    });
    expect(again).toBe(false);
    await settle();
    // both sides: 2 inbound, 1 outbound, each once
    expect(acc.chats().find((c) => c.id === w1.chatId)!.messages.filter((m) => m.source === 'operator')).toHaveLength(1);
    expect(h.portal.openLines.chat(b24ChatId)!.messages.filter((m) => m.direction === 'in')).toHaveLength(2);
    expect(await h.app.deps.bridge.countLinks(h.portal.memberId)).toMatchObject({ 'uis:relayed': 2, 'b24:delivered': 1 });
  });

  it('a burst of first messages over many chats creates one Bitrix24 chat per UIS chat, order kept, each message once', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('telegram_private') });
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') }).catch(() => null);
    const writes = [];
    for (let v = 0; v < 5; v++) for (let i = 0; i < 4; i++) writes.push(acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+7916000000${v}` }, text: `v${v} m${i}` }));
    const results = await Promise.all(writes);
    await settle();
    const chats = new Set(results.map((r) => r.chatId));
    expect(chats.size).toBe(5);
    for (const id of chats) {
      const c = (await olChat(id))!;
      const texts = c.messages.filter((m) => m.direction === 'in').map((m) => m.text);
      const v = texts[0]!.slice(0, 2);
      expect(texts).toEqual([0, 1, 2, 3].map((i) => `${v} m${i}`));
    }
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(5);
  });

  it('duplicate and reordered callbacks: /message before /chat waits and goes as soon as /chat arrives, a repeated /message is relayed once', async () => {
    const { session, channel } = await linked();
    const wa = channel('whatsapp');
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: wa });
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const hook = `${h.app.url}/uis/callbacks/${link.hookId}`;
    const post = (path: string, body: unknown) =>
      fetch(`${hook}${path}`, { method: 'POST', headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const base = { account_id: Number(link.connectionId), channel_id: Number(wa), chat_id: 900001 };
    const msg = (id: number, text: string) => ({ ...base, id, source: 'visitor', text, created_at: '2026-08-21 09:00:00.123456', status: 'sent', resource: null });
    expect((await post('/message', msg(1, 'первое'))).status).toBe(204);
    expect((await post('/message', msg(2, 'второе'))).status).toBe(204);
    expect((await post('/message', msg(1, 'первое'))).status).toBe(204);
    await h.app.callbacksHandled(); // PostgreSQL: handled after the 204
    await h.app.deps.bridgeWorker.drain();
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(0);
    expect((await post('/chat', { ...base, visitor_id: 77, visitor_phone: '79990001122', initiator: 'visitor', operator_id: null, created_at: '2026-08-21 09:00:00' })).status).toBe(204);
    await h.app.callbacksHandled();
    // what the waiting jobs waited for arrived: they are due at once, not after their back-off
    await h.app.deps.bridgeWorker.drain(); // first message alone (new chat), then the rest
    const c = (await olChat(900001))!;
    expect(c.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual(['первое', 'второе']);
    // forged: wrong secret is refused and changes nothing
    const forged = await fetch(`${hook}/message`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: JSON.stringify(msg(3, 'подделка')) });
    expect(forged.status).toBe(401);
    expect(await h.app.deps.bridge.link(h.portal.memberId, 'uis', '3')).toBeNull();
  });

  it('files both ways: a UIS resource arrives as a fetchable file, a Bitrix24 file becomes a UIS resource', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161112233' }, file: { name: 'photo.png', mime: 'image/png', content: PNG } });
    await settle();
    const chat = (await olChat(w.chatId))!;
    const inbound = chat.messages.find((m) => m.direction === 'in')!;
    expect(inbound.files).toMatchObject([{ name: 'photo.png', mime: 'image/png', size: PNG.length, fetched: true }]);
    expect(inbound.files[0]!.sourceUrl).toContain(`${h.app.url}/files/uis/`);
    // the signed link is refused once tampered with
    expect((await fetch(inbound.files[0]!.sourceUrl.replace(/sig=[^&]+/, 'sig=forged'))).status).toBe(403);
    h.portal.operatorAccept(chat.id, 1);
    h.portal.operatorReply({ chatId: chat.id, userId: 1, files: [{ name: 'price.png', content: PNG, mime: 'image/png' }] });
    await settle();
    const op = acc.chats().find((c) => c.id === w.chatId)!.messages.filter((m) => m.source === 'operator');
    expect(op).toHaveLength(1);
    expect(op[0]!.resource).toMatchObject({ name: 'price.png', type: 'photo', size: PNG.length });
  });

  it('a failed delivery is shown in the chat, and the notice is not relayed back to the client', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161112244' }, text: 'привет' });
    await settle();
    const chat = (await olChat(w.chatId))!;
    h.portal.operatorAccept(chat.id, 1);
    acc.failDelivery(w.chatId, 1);
    h.portal.operatorReply({ chatId: chat.id, userId: 1, text: 'ответ' });
    await settle();
    await new Promise((r) => setTimeout(r, 700));
    await settle();
    const texts = h.portal.openLines.chat(chat.id)!.messages.map((m) => m.text);
    expect(texts.some((t) => t.includes('не доставлено'))).toBe(true);
    const op = acc.chats().find((c) => c.id === w.chatId)!.messages.filter((m) => m.source === 'operator');
    expect(op.map((m) => m.text)).toEqual(['ответ']);
  });
});

describe('faults', () => {
  it('UIS down while the operator answers: the message waits and goes out once UIS is back', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161112255' }, text: 'привет' });
    await settle();
    const chat = (await olChat(w.chatId))!;
    h.portal.operatorAccept(chat.id, 1);
    h.uis.setDown(true);
    h.portal.operatorReply({ chatId: chat.id, userId: 1, text: 'пока UIS лежит' });
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
    expect(acc.chats().find((c) => c.id === w.chatId)!.messages.filter((m) => m.source === 'operator')).toHaveLength(0);
    h.uis.setDown(false);
    for (let i = 0; i < 60 && !acc.chats().find((c) => c.id === w.chatId)!.messages.some((m) => m.source === 'operator'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      await h.app.deps.bridgeWorker.drain();
    }
    expect(acc.chats().find((c) => c.id === w.chatId)!.messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['пока UIS лежит']);
  });

  it('offline catch-up: an operator answer whose online event we missed is taken from the offline queue, once', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161112266' }, text: 'привет' });
    await settle();
    const chat = (await olChat(w.chatId))!;
    h.portal.operatorAccept(chat.id, 1);
    h.portal.operatorReply({ chatId: chat.id, userId: 1, text: 'ответ 1' });
    await settle();
    // both the online event and its offline twin: the twin is dropped as a duplicate
    expect(await h.app.deps.bridgeWorker.pollOffline(h.portal.memberId)).toBe(0);
    await settle();
    const ops = () => acc.chats().find((c) => c.id === w.chatId)!.messages.filter((m) => m.source === 'operator').map((m) => m.text);
    expect(ops()).toEqual(['ответ 1']);
  });

  it('connector switched off in Bitrix24: the binding shows it, inbound waits', async () => {
    const { session, acc, channel } = await linked();
    await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: channel('whatsapp') });
    await h.app.deps.gateway.client(h.portal.memberId).call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    await h.portal.drainEvents();
    const v = await api(h.app.url, session, 'GET', '/api/connector?line=1');
    expect(v.json).toMatchObject({ binding: { status: 'off', lastError: expect.stringContaining('switched off') } });
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161112277' }, text: 'привет' });
    await settle();
    expect(h.portal.openLines.chats().filter((c) => c.connector === 'uis_omni')).toHaveLength(0);
    void postEvent;
  });
});
