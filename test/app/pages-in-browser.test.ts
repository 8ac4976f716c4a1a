import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Boot } from '../../server/contracts/boot';
import { ru } from '../../app/i18n/ru';
import { launchChromium } from '../support/browser';
import { assertBuilt, serveDist, type DistServer } from './serve-dist';

/**
 * Smoke tests of the built pages opened directly, outside any portal: they must explain
 * themselves instead of hanging. Needs `npx vite build` first and Chromium (test/support/browser.ts).
 */
const base: Omit<Boot, 'page'> = {
  lang: 'ru',
  session: null,
  memberId: null,
  placement: 'DEFAULT',
  placementOptions: {},
  isAdmin: false,
  error: null,
};
const refused = { code: 'NOT_FROM_PORTAL', message: 'Страница открыта не из Битрикс24.' };

let browser: Browser;
let server: DistServer;

beforeAll(async () => {
  assertBuilt();
  server = await serveDist((page, url) => {
    if (url.searchParams.has('noboot')) return null;
    if (page === 'crm-tab') return { ...base, page, placement: 'CRM_DEAL_DETAIL_TAB', placementOptions: { ID: '' } };
    return { ...base, page, error: refused };
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens a page, collecting its uncaught errors and the paths it requested. */
async function open(path: string): Promise<{ page: Page; errors: Error[]; requested: string[] }> {
  const page = await browser.newPage();
  const errors: Error[] = [];
  const requested: string[] = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('requestfinished', (r) => requested.push(new URL(r.url()).pathname));
  await page.goto(server.url + path);
  return { page, errors, requested };
}

describe('built pages outside Bitrix24', () => {
  it('when /b24/install is opened with a refused boot, then it shows the error and the Bitrix24 hint, runs nothing', async () => {
    const { page, errors, requested } = await open('/b24/install');
    const error = page.getByTestId('install-error');
    await error.waitFor({ timeout: 10_000 });
    await expect(error.innerText()).resolves.toContain(refused.message);
    await expect(error.innerText()).resolves.toContain(ru['bootError.hint']);
    await expect(page.locator('[data-testid^="install-step-"]').count()).resolves.toBe(0);
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('ru');
    expect(requested.filter((r) => r.startsWith('/api/'))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when /b24/install is served without a boot block, then it says so instead of hanging', async () => {
    const { page, errors } = await open('/b24/install?noboot');
    const error = page.getByTestId('install-error');
    await error.waitFor({ timeout: 10_000 });
    await expect(error.innerText()).resolves.toContain('omni-boot');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when the CRM tab gets ID "" and no portal answers, then it says so without the kit or the frame SDK', async () => {
    const { page, errors, requested } = await open('/b24/placements/crm-tab');
    const info = page.getByTestId('placement-info');
    await info.waitFor({ timeout: 10_000 });
    await expect(info.innerText()).resolves.toContain(ru['crmTab.noId']);
    await expect(info.innerText()).resolves.toContain('сделка');
    await expect(page.getByTestId('workspace-notice').getAttribute('data-reason')).resolves.toBe('no-entity');
    // The workspace pages send their few frame commands as raw postMessage strings (issue #5):
    // outside a portal they are no-ops, and the SDK is never loaded.
    await page.waitForTimeout(300);
    expect(errors).toEqual([]);
    expect(requested.filter((r) => r.includes('b24ui') || r.includes('b24jssdk'))).toEqual([]);
    await page.close();
  });
});
