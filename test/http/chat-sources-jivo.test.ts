import { afterEach, describe, expect, it } from 'vitest';
import type { JivoSettings, JivoView, SourceItemView, ChatSourcesView } from '../../server/contracts/chat-sources';
import { payloads, startJivoEmulator, type JivoEmulator } from '../emulator/jivo';
import type { Clock } from '../../server/domain/clock';
import { chatSourceHealth } from '../../server/services/chat-sources/health';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';
import { settleSources } from './chat-sources-support';

let h: Harness | undefined;
let jivo: JivoEmulator | undefined;
afterEach(async () => {
  await jivo?.close();
  await h?.close();
  h = jivo = undefined;
});

/** Install, link UIS, switch Jivo on (default site+source; the Telegram channel mapped to another source); webhooks on for every Jivo channel. */
async function setup(over: Partial<JivoSettings> = {}, clock?: Clock) {
  h = await startHarness({ clock });
  await installApp(h);
  const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const acc = h.uis.accounts[0]!;
  expect((await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken })).status).toBe(200);
  jivo = await startJivoEmulator({ clock });
  const [site, telegram, whatsapp] = jivo.channels;
  const settings: JivoSettings = {
    enabled: true,
    employeeId: acc.employees[0]!.id,
    trafficType: 'source',
    defaults: { siteId: acc.sites[0]!.id, sourceId: acc.sources[0]!.id, campaignId: null },
    messengers: { [telegram!.widgetId]: { siteId: acc.sites[0]!.id, sourceId: acc.sources[1]!.id, campaignId: null, label: 'Telegram' } },
    ...over,
  };
  const saved = await api(h.app.url, session, 'PUT', '/api/chat-sources/jivo', settings);
  expect(saved.status, JSON.stringify(saved.json)).toBe(200);
  const view = saved.json as unknown as JivoView;
  for (const c of jivo.channels) jivo.setWebhook(c.widgetId, view.webhookUrl);
  return { session, acc, view, site: site!, telegram: telegram!, whatsapp: whatsapp! };
}

const items = async (session: string) => (await api(h!.app.url, session, 'GET', '/api/chat-sources/items?source=jivo')).json as unknown as SourceItemView[];

describe('Jivo → UIS analytics', () => {
  it('when a site chat carries the UIS session (user_token), then it is uploaded once with that session and its transcript; the page shows the webhook URL and the script', async () => {
    const { acc, view, site, session } = await setup();
    expect(view.webhookUrl).toMatch(new RegExp(`^${h!.app.url}/hooks/jivo/[\\w-]{32}$`));
    expect(view.script?.code).toContain('api.setUserToken(String(sid))');
    const uisSession = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 600_000 });
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { name: 'Анна', phone: '+7 916 123-45-67' }, userToken: String(uisSession.id), text: 'Здравствуйте' });
    jivo!.agentWrites(chat.chatId, 'Добрый день, чем помочь?');
    const d = await jivo!.finishChat(chat.chatId);
    expect(d).toMatchObject({ status: 200, response: '{"result":"ok"}' });
    await settleSources(h!);
    const up = acc.uploadedChats();
    expect(up).toHaveLength(1);
    expect(up[0]).toMatchObject({
      ext_id: `jivo:${site.widgetId}:${chat.chatId}`,
      visitor_session_id: uisSession.id,
      phone: '+79161234567',
      name: 'Анна',
      status: 'succeed',
      employee_id: acc.employees[0]!.id,
      uploads: 1,
    });
    expect(up[0]!.messages.map((m) => [m.source, m.message])).toEqual([['visitor', 'Здравствуйте'], ['operator', 'Добрый день, чем помочь?']]);
    expect(await items(session)).toMatchObject([{ status: 'uploaded', attribution: `session ${uisSession.id}`, kind: 'chat', channel: site.widgetId }]);
    const state = ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).jivo.state;
    expect(state).toMatchObject({ lastEventAt: expect.any(String), lastUploadAt: expect.any(String), lastError: null, counts: { uploaded: 1 } });
    expect(state.channels).toEqual([{ key: site.widgetId, lastAt: expect.any(String), mapped: false }]);
  });

  it('when messenger chats come without a session, then the channel mapping applies, else the default; an offline message goes as a request', async () => {
    const { acc, telegram, whatsapp, site, session } = await setup();
    const tg = jivo!.startChat({ widgetId: telegram.widgetId, visitor: { name: 'Олег', phone: '+79161112233' }, text: 'Привет' });
    const wa = jivo!.startChat({ widgetId: whatsapp.widgetId, visitor: { phone: '+79162223344' }, text: 'Здравствуйте' });
    await jivo!.finishChat(tg.chatId);
    await jivo!.finishChat(wa.chatId);
    await jivo!.offlineMessage({ widgetId: site.widgetId, visitor: { name: 'Ира', email: 'ira@example.com' }, message: 'Перезвоните мне' });
    await settleSources(h!);
    const byExt = Object.fromEntries(acc.uploadedChats().map((c) => [c.ext_id, c]));
    expect(byExt[`jivo:${telegram.widgetId}:${tg.chatId}`]).toMatchObject({ visitor_session_id: null, site_id: acc.sites[0]!.id, source_id: acc.sources[1]!.id, status: 'lost' });
    expect(byExt[`jivo:${whatsapp.widgetId}:${wa.chatId}`]).toMatchObject({ visitor_session_id: null, site_id: acc.sites[0]!.id, source_id: acc.sources[0]!.id });
    expect(acc.uploadedOfflineMessages()).toMatchObject([{ ext_id: expect.stringMatching(new RegExp(`^jivo-offline:${site.widgetId}:\\d+$`)), email: 'ira@example.com', message: 'Перезвоните мне', site_id: acc.sites[0]!.id }]);
    const list = await items(session);
    expect(list.map((i) => i.status)).toEqual(['uploaded', 'uploaded', 'uploaded']);
  });

  it('when the same chat_finished comes twice and an older copy comes last, then it is uploaded once, with the full transcript', async () => {
    const { acc, site } = await setup();
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79163334455' }, text: 'Первое' });
    const early = payloads.chatFinished(chat);
    jivo!.agentWrites(chat.chatId, 'Ответ');
    jivo!.visitorWrites(chat.chatId, 'Спасибо');
    const full = payloads.chatFinished(chat);
    const outcomes: string[] = [];
    for (const body of [full, full, early]) {
      const r = await fetch(jivo!.channels[0]!.webhookUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(await r.json()).toEqual({ result: 'ok' });
      outcomes.push(r.headers.get('x-outcome')!);
    }
    expect(outcomes).toEqual(['queued', 'duplicate', 'duplicate']);
    await settleSources(h!);
    expect(acc.uploadedChats()).toHaveLength(1);
    expect(acc.uploadedChats()[0]).toMatchObject({ uploads: 1, messages: [{ message: 'Первое' }, { message: 'Ответ' }, { message: 'Спасибо' }] });
  });

  it('when UIS refuses one chat of a burst, then its reason is recorded and shown, the others are uploaded; a session UIS refuses (too old) falls back to the mapping', async () => {
    const { acc, site, telegram, session } = await setup();
    // the mapped source is removed in UIS after the settings were saved: UIS refuses that chat
    acc.sources[1]!.state = 'removed';
    const old = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 200 * 86_400_000 });
    const a = jivo!.startChat({ widgetId: telegram.widgetId, visitor: { phone: '+79160000001' }, text: 'a' });
    const b = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000002' }, text: 'b' });
    const c = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000003' }, userToken: String(old.id), text: 'c' });
    for (const x of [a, b, c]) await jivo!.finishChat(x.chatId);
    await settleSources(h!);
    expect(acc.uploadedChats().map((x) => x.phone).sort()).toEqual(['+79160000002', '+79160000003']);
    expect(acc.uploadedChats().find((x) => x.phone === '+79160000003')).toMatchObject({ visitor_session_id: null, site_id: acc.sites[0]!.id, source_id: acc.sources[0]!.id });
    const list = await items(session);
    expect(list.find((i) => i.extId.endsWith(`:${a.chatId}`))).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^UIS_REJECTED entity_not_found chats\.\d+\.source_id/) });
    expect(list.find((i) => i.extId.endsWith(`:${c.chatId}`))!.attribution).toMatch(new RegExp(`^site ${acc.sites[0]!.id}, source ${acc.sources[0]!.id} \\(UIS refused session ${old.id}`));
    const state = ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).jivo.state;
    expect(state.lastError).toMatchObject({ code: 'UIS_REJECTED', fix: expect.stringContaining('still exist in UIS') });
  });

  it('when the admin fixes what UIS refused and saves the settings, then the refused chats go again with the new settings', async () => {
    const { acc, telegram, session, view } = await setup();
    acc.sources[1]!.state = 'removed';
    const chat = jivo!.startChat({ widgetId: telegram.widgetId, visitor: { phone: '+79160000041' }, text: 'Источник удалён' });
    await jivo!.finishChat(chat.chatId);
    await settleSources(h!);
    expect(await items(session)).toMatchObject([{ status: 'failed', reason: expect.stringMatching(/^UIS_REJECTED/) }]);
    // the fix the page names: map the channel to a source that exists
    const fixed = { ...view.settings, messengers: { [telegram.widgetId]: { siteId: acc.sites[0]!.id, sourceId: acc.sources[2]!.id, campaignId: null, label: 'Telegram' } } };
    expect((await api(h!.app.url, session, 'PUT', '/api/chat-sources/jivo', fixed)).status).toBe(200);
    await settleSources(h!);
    expect(acc.uploadedChats()).toMatchObject([{ ext_id: `jivo:${telegram.widgetId}:${chat.chatId}`, source_id: acc.sources[2]!.id, uploads: 1 }]);
    expect(await items(session)).toMatchObject([{ status: 'uploaded' }]);
    const state = ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).jivo.state;
    expect(state.lastError).toBeNull();
  });

  it('when UIS is down, then the chat waits and the state says UIS is unreachable; once UIS answers again, an upload clears it', async () => {
    const { acc, site, session } = await setup();
    h!.uis.setDown(true);
    const first = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000021' }, text: 'Пока UIS недоступен' });
    expect(await jivo!.finishChat(first.chatId)).toMatchObject({ status: 200, response: '{"result":"ok"}' });
    await settleSources(h!);
    expect(acc.uploadedChats()).toHaveLength(0);
    expect(await items(session)).toMatchObject([{ status: 'waiting' }]);
    const down = ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).jivo.state;
    expect(down.lastError).toMatchObject({ code: 'UIS_UNAVAILABLE', fix: expect.stringContaining('retried automatically') });
    h!.uis.setDown(false);
    const second = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000022' }, text: 'UIS снова доступен' });
    await jivo!.finishChat(second.chatId);
    await settleSources(h!);
    expect(acc.uploadedChats().map((c) => c.phone)).toContain('+79160000022');
    const up = ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).jivo.state;
    expect(up.lastError).toBeNull();
    expect(await chatSourceHealth(h!.app.deps.chatSources, h!.portal.memberId)).toContainEqual(expect.objectContaining({ source: 'jivo', enabled: true, lastError: null }));
  });

  it('when UIS stays down for hours, then the chat waits without giving up and is uploaded once UIS is back', async () => {
    const clock = { offset: 0, now: () => Date.now() + clock.offset, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms))) };
    const { acc, site } = await setup({}, clock);
    h!.uis.setDown(true);
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000031' }, text: 'Долгий простой UIS' });
    await jivo!.finishChat(chat.chatId);
    await settleSources(h!);
    // six hours of outage, the queue looked at every half hour
    for (let step = 0; step < 12; step++) {
      clock.offset += 31 * 60_000;
      await settleSources(h!);
    }
    // (the page's session has lapsed by now: the queue is read from the store)
    const queue = () => h!.app.deps.chatSources.sources.recent(h!.portal.memberId, 'jivo', 10);
    expect(await queue()).toMatchObject([{ status: 'waiting' }]);
    h!.uis.setDown(false);
    clock.offset += 31 * 60_000;
    await settleSources(h!);
    expect(acc.uploadedChats()).toMatchObject([{ phone: '+79160000031', uploads: 1 }]);
    expect(await queue()).toMatchObject([{ status: 'uploaded' }]);
  });

  it('when an uploaded chat is a month old, then its conversation is forgotten (the row stays) and a repeat of its webhook is still not uploaded again', async () => {
    const clock = { offset: 0, now: () => Date.now() + clock.offset, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms))) };
    const { acc, site } = await setup({}, clock);
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { name: 'Анна', phone: '+79160000032' }, text: 'Текст клиента' });
    await jivo!.finishChat(chat.chatId);
    await settleSources(h!);
    expect(acc.uploadedChats()).toMatchObject([{ phone: '+79160000032', uploads: 1 }]);
    const queue = () => h!.app.deps.chatSources.sources.recent(h!.portal.memberId, 'jivo', 10);
    expect((await queue())[0]!.payload).not.toBeNull();
    // 31 days later the worker's hourly retention forgets the conversation of the finished item
    clock.offset += 31 * 86_400_000;
    for (let i = 0; i < 100 && (await queue())[0]!.payload !== null; i++) {
      h!.app.deps.chatSourcesWorker.wake();
      await settleSources(h!);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await queue()).toMatchObject([{ status: 'uploaded', payload: null }]);
    await expect.poll(() => h!.logs.lines().find((l) => String(l.msg).startsWith('chat-sources retention'))).toMatchObject({ items: 1 });
    expect(h!.logs.text()).not.toContain('Текст клиента');
    // the same webhook again: a duplicate, nothing uploaded
    const r = await fetch(jivo!.channels[0]!.webhookUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payloads.chatFinished(chat)) });
    expect(r.headers.get('x-outcome')).toBe('duplicate');
    await settleSources(h!);
    expect(acc.uploadedChats()).toMatchObject([{ phone: '+79160000032', uploads: 1 }]);
    expect(await queue()).toMatchObject([{ status: 'uploaded', payload: null }]);
  });

  it('when a chat has neither a phone nor an e-mail, then it is skipped with a reason the admin sees', async () => {
    const { acc, site, session } = await setup();
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { name: 'Аноним' }, text: 'Просто спросить' });
    await jivo!.finishChat(chat.chatId);
    await settleSources(h!);
    expect(acc.uploadedChats()).toHaveLength(0);
    expect(await items(session)).toMatchObject([{ status: 'skipped', reason: expect.stringMatching(/^NO_CONTACT/) }]);
  });
});

describe('Jivo webhooks: forged and malformed', () => {
  it('when the secret is wrong, then 403 and nothing is recorded; a malformed body is a 400 with nothing recorded; other events are acknowledged', async () => {
    const { site, view, session } = await setup();
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000009' }, text: 'x' });
    const body = JSON.stringify(payloads.chatFinished(chat));
    const post = (url: string, b: string, type = 'application/json') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body: b });
    const forged = view.webhookUrl.replace(/[\w-]{32}$/, 'A'.repeat(32));
    expect((await post(forged, body)).status).toBe(403);
    expect((await post(`${h!.app.url}/hooks/jivo/short`, body)).status).toBe(403);
    expect((await post(view.webhookUrl, '{"event_name": "chat_finished"')).status).toBe(400);
    expect((await post(view.webhookUrl, JSON.stringify({ event_name: 'chat_finished', widget_id: site.widgetId }))).status).toBe(400);
    expect((await post(view.webhookUrl, JSON.stringify({ widget_id: site.widgetId }))).status).toBe(400);
    expect((await post(view.webhookUrl, '[1,2]')).status).toBe(400);
    const state = ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).jivo.state;
    expect(state.lastEventAt).toBeNull();
    expect(await items(session)).toEqual([]);
    const accepted = await post(`${view.webhookUrl}/`, JSON.stringify(payloads.chatAccepted(chat)));
    expect([accepted.status, await accepted.json()]).toEqual([200, { result: 'ok' }]);
    expect(await items(session)).toEqual([]);
  });

  it('when Jivo is switched off, then its webhooks are acknowledged and nothing is queued; a plain employee does not see the webhook URL', async () => {
    const { view, site, session } = await setup();
    await api(h!.app.url, session, 'PUT', '/api/chat-sources/jivo', { ...view.settings, enabled: false });
    const chat = jivo!.startChat({ widgetId: site.widgetId, visitor: { phone: '+79160000010' }, text: 'x' });
    expect(await jivo!.finishChat(chat.chatId)).toMatchObject({ status: 200 });
    expect(await items(session)).toEqual([]);
    const employee = (await openPage(h!.portal, { userId: h!.portal.userId, placement: 'LEFT_MENU' })).boot.session!;
    const seen = (await api(h!.app.url, employee, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView;
    expect(JSON.stringify(seen)).not.toContain(view.webhookUrl);
    expect((await api(h!.app.url, employee, 'PUT', '/api/chat-sources/jivo', view.settings)).status).toBe(403);
  });
});
