import { join } from 'node:path';
import type { Browser, Frame } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { healthRu } from '../../app/i18n/health.ru';
import { ru } from '../../app/i18n/ru';
import { PROJECT_ROOT } from '../../server/compose';
import { createDistRenderer } from '../../server/http/page-renderer';
import { linkAndBind } from '../support/bridge-fixture';
import { appFrame, launchChromium } from '../support/browser';
import { startHarness, type Harness } from '../support/harness';

/**
 * «Состояние» in headless Chromium inside the emulated portal (issue #16): the view on «Главная»
 * and the badge above the tabs, in each state — ok; a warning (a failed chat: the reason and
 * the fix in Russian, never the code); an error (UIS disabled the bound channel: named, with what
 * to do). Needs `npx vite build`.
 */
let h: Harness | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await h?.portal.drainEvents();
  await h?.close();
  browser = h = undefined;
});

const fill = (s: string, p: Record<string, string>) => s.replace(/\{(\w+)\}/g, (_, k: string) => p[k] ?? `{${k}}`);
/** No raw codes or English words of the server on the card. */
const noCodes = async (f: Frame) => expect(await f.getByTestId('health').innerText()).not.toMatch(/[A-Z]{3,}_[A-Z_]+|\b(failed|error|pending)\b/);

describe('«Состояние» for the administrator', () => {
  it('shows ok, then a warning with its fix, then an error naming the channel — on «Главная» and as the badge on every tab', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    const { acc } = await linkAndBind(h);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.goto(`${h.portal.origin}/marketplace/app/?user=1`);
    const app = await appFrame(page, '/b24/app');
    const card = app.getByTestId('health');
    await card.waitFor({ timeout: 20_000 });

    // ok: everything works
    await expect.poll(() => card.getAttribute('data-level'), { timeout: 10_000 }).toBe('ok');
    await expect(app.getByTestId('health-summary').innerText()).resolves.toBe(healthRu['health.summary.ok']);
    await expect(app.getByTestId('health-issues').count()).resolves.toBe(0);
    await expect(app.getByTestId('health-queue-bridge-in').innerText()).resolves.toContain(healthRu['health.area.bridge-in']);
    await expect(app.getByTestId('health-lines').innerText()).resolves.toContain('Открытая линия 1');
    await expect(app.getByTestId('health-badge').innerText()).resolves.toBe(fill(healthRu['health.badge'], { level: healthRu['health.level.ok'] }));
    await noCodes(app);

    // warning: a chat the CRM rules gave up on (the worker recorded why)
    const now = h.app.deps.clock.now();
    h.app.db
      .prepare(`INSERT INTO crm_requests (member_id, kind, request_id, event, status, due_at, reason, updated_at) VALUES (?, 'chat', 'r1', 'finished', 'failed', ?, ?, ?)`)
      .run(h.portal.memberId, now, 'REAUTH_REQUIRED: an administrator must open the app again', new Date(now).toISOString());
    await app.getByTestId('health-refresh').click();
    await expect.poll(() => card.getAttribute('data-level'), { timeout: 10_000 }).toBe('warning');
    const failed = app.getByTestId('health-issue-AREA_FAILED');
    await expect(failed.innerText()).resolves.toContain(healthRu['health.area.crm-rules']);
    await expect(failed.getByTestId('health-action').innerText()).resolves.toBe(fill(healthRu['health.what'], { action: healthRu['health.cause.REAUTH_REQUIRED'] }));
    await expect(app.getByTestId('health-queue-crm-rules').getAttribute('data-level')).resolves.toBe('warning');

    // error: UIS disables the bound WhatsApp channel; seen from another tab, the badge says so and leads back
    const channel = acc.adapterChannels().find((c) => c.type === 'whatsapp')!;
    await acc.updateChannel('whatsapp', { status: 'disabled', statusReason: 'Номер заблокирован' });
    await acc.settle();
    await app.getByRole('tab', { name: ru['tabs.chats'], exact: true }).click();
    await app.evaluate(() => window.dispatchEvent(new Event('focus')));
    const badge = app.getByTestId('health-badge');
    await expect.poll(() => badge.getAttribute('data-level'), { timeout: 10_000 }).toBe('error');
    await expect(badge.innerText()).resolves.toBe(fill(healthRu['health.badge'], { level: healthRu['health.level.error'] }));
    await badge.click();
    await card.waitFor();
    await expect(card.getAttribute('data-level')).resolves.toBe('error');
    const disabled = app.getByTestId('health-issue-CHANNEL_DISABLED');
    await expect(disabled.getAttribute('data-level')).resolves.toBe('error');
    await expect(disabled.innerText()).resolves.toContain(fill(healthRu['health.issue.CHANNEL_DISABLED.reason'], { subject: channel.name }));
    await expect(disabled.getByTestId('health-action').innerText()).resolves.toBe(fill(healthRu['health.what'], { action: healthRu['health.issue.CHANNEL_DISABLED.action'] }));
    // errors come first
    await expect(app.getByTestId('health-issues').locator('li').first().getAttribute('data-testid')).resolves.toBe('health-issue-CHANNEL_DISABLED');
    await expect(app.getByTestId('health-uis').innerText()).resolves.toContain(healthRu['health.state.disabled']);
    await noCodes(app);
    expect(pageErrors).toEqual([]);
  });

  it('is not shown to an employee (it is the administrator’s)', async () => {
    h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
    await linkAndBind(h);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${h.portal.origin}/marketplace/app/?user=2`);
    const app = await appFrame(page, '/b24/app');
    await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
    await expect(app.getByTestId('health').count()).resolves.toBe(0);
    await expect(app.getByTestId('health-badge').count()).resolves.toBe(0);
  });
});
