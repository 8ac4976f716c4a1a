import { join } from 'node:path';
import { chooseOption as choose } from '../support/b24-select';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ru } from '../../app/i18n/ru';
import { PROJECT_ROOT } from '../../server/compose';
import type { CrmRulesView } from '../../server/contracts/crm-settings';
import { EXAMPLE_VARS } from '../../server/domain/crm-rules/template-vars';
import { createDistRenderer } from '../../server/http/page-renderer';
import { installAndLink, until } from '../support/bridge-fixture';
import { appFrame, launchChromium } from '../support/browser';
import { api, startHarness, type Harness } from '../support/harness';

/**
 * «Чаты» end to end (issue #6, «What must be shown»): in headless Chromium inside the emulated
 * portal, the administrator configures the Chats tab of the app page through its UI and saves
 * with the page's one «Сохранить»; a visitor then writes on WhatsApp through the UIS emulator and
 * the portal's CRM gets exactly one lead with the template's title, the chosen stage and the
 * chosen responsible — also shown on the portal's own lead list. Needs `npx vite build`.
 */
const ADMIN = 1;
const IVAN = 2; // «Иван Сотрудников», a plain employee of the emulated portal

let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});


const ours = (rows: Array<Record<string, unknown>>) => rows.filter((r) => r.ORIGINATOR_ID === 'uis_omni');

describe('«Чаты» configured by the administrator in the emulated portal', () => {
  it('the admin switches the tab on, picks the responsible, a primary lead at «В работе» and a title template; after «Сохранить» a WhatsApp chat creates exactly that lead', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')), crmRules: { gatherMs: 30, reportRetries: 1 } });
    const { session, acc } = await installAndLink(h);
    const before = (await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView;
    expect(before).toMatchObject({ saved: false, settings: { enabled: false, responsible: { defaultUserId: null } } });

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.goto(`${h.portal.origin}/marketplace/app/?user=${ADMIN}`);
    const app = await appFrame(page, '/b24/app');
    await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });

    // «Чаты»: off and nothing chosen yet
    await app.getByRole('tab', { name: ru['tabs.chats'] }).click();
    await app.getByTestId('crm-chats-tab').waitFor({ timeout: 20_000 });
    const enabled = app.getByTestId('crm-chats-enabled');
    await expect(enabled.getAttribute('aria-checked')).resolves.toBe('false');
    await enabled.click();
    await expect.poll(() => enabled.getAttribute('aria-checked')).toBe('true');
    await expect(app.getByTestId('crm-chats-create-entities').getAttribute('aria-checked')).resolves.toBe('true');
    await expect(app.getByTestId('crm-chats-channel-whatsapp').getAttribute('aria-checked')).resolves.toBe('true');

    // the responsible and the lead stage come from the portal's CRM (users, lead statuses)
    await choose(app, 'crm-chats-responsible-default', 'Иван Сотрудников');
    await choose(app, 'crm-chats-primary-entities', ru['crm.entities.lead']);
    await choose(app, 'crm-chats-funnel-primary-defaults-lead-status', 'В работе');

    // the title template: typed text and variables from the «+ Переменная» picker
    const template = app.locator('input[data-testid="crm-chats-template-lead"]');
    await template.fill('Чат ');
    await choose(app, 'crm-chats-template-lead-variable', ru['crm.var.channel_type']);
    await template.focus();
    await template.press('End');
    await template.pressSequentially(': ');
    await choose(app, 'crm-chats-template-lead-variable', ru['crm.var.visitor_name']);
    await expect(template.inputValue()).resolves.toBe('Чат {{channel_type}}: {{visitor_name}}');
    // the preview renders it on the example chat
    const preview = app.getByTestId('crm-chats-template-lead-preview');
    await expect.poll(() => preview.innerText(), { timeout: 10_000 }).toBe(`Чат ${EXAMPLE_VARS.channel_type}: ${EXAMPLE_VARS.visitor_name}`);

    // unsaved: the warning is up, the tab has its badge; then the page's one «Сохранить»
    await expect(app.getByTestId('page-dirty').isVisible()).resolves.toBe(true);
    await expect(app.getByRole('tab', { name: ru['tabs.chats'] }).innerText()).resolves.toContain('•');
    const save = app.getByTestId('page-save-bar').getByRole('button', { name: ru['pageSave.save'], exact: true });
    await expect(save.count()).resolves.toBe(1);
    await save.click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });
    await expect(app.getByTestId('page-saved').innerText()).resolves.toBe(ru['pageSave.saved']);
    await expect(app.getByTestId('page-dirty').count()).resolves.toBe(0);
    await expect(app.getByTestId('crm-save-error').count()).resolves.toBe(0);
    await expect(app.getByTestId('page-save-invalid').count()).resolves.toBe(0);
    await expect(save.isDisabled()).resolves.toBe(true);
    await expect(app.getByRole('tab', { name: ru['tabs.chats'] }).innerText()).resolves.not.toContain('•');

    // the server holds exactly what the admin chose
    const after = (await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView;
    expect(after).toMatchObject({
      saved: true,
      settings: {
        enabled: true,
        createEntities: true,
        responsible: { defaultUserId: IVAN, rules: [] },
        primary: { entities: 'lead', activity: false },
        funnels: { primary: { defaults: { leadStatusId: 'IN_PROCESS' } } },
        templates: { lead: 'Чат {{channel_type}}: {{visitor_name}}', deal: '' },
      },
    });
    expect(after.settings.channels).toContain('whatsapp');

    // opened again, the tab shows what was saved
    await page.goto(`${h.portal.origin}/marketplace/app/?user=${ADMIN}`);
    const again = await appFrame(page, '/b24/app');
    await again.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await again.getByRole('tab', { name: ru['tabs.chats'] }).click();
    await again.getByTestId('crm-chats-tab').waitFor({ timeout: 20_000 });
    await expect(again.getByTestId('crm-chats-enabled').getAttribute('aria-checked')).resolves.toBe('true');
    await expect.poll(() => again.getByTestId('crm-chats-responsible-default').innerText(), { timeout: 10_000 }).toBe('Иван Сотрудников');
    await expect(again.getByTestId('crm-chats-funnel-primary-defaults-lead-status').innerText()).resolves.toBe('В работе');
    await expect(again.locator('input[data-testid="crm-chats-template-lead"]').inputValue()).resolves.toBe('Чат {{channel_type}}: {{visitor_name}}');
    await expect(again.getByTestId('page-dirty').count()).resolves.toBe(0);

    // a visitor writes on WhatsApp
    const leadsBefore = ours(h.portal.crm.leads()).length;
    expect(leadsBefore).toBe(0);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260005501', name: 'Светлана' }, text: 'Здравствуйте, нужен шкаф' });
    const request = () => h!.app.deps.crmRequests.get(h!.portal.memberId, 'chat', String(w.chatId));
    let status: string | undefined;
    const done = () => ours(h!.portal.crm.leads()).length > 0 && status === 'done';
    const settled = await until(
      done,
      async () => {
        await acc.settle();
        await h!.app.deps.crmWorker.drain();
        status = (await request())?.status;
      },
      // generous: the rounds only bound a hang; under a loaded CI machine 100 were seen to run out
      400,
      30,
    );
    expect(settled, JSON.stringify(await request())).toBe(true);
    expect(await request()).toMatchObject({ status: 'done', outcome: 'primary' });
    const leads = ours(h.portal.crm.leads());
    expect(leads).toHaveLength(1);
    expect(leads[0]).toMatchObject({ TITLE: 'Чат WhatsApp: Светлана', STATUS_ID: 'IN_PROCESS', ASSIGNED_BY_ID: String(IVAN) });

    // the responsible sees it in the portal's lead list: title, stage, himself as responsible
    await page.goto(`${h.portal.origin}/crm/lead/?user=${IVAN}`);
    const row = page.locator(`table.grid tr[data-id="${String(leads[0]!.ID)}"]`);
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[1]).toBe('Чат WhatsApp: Светлана');
    expect(cells[2]).toBe('В работе');
    expect(cells[5]).toBe('Иван Сотрудников');
    expect(pageErrors).toEqual([]);
  });
});
