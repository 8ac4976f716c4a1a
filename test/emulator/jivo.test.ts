import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import { payloads, startJivoEmulator, type JivoEmulator } from './jivo';

let emu: JivoEmulator | undefined;
let receiver: Server | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await emu?.close();
  await new Promise<void>((ok) => (receiver ? receiver.close(() => ok()) : ok()));
  emu = receiver = browser = undefined;
});

/** A webhook receiver answering like an integration should; records what came. */
async function startReceiver(answer = '{"result":"ok"}') {
  const hits: Array<{ type: string; body: Record<string, unknown> }> = [];
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += String(c)));
    req.on('end', () => {
      hits.push({ type: String(req.headers['content-type']), body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
  });
  await new Promise<void>((ok) => receiver!.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, hits };
}

describe('emulated Jivo webhooks', () => {
  it('sends chat_finished and offline_message with the documented bodies, per channel, only where webhooks are on', async () => {
    emu = await startJivoEmulator();
    const r = await startReceiver();
    const [site, telegram] = emu.channels;
    emu.setWebhook(site!.widgetId, r.url);

    const chat = emu.startChat({ widgetId: site!.widgetId, visitor: { name: 'Анна', phone: '+79161234567' }, userToken: '255544855', text: 'Здравствуйте' });
    emu.agentWrites(chat.chatId, 'Добрый день');
    const d = await emu.finishChat(chat.chatId);
    expect(d).toMatchObject({ status: 200, response: '{"result":"ok"}' });
    expect(r.hits[0]!.type).toBe('application/json');
    expect(r.hits[0]!.body).toMatchObject({
      event_name: 'chat_finished',
      widget_id: site!.widgetId,
      chat_id: chat.chatId,
      user_token: '255544855',
      visitor: { name: 'Анна', phone: '+79161234567', number: expect.any(String), chats_count: 1 },
      session: { utm_json: expect.any(Object), ip_addr: expect.any(String) },
      page: { url: expect.any(String) },
      agents: [{ id: '3599', name: 'Thomas Anderson' }],
      chat: { messages: [{ type: 'visitor', message: 'Здравствуйте', timestamp: expect.any(Number) }, { type: 'agent', agent_id: 3599 }], blacklisted: false, rate: null },
    });

    // a messenger chat without webhooks on its channel: nothing is sent
    const tg = emu.startChat({ widgetId: telegram!.widgetId, visitor: { name: 'Олег' }, text: 'Привет' });
    expect(await emu.finishChat(tg.chatId)).toBeNull();
    emu.setWebhook(telegram!.widgetId, r.url);
    await emu.deliver(telegram!.widgetId, payloads.chatFinished(tg));
    expect(r.hits[1]!.body).toMatchObject({ event_name: 'chat_finished', widget_id: telegram!.widgetId, session: null, page: null });
    expect(r.hits[1]!.body).not.toHaveProperty('user_token');
    expect((r.hits[1]!.body.visitor as Record<string, unknown>).phone).toBeUndefined();

    await emu.offlineMessage({ widgetId: site!.widgetId, visitor: { email: 'a@example.com' }, message: 'Перезвоните' });
    expect(r.hits[2]!.body).toMatchObject({ event_name: 'offline_message', message: 'Перезвоните', offline_message_id: expect.any(Number), visitor: { email: 'a@example.com' } });
    expect(r.hits[2]!.body).not.toHaveProperty('chat_id');
  });
});


describe('emulated Jivo widget', () => {
  it('defines jivo_api only once loaded, calls jivo_onLoadCallback, and carries setUserToken into the chat', async () => {
    emu = await startJivoEmulator();
    const r = await startReceiver();
    const site = emu.channels[0]!;
    emu.setWebhook(site.widgetId, r.url);
    browser = await launchChromium();
    const page = await browser.newPage();
    const inline = `data:text/javascript,${encodeURIComponent(
      'window.__before = typeof window.jivo_api; window.jivo_onLoadCallback = function () { window.__loadedWith = typeof jivo_api; jivo_api.setUserToken("777001"); };',
    )}`;
    await page.goto(`${emu.origin}/site?script=${encodeURIComponent(inline)}&script=${encodeURIComponent(`${emu.origin}/widget/${site.widgetId}.js?delay=200`)}`);
    await page.waitForFunction(() => (window as unknown as { __loadedWith?: string }).__loadedWith === 'object');
    expect(await page.evaluate(() => (window as unknown as { __before: string }).__before)).toBe('undefined');
    await page.click('.jivo-label');
    await page.fill('.jivo-form [name=name]', 'Пётр');
    await page.fill('.jivo-form [name=phone]', '+79035550177');
    await page.fill('.jivo-form [name=text]', 'Есть в наличии?');
    await page.click('.jivo-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('.jivo-msg').length === 1);
    const chat = emu.chats.at(-1)!;
    expect(chat).toMatchObject({ widgetId: site.widgetId, userToken: '777001', visitor: { name: 'Пётр', phone: '+79035550177' } });
    await emu.finishChat(chat.chatId);
    expect(r.hits[0]!.body).toMatchObject({ event_name: 'chat_finished', user_token: '777001', chat_id: chat.chatId });
  });
});
