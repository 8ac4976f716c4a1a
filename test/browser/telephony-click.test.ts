import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ru as common } from '../../app/i18n/ru';
import { telephonyRu } from '../../app/i18n/telephony.ru';
import { telephonyStartsRu } from '../../app/i18n/telephony-starts.ru';
import { PROJECT_ROOT } from '../../server/compose';
import { createDistRenderer } from '../../server/http/page-renderer';
import { chooseOption as choose } from '../support/b24-select';
import { installAndLink, until } from '../support/bridge-fixture';
import { appFrame, launchChromium } from '../support/browser';
import { startHarness, type Harness } from '../support/harness';

/** The settings page's catalogue: ru.ts and its own (telephony's among them, settings-messages.ts). */
const ru = { ...common, ...telephonyRu, ...telephonyStartsRu };

/**
 * Click-to-call end to end (issue #14, «What must be shown»), in headless Chromium: the
 * administrator switches «Звонки по клику из CRM» on in the «Телефония» tab (the number is required
 * and disabled while off; the Russian error on the field), picks the number and saves; the
 * employee clicks the client's number on a lead card of the emulated portal; on the emulated PBX's
 * page his phone rings, he answers, the client answers, the call ends; the call is on the lead's
 * timeline. Needs `npx vite build`.
 */
const ADMIN = 1;
const CLIENT = '79165550022';

let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});

describe('click-to-call in the emulated portal', () => {
  it('the employee clicks a number on a lead card, the PBX rings him, he answers, the call ends and is on the lead\'s timeline', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    const { acc } = await installAndLink(h);
    const pbx = acc.pbx;
    pbx.settings.recordingDelayMs = 300;
    const [anna] = acc.employees.map((e) => e.id) as [number];
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [{ b24UserId: ADMIN, uisEmployeeId: anna, matchedBy: 'email' }]);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.goto(`${h.portal.origin}/marketplace/app/?user=${ADMIN}`);
    const app = await appFrame(page, '/b24/app');
    await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await app.getByRole('tab', { name: ru['tabs.telephony'] }).click();
    await app.getByTestId('tel-tab').waitFor({ timeout: 20_000 });
    await app.getByTestId('tel-enabled').click();
    await choose(app, 'tel-responsible-in', 'Анна Админова');
    await choose(app, 'tel-responsible-out', 'Анна Админова');

    // off: the number and «Переопределять АОН» are disabled (seed 002 line 122)
    const number = app.getByTestId('tel-start-click-number');
    await expect(number.isDisabled()).resolves.toBe(true);
    await expect(app.getByTestId('tel-start-click-override').isDisabled()).resolves.toBe(true);
    await app.getByTestId('tel-start-click-use').click();
    await expect.poll(() => number.isDisabled()).toBe(false);
    // on without a number: the page's «Сохранить» shows the field's error in Russian (line 123)
    await app.getByTestId('page-save').click();
    await expect.poll(() => app.getByText(ru['crm.invalid.clickToCall.number']).count(), { timeout: 10_000 }).toBe(1);
    const vn = pbx.virtualNumbers[1]!;
    await choose(app, 'tel-start-click-number', `${vn.name} (${vn.number})`);
    await app.getByTestId('tel-start-click-setup').waitFor();
    await app.getByTestId('page-save').click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });
    const view = await h.app.deps.telephony.getSettings(h.portal.memberId);
    expect(view!.settings.clickToCall).toEqual({ use: true, number: vn.number, overrideCallerId: false });
    for (const type of ['outgoing_call', 'waiting_for_answer', 'talk_started', 'talk_finished', 'call_finished', 'call_recorded'] as const) {
      const url = (await app.getByTestId(`tel-url-${type}`).textContent())!.trim();
      const body = (await app.getByTestId(`tel-body-${type}`).textContent())!;
      pbx.addNotification({ eventType: type, method: 'POST', url, body, contentType: 'application/json' });
    }

    // what the tab told the admin: the app's line is the portal's default outgoing line
    h.portal.telephony.settings.defaultOutgoingLine = { kind: 'line', number: pbx.virtualNumbers[0]!.number };
    const lead = Number((await h.app.deps.gateway.client(h.portal.memberId).call('crm.lead.add', { fields: { TITLE: 'Клиент с сайта', PHONE: [{ VALUE: `+${CLIENT}`, VALUE_TYPE: 'WORK' }] } })).result);

    const portal = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await portal.goto(`${h.portal.origin}/crm/lead/details/${lead}/?user=${ADMIN}`);
    await portal.getByTestId('crm-phone').first().click();
    await until(() => pbx.sessions.length === 1, () => h!.portal.drainEvents(), 100, 50);
    expect(pbx.sessions).toHaveLength(1);

    // the emulated PBX: Анна's phone rings first; she answers, then the client does
    const phone = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await phone.goto(`${h.uis.origin}/pbx?account=${acc.appId}`);
    const annaLeg = phone.locator(`[data-testid="pbx-leg"][data-employee="${anna}"][data-state="ringing"]`);
    await annaLeg.waitFor({ timeout: 20_000 });
    await annaLeg.getByTestId('pbx-answer').click();
    const clientLeg = phone.locator('[data-testid="pbx-leg"][data-employee=""][data-state="ringing"]');
    await clientLeg.waitFor({ timeout: 20_000 });
    await clientLeg.getByTestId('pbx-answer').click();
    // the call card pops up for the employee on the portal while they talk
    await portal.locator('[data-testid="call-card"]').waitFor({ timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 2200));
    await phone.getByTestId('pbx-hangup').first().click();

    const settle = async () => {
      await pbx.settle();
      await h!.app.deps.telephonyWorker.drain();
    };
    await until(() => h!.portal.telephony.statistics.length === 1 && h!.portal.telephony.files.length === 1, settle, 200, 50);
    const [stat] = h.portal.telephony.statistics;
    expect(stat!.record).toMatchObject({ INCOMING: '1', CALL_FAILED_CODE: '200', PORTAL_USER_ID: ADMIN, CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead });

    await portal.goto(`${h.portal.origin}/crm/lead/details/${lead}/?user=${ADMIN}`);
    const activity = portal.getByTestId('call-activity').first();
    await activity.waitFor({ timeout: 10_000 });
    expect(Number(await activity.getAttribute('data-duration'))).toBe(pbx.sessions[0]!.talkSeconds);
    expect(Number(await activity.getAttribute('data-duration'))).toBeGreaterThan(0);
    expect(await portal.getByTestId('call-record').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});
