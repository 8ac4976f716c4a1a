import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnalyticsSettings } from '../../server/contracts/analytics';
import { launchChromium } from '../support/browser';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness | undefined;
let browser: Browser | undefined;
let site: Server | undefined;
afterEach(async () => {
  await browser?.close();
  await new Promise<void>((ok) => (site ? site.close(() => ok()) : ok()));
  await h?.portal.drainEvents();
  await h?.close();
  h = browser = site = undefined;
});

/** The customer's site assets: a UIS tracker stub that becomes ready late, then our generated script. */
async function serveSite(trackerJs: string, siteScript: string): Promise<string> {
  const js = `${trackerJs}\n${siteScript.replace(/<!--[\s\S]*?-->/g, '').replace(/<\/?script>/g, '')}`;
  site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/javascript' }).end(js));
  await new Promise<void>((ok) => site!.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(site.address() as AddressInfo).port}/site.js`;
}

describe('the analytics site script in a real browser', () => {
  it('when a visitor chats in the Bitrix24 widget on a page with the UIS tracker, then the lead is uploaded with that visitor session', async () => {
    h = await startHarness();
    await installApp(h);
    const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    const acc = h.uis.accounts[0]!;
    await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
    const settings: AnalyticsSettings = {
      enabled: true,
      employeeId: acc.employees[0]!.id,
      trafficType: 'source',
      defaults: { siteId: acc.sites[0]!.id, sourceId: acc.sources[0]!.id, campaignId: null },
      messengers: {},
      webhookToken: null,
    };
    const view = (await api(h.app.url, session, 'PUT', '/api/analytics', settings)).json as { script: { code: string } };
    const uisSession = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 120_000 });
    // the tracker appears 700 ms after the widget: the script must wait for both
    const tracker = `setTimeout(function () { window.Comagic = { getSessionId: function () { return ${uisSession.id}; } }; }, 700);`;
    const url = await serveSite(tracker, view.script.code);

    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${h.portal.origin}/online/?line=1&script=${encodeURIComponent(url)}`);
    await page.waitForFunction(() => {
      const log = (window as unknown as { __livechat?: { log: Array<Record<string, unknown>> } }).__livechat?.log ?? [];
      return log.some((l) => 'setCustomData' in l);
    }, undefined, { timeout: 10_000 });
    await page.click('.bxlc-btn');
    await page.fill('#bx-livechat-name', 'Анна');
    await page.fill('#bx-livechat-phone', '+7 903 555-01-77');
    await page.fill('#bx-livechat-text', 'Хочу заказать');
    await page.click('#bx-livechat-send button[type=submit]');

    for (let i = 0; i < 100 && acc.uploadedChats().length === 0; i++) {
      await h.portal.drainEvents();
      await h.app.deps.analyticsWorker.drain();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(acc.uploadedChats()).toMatchObject([{ visitor_session_id: uisSession.id, phone: '+79035550177', name: expect.stringContaining('Анна') }]);
  });
});
