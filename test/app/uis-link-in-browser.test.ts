import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Boot } from '../../server/contracts/boot';
import type { PortalView } from '../../server/contracts/portal';
import type { UisLinkRequest, UisLinkView } from '../../server/contracts/uis';
import { en } from '../../app/i18n/en';
import { ru } from '../../app/i18n/ru';
import { launchChromium } from '../support/browser';
import { assertBuilt, readJson, serveDist, type DistServer } from './serve-dist';

/**
 * Главная → «Аккаунт UIS» in the built app page against a scripted /api/uis/link (state kept here).
 * `?admin=0` opens the page as a plain employee. Needs `npx vite build` first.
 */
const SESSION = 'session-sentinel';
const PASSWORD = 'PASSWORD_SENTINEL';
const TOKEN = 'DATA_API_TOKEN_SENTINEL';
const WRONG_LOGIN = 'wrong@acme';
const AUTH_MESSAGE = 'UIS rejected the login or password (auth_error)';
/** A Data API key UIS refuses because our server's address is not allowed (the server names the field and UIS's mnemonic). */
const IP_REFUSED_TOKEN = 'IP_REFUSED_TOKEN';

const portal: PortalView = { memberId: 'm1', domain: 'acme.bitrix24.ru', status: 'active', installedAt: '2025-01-02T03:04:05Z', scopes: [] };
const unlinked: UisLinkView = {
  linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null,
};
const linkedAs = (login: string): UisLinkView => ({
  linked: true,
  project: 'uis',
  login,
  accountId: '12345',
  accountName: 'ACME Corp',
  linkedAt: '2025-03-04T05:06:07Z',
  webhookUrl: 'https://omni.example/uis/webhook/m1',
  lastError: null,
});

let browser: Browser;
let server: DistServer;
let link: UisLinkView = unlinked;
const posted: UisLinkRequest[] = [];
const calls: string[] = [];
const auth: (string | undefined)[] = [];
/** While set, POST /api/uis/link waits for it (the page's "linking…" state is observable). */
let holdPost: Promise<void> | null = null;

beforeAll(async () => {
  assertBuilt();
  const boot = (page: Boot['page'], url: URL): Boot => {
    const isAdmin = url.searchParams.get('admin') !== '0';
    return { page, lang: isAdmin ? 'ru' : 'en', session: SESSION, memberId: 'm1', placement: 'DEFAULT', placementOptions: {}, isAdmin, error: null };
  };
  server = await serveDist(boot, (req, res, url) => {
    auth.push(req.headers.authorization);
    calls.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/api/portal') return send(200, portal);
    if (url.pathname !== '/api/uis/link') return send(404, { error: 'NOT_FOUND', message: 'no such api' });
    if (req.method === 'GET') return send(200, link);
    if (req.method === 'DELETE') return send(200, (link = unlinked));
    void readJson<UisLinkRequest>(req).then(async (body) => {
      posted.push(body);
      await holdPost;
      if (body.login === WRONG_LOGIN) return send(400, { error: 'UIS_AUTH_FAILED', message: AUTH_MESSAGE, field: 'password', reason: 'auth_error' });
      if (body.dataApiToken === IP_REFUSED_TOKEN) {
        return send(400, { error: 'UIS_DATA_API_REFUSED', message: 'UIS did not accept the Data API key — data-api: ip_not_whitelisted', field: 'dataApiToken', reason: 'ip_not_whitelisted' });
      }
      send(200, (link = linkedAs(body.login)));
    });
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openApp(query = ''): Promise<{ page: Page; errors: Error[] }> {
  const page = await browser.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/b24/app${query}`);
  await page.getByTestId('uis-link-status').waitFor({ timeout: 10_000 });
  return { page, errors };
}

async function fill(page: Page, login: string): Promise<void> {
  await page.getByTestId('uis-link-login').fill(login);
  await page.getByTestId('uis-link-password').fill(PASSWORD);
  await page.getByTestId('uis-link-token').fill(` ${TOKEN} `);
}

async function chooseProject(page: Page, label: string): Promise<void> {
  await page.getByTestId('uis-link-project').click();
  await page.getByRole('option', { name: label }).click();
}

describe('«Аккаунт UIS» for an administrator', () => {
  it('when the form is submitted empty, then each field says what is missing and nothing is sent', async () => {
    link = unlinked;
    const { page, errors } = await openApp();
    const form = page.getByTestId('uis-link-form');
    await expect(page.getByTestId('uis-link-status').getAttribute('data-linked')).resolves.toBe('false');
    await page.getByTestId('uis-link-submit').click();
    await form.getByText(ru['uisLink.invalid.login']).waitFor();
    await form.getByText(ru['uisLink.invalid.password']).waitFor();
    await form.getByText(ru['uisLink.invalid.dataApiToken']).waitFor();
    expect(posted).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when CoMagic is chosen, then a notice explains it is not supported and linking is disabled', async () => {
    link = unlinked;
    const { page } = await openApp();
    await fill(page, 'admin@acme');
    await expect(page.getByTestId('uis-comagic-notice').count()).resolves.toBe(0);
    await chooseProject(page, ru['uisLink.project.comagic']);
    await expect(page.getByTestId('uis-comagic-notice').innerText()).resolves.toContain(ru['uisLink.comagic.body']);
    await expect(page.getByTestId('uis-link-submit').isDisabled()).resolves.toBe(true);
    await page.getByTestId('uis-link-token').press('Enter'); // implicit submission must not bypass the disabled button
    await chooseProject(page, ru['uisLink.project.uis']);
    await page.getByTestId('uis-comagic-notice').waitFor({ state: 'detached' });
    await expect(page.getByTestId('uis-link-submit').isEnabled()).resolves.toBe(true);
    expect(posted).toEqual([]);
    await page.close();
  });

  it('when UIS refuses, then it is said in Russian on the field at fault; when it accepts, then the linked account replaces the form', async () => {
    link = unlinked;
    posted.length = 0;
    const { page, errors } = await openApp();

    await fill(page, WRONG_LOGIN);
    await page.getByTestId('uis-link-submit').click();
    const error = page.getByTestId('uis-link-error');
    await error.waitFor();
    await expect(error.innerText()).resolves.toContain(ru['uisLink.failed.link']);
    await expect(error.innerText()).resolves.toContain(ru['error.UIS_AUTH_FAILED']);
    await expect(error.innerText()).resolves.not.toContain(AUTH_MESSAGE);
    await expect(page.getByTestId('uis-link-status').getAttribute('data-linked')).resolves.toBe('false');
    // UIS does not say which of the two is wrong: both fields are marked, the words go under the password
    const form = page.getByTestId('uis-link-form');
    await form.getByText(ru['uisLink.remote.auth_error']).waitFor();
    await expect(page.getByTestId('uis-link-login').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByTestId('uis-link-password').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByTestId('uis-link-token').getAttribute('aria-invalid')).resolves.not.toBe('true');

    // a key refused for the server's address: the key field says what to allow, and where
    await page.getByTestId('uis-link-login').fill('admin@acme');
    await page.getByTestId('uis-link-token').fill(IP_REFUSED_TOKEN);
    await page.getByTestId('uis-link-submit').click();
    await form.getByText(ru['uisLink.remote.ip_not_whitelisted']).waitFor();
    await expect(page.getByTestId('uis-link-token').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByTestId('uis-link-password').getAttribute('aria-invalid')).resolves.not.toBe('true');
    // editing the field clears its mark
    await page.getByTestId('uis-link-token').fill(` ${TOKEN} `);
    await form.getByText(ru['uisLink.remote.ip_not_whitelisted']).waitFor({ state: 'detached' });

    let release = (): void => {};
    holdPost = new Promise((resolve) => (release = resolve));
    await page.getByTestId('uis-link-login').fill('  admin@acme ');
    await page.getByTestId('uis-link-submit').click();
    await page.locator('[data-testid="uis-link-submit"]:disabled').waitFor();
    await expect(page.getByTestId('uis-link-password').isDisabled()).resolves.toBe(true);
    release();
    holdPost = null;

    await page.locator('[data-testid="uis-link-status"][data-linked="true"]').waitFor({ timeout: 10_000 });
    const status = await page.getByTestId('uis-link-status').innerText();
    for (const shown of ['ACME Corp', '12345', 'admin@acme', ru['uisLink.project.uis'], 'https://omni.example/uis/webhook/m1']) {
      expect(status).toContain(shown);
    }
    await expect(page.getByTestId('uis-link-form').count()).resolves.toBe(0);
    await expect(page.getByTestId('uis-link-error').count()).resolves.toBe(0);
    expect(posted.at(-1)).toEqual({ project: 'uis', login: 'admin@acme', password: PASSWORD, dataApiToken: TOKEN });
    expect(await page.content()).not.toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
    expect(auth.every((a) => a === `Bearer ${SESSION}`)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('when «Отключить» is confirmed, then the account is unlinked and an empty form comes back', async () => {
    link = linkedAs('admin@acme');
    calls.length = 0;
    const { page, errors } = await openApp();
    await page.getByTestId('uis-unlink').click();
    await page.getByText(ru['uisLink.unlinkTitle']).waitFor();
    expect(calls).not.toContain('DELETE /api/uis/link'); // nothing happens before the confirmation
    await page.getByTestId('uis-unlink-confirm').click();

    await page.locator('[data-testid="uis-link-status"][data-linked="false"]').waitFor({ timeout: 10_000 });
    expect(calls).toContain('DELETE /api/uis/link');
    await expect(page.getByTestId('uis-link-password').inputValue()).resolves.toBe('');
    await expect(page.getByTestId('uis-link-token').inputValue()).resolves.toBe('');
    await expect(page.getByTestId('uis-unlink').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('«UIS account» for an employee', () => {
  it.each([
    ['linked', linkedAs('admin@acme'), 'true'],
    ['not linked', unlinked, 'false'],
  ])('when the account is %s, then the status shows without the form or buttons, with an admin-only note', async (_name, view, shown) => {
    link = view;
    const { page, errors } = await openApp('?admin=0');
    await expect(page.getByTestId('uis-link-status').getAttribute('data-linked')).resolves.toBe(shown);
    await expect(page.getByText(en['uisLink.adminOnly']).count()).resolves.toBe(1);
    for (const id of ['uis-link-form', 'uis-link-submit', 'uis-unlink']) {
      await expect(page.getByTestId(id).count()).resolves.toBe(0);
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
