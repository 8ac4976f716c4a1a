import { join } from 'node:path';
import type { Browser, Frame } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ru } from '../../app/i18n/ru';
import { openLinesRu as olRu } from '../../app/i18n/open-lines.ru';
import { PROJECT_ROOT } from '../../server/compose';
import type { CrmDirectory } from '../../server/contracts/crm-settings';
import type { OpenLinesView } from '../../server/contracts/open-lines';
import { createDistRenderer } from '../../server/http/page-renderer';
import { linkAndBind } from '../support/bridge-fixture';
import { chooseOption as choose } from '../support/b24-select';
import { appFrame, launchChromium } from '../support/browser';
import { api, startHarness, type Harness } from '../support/harness';

/**
 * «Открытые линии» in headless Chromium inside the emulated portal (issue #16, seed 002): the
 * bound line with both sides' state and its connector page; the SMS/Yandex notice; «Доп. поля»
 * with «ID первой коммуникации», unsaved until the page's one «Сохранить»; a chat that an open
 * line turns into a lead gets chat:{chat_id}; a line changed elsewhere asks to refresh the page.
 * Needs `npx vite build`.
 */
let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});

/** The tab's trigger (its name is a prefix of «Открытые линии: сквозная аналитика»). */
const olTab = (f: Frame) => f.locator('[role="tab"][id$="-trigger-openlines"]');

describe('«Открытые линии» configured by the administrator in the emulated portal', () => {
  it('shows the bound line and the notices, saves «Доп. поля» with the page’s «Сохранить», writes chat:{chat_id} into the lead, and asks to refresh when the lines change in another tab', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    const { session, acc } = await linkAndBind(h);
    const directory = (await api(h.app.url, session, 'GET', '/api/crm/directory')).json as unknown as CrmDirectory;
    const chatField = directory.fields.lead.find((f) => f.id === 'UF_CRM_UIS_CHAT_ID')!;
    expect(chatField).toBeDefined();
    const sms = acc.adapterChannels().find((c) => c.type === 'sms')!;

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.goto(`${h.portal.origin}/marketplace/app/?user=1`);
    const app = await appFrame(page, '/b24/app');
    await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await app.getByRole('tab', { name: ru['tabs.openlines'], exact: true }).click();
    const line = app.getByTestId('ol-line-1');
    await line.waitFor({ timeout: 20_000 });

    // the line: its name, the channel in words, both sides working, a link to its connector page
    await expect(line.innerText()).resolves.toContain('Открытая линия 1');
    await expect(line.innerText()).resolves.toContain(ru['channelType.whatsapp']);
    await expect(app.getByTestId('ol-line-1-uis').innerText()).resolves.toBe(olRu['ol.state.active']);
    await expect(app.getByTestId('ol-line-1-portal').innerText()).resolves.toBe(olRu['ol.state.active']);
    await expect(app.getByTestId('ol-line-1-open').getAttribute('href')).resolves.toBe(`${h.portal.origin}/contact_center/connector/?ID=uis_omni&LINE=1`);
    // SMS and Yandex channels are named as not for open lines; «ID первой коммуникации» is explained
    await expect(app.getByTestId('ol-not-for').innerText()).resolves.toContain(`«${sms.name}» (SMS)`);
    await expect(app.getByTestId('ol-communication').innerText()).resolves.toContain('chat:{chat_id}');

    // switch on and add a row: «ID первой коммуникации» is the first one offered
    await app.getByTestId('ol-enabled').click();
    await app.getByTestId('ol-fields-add').click();
    await expect(app.getByTestId('ol-fields-0-uis').innerText()).resolves.toBe(olRu['ol.var.communication_id']);
    // unsaved: the tab's mark and the page's warning; saving without a Bitrix24 field is refused on the field
    await expect(olTab(app).innerText()).resolves.toContain('•');
    await expect(app.getByTestId('page-dirty').isVisible()).resolves.toBe(true);
    const save = app.getByTestId('page-save');
    await save.click();
    await app.getByTestId('page-save-invalid').waitFor({ timeout: 10_000 });
    await expect(app.getByTestId('ol-fields-row-0').innerText()).resolves.toContain(olRu['ol.invalid.b24Field']);
    expect(((await api(h.app.url, session, 'GET', '/api/open-lines')).json as unknown as OpenLinesView).saved).toBe(false);

    await choose(app, 'ol-fields-0-b24', chatField.name);
    await save.click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });
    await expect(olTab(app).innerText()).resolves.not.toContain('•');
    const saved = (await api(h.app.url, session, 'GET', '/api/open-lines')).json as unknown as OpenLinesView;
    expect(saved.settings).toEqual({ enabled: true, fields: [{ uisField: 'communication_id', entity: 'lead', b24Field: 'UF_CRM_UIS_CHAT_ID', alwaysUpdate: false }] });

    // a WhatsApp chat: the open line creates the lead, the app writes chat:{chat_id} into the chosen field
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79035550177', name: 'Ольга' }, text: 'Добрый день' });
    const leadOf = async () => {
      const chat = await h!.app.deps.bridge.chat(h!.portal.memberId, String(w.chatId));
      const id = chat?.b24ChatId ? h!.portal.openLines.chat(Number(chat.b24ChatId))?.sessions.at(-1)?.crm.LEAD : undefined;
      return id ? h!.portal.crm.leads().find((l) => Number(l.ID) === Number(id)) : undefined;
    };
    for (let i = 0; i < 8 && !(await leadOf())?.UF_CRM_UIS_CHAT_ID; i++) {
      await acc.settle();
      await h.portal.drainEvents();
      await h.app.deps.bridgeWorker.drain();
      await h.app.deps.openLinesWorker.drain();
    }
    expect(await leadOf()).toMatchObject({ UF_CRM_UIS_CHAT_ID: `chat:${w.chatId}` });

    // another browser tab connects a different channel to the line: back on this page, the notice asks to refresh
    const telegram = acc.adapterChannels().find((c) => c.type === 'telegram')!;
    expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: String(telegram.id) })).status).toBe(200);
    await expect(app.getByTestId('ol-lines-changed').count()).resolves.toBe(0);
    await app.evaluate(() => window.dispatchEvent(new Event('focus')));
    await app.getByTestId('ol-lines-changed').waitFor({ timeout: 10_000 });
    await expect(app.getByTestId('ol-lines-changed').innerText()).resolves.toContain(olRu['ol.changed.title']);

    // «Обновить страницу»: the page comes back with the new channel and the lead the tab filled
    await app.getByTestId('ol-reload').click();
    const again = await appFrame(page, '/b24/app');
    await again.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await again.getByRole('tab', { name: ru['tabs.openlines'], exact: true }).click();
    await again.getByTestId('ol-line-1').waitFor({ timeout: 20_000 });
    await expect(again.getByTestId('ol-line-1').innerText()).resolves.toContain(ru['channelType.telegram']);
    await expect(again.getByTestId('ol-lines-changed').count()).resolves.toBe(0);
    await expect(again.getByTestId('ol-recent').innerText()).resolves.toContain(`Лид ${(await leadOf())!.ID}`);
    await expect(again.getByTestId('ol-recent').innerText()).resolves.toContain(chatField.name);
    expect(pageErrors).toEqual([]);
  });
});
