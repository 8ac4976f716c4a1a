import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Boot } from '../../server/contracts/boot';
import type { PortalView } from '../../server/contracts/portal';
import type { UisLinkView } from '../../server/contracts/uis';
import type { AnalyticsLists } from '../../server/contracts/analytics';
import {
  amoSettingsSchema,
  DEFAULT_AMO_SETTINGS,
  DEFAULT_JIVO_SETTINGS,
  jivoSettingsSchema,
  type AmoView,
  type ChatSourcesView,
  type JivoSettings,
  type SourceState,
} from '../../server/contracts/chat-sources';
import { en } from '../../app/i18n/en';
import { ru } from '../../app/i18n/ru';
import { chooseOption as choose } from '../support/b24-select';
import { launchChromium } from '../support/browser';
import { assertBuilt, readJson, serveDist, type DistServer } from './serve-dist';

/**
 * «Источники чатов» in the built settings page against a scripted /api (state kept here): the
 * section appears once UIS is linked; Jivo is switched on, validated, saved (webhook URL and script
 * then shown), a channel seen in traffic is mapped; amoCRM is connected through amoCRM's chooser in
 * a new window; a source's last error is shown with its fix; a plain employee sees it read-only.
 * Needs `npx vite build` first.
 */
const ADMIN = 'admin-session-sentinel';
const USER = 'user-session-sentinel';
const JIVO_HOOK = 'https://omni.example/hooks/jivo/JIVO_SECRET_SENTINEL_0123456789ab';
const AMO_HOOK = 'https://omni.example/hooks/amocrm/AMO_SECRET_SENTINEL_0123456789abc';
const portal: PortalView = { memberId: 'm1', domain: 'acme.bitrix24.ru', status: 'active', installedAt: '2025-01-02T03:04:05Z', scopes: [] };
const linkedView: UisLinkView = { linked: true, project: 'uis', login: 'admin@acme', accountId: '12345', accountName: 'ACME', linkedAt: '2025-03-04T05:06:07Z', webhookUrl: 'https://omni.example/uis/webhook/m1', lastError: null };
const unlinked: UisLinkView = { linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null };
const lists: AnalyticsLists = {
  employees: [{ id: 1, name: 'Анна Операторова' }],
  sites: [
    { id: 10, name: 'acme.ru' },
    { id: 11, name: 'shop.acme.ru' },
  ],
  sources: [
    { id: 20, name: 'Яндекс Директ' },
    { id: 21, name: 'Google Ads' },
  ],
  campaigns: [{ id: 30, name: 'Весна', siteId: 10 }],
};
const emptyState = (over: Partial<SourceState> = {}): SourceState => ({ lastEventAt: null, lastUploadAt: null, lastError: null, counts: { pending: 0, uploaded: 0, skipped: 0, failed: 0 }, channels: [], ...over });

let browser: Browser;
let server: DistServer;
let link: UisLinkView = linkedView;
let view: ChatSourcesView;
const puts: Array<{ path: string; body: unknown }> = [];
const calls: string[] = [];

function reset(next: { link?: UisLinkView; view?: Partial<ChatSourcesView> } = {}): void {
  link = next.link ?? linkedView;
  view = {
    jivo: { settings: DEFAULT_JIVO_SETTINGS, webhookUrl: '', script: null, state: emptyState({ channels: [{ key: '3949', lastAt: '2025-05-01T10:00:00Z', mapped: false }] }) },
    amocrm: { settings: DEFAULT_AMO_SETTINGS, connection: null, webhookUrl: '', script: null, state: emptyState() },
    ...next.view,
  };
  puts.length = 0;
  calls.length = 0;
}

beforeAll(async () => {
  assertBuilt();
  const boot = (page: Boot['page'], url: URL): Boot => {
    const isAdmin = url.searchParams.get('admin') !== '0';
    return { page, lang: isAdmin ? 'ru' : 'en', session: isAdmin ? ADMIN : USER, memberId: 'm1', placement: 'DEFAULT', placementOptions: {}, isAdmin, error: null };
  };
  server = await serveDist(boot, (req, res, url) => {
    calls.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const isAdmin = req.headers.authorization === `Bearer ${ADMIN}`;
    if (!isAdmin && req.headers.authorization !== `Bearer ${USER}`) return send(401, { error: 'NO_SESSION', message: 'no session' });
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /api/portal':
        return send(200, portal);
      case 'GET /api/uis/link':
        return send(200, link);
      case 'GET /api/analytics':
        return send(200, { settings: { enabled: false, employeeId: null, trafficType: 'source', defaults: { sourceId: null, siteId: null, campaignId: null }, messengers: {}, webhookToken: null }, webhookUrl: '', script: null });
      case 'GET /api/analytics/jobs':
        return send(200, []);
      case 'GET /api/analytics/lists':
        return isAdmin ? send(200, lists) : send(403, { error: 'NOT_ADMIN', message: 'admins only' });
      case 'GET /api/chat-sources': {
        const out = structuredClone(view);
        if (!isAdmin) for (const v of [out.jivo, out.amocrm]) v.webhookUrl = v.webhookUrl ? '********' : '';
        return send(200, out);
      }
      case 'PUT /api/chat-sources/jivo':
        void readJson(req).then((body) => {
          puts.push({ path: url.pathname, body });
          const parsed = jivoSettingsSchema.safeParse(body);
          if (!parsed.success) return send(400, { error: 'VALIDATION_FAILED', message: parsed.error.message });
          view.jivo = { ...view.jivo, settings: parsed.data, webhookUrl: JIVO_HOOK, script: parsed.data.enabled ? { version: '1.0.0', code: 'JIVO_SCRIPT_SENTINEL' } : null };
          send(200, view.jivo);
        });
        return;
      case 'PUT /api/chat-sources/amocrm':
        void readJson(req).then((body) => {
          puts.push({ path: url.pathname, body });
          const parsed = amoSettingsSchema.safeParse(body);
          if (!parsed.success) return send(400, { error: 'VALIDATION_FAILED', message: parsed.error.message });
          view.amocrm = { ...view.amocrm, settings: parsed.data };
          send(200, view.amocrm);
        });
        return;
      case 'POST /api/chat-sources/amocrm/connect':
        void readJson<{ domain: string }>(req).then((body) => {
          puts.push({ path: url.pathname, body });
          send(200, { authorizeUrl: `${server.url}/fake-amocrm/oauth?client_id=x&state=s&mode=popup&domain=${encodeURIComponent(body.domain)}` });
        });
        return;
      case 'GET /api/chat-sources/items':
        return send(200, [{ source: 'jivo', extId: 'jivo:3948:7607', kind: 'chat', channel: '3948', status: 'skipped', reason: 'NO_CONTACT: the conversation has neither a phone nor an e-mail', attribution: null, updatedAt: '2025-05-01T10:00:00Z' }]);
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

async function openTab(query = ''): Promise<{ page: Page; errors: Error[] }> {
  const page = await browser.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/b24/app${query}`);
  await page.getByTestId('uis-link-status').waitFor({ timeout: 10_000 });
  await page.getByRole('tab', { name: query.includes('admin=0') ? en['tabs.analytics'] : ru['tabs.analytics'] }).click();
  await page.getByTestId('analytics-tab').waitFor();
  return { page, errors };
}

const text = (page: Page, id: string) => page.getByTestId(id).innerText();

describe('«Источники чатов» for an administrator', () => {
  it('when Jivo is switched on without an employee, then Save names the field; once filled it saves, shows the webhook URL with the steps and the script; a channel seen in traffic gets mapped', async () => {
    reset();
    const { page, errors } = await openTab();
    await page.getByTestId('chat-sources').waitFor();
    await expect(page.getByTestId('source-jivo-webhook').getAttribute('placeholder')).resolves.toBe(ru['sources.webhook.pending']);
    await page.getByTestId('source-jivo-enabled').click();
    await choose(page, 'source-jivo-default-site', 'acme.ru');
    await page.getByTestId('page-dirty').waitFor();
    await page.getByTestId('page-save').click();
    await page.getByTestId('page-save-invalid').waitFor();
    await expect(text(page, 'source-jivo')).resolves.toContain(ru['sources.invalid.required']);
    expect(puts).toEqual([]);

    await choose(page, 'source-jivo-employee', 'Анна Операторова');
    await page.getByTestId('source-jivo-mapping-seen').click();
    await choose(page, 'source-jivo-mapping-3949-source', 'Google Ads');
    await choose(page, 'source-jivo-mapping-3949-site', 'shop.acme.ru');
    await page.getByTestId('source-jivo-mapping-3949-label').fill('Telegram');
    await page.getByTestId('page-save').click();
    await page.getByTestId('source-jivo-script').waitFor({ timeout: 10_000 });
    const saved: JivoSettings = {
      enabled: true,
      trafficType: 'source',
      defaults: { sourceId: null, siteId: 10, campaignId: null },
      messengers: { '3949': { sourceId: 21, siteId: 11, campaignId: null, label: 'Telegram' } },
      employeeId: 1,
    };
    expect(puts).toEqual([{ path: '/api/chat-sources/jivo', body: saved }]);
    await expect(page.getByTestId('source-jivo-webhook').inputValue()).resolves.toBe(JIVO_HOOK);
    await expect(text(page, 'source-jivo')).resolves.toContain('Включить Webhooks');
    await expect(text(page, 'source-jivo-script')).resolves.toBe('JIVO_SCRIPT_SENTINEL');
    await expect(page.getByTestId('page-dirty').count()).resolves.toBe(0);

    await page.getByTestId('source-jivo-state-show-items').click();
    await expect(text(page, 'source-jivo-state-items')).resolves.toContain('NO_CONTACT');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when amoCRM is connected, then its chooser opens in a new window; the connection, the manual webhook steps and a last error with its fix are shown', async () => {
    reset();
    const { page, errors } = await openTab();
    await page.getByTestId('source-amocrm').waitFor();
    await page.getByTestId('source-amocrm-domain').fill('romashka.amocrm.ru');
    await page.context().route('**/fake-amocrm/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>amoCRM</h1>' }));
    const popup = page.waitForEvent('popup');
    await page.getByTestId('source-amocrm-connect').click();
    const opened = await popup;
    await opened.waitForLoadState();
    expect(opened.url()).toContain('/fake-amocrm/oauth?client_id=x&state=s&mode=popup');
    await page.getByTestId('source-amocrm-opened').waitFor();
    expect(puts).toEqual([{ path: '/api/chat-sources/amocrm/connect', body: { name: 'amoCRM', domain: 'romashka.amocrm.ru' } }]);

    // amoCRM came back: the connection is there, the webhook had to be made by hand, the grant was lost since
    const amocrm: AmoView = {
      ...view.amocrm,
      webhookUrl: AMO_HOOK,
      connection: { name: 'amoCRM', domain: 'romashka.amocrm.ru', accountId: 29013640, connectedAt: '2025-05-01T10:00:00Z', status: 'reauth', statusReason: 'Token has been revoked', webhook: { mode: 'manual', disabled: false, detail: null } },
      state: emptyState({ lastError: { at: '2025-05-01T11:00:00Z', code: 'AMO_REAUTH', message: 'Token has been revoked', fix: 'connect again' } }),
    };
    view.amocrm = amocrm;
    await opened.close();
    await page.bringToFront();
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.getByTestId('source-amocrm-connection').waitFor();
    await expect(page.getByTestId('source-amocrm-connection').getAttribute('data-status')).resolves.toBe('reauth');
    await expect(page.getByTestId('source-amocrm-webhook-mode').getAttribute('data-mode')).resolves.toBe('manual');
    await expect(text(page, 'source-amocrm-webhook-mode')).resolves.toBe(ru['sources.amo.stepsManual']);
    await expect(page.getByTestId('source-amocrm-webhook').inputValue()).resolves.toBe(AMO_HOOK);
    await expect(text(page, 'source-amocrm-state-fix')).resolves.toBe(ru['sources.fix.AMO_REAUTH']);
    await expect(page.getByTestId('source-amocrm-connect').innerText()).resolves.toContain(ru['sources.amo.reconnect']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when no UIS account is linked, then there is no «Источники чатов» section', async () => {
    reset({ link: unlinked });
    const { page } = await openTab();
    await page.getByTestId('analytics-not-linked').waitFor();
    await expect(page.getByTestId('chat-sources').count()).resolves.toBe(0);
    await page.close();
  });
});

describe('«Источники чатов» for a plain employee', () => {
  it('shows the state read-only, without the webhook URLs', async () => {
    reset({ view: { jivo: { settings: { ...DEFAULT_JIVO_SETTINGS, enabled: true, employeeId: 1, defaults: { siteId: 10, sourceId: null, campaignId: null } }, webhookUrl: JIVO_HOOK, script: { version: '1.0.0', code: 'x' }, state: emptyState() } } });
    const { page, errors } = await openTab('?admin=0');
    await page.getByTestId('chat-sources').waitFor();
    await expect(page.getByTestId('source-jivo-webhook').inputValue()).resolves.toBe('');
    await expect(page.getByTestId('source-jivo-enabled').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('source-amocrm-connect').count()).resolves.toBe(0);
    expect(await page.content()).not.toContain('JIVO_SECRET_SENTINEL');
    expect(errors).toEqual([]);
    await page.close();
  });
});
