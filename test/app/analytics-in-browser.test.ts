import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseOption as choose } from '../support/b24-select';
import type { Browser, Page } from 'playwright-core';
import type { Boot } from '../../server/contracts/boot';
import type { PortalView } from '../../server/contracts/portal';
import type { UisLinkView } from '../../server/contracts/uis';
import {
  analyticsSettingsSchema,
  type AnalyticsJobView,
  type AnalyticsLists,
  type AnalyticsSettings,
  type AnalyticsView,
} from '../../server/contracts/analytics';
import { en } from '../../app/i18n/en';
import { ru } from '../../app/i18n/ru';
import { launchChromium } from '../support/browser';
import { assertBuilt, readJson, serveDist, type DistServer } from './serve-dist';

/**
 * «Открытые линии: сквозная аналитика» in the built app page against a scripted /api (state kept
 * here). `?admin=0` opens the page as a plain employee (English), `?linked=0` without a UIS account.
 * Needs `npx vite build` first.
 */
const ADMIN_SESSION = 'admin-session-sentinel';
const USER_SESSION = 'user-session-sentinel';
const HOOK_URL = 'https://omni.example/b24/analytics/HOOK_SENTINEL';
const SCRIPT = { version: '1.2.3', code: '(function(){ window.__uisOmniAnalytics = "SCRIPT_SENTINEL"; })();' };
const STALE_EMPLOYEE = 2;
const STALE_MESSAGE = 'employeeId 2 is not an employee of the UIS account';

const portal: PortalView = { memberId: 'm1', domain: 'acme.bitrix24.ru', status: 'active', installedAt: '2025-01-02T03:04:05Z', scopes: [] };
const linked: UisLinkView = {
  linked: true,
  project: 'uis',
  login: 'admin@acme',
  accountId: '12345',
  accountName: 'ACME Corp',
  linkedAt: '2025-03-04T05:06:07Z',
  webhookUrl: 'https://omni.example/uis/webhook/m1',
  lastError: null,
};
const unlinked: UisLinkView = {
  linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null,
};
const lists: AnalyticsLists = {
  employees: [
    { id: 1, name: 'Анна Операторова' },
    { id: STALE_EMPLOYEE, name: 'Борис Уволенный' },
  ],
  sites: [
    { id: 10, name: 'acme.ru' },
    { id: 11, name: 'shop.acme.ru' },
  ],
  sources: [
    { id: 20, name: 'Яндекс Директ' },
    { id: 21, name: 'Google Ads' },
  ],
  campaigns: [{ id: 30, name: 'Весна 2025', siteId: 10 }],
};
const jobs: AnalyticsJobView[] = [
  { entityType: 'lead', entityId: 101, status: 'uploaded', reason: null, chatId: 5, attribution: 'session 987654', updatedAt: '2025-05-01T10:00:00Z' },
  { entityType: 'deal', entityId: 7, status: 'skipped', reason: 'NO_CONTACT: the chat has neither a phone nor an e-mail', chatId: 6, attribution: null, updatedAt: '2025-05-01T09:00:00Z' },
  { entityType: 'lead', entityId: 102, status: 'skipped', reason: 'OWN_CONNECTOR: the chat came through the UIS OMNI connector and is already in UIS analytics', chatId: 8, attribution: null, updatedAt: '2025-05-01T08:00:00Z' },
];
const blank: AnalyticsSettings = {
  enabled: false,
  employeeId: null,
  trafficType: 'source',
  defaults: { sourceId: null, siteId: null, campaignId: null },
  messengers: {},
  webhookToken: null,
};
const configured: AnalyticsSettings = {
  enabled: true,
  employeeId: 1,
  trafficType: 'source',
  defaults: { sourceId: 20, siteId: 10, campaignId: null },
  messengers: { telegrambot: { sourceId: 21, siteId: 11, campaignId: null } },
  webhookToken: 'APP_TOKEN_SENTINEL',
};

let browser: Browser;
let server: DistServer;
let link: UisLinkView = linked;
let saved: AnalyticsSettings | null = null;
const puts: unknown[] = [];
const calls: string[] = [];

const viewOf = (s: AnalyticsSettings | null): AnalyticsView => ({
  settings: s ?? blank,
  webhookUrl: s ? HOOK_URL : '',
  script: s?.enabled ? SCRIPT : null,
});

function reset(next: { link?: UisLinkView; saved?: AnalyticsSettings | null } = {}): void {
  link = next.link ?? linked;
  saved = next.saved ?? null;
  puts.length = 0;
  calls.length = 0;
}

beforeAll(async () => {
  assertBuilt();
  const boot = (page: Boot['page'], url: URL): Boot => {
    const isAdmin = url.searchParams.get('admin') !== '0';
    return {
      page,
      lang: isAdmin ? 'ru' : 'en',
      session: isAdmin ? ADMIN_SESSION : USER_SESSION,
      memberId: 'm1',
      placement: 'DEFAULT',
      placementOptions: {},
      isAdmin,
      error: null,
    };
  };
  server = await serveDist(boot, (req, res, url) => {
    calls.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const isAdmin = req.headers.authorization === `Bearer ${ADMIN_SESSION}`;
    if (!isAdmin && req.headers.authorization !== `Bearer ${USER_SESSION}`) return send(401, { error: 'NO_SESSION', message: 'no session' });
    const notAdmin = () => send(403, { error: 'NOT_ADMIN', message: 'Only a portal administrator can change analytics settings' });
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /api/portal':
        return send(200, portal);
      case 'GET /api/uis/link':
        return send(200, link);
      case 'GET /api/analytics':
        return send(200, viewOf(saved));
      case 'GET /api/analytics/jobs':
        return send(200, jobs);
      case 'GET /api/analytics/lists':
        if (!isAdmin) return notAdmin();
        if (!link.linked) return send(400, { error: 'UIS_NOT_LINKED', message: 'Link a UIS account on the «Главная» tab first' });
        return send(200, lists);
      case 'PUT /api/analytics':
        if (!isAdmin) return notAdmin();
        void readJson(req).then((body) => {
          puts.push(body);
          const parsed = analyticsSettingsSchema.safeParse(body);
          if (!parsed.success) return send(400, { error: 'VALIDATION_FAILED', message: parsed.error.message });
          if (parsed.data.employeeId === STALE_EMPLOYEE) return send(400, { error: 'VALIDATION_FAILED', message: STALE_MESSAGE });
          saved = parsed.data;
          send(200, viewOf(saved));
        });
        return;
      default:
        return send(404, { error: 'NOT_FOUND', message: 'no such api' });
    }
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openTab(query = '', tab: string = ru['tabs.analytics']): Promise<{ page: Page; errors: Error[] }> {
  const page = await browser.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/b24/app${query}`);
  await page.getByTestId('uis-link-status').waitFor({ timeout: 10_000 });
  await page.getByRole('tab', { name: tab }).click();
  await page.getByTestId('analytics-tab').waitFor();
  return { page, errors };
}


const text = (page: Page, testId: string): Promise<string> => page.getByTestId(testId).innerText();
/** What the control holding `testId` is described by (B24FormField links its message with aria-describedby). */
async function describedBy(page: Page, testId: string): Promise<string> {
  const ids = (await page.getByTestId(testId).getAttribute('aria-describedby')) ?? '';
  const texts = await Promise.all(ids.split(' ').filter(Boolean).map((id) => page.locator(`[id="${id}"]`).innerText()));
  return texts.join('\n');
}

/** Dispatches a cancelable beforeunload and reports whether the page asked to stay. */
const leaveIsGuarded = (page: Page): Promise<boolean> =>
  page.evaluate(() => {
    const event = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(event);
    return event.defaultPrevented;
  });

describe('«Открытые линии: сквозная аналитика» for an administrator', () => {
  it('when enabled without an employee, then Save names the field; once fixed it saves and shows the site script', async () => {
    reset();
    const { page, errors } = await openTab();
    const enabled = page.getByTestId('analytics-enabled');
    await expect(enabled.getAttribute('aria-checked')).resolves.toBe('false');
    await expect(page.getByTestId('page-save').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('page-dirty').count()).resolves.toBe(0);
    await expect(page.getByTestId('analytics-webhook-url').inputValue()).resolves.toBe('');
    await expect(page.getByTestId('analytics-script').count()).resolves.toBe(0);

    await enabled.click();
    await expect(enabled.getAttribute('aria-checked')).resolves.toBe('true');
    await page.getByTestId('page-dirty').waitFor();
    expect(await leaveIsGuarded(page)).toBe(true);

    await choose(page, 'analytics-default-site', 'acme.ru');
    await choose(page, 'analytics-default-source', 'Яндекс Директ');
    // Telegram: a source without a site would silently fall back to the default, so it is refused.
    await choose(page, 'analytics-messenger-telegrambot-source', 'Google Ads');
    await page.getByTestId('analytics-webhook-token').fill('  APP_TOKEN_SENTINEL ');

    await page.getByTestId('page-save').click();
    await page.getByText(ru['analytics.invalid.employeeId']).waitFor();
    await expect(page.getByTestId('analytics-employee').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(describedBy(page, 'analytics-employee')).resolves.toContain(ru['analytics.invalid.employeeId']);
    await expect(describedBy(page, 'analytics-messenger-telegrambot-site')).resolves.toContain(ru['analytics.invalid.siteMissing']);
    await expect(describedBy(page, 'analytics-default-site')).resolves.not.toContain(ru['analytics.invalid.defaults.siteId']);
    await expect(text(page, 'page-save-bar')).resolves.toContain(ru['pageSave.invalid']);
    expect(puts).toEqual([]);

    await choose(page, 'analytics-employee', 'Анна Операторова');
    await page.getByText(ru['analytics.invalid.employeeId']).waitFor({ state: 'detached' });
    await choose(page, 'analytics-messenger-telegrambot-site', 'shop.acme.ru');
    await page.getByText(ru['analytics.invalid.siteMissing']).waitFor({ state: 'detached' });

    await page.getByTestId('page-save').click();
    await page.getByTestId('analytics-script').waitFor({ timeout: 10_000 });
    expect(puts).toEqual([configured]);
    await expect(text(page, 'analytics-script')).resolves.toBe(SCRIPT.code);
    await expect(text(page, 'analytics-tab')).resolves.toContain(ru['analytics.script.help']);
    await expect(text(page, 'analytics-script-version')).resolves.toContain(SCRIPT.version);
    await expect(page.getByTestId('analytics-webhook-url').inputValue()).resolves.toBe(HOOK_URL);
    await expect(page.getByTestId('page-dirty').count()).resolves.toBe(0);
    await page.getByTestId('page-saved').waitFor();
    await expect(page.getByTestId('page-save').isDisabled()).resolves.toBe(true);
    expect(await leaveIsGuarded(page)).toBe(false);

    const jobsText = await text(page, 'analytics-jobs');
    for (const shown of ['Лид #101', ru['analytics.jobStatus.uploaded'], 'session 987654', 'Сделка #7', ru['analytics.jobStatus.skipped'], 'NO_CONTACT']) {
      expect(jobsText).toContain(shown);
    }
    // a chat of our own connector: the reason in words (UIS counts it already), the code kept for support
    const own = page.getByTestId('analytics-jobs').locator('tr', { hasText: 'Лид #102' });
    await expect(own.textContent()).resolves.toContain(`${ru['analytics.jobStatus.skipped']}${ru['analytics.skip.OWN_CONNECTOR']} (OWN_CONNECTOR)`);
    expect(jobsText).toContain(`${ru['analytics.skip.NO_CONTACT']} (NO_CONTACT)`);
    // and no mapping row is offered for it
    await expect(page.getByTestId('analytics-messenger-uis_omni').count()).resolves.toBe(0);
    await expect(page.getByTestId('analytics-messenger-telegrambot').count()).resolves.toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when «Отменить изменения» is clicked, then the saved values come back and nothing is sent', async () => {
    reset({ saved: configured });
    const { page, errors } = await openTab();
    await expect(page.getByTestId('analytics-enabled').getAttribute('aria-checked')).resolves.toBe('true');
    await expect(text(page, 'analytics-employee')).resolves.toBe('Анна Операторова');
    await expect(text(page, 'analytics-default-site')).resolves.toBe('acme.ru');
    await expect(text(page, 'analytics-messenger-telegrambot-site')).resolves.toBe('shop.acme.ru');
    await page.getByTestId('analytics-script').waitFor();

    await page.getByTestId('analytics-traffic').getByRole('radio', { name: ru['analytics.traffic.campaign'] }).click();
    await page.getByTestId('analytics-default-campaign').waitFor();
    await expect(page.getByTestId('analytics-default-site').count()).resolves.toBe(0);
    await choose(page, 'analytics-employee', 'Борис Уволенный');
    await page.getByTestId('analytics-enabled').click();
    await page.getByTestId('page-dirty').waitFor();

    await page.getByTestId('page-revert').click();
    await page.getByTestId('page-dirty').waitFor({ state: 'detached' });
    await expect(page.getByTestId('analytics-enabled').getAttribute('aria-checked')).resolves.toBe('true');
    await expect(text(page, 'analytics-employee')).resolves.toBe('Анна Операторова');
    await expect(text(page, 'analytics-default-site')).resolves.toBe('acme.ru');
    await expect(text(page, 'analytics-default-source')).resolves.toBe('Яндекс Директ');
    await expect(page.getByTestId('analytics-default-campaign').count()).resolves.toBe(0);
    await expect(page.getByTestId('analytics-webhook-token').inputValue()).resolves.toBe('APP_TOKEN_SENTINEL');
    expect(puts).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when the server refuses the settings, then its message is shown next to Save and the changes stay', async () => {
    reset({ saved: configured });
    const { page, errors } = await openTab();
    await choose(page, 'analytics-employee', 'Борис Уволенный');
    await page.getByTestId('page-save').click();
    const error = page.getByTestId('analytics-error');
    await error.waitFor({ timeout: 10_000 });
    await expect(error.innerText()).resolves.toContain(ru['analytics.failed.save']);
    await expect(error.innerText()).resolves.toContain(STALE_MESSAGE);
    await expect(error.innerText()).resolves.toContain(ru['analytics.hint.VALIDATION_FAILED']);
    await expect(page.getByTestId('page-dirty').count()).resolves.toBe(1);
    await expect(text(page, 'analytics-employee')).resolves.toBe('Борис Уволенный');
    expect(puts).toHaveLength(1);

    await page.getByTestId('page-revert').click();
    await error.waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when no UIS account is linked, then only a notice pointing to «Главная» is shown', async () => {
    reset({ link: unlinked });
    const { page, errors } = await openTab();
    const notice = page.getByTestId('analytics-not-linked');
    await notice.waitFor();
    await expect(notice.innerText()).resolves.toContain(ru['analytics.notLinked.title']);
    for (const id of ['analytics-enabled', 'analytics-employee', 'page-save', 'analytics-webhook-url']) {
      await expect(page.getByTestId(id).count()).resolves.toBe(0);
    }
    expect(calls).not.toContain('GET /api/analytics/lists');
    await notice.getByRole('button', { name: ru['analytics.notLinked.action'] }).click();
    await page.getByTestId('uis-link-form').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('«Open Lines: end-to-end analytics» for an employee', () => {
  it('when opened, then the saved values are shown read-only, without Save and without asking UIS for lists', async () => {
    reset({ saved: configured });
    const { page, errors } = await openTab('?admin=0', en['tabs.analytics']);
    const enabled = page.getByTestId('analytics-enabled');
    await enabled.waitFor();
    await expect(enabled.getAttribute('aria-checked')).resolves.toBe('true');
    await expect(enabled.isDisabled()).resolves.toBe(true);
    const tab = page.getByTestId('analytics-tab');
    await expect(tab.getByRole('combobox').count()).resolves.toBe(0);
    await expect(tab.getByRole('radio').count()).resolves.toBe(0);
    await expect(tab.getByRole('textbox', { name: en['analytics.webhook.token'] }).count()).resolves.toBe(0);
    await expect(text(page, 'analytics-traffic')).resolves.toBe(en['analytics.traffic.source']);
    await expect(text(page, 'analytics-employee')).resolves.toBe('ID 1');
    await expect(text(page, 'analytics-default-site')).resolves.toBe('ID 10');
    await expect(text(page, 'analytics-messenger-telegrambot-site')).resolves.toBe('ID 11');
    await expect(text(page, 'analytics-webhook-token')).resolves.toBe(en['analytics.webhook.tokenSet']);
    await expect(page.getByText(en['analytics.adminOnly']).count()).resolves.toBe(1);
    await page.getByTestId('analytics-script').waitFor();
    await expect(text(page, 'analytics-jobs')).resolves.toContain('Lead #101');
    for (const id of ['page-save', 'page-revert', 'page-save-bar']) {
      await expect(page.getByTestId(id).count()).resolves.toBe(0);
    }
    expect(await page.content()).not.toContain('APP_TOKEN_SENTINEL');
    expect(calls).not.toContain('GET /api/analytics/lists');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when no UIS account is linked, then the notice says an administrator links it', async () => {
    reset({ link: unlinked });
    const { page, errors } = await openTab('?admin=0', en['tabs.analytics']);
    const notice = page.getByTestId('analytics-not-linked');
    await notice.waitFor();
    await expect(notice.innerText()).resolves.toContain(en['analytics.notLinked.employee']);
    await expect(notice.getByRole('button').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
