import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Boot } from '../../server/contracts/boot';
import type { InstallProgress, StepView } from '../../server/contracts/install';
import type { PortalView } from '../../server/contracts/portal';
import type { UisLinkView } from '../../server/contracts/uis';
import { en } from '../../app/i18n/en';
import { openLinesEn } from '../../app/i18n/open-lines.en';
import { launchChromium } from '../support/browser';
import { assertBuilt, serveDist, type DistServer } from './serve-dist';

/**
 * The built install and app pages against a scripted /api (no portal: installFinish cannot be
 * delivered, which the page must say). Needs `npx vite build` first.
 */
const SESSION = 'session-sentinel';
const label = (name: string) => ({ ru: name, en: name });
const planSteps: StepView[] = [
  { id: 'connector', label: label('Connector'), status: 'pending' },
  { id: 'events', label: label('Events'), status: 'pending' },
];
const portal: PortalView = { memberId: 'm1', domain: 'acme.bitrix24.ru', status: 'active', installedAt: '2025-01-02T03:04:05Z', scopes: [] };

const unlinked: UisLinkView = {
  linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null,
};

let browser: Browser;
let server: DistServer;
let runs = 0;
const auth: (string | undefined)[] = [];

/** First run: events fails; every later run succeeds. Lines are flushed one by one with a pause. */
function script(run: number): InstallProgress[] {
  const failed = run === 1;
  return [
    { type: 'plan', steps: planSteps },
    { type: 'step', step: { ...planSteps[0]!, status: 'running' } },
    { type: 'step', step: { ...planSteps[0]!, status: 'done', detail: 'created' } },
    { type: 'step', step: { ...planSteps[1]!, status: 'running' } },
    failed
      ? { type: 'step', step: { ...planSteps[1]!, status: 'failed', error: { code: 'ACCESS_DENIED', message: 'event.bind: access denied' } } }
      : { type: 'step', step: { ...planSteps[1]!, status: 'done', detail: 'already present' } },
    { type: 'done', ok: !failed },
  ];
}

beforeAll(async () => {
  assertBuilt();
  const boot = (page: Boot['page']): Boot => ({
    page, lang: 'en', session: SESSION, memberId: 'm1', placement: 'DEFAULT', placementOptions: {}, isAdmin: true, error: null,
  });
  server = await serveDist(
    (page) => boot(page),
    (req, res, url) => {
      auth.push(req.headers.authorization);
      if (req.method === 'POST' && url.pathname === '/api/install/run') {
        runs += 1;
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const lines = script(runs);
        const tick = (): void => {
          const next = lines.shift();
          if (!next) return void res.end();
          res.write(JSON.stringify(next) + '\n');
          setTimeout(tick, 30);
        };
        tick();
      } else if (req.method === 'GET' && url.pathname === '/api/portal') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(portal));
      } else if (req.method === 'GET' && url.pathname === '/api/uis/link') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(unlinked));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NOT_FOUND', message: 'no such api' }));
      }
    },
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('install page with a scripted server', () => {
  it('when a step fails, then it shows the step and message; when retried, then it completes', async () => {
    const page = await browser.newPage();
    const errors: Error[] = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${server.url}/b24/install`);

    const status = page.getByTestId('install-status');
    await page.locator('[data-testid="install-status"][data-status="failed"]').waitFor({ timeout: 10_000 });
    await expect(page.getByTestId('install-step-connector').getAttribute('data-status')).resolves.toBe('done');
    await expect(page.getByTestId('install-step-events').getAttribute('data-status')).resolves.toBe('failed');
    const error = await page.getByTestId('install-error').innerText();
    expect(error).toContain(en['install.errorStep'].replace('{step}', 'Events'));
    expect(error).toContain('event.bind: access denied');

    await page.getByTestId('install-retry').click();
    await page.locator('[data-testid="install-status"][data-status="done"]').waitFor({ timeout: 10_000 });
    await expect(status.innerText()).resolves.toBe(en['install.state.done']);
    await expect(page.getByTestId('install-retry').count()).resolves.toBe(0);
    // Outside a portal installFinish() has no frame to talk to; the page says so instead of waiting.
    await page.getByText(en['install.finishNoFrame']).waitFor({ timeout: 15_000 });

    expect(runs).toBe(2);
    expect(auth.every((a) => a === `Bearer ${SESSION}`)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('app page with a scripted server', () => {
  it('when opened, then it shows the portal from /api/portal and says where open lines are connected', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/b24/app`);
    const info = page.getByTestId('portal-info');
    await info.waitFor({ timeout: 10_000 });
    await expect(info.innerText()).resolves.toContain('acme.bitrix24.ru');
    await expect(info.innerText()).resolves.toContain(en['portalStatus.active']);
    await expect(page.getByTestId('uis-link-status').getAttribute('data-linked')).resolves.toBe('false');
    await page.getByRole('tab', { name: en['tabs.openlines'], exact: true }).click();
    await expect(page.getByTestId('tab-openlines').innerText()).resolves.toBe(openLinesEn['ol.intro']);
    await page.close();
  });
});
