/**
 * The settings page as a newcomer uses it (issue #16 items 4–6), in the emulated portal with the
 * built pages: labels that tick their checkbox, the employee-sync options among the page's unsaved
 * changes, a frame that shrinks to a short tab, and «Чаты» that stay savable when an open line
 * takes a channel.
 */
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/compose';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { createDistRenderer } from '../../server/http/page-renderer';
import { ru } from '../../app/i18n/ru';
import { appFrame, launchChromium } from '../support/browser';
import { installAndLink } from '../support/bridge-fixture';
import { api, installApp, startHarness, type Harness } from '../support/harness';

let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});

async function openSettings(harness: Harness, width = 1440): Promise<{ page: Page; app: Frame }> {
  browser ??= await launchChromium();
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${harness.portal.origin}/marketplace/app/?user=1`);
  const app = await appFrame(page, '/b24/app');
  await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
  return { page, app };
}

const checked = (app: Frame, testId: string) => app.getByTestId(testId).getAttribute('aria-checked');
const frameHeight = async (page: Page) => (await page.locator('iframe.app-frame').boundingBox())?.height ?? 0;
/** What a reload or closing the slider would ask: the page's beforeunload handler cancels it while changes are unsaved. */
const leavingAsks = (app: Frame) =>
  app.evaluate(() => {
    const e = new Event('beforeunload', { cancelable: true });
    globalThis.dispatchEvent(e);
    return e.defaultPrevented;
  });

function chatsWithWhatsApp(): CrmRulesSettings {
  const noStage = { leadStatusId: null, dealCategoryId: null, dealStageId: null };
  return {
    enabled: true,
    createEntities: true,
    channels: ['whatsapp', 'telegram'],
    filter: { join: 'and', groups: [] },
    responsible: { defaultUserId: 1, rules: [] },
    primary: { entities: 'lead', activity: false },
    repeat: { entities: 'none', activity: false },
    commentPriority: 'deals',
    addToClosed: false,
    timing: 'start',
    createWithoutContacts: false,
    copyToContactCompany: false,
    notifyOnCreate: true,
    funnels: { primary: { defaults: noStage, rules: [] }, repeat: { defaults: noStage, rules: [] } },
    templates: { lead: '', deal: '' },
    fields: [],
  };
}

describe('the settings page, tried as a new admin would', () => {
  it('a checkbox ticks when its label is clicked, on every tab; the employee-sync options count as unsaved changes and are saved by «Сохранить»', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    await installAndLink(h);
    const { app } = await openSettings(h);

    // Главная → «Синхронизация сотрудников»: the label text, not the box
    await app.getByTestId('employee-sync-statuses').waitFor({ timeout: 20_000 });
    await expect(checked(app, 'employee-sync-statuses')).resolves.toBe('false');
    await app.getByText(ru['employeeSync.importStatuses'], { exact: true }).click();
    await expect.poll(() => checked(app, 'employee-sync-statuses')).toBe('true');
    // an unsaved change like any tab's: the page's save bar, and leaving asks first
    await app.getByTestId('page-dirty').waitFor();
    await expect(leavingAsks(app)).resolves.toBe(true);
    await app.getByTestId('page-save').click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });
    expect((await h.app.deps.employeeSync.getSettings(h.portal.memberId))?.settings.importStatuses).toBe(true);
    await expect(leavingAsks(app)).resolves.toBe(false);
    // «Настройки сохранены» stays (a timed notice could pass unseen) until the next change
    await app.waitForTimeout(5_000);
    await expect(app.getByTestId('page-saved').isVisible()).resolves.toBe(true);

    // «Чаты»: a channel, and a checkbox with a description
    await app.getByRole('tab', { name: ru['tabs.chats'], exact: true }).click();
    await app.getByTestId('crm-chats-add-to-closed').waitFor({ timeout: 20_000 });
    await app.getByText(ru['crm.addToClosed'], { exact: true }).click();
    await expect.poll(() => checked(app, 'crm-chats-add-to-closed')).toBe('true');
    await app.getByTestId('page-saved').waitFor({ state: 'hidden' });
    await app.getByText(ru['crm.channel.avito'], { exact: true }).click();
    await expect.poll(() => checked(app, 'crm-chats-channel-avito')).toBe('false');
  });

  it('the frame shrinks back when a short tab follows a long one', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    await installAndLink(h);
    const { page, app } = await openSettings(h);
    await app.getByRole('tab', { name: ru['tabs.chats'], exact: true }).click();
    await app.getByTestId('crm-chats-fields').waitFor({ timeout: 20_000 });
    await expect.poll(() => frameHeight(page), { timeout: 10_000 }).toBeGreaterThan(1800);
    const tall = await frameHeight(page);
    await app.getByRole('tab', { name: ru['tabs.home'], exact: true }).click();
    await expect.poll(() => frameHeight(page), { timeout: 10_000 }).toBeLessThan(tall - 300);
    // and the frame still holds the whole tab: the page does not scroll inside it
    const inner = await app.evaluate(() => document.documentElement.scrollHeight - document.documentElement.clientHeight);
    expect(inner).toBeLessThanOrEqual(2);
  });

  it('«Чаты» stay savable when an open line takes a ticked channel: it shows off with a notice, other changes are saved', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    const { session, acc } = await installAndLink(h);
    expect((await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', chatsWithWhatsApp())).status).toBe(200);
    const { app } = await openSettings(h);
    await app.getByRole('tab', { name: ru['tabs.chats'], exact: true }).click();
    await app.getByTestId('crm-chats-channel-whatsapp').waitFor({ timeout: 20_000 });
    await expect(checked(app, 'crm-chats-channel-whatsapp')).resolves.toBe('true');

    // meanwhile the admin connects WhatsApp to open line 1 in the contact center (another tab)
    const wa = String(acc.adapterChannels().find((c) => c.type === 'whatsapp')!.id);
    expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: wa })).status).toBe(200);

    // an unrelated change on the page opened before: it is saved, WhatsApp is not
    await app.getByTestId('crm-chats-add-to-closed').click();
    await app.getByTestId('page-save').click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });
    await expect(app.getByTestId('crm-save-error').count()).resolves.toBe(0);
    const saved = (await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).json as { settings: CrmRulesSettings };
    expect(saved.settings).toMatchObject({ addToClosed: true, channels: ['telegram'] });
    // the page now shows WhatsApp off, not tickable, with the «Открытые линии» mark and the notice
    await expect.poll(() => checked(app, 'crm-chats-channel-whatsapp')).toBe('false');
    await expect(app.getByTestId('crm-chats-channel-whatsapp').isDisabled()).resolves.toBe(true);
    await expect(app.getByTestId('crm-chats-open-lines').innerText()).resolves.toContain(ru['crm.openLines.body']);
  });

  it('«Открыть настройки» on the workspace page opens the app in a slider in the sandbox portal (openApplication)', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    await installApp(h); // no UIS account yet: the left-menu page offers the settings
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${h.portal.origin}/?user=1`);
    await page.locator('nav.left-menu a[data-placement="LEFT_MENU"]').click();
    const menu = await appFrame(page, '/b24/placements/left-menu');
    await menu.getByTestId('workspace-open-settings').click();
    const slider = page.getByTestId('emu-slider');
    await slider.waitFor({ timeout: 10_000 });
    // the slider holds the app's main page, served by our server: the UIS account form
    const inner = page.frameLocator('.emu-slider-frame').frameLocator('iframe.app-frame');
    await inner.getByTestId('uis-link-form').waitFor({ timeout: 20_000 });
    await page.locator('.emu-slider-close').click();
    await slider.waitFor({ state: 'detached' });
  });
});
