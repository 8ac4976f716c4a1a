/**
 * `npm run screenshots` — every settings tab, the connector page and the health view at 1440 and
 * 1024 px, in headless Chromium, against the emulated portal and UIS platform (the sandbox's
 * world: a portal with the app installed, a UIS account linked, WhatsApp bound to open line 1).
 * The health view twice: as it is, and with trouble (the bound channel disabled in UIS, a chat
 * given up). Writes PNGs into `screenshots/` (git-ignored) and prints their paths. Needs `npm run build`
 * (the script runs it first) and Chromium (test/support/browser.ts).
 *
 *   npm run screenshots [-- --only home,connector] [-- --out dir]
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../server/compose';
import { createDistRenderer } from '../../server/http/page-renderer';
import { linkAndBind } from '../support/bridge-fixture';
import { appFrame, launchChromium } from '../support/browser';
import { api, startHarness } from '../support/harness';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = arg('--only')?.split(',');
const out = resolve(arg('--out') ?? join(PROJECT_ROOT, 'screenshots'));
const WIDTHS = [1440, 1024] as const;

/** Settings tabs by their value (the page's tab list), in the order they appear. */
const TABS = ['home', 'telephony', 'chats', 'offline', 'openlines', 'analytics'] as const;
const tabOf = (f: Frame, name: string) => f.locator(`[role="tab"][id$="-trigger-${name}"]`);
const wanted = (name: string) => !only || only.includes(name);

async function settle(page: Page): Promise<void> {
  // the frame is refitted on the next animation frame after a content change; give it a moment
  await page.waitForTimeout(600);
  await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
}

/**
 * The whole page: the viewport is stretched to the document's height first (a full-page capture
 * of a page holding an iframe paints the frame only as far as the viewport reached), then put back.
 */
async function shoot(page: Page, file: string): Promise<void> {
  await settle(page);
  const size = page.viewportSize()!;
  const height = await page.evaluate(() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await settle(page);
  const path = join(out, file);
  await page.screenshot({ path });
  await page.setViewportSize(size);
  console.log(`  ${path}`);
}

/** The «Состояние» card alone (on «Главная»). */
async function shootHealth(app: Frame, page: Page, file: string): Promise<void> {
  await tabOf(app, 'home').click();
  const health = app.getByTestId('health');
  await health.waitFor({ timeout: 20_000 });
  // as in shoot(): a frame paints only as far as the viewport reached
  const size = page.viewportSize()!;
  const height = await page.evaluate(() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await settle(page);
  const path = join(out, file);
  await health.screenshot({ path });
  await page.setViewportSize(size);
  console.log(`  ${path}`);
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')) });
  const browser = await launchChromium();
  try {
    const { acc, session } = await linkAndBind(h);
    // «Открытые линии» on, with «Доп. поля» rows to show
    await api(h.app.url, session, 'PUT', '/api/open-lines/settings', {
      enabled: true,
      fields: [
        { uisField: 'communication_id', entity: 'lead', b24Field: 'UF_CRM_UIS_CHAT_ID', alwaysUpdate: false },
        { uisField: 'utm_source', entity: 'contact', b24Field: 'UTM_SOURCE', alwaysUpdate: true },
      ],
    });
    await h.portal.drainEvents();

    for (const width of WIDTHS) {
      console.log(`${width} px`);
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(`${h.portal.origin}/marketplace/app/?user=1`);
      const app: Frame = await appFrame(page, '/b24/app');
      await tabOf(app, 'home').waitFor({ timeout: 20_000 });
      await app.getByTestId('uis-link-status').waitFor({ timeout: 20_000 });
      for (const tab of TABS) {
        if (!wanted(tab)) continue;
        await tabOf(app, tab).click();
        await shoot(page, `settings-${tab}-${width}.png`);
      }
      if (wanted('health')) await shootHealth(app, page, `health-${width}.png`);
      await page.close();

      if (wanted('connector')) {
        const cc = await browser.newPage({ viewport: { width, height: 900 } });
        await cc.goto(`${h.portal.origin}/contact_center/?user=1`);
        await cc.locator('[data-connector="uis_omni"]').first().click();
        const f = await appFrame(cc, '/b24/placements/connector');
        await f.getByTestId('connector-status').waitFor({ timeout: 20_000 });
        await shoot(cc, `connector-${width}.png`);
        await cc.close();
      }
    }

    // «Состояние» with something to say: UIS disables the bound WhatsApp channel, a chat gave up for want of access
    if (wanted('health')) {
      await acc.updateChannel('whatsapp', { status: 'disabled', statusReason: 'Номер заблокирован' });
      await acc.settle();
      const now = h.app.deps.clock.now();
      h.app.db
        .prepare(`INSERT INTO crm_requests (member_id, kind, request_id, event, status, due_at, reason, updated_at) VALUES (?, 'chat', 'shot', 'finished', 'failed', ?, ?, ?)`)
        .run(h.portal.memberId, now, 'REAUTH_REQUIRED: an administrator must open the app again', new Date(now).toISOString());
      for (const width of WIDTHS) {
        const page = await browser.newPage({ viewport: { width, height: 900 } });
        await page.goto(`${h.portal.origin}/marketplace/app/?user=1`);
        const app = await appFrame(page, '/b24/app');
        await app.locator('[data-testid="health"][data-level="error"]').waitFor({ timeout: 20_000 });
        await shootHealth(app, page, `health-error-${width}.png`);
        await page.close();
      }
    }
  } finally {
    await browser.close();
    await h.portal.drainEvents().catch(() => undefined);
    await h.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
