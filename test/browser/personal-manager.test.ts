import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { telephonyRu } from '../../app/i18n/telephony.ru';
import { PROJECT_ROOT } from '../../server/compose';
import { defaultTelephonySettings } from '../../server/contracts/telephony-settings';
import { createDistRenderer } from '../../server/http/page-renderer';
import { installAndLink } from '../support/bridge-fixture';
import { appFrame, launchChromium } from '../support/browser';
import { api, startHarness, type Harness } from '../support/harness';

/**
 * «Переадресация на персонального менеджера из CRM» as the administrator sets it up (issue #14):
 * in headless Chromium inside the emulated portal he ticks «Использовать» in the «Телефония» tab,
 * copies what the tab shows into the UIS scenario's interactive-processing operation and saves;
 * a client whose contact belongs to Иван calls, and only Иван's UIS employee (Марина) rings; the
 * tab, opened again, says UIS asked once and the manager was found.
 * Needs `npx vite build`.
 */
const ADMIN = 1;
let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});

describe('«Переадресация на персонального менеджера из CRM» in the «Телефония» tab', () => {
  it('the admin switches it on and sets up the UIS operation from the tab; the client\'s manager rings', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    const { acc, session } = await installAndLink(h);
    const pbx = acc.pbx;
    const [anna, marina] = acc.employees.map((e) => e.id) as [number, number];
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
      { b24UserId: ADMIN, uisEmployeeId: anna, matchedBy: 'email' },
      { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' },
    ]);
    const d = defaultTelephonySettings();
    const saved = await api(h.app.url, session, 'PUT', '/api/telephony', { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } });
    expect(saved.status).toBe(200);
    h.portal.crm.add('CONTACT', { NAME: 'Клиент', PHONE: [{ VALUE: '+7 916 555-00-21', VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: 2 }, null, 0);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.goto(`${h.portal.origin}/marketplace/app/?user=${ADMIN}`);
    const app = await appFrame(page, '/b24/app');
    await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await app.getByRole('tab', { name: telephonyRu['tabs.telephony'], exact: true }).click();
    await app.getByTestId('tel-pm-card').waitFor({ timeout: 20_000 });
    await expect(app.getByTestId('tel-pm-off').isVisible()).resolves.toBe(true);

    await expect(app.getByTestId('tel-pm-asked').getAttribute('data-asked')).resolves.toBe('0');
    await app.getByTestId('tel-pm-use').click();
    await app.getByTestId('tel-pm-off').waitFor({ state: 'detached', timeout: 10_000 });
    const url = (await app.getByTestId('tel-pm-url').textContent())!.trim();
    const params = (await app.getByTestId('tel-pm-params').textContent())!.split(',').map((p) => p.trim());
    expect(url).toMatch(/\/uis\/manager\/[A-Za-z0-9_-]{43}$/);
    expect(params).toEqual(['numa', 'numb', 'call_session_id']);
    await app.getByTestId('page-save').click();
    await app.getByTestId('page-saved').waitFor({ timeout: 20_000 });
    expect((await h.app.deps.telephony.getSettings(h.portal.memberId))!.settings.personalManager).toEqual({ use: true });

    // in UIS: the «Реклама» scenario's interactive operation, as the tab says
    const op = pbx.interactiveOperation();
    Object.assign(op, { url, method: 'POST', params });
    const call = await pbx.incoming({ from: '79165550021', to: pbx.virtualNumbers[1]!.number });
    expect(call.session.legs.filter((l) => l.state === 'ringing').map((l) => l.employeeId)).toEqual([marina]);
    call.abandon();
    await pbx.settle();

    // the tab, opened again, says UIS asked and the manager was found
    await page.reload();
    const again = await appFrame(page, '/b24/app');
    await again.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await again.getByRole('tab', { name: telephonyRu['tabs.telephony'], exact: true }).click();
    const asked = again.getByTestId('tel-pm-asked');
    await asked.waitFor({ timeout: 20_000 });
    await expect(asked.getAttribute('data-asked')).resolves.toBe('1');
    expect(await asked.textContent()).toContain(telephonyRu['tel.pm.outcome.manager']);
    expect(pageErrors).toEqual([]);
  });
});
