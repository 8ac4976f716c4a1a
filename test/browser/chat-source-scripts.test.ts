import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { AmoSettings, AmoView, JivoSettings, JivoView } from '../../server/contracts/chat-sources';
import { startAmoEmulator, type AmoEmulator } from '../emulator/amocrm';
import { startJivoEmulator, type JivoEmulator } from '../emulator/jivo';
import { launchChromium } from '../support/browser';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';
import { settleSources } from '../http/chat-sources-support';

/**
 * The site scripts of «Источники чатов» in a real browser, on an emulated customer site: the UIS
 * tracker (`Comagic.getSessionId`) and the chat widget (Jivo's, amoCRM's multi-widget) arrive in
 * either order; the visitor chats; the conversation reaches UIS analytics with that session.
 */
let h: Harness | undefined;
let jivo: JivoEmulator | undefined;
let amo: AmoEmulator | undefined;
let browser: Browser | undefined;
let site: Server | undefined;
afterEach(async () => {
  await browser?.close();
  await new Promise<void>((ok) => (site ? site.close(() => ok()) : ok()));
  await amo?.settle();
  await h?.close();
  await jivo?.close();
  await amo?.close();
  h = jivo = amo = browser = site = undefined;
});

/** The customer's own assets: the UIS tracker (ready after `delay` ms, with this session) and our script as the admin pasted it. */
async function serveAssets(ourScript: string): Promise<string> {
  const code = ourScript.replace(/<!--[\s\S]*?-->/g, '').replace(/<\/?script>/g, '');
  site = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/javascript');
    if (url.pathname === '/tracker.js') {
      const sid = Number(url.searchParams.get('sid'));
      const delay = Number(url.searchParams.get('delay') ?? 0);
      return void res.end(`setTimeout(function () { window.Comagic = { getSessionId: function () { return ${sid}; } }; }, ${delay});`);
    }
    if (url.pathname === '/own-callback.js') return void res.end('window.jivo_onLoadCallback = function () { window.__siteOwnCallback = true; };');
    res.end(code);
  });
  await new Promise<void>((ok) => site!.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
}

async function linked() {
  const session = (await openPage(h!.portal, { handlerUrl: `${h!.app.url}/b24/app` })).boot.session!;
  const acc = h!.uis.accounts[0]!;
  expect((await api(h!.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken })).status).toBe(200);
  return { session, acc };
}

const siteUrl = (origin: string, scripts: string[]) => `${origin}/site?${scripts.map((s) => `script=${encodeURIComponent(s)}`).join('&')}`;

async function chatInJivo(page: Page, phone: string) {
  await page.waitForSelector('.jivo-label');
  await page.click('.jivo-label');
  await page.fill('.jivo-form [name=name]', 'Посетитель');
  await page.fill('.jivo-form [name=phone]', phone);
  await page.fill('.jivo-form [name=text]', 'Есть доставка?');
  await page.click('.jivo-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('.jivo-msg').length === 1);
}

describe('the Jivo site script', () => {
  it('when the tracker or the widget comes late (and the site has its own jivo_onLoadCallback), then setUserToken carries the UIS session and the chat is uploaded with it', async () => {
    h = await startHarness();
    await installApp(h);
    const { session, acc } = await linked();
    jivo = await startJivoEmulator();
    const settings: JivoSettings = {
      enabled: true,
      employeeId: acc.employees[0]!.id,
      trafficType: 'source',
      defaults: { siteId: acc.sites[0]!.id, sourceId: null, campaignId: null },
      messengers: {},
    };
    const view = (await api(h.app.url, session, 'PUT', '/api/chat-sources/jivo', settings)).json as unknown as JivoView;
    const widget = jivo.channels[0]!;
    jivo.setWebhook(widget.widgetId, view.webhookUrl);
    const assets = await serveAssets(view.script!.code);
    browser = await launchChromium();
    const orders = [
      // the tracker late, the widget early
      (sid: number) => [`${assets}/tracker.js?sid=${sid}&delay=900`, `${assets}/omni.js`, `${jivo!.origin}/widget/${widget.widgetId}.js?delay=100`],
      // the widget late, the tracker at once; the site's own callback declared before ours
      (sid: number) => [`${assets}/own-callback.js`, `${assets}/tracker.js?sid=${sid}&delay=0`, `${assets}/omni.js`, `${jivo!.origin}/widget/${widget.widgetId}.js?delay=1500`],
    ];
    for (const [i, order] of orders.entries()) {
      const s = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 120_000 });
      const page = await browser.newPage();
      await page.goto(siteUrl(jivo.origin, order(s.id)));
      await page.waitForFunction(() => ((window as unknown as { __jivo?: { log: Array<{ method: string }> } }).__jivo?.log ?? []).some((l) => l.method === 'setUserToken'), undefined, { timeout: 15_000 });
      if (i === 1) expect(await page.evaluate(() => (window as unknown as { __siteOwnCallback?: boolean }).__siteOwnCallback)).toBe(true);
      await chatInJivo(page, `+7903555020${i}`);
      const chat = jivo.chats.at(-1)!;
      jivo.agentWrites(chat.chatId, 'Да, есть');
      await jivo.finishChat(chat.chatId);
      await settleSources(h);
      expect(acc.uploadedChats().find((c) => c.ext_id === `jivo:${widget.widgetId}:${chat.chatId}`)).toMatchObject({ visitor_session_id: s.id, phone: `+7903555020${i}` });
      await page.close();
    }
  });
});

describe('the amoCRM site script', () => {
  it('when the multi-widget or the tracker comes late, then setMeta puts the UIS session into the lead, and the closed talk is uploaded with it', async () => {
    amo = await startAmoEmulator({ integration: { redirectUri: 'http://placeholder/' } });
    h = await startHarness({ amocrm: amo });
    await installApp(h);
    const { session, acc } = await linked();
    const begin = await api(h.app.url, session, 'POST', '/api/chat-sources/amocrm/connect', { name: 'Ромашка', domain: amo.host });
    expect((await fetch(await amo.authorize(String(begin.json.authorizeUrl)))).status).toBe(200);
    const account = amo.accounts[0]!;
    const settings: AmoSettings = {
      enabled: true,
      trafficType: 'source',
      defaults: { siteId: acc.sites[0]!.id, sourceId: null, campaignId: null },
      messengers: {},
      sessionField: { entity: 'leads', fieldId: account.sessionField.id },
    };
    const saved = await api(h.app.url, session, 'PUT', '/api/chat-sources/amocrm', settings);
    expect(saved.status, JSON.stringify(saved.json)).toBe(200);
    const view = saved.json as unknown as AmoView;
    const assets = await serveAssets(view.script!.code);
    browser = await launchChromium();
    const orders = [
      // our script first (below the UIS code), the embed later and its button.js late; the tracker late too
      (sid: number) => [`${assets}/tracker.js?sid=${sid}&delay=700`, `${assets}/omni.js`, `${amo!.origin}/button/embed.js?id=1&delay=1200`],
      // the embed first, the tracker late
      (sid: number) => [`${amo!.origin}/button/embed.js?id=1&delay=0`, `${assets}/omni.js`, `${assets}/tracker.js?sid=${sid}&delay=1500`],
    ];
    for (const [i, order] of orders.entries()) {
      const s = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 120_000 });
      const page = await browser.newPage();
      await page.goto(siteUrl(amo.origin, order(s.id)));
      await page.waitForFunction(() => {
        const b = (window as unknown as { amo_social_button?: { params?: unknown[] } }).amo_social_button;
        const meta = (window as unknown as { __amo?: { meta: unknown[] } }).__amo?.meta;
        return (meta ?? b?.params ?? []).length > 0;
      }, undefined, { timeout: 15_000 });
      await page.waitForSelector('.amo-button');
      await page.click('.amo-button');
      await page.fill('.amo-form [name=name]', 'Мария');
      await page.fill('.amo-form [name=phone]', `+7903555030${i}`);
      await page.fill('.amo-form [name=text]', 'Сколько стоит?');
      await page.click('.amo-form button[type=submit]');
      await page.waitForFunction(() => document.querySelectorAll('.amo-msg').length === 1);
      const talk = account.talks.at(-1)!;
      account.operatorReads(talk.talk_id);
      account.closeTalk(talk.talk_id);
      await amo.settle();
      await settleSources(h);
      expect(acc.uploadedOfflineMessages().find((m) => m.ext_id === `amocrm:${account.id}:${talk.talk_id}`)).toMatchObject({ visitor_session_id: s.id, phone: `+7903555030${i}` });
      await page.close();
    }
  });
});
