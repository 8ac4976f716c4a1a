import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/compose';
import { createDistRenderer } from '../../server/http/page-renderer';
import { appFrame, launchChromium } from '../support/browser';
import { startHarness, type Harness } from '../support/harness';

let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.close();
  browser = h = undefined;
});

describe('in the emulated portal, with the built pages and the real server', () => {
  it('when the admin installs the app, then every step runs, installFinish happens, and the left menu and a lead card show "UIS Чаты"', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    browser = await launchChromium();
    const page = await browser.newPage();
    const portal = h.portal;

    // Before installation the left menu has no "UIS Чаты".
    await page.goto(`${portal.origin}/?user=1`);
    await expect(page.locator('nav.left-menu').textContent()).resolves.not.toContain('UIS Чаты');

    await page.goto(`${portal.origin}/marketplace/app/?user=1&install=1`);
    const install = await appFrame(page, '/b24/install');
    await install.waitForSelector('[data-testid="install-step-connector"]');
    // installFinish reloads the portal page with install_finished=Y (docs/facts/bitrix24-frame.md#frame-commands)
    await page.waitForURL(/install_finished=Y/, { timeout: 30_000 });
    expect(portal.state().installed).toBe(true);
    expect((await h.app.deps.portals.get(portal.memberId))?.status).toBe('active');
    expect(portal.state().placements.map((p) => p.placement).sort()).toEqual(['CRM_CONTACT_DETAIL_TAB', 'CRM_DEAL_DETAIL_TAB', 'CRM_LEAD_DETAIL_TAB', 'LEFT_MENU']);
    // installFinish made the portal deliver ONAPPINSTALL to our handler, which accepted it
    await portal.drainEvents();
    expect(portal.deliveries.filter((d) => d.event === 'ONAPPINSTALL').map((d) => d.status)).toEqual([200]);

    // After the reload the portal shows the app's main page, served by our server and verified.
    const main = await appFrame(page, '/b24/app');
    await main.waitForSelector('[data-testid="portal-info"]', { timeout: 20_000 });
    await expect(main.locator('[data-testid="portal-info"]').textContent()).resolves.toContain(portal.domain);

    await page.goto(`${portal.origin}/?user=1`);
    await expect(page.locator('nav.left-menu').textContent()).resolves.toContain('UIS Чаты');

    // A plain employee opens a lead card: the "UIS Чаты" tab is there and opens our page for that lead.
    await page.goto(`${portal.origin}/crm/lead/details/1/?user=2`);
    const tab = page.locator('a.tab[data-placement="CRM_LEAD_DETAIL_TAB"]');
    await expect(tab.textContent()).resolves.toBe('UIS Чаты');
    await tab.click();
    const crmTab = await appFrame(page, '/b24/placements/crm-tab');
    await crmTab.waitForSelector('[data-testid="placement-info"]', { timeout: 20_000 });
    await expect(crmTab.locator('[data-testid="placement-info"]').textContent()).resolves.toMatch(/1/);
  });
});
