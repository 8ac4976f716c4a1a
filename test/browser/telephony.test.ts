import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ru as common } from '../../app/i18n/ru';
import { telephonyRu } from '../../app/i18n/telephony.ru';
import { PROJECT_ROOT } from '../../server/compose';
import { CALL_EVENT_TYPES } from '../../server/contracts/telephony';
import { EXAMPLE_CALL_VARS } from '../../server/domain/crm-rules/call-templates';
import { createDistRenderer } from '../../server/http/page-renderer';
import { chooseOption as choose } from '../support/b24-select';
import { installAndLink, until } from '../support/bridge-fixture';
import { appFrame, launchChromium } from '../support/browser';
import { startHarness, type Harness } from '../support/harness';

/** The settings page's catalogue: ru.ts and its own (telephony's among them, settings-messages.ts). */
const ru = { ...common, ...telephonyRu };

/**
 * «Телефония» end to end (issue #13, «What must be shown»): in headless Chromium inside the
 * emulated portal the administrator switches the tab on, picks the responsibles, the lead stage and
 * a title template, and saves with the page's one «Сохранить»; the notifications the tab shows are
 * configured in the emulated UIS; a client calls; the card pops up for the employee whose phone
 * rings, on the portal; the lead appears with that title, stage and responsible, and the call with
 * its recording is on the lead's timeline. Needs `npx vite build`.
 */
const ADMIN = 1;
const CLIENT = '79165550011';

let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});

const ours = (rows: Array<Record<string, unknown>>) => rows.filter((r) => r.ORIGINATOR_ID === 'uis_omni');

describe('«Телефония» configured by the administrator in the emulated portal', () => {
  it('the admin configures the tab; a client calls; the card pops up for the ringing employee; the lead has the title, stage and responsible, and the recording is on its timeline', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    const { acc } = await installAndLink(h);
    const pbx = acc.pbx;
    pbx.settings.recordingDelayMs = 300;
    const [anna, marina] = acc.employees.map((e) => e.id) as [number, number];
    // the employee sync paired them (extensions 101, 102 ↔ UF_PHONE_INNER)
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
      { b24UserId: ADMIN, uisEmployeeId: anna, matchedBy: 'email' },
      { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' },
    ]);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.goto(`${h.portal.origin}/marketplace/app/?user=${ADMIN}`);
    const app = await appFrame(page, '/b24/app');
    await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });

    await app.getByRole('tab', { name: ru['tabs.telephony'] }).click();
    await app.getByTestId('tel-tab').waitFor({ timeout: 20_000 });
    const enabled = app.getByTestId('tel-enabled');
    await expect(enabled.getAttribute('aria-checked')).resolves.toBe('false');
    await enabled.click();
    await expect.poll(() => enabled.getAttribute('aria-checked')).toBe('true');

    // «При включении данной функции, вся основная функциональность телефонии будет деактивирована» (seed 002 line 50)
    const processing = ['tel-create-incoming', 'tel-create-outgoing', 'tel-delay', 'tel-vn-source', 'tel-filter-use'];
    const other = app.getByTestId('tel-other-telephony');
    await other.click();
    await app.getByTestId('tel-other-on').waitFor({ timeout: 10_000 });
    for (const id of processing) await expect(app.getByTestId(id).isDisabled(), id).resolves.toBe(true);
    await other.click();
    await app.getByTestId('tel-other-on').waitFor({ state: 'detached', timeout: 10_000 });
    for (const id of processing) await expect(app.getByTestId(id).isDisabled(), id).resolves.toBe(false);

    // «Фильтровать звонки»: a filter on «Сотрудник» brings the manual's warning (line 89); one on the
    // number called does not, and the call below passes it
    await app.getByTestId('tel-filter-use').click();
    await app.getByTestId('tel-filter-in-add-group').click();
    await choose(app, 'tel-filter-in-param-0-0', ru['tel.param.employee_id']);
    await app.getByTestId('tel-answer-warning').waitFor({ timeout: 10_000 });
    await choose(app, 'tel-filter-in-param-0-0', ru['tel.param.virtual_phone_number']);
    await app.getByTestId('tel-answer-warning').waitFor({ state: 'detached', timeout: 10_000 });
    const called = pbx.virtualNumbers[0]!;
    await choose(app, 'tel-filter-in-values-0-0', `${called.name} (${called.number})`);

    // «Ответственные» from the portal's users, «Воронки» from its lead statuses
    await choose(app, 'tel-responsible-in', 'Иван Сотрудников');
    await choose(app, 'tel-responsible-out', 'Анна Админова');
    await choose(app, 'tel-funnel-in-defaults-lead-status', 'В работе');
    // «Шаблоны»: typed text and a variable from the «+» picker, previewed on the example call
    const template = app.locator('input[data-testid="tel-template-in-lead"]');
    await template.fill('Звонок с ');
    await choose(app, 'tel-template-in-lead-variable', ru['tel.var.contact_phone_number']);
    await expect(template.inputValue()).resolves.toBe('Звонок с {{contact_phone_number}}');
    await expect.poll(() => app.getByTestId('tel-template-in-lead-preview').innerText(), { timeout: 10_000 }).toBe(`Звонок с ${EXAMPLE_CALL_VARS.contact_phone_number}`);

    await expect(app.getByTestId('page-dirty').isVisible()).resolves.toBe(true);
    await app.getByTestId('page-save').click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });

    // what to configure in UIS, as the tab shows it: per event type the URL and the body template
    for (const type of CALL_EVENT_TYPES) {
      const url = (await app.getByTestId(`tel-url-${type}`).textContent())!.trim();
      const body = (await app.getByTestId(`tel-body-${type}`).textContent())!;
      expect(await app.getByTestId(`tel-arrived-${type}`).getAttribute('data-arrived')).toBe('no');
      pbx.addNotification({ eventType: type, method: 'POST', url, body, contentType: 'application/json' });
    }

    // a client calls «Основной»: the sales group rings (Анна = the admin, Марина = Иван)
    const portalPage = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await portalPage.goto(`${h.portal.origin}/?user=${ADMIN}`);
    const call = await pbx.incoming({ from: CLIENT, to: pbx.virtualNumbers[0]!.number });
    const card = portalPage.locator('[data-testid="call-card"]');
    await card.waitFor({ timeout: 20_000 });
    expect(await card.getByTestId('call-card-phone').textContent()).toBe('+7 916 555-00-11');

    call.answer(anna);
    await new Promise((r) => setTimeout(r, 2200));
    call.hangup();
    await card.waitFor({ state: 'detached', timeout: 20_000 });

    const settle = async () => {
      await pbx.settle();
      await h!.app.deps.telephonyWorker.drain();
    };
    await until(() => h!.portal.telephony.files.length === 1, settle, 200, 50);
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ TITLE: `Звонок с +${CLIENT}`, STATUS_ID: 'IN_PROCESS', ASSIGNED_BY_ID: String(ADMIN) });
    const saved = await h.app.deps.telephony.getSettings(h.portal.memberId);
    expect(saved!.settings.processing.filter).toMatchObject({ use: true, incoming: { groups: [{ conditions: [{ param: 'virtual_phone_number', rule: 'allowed', values: [called.number] }] }] } });

    // the lead's timeline on the portal: the call with its duration and the recording
    await portalPage.goto(`${h.portal.origin}/crm/lead/details/${String(lead!.ID)}/?user=${ADMIN}`);
    const activity = portalPage.getByTestId('call-activity').first();
    await activity.waitFor({ timeout: 10_000 });
    expect(Number(await activity.getAttribute('data-duration'))).toBe(call.session.talkSeconds);
    expect(await activity.getAttribute('data-completed')).toBe('Y');
    expect(await portalPage.getByTestId('call-record').count()).toBe(1);

    // the tab now says which notification types arrived
    await page.reload();
    const again = await appFrame(page, '/b24/app');
    await again.getByRole('tab', { name: ru['tabs.telephony'] }).click();
    await again.getByTestId('tel-tab').waitFor({ timeout: 20_000 });
    await expect.poll(() => again.getByTestId('tel-arrived-call_finished').getAttribute('data-arrived'), { timeout: 10_000 }).toBe('yes');
    expect(await again.getByTestId('tel-arrived-outgoing_call').getAttribute('data-arrived')).toBe('no');
    expect(pageErrors).toEqual([]);
  });
});
