import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ru } from '../../app/i18n/ru';
import { PROJECT_ROOT } from '../../server/compose';
import { createDistRenderer } from '../../server/http/page-renderer';
import type { Employee, UisAccount } from '../emulator/uis/index';
import { launchChromium } from '../support/browser';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

/**
 * The operator workspace pages (issue #5) in headless Chromium inside the emulated portal, with
 * the built pages and the real server, framing the emulated UIS workspace. Needs `npx vite build`.
 */
const ADMIN = 1;
const EMPLOYEE = 2;

async function start(env?: Record<string, string>): Promise<Harness> {
  const h = await startHarness({ renderer: createDistRenderer(join(PROJECT_ROOT, 'dist')), env });
  await installApp(h);
  return h;
}

async function link(h: Harness): Promise<UisAccount> {
  const acc = h.uis.accounts[0]!;
  const admin = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const r = await api(h.app.url, admin, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  if (r.status !== 200) throw new Error(`link failed: ${JSON.stringify(r.json)}`);
  await acc.settle();
  return acc;
}

/** A UIS employee with the Bitrix24 user's e-mail: the operator the app maps the user to. */
function operatorFor(acc: UisAccount, email: string, name: string): Employee {
  const e: Employee = { id: 910_000 + acc.employees.length, first_name: name, last_name: 'Б24', full_name: `${name} Б24`, email, login: email, operator_chat_enabled: true, status: 'available' };
  acc.employees.push(e);
  return e;
}

async function waitFrame(parent: Page | Frame, path: string, timeout = 20_000): Promise<Frame> {
  const list = () => ('frames' in parent ? parent.frames() : parent.childFrames());
  for (let waited = 0; waited < timeout; waited += 50) {
    const f = list().find((fr) => fr.url().startsWith('http') && new URL(fr.url()).pathname === path);
    if (f) return f;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no frame for ${path}; frames: ${list().map((f) => f.url()).join(', ')}`);
}

/** Opens a portal page as `user` and returns our app's frame in it. */
async function openInPortal(page: Page, h: Harness, o: { user: number; path: string; tab?: string }): Promise<Frame> {
  await page.goto(`${h.portal.origin}${o.path}${o.path.includes('?') ? '&' : '?'}user=${o.user}`);
  if (o.tab) await page.locator(`a.tab[data-placement="${o.tab}"]`).click();
  else await page.locator('nav.left-menu a[data-placement="LEFT_MENU"]').click();
  return waitFrame(page, o.tab ? '/b24/placements/crm-tab' : '/b24/placements/left-menu');
}

const phase = (app: Frame) => app.locator('[data-testid="workspace-page"]').getAttribute('data-phase');
async function waitPhase(app: Frame, want: string): Promise<void> {
  await expect.poll(() => phase(app), { timeout: 20_000 }).toBe(want);
}
const noticeReason = (app: Frame) => app.locator('[data-testid="workspace-notice"]').getAttribute('data-reason');
const emuLog = (page: Page) => page.evaluate(() => (window as unknown as { __emu: { log: Array<{ method?: string; ignored?: string; params?: unknown }> } }).__emu.log);

/** The emulated UIS workspace inside our page, once it shows which client it was opened on. */
async function uisWorkspace(app: Frame): Promise<Frame> {
  const ws = await waitFrame(app, '/workspace');
  await ws.waitForSelector('[data-testid="workspace-client"]', { timeout: 20_000 });
  return ws;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => browser?.close());

describe('before a UIS account is linked', () => {
  let h: Harness;
  let ctx: BrowserContext;
  beforeAll(async () => {
    h = await start();
    ctx = await browser.newContext();
  });
  afterAll(async () => {
    await ctx?.close();
    await h?.close();
  });

  it('when the admin opens «UIS Чаты», then it says the account is not linked and opens the app settings; an employee gets the plain message', async () => {
    const page = await ctx.newPage();
    const app = await openInPortal(page, h, { user: ADMIN, path: '/' });
    await waitPhase(app, 'notice');
    expect(await noticeReason(app)).toBe('not-linked');
    await expect(app.locator('[data-testid="workspace-notice"]').innerText()).resolves.toContain(ru['workspace.notLinked.admin']);
    await app.locator('[data-testid="workspace-open-settings"]').click();
    // openApplication goes to the portal as the raw frame command (the emulated portal does not implement it yet)
    await expect.poll(async () => (await emuLog(page)).some((m) => m.method === 'openApplication')).toBe(true);
    // the message page is sized to its content
    expect((await emuLog(page)).some((m) => m.method === 'resizeWindow')).toBe(true);

    const employee = await openInPortal(page, h, { user: EMPLOYEE, path: '/' });
    await waitPhase(employee, 'notice');
    await expect(employee.locator('[data-testid="workspace-notice"]').innerText()).resolves.toContain(ru['workspace.notLinked.user']);
    expect(await employee.locator('[data-testid="workspace-open-settings"]').count()).toBe(0);
    // the light pages never load the frame SDK or the UI kit
    const assets = await employee.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name));
    expect(assets.filter((a) => /b24jssdk|b24ui/.test(a))).toEqual([]);
  });

  it('when the linked account is a CoMagic one, then the page says it is not supported yet', async () => {
    await link(h);
    const l = (await h.app.deps.links.get(h.portal.memberId))!;
    await h.app.deps.links.save({ ...l, project: 'comagic' });
    const page = await ctx.newPage();
    const app = await openInPortal(page, h, { user: EMPLOYEE, path: '/crm/lead/details/1/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(app, 'notice');
    expect(await noticeReason(app)).toBe('comagic');
    await expect(app.locator('[data-testid="workspace-notice"]').innerText()).resolves.toContain(ru['notice.comagic.title']);
  });
});

describe('with a linked UIS account', () => {
  let h: Harness;
  let acc: UisAccount;
  let ctx: BrowserContext;
  beforeAll(async () => {
    h = await start();
    acc = await link(h);
    operatorFor(acc, 'admin@portal.example', 'Анна');
    ctx = await browser.newContext();
  });
  afterAll(async () => {
    await ctx?.close();
    await h?.close();
  });

  it('when «UIS Чаты» is opened from the left menu, then the UIS workspace fills the page and the portal frame is sized for it', async () => {
    const page = await ctx.newPage();
    const app = await openInPortal(page, h, { user: ADMIN, path: '/' });
    await waitPhase(app, 'workspace');
    const ws = await uisWorkspace(app);
    expect(new URL(ws.url()).searchParams.get('account')).toBe(String(acc.appId));
    await expect(app.locator('[data-testid="workspace-frame"]').getAttribute('data-loaded')).resolves.toBe('true');

    const expected = await app.evaluate(() => Math.max(560, Math.min(1600, (screen.availHeight || 900) - 140)));
    const layout = page.locator('.app-frame-layout');
    await expect.poll(async () => (await layout.boundingBox())?.height).toBe(expected);
    const box = (await app.locator('[data-testid="workspace-frame"]').boundingBox())!;
    const inner = await app.evaluate(() => ({ w: innerWidth, h: innerHeight }));
    expect(Math.abs(box.width - inner.w)).toBeLessThanOrEqual(1);
    expect(Math.abs(box.height - inner.h)).toBeLessThanOrEqual(1);

    // resized with the portal: a new window size sends resizeWindow again
    const before = (await emuLog(page)).filter((m) => m.method === 'resizeWindow').length;
    await page.setViewportSize({ width: 1000, height: 700 });
    await expect.poll(async () => (await emuLog(page)).filter((m) => m.method === 'resizeWindow').length).toBeGreaterThan(before);
    const last = (await emuLog(page)).filter((m) => m.method === 'resizeWindow').at(-1)!;
    expect(last.params).toMatchObject({ width: '100%', height: expected });
  });

  it('when a client had no chat, then «Написать новому клиенту» starts one on the chosen channel (WABA: a template) and the workspace opens on it', async () => {
    const page = await ctx.newPage();
    const app = await openInPortal(page, h, { user: ADMIN, path: '/crm/lead/details/3/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(app, 'new-client');
    await expect(app.locator('[data-testid="placement-info"]').innerText()).resolves.toContain('Сергей');
    await app.locator('[data-testid="new-client-open"]').click();
    const wabaId = await app.locator('[data-testid="new-chat-channel"] option[data-type="waba"]').getAttribute('value');
    await app.locator('[data-testid="new-chat-channel"]').selectOption(wabaId!);
    // WABA: no free text, a template with its text shown
    expect(await app.locator('[data-testid="new-chat-text"]').count()).toBe(0);
    const template = acc.channels.find((c) => c.type === 'waba')!.messageTemplates![1]!;
    await app.locator('[data-testid="new-chat-template"]').selectOption(String(template.id));
    await expect(app.locator('[data-testid="new-chat-template-text"]').innerText()).resolves.toBe(template.content.text);
    await expect(app.locator('[data-testid="new-chat-contact"]').inputValue()).resolves.toBe('phone:+79250000003');
    await app.locator('[data-testid="new-chat-submit"]').click();

    await waitPhase(app, 'workspace');
    const ws = await uisWorkspace(app);
    await expect(ws.locator('[data-testid="workspace-client"]').getAttribute('data-phone')).resolves.toBe('79250000003');
    await expect.poll(() => ws.locator('[data-testid="workspace-messages"]').innerText(), { timeout: 10_000 }).toContain(template.content.text);
    const chat = acc.chats().find((c) => c.channelType === 'waba')!;
    expect(chat).toMatchObject({ initiator: 'operator', operatorId: acc.employees.at(-1)!.id });
    expect(new URL(ws.url()).searchParams.get('chat_id')).toBe(String(chat.id));
  });

  it('when an employee opens their lead, then the workspace opens on that lead’s phone; before any chat, starting one fails clearly without a UIS employee', async () => {
    const page = await ctx.newPage();
    let app = await openInPortal(page, h, { user: EMPLOYEE, path: '/crm/lead/details/1/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(app, 'new-client');
    await app.locator('[data-testid="new-client-open"]').click();
    await app.locator('[data-testid="new-chat-text"]').fill('Здравствуйте!');
    await app.locator('[data-testid="new-chat-submit"]').click();
    const error = app.locator('[data-testid="new-chat-error"]');
    await expect(error.getAttribute('data-code')).resolves.toBe('OPERATOR_NOT_FOUND');
    await expect(error.innerText()).resolves.toContain('ivan@portal.example');
    expect(acc.chats().some((c) => c.messages.some((m) => m.text === 'Здравствуйте!'))).toBe(false);

    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567', name: 'Иван' }, text: 'Когда доставка?' });
    app = await openInPortal(page, h, { user: EMPLOYEE, path: '/crm/lead/details/1/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(app, 'workspace');
    const ws = await uisWorkspace(app);
    await expect(ws.locator('[data-testid="workspace-client"]').getAttribute('data-phone')).resolves.toBe('79161234567');
    await expect.poll(() => ws.locator('[data-testid="workspace-messages"]').innerText()).toContain('Когда доставка?');
  });

  it('when a deal card is opened, then the workspace opens on its contact’s phone', async () => {
    await acc.visitorWrite({ channelType: 'telegram_private', visitor: { phone: '+79031234567' }, text: 'По сделке' });
    const page = await ctx.newPage();
    const app = await openInPortal(page, h, { user: EMPLOYEE, path: '/crm/deal/details/1/', tab: 'CRM_DEAL_DETAIL_TAB' });
    await waitPhase(app, 'workspace');
    const ws = await uisWorkspace(app);
    await expect(ws.locator('[data-testid="workspace-client"]').getAttribute('data-phone')).resolves.toBe('79031234567');
    await expect(app.locator('[data-testid="placement-info"]').innerText()).resolves.toContain('Пётр');
  });

  it('when the viewer may not see the card, or it has no contact data, then the tab says so', async () => {
    const page = await ctx.newPage();
    const hidden = await openInPortal(page, h, { user: EMPLOYEE, path: '/crm/lead/details/3/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(hidden, 'notice');
    expect(await noticeReason(hidden)).toBe('no-access');
    await expect(hidden.locator('[data-testid="workspace-notice"]').innerText()).resolves.toContain(ru['notice.no-access.title']);
    // the admin sees the same card (it has a chat by now)
    const asAdmin = await openInPortal(page, h, { user: ADMIN, path: '/crm/lead/details/3/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(asAdmin, 'workspace');

    const empty = await openInPortal(page, h, { user: ADMIN, path: '/crm/lead/details/2/', tab: 'CRM_LEAD_DETAIL_TAB' });
    await waitPhase(empty, 'notice');
    expect(await noticeReason(empty)).toBe('no-contacts');
  });

  it('when the tab gets ID "" or a record that does not exist, then it says so instead of a blank frame', async () => {
    const page = await ctx.newPage();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ID: '' }, 'no-entity'],
      [{ ID: '999' }, 'not-found'],
    ];
    for (const [options, reason] of cases) {
      const { url, form } = h.portal.openApp({ userId: ADMIN, placement: 'CRM_CONTACT_DETAIL_TAB', placementOptions: options });
      // the portal's own launch: a form POST (here into a top-level page)
      await page.setContent(`<form method="post" action="${url}">${Object.entries(form).map(([k, v]) => `<input type="hidden" name="${k}" value='${v.replace(/'/g, '&#39;')}'>`).join('')}</form>`);
      await Promise.all([page.waitForURL(/crm-tab/), page.evaluate(() => document.forms[0]!.submit())]);
      const frame = page.mainFrame();
      await waitPhase(frame, 'notice');
      expect(await noticeReason(frame)).toBe(reason);
    }
  });

  it('when the page runs in the Bitrix24 desktop app, then it says once that the workspace is not guaranteed there', async () => {
    const desktop = await browser.newContext({ userAgent: 'Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) BitrixDesktop/15.0 Chrome/120 Safari/537.36' });
    try {
      const page = await desktop.newPage();
      let app = await openInPortal(page, h, { user: ADMIN, path: '/' });
      const notice = app.locator('[data-testid="workspace-desktop-notice"]');
      await notice.waitFor({ timeout: 20_000 });
      await expect(notice.innerText()).resolves.toContain(ru['workspace.desktop']);
      await waitPhase(app, 'workspace'); // the workspace still opens
      await app.locator('[data-testid="workspace-desktop-dismiss"]').click();
      expect(await notice.count()).toBe(0);
      app = await openInPortal(page, h, { user: ADMIN, path: '/' });
      await waitPhase(app, 'workspace');
      expect(await app.locator('[data-testid="workspace-desktop-notice"]').count()).toBe(0);
    } finally {
      await desktop.close();
    }
    const page = await ctx.newPage();
    const app = await openInPortal(page, h, { user: ADMIN, path: '/' });
    await waitPhase(app, 'workspace');
    expect(await app.locator('[data-testid="workspace-desktop-notice"]').count()).toBe(0);
  });

  it('when another site frames the page with valid launch data, then the browser refuses to show it; the portal may', async () => {
    const foreign = await framer(h.portal.openApp({ userId: ADMIN, placement: 'LEFT_MENU' }));
    try {
      const page = await ctx.newPage();
      const refused: string[] = [];
      page.on('console', (m) => refused.push(m.text()));
      await page.goto(foreign.url);
      await expect.poll(() => refused.some((t) => /frame-ancestors/.test(t)), { timeout: 10_000 }).toBe(true);
      expect(page.frames().some((f) => f.url().includes('/b24/placements/left-menu') && f !== page.mainFrame())).toBe(false);
    } finally {
      foreign.server.close();
    }
  });
});

describe('when the workspace cannot be reached', () => {
  it('when UIS does not answer our server, then the page says the workspace is unreachable', async () => {
    const h = await start();
    try {
      await link(h);
      h.uis.setDown(true);
      const page = await (await browser.newContext()).newPage();
      const app = await openInPortal(page, h, { user: ADMIN, path: '/' });
      await waitPhase(app, 'notice');
      expect(await noticeReason(app)).toBe('unreachable');
      await expect(app.locator('[data-testid="workspace-notice"]').innerText()).resolves.toContain(ru['notice.unreachable.title']);
      await page.context().close();
    } finally {
      await h.close();
    }
  });

  it('when the workspace frame does not load in time, then the page gives up and says so', async () => {
    // answers headers (our server's check passes) but never finishes the page
    const hanging = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<!doctype html><title>…</title>');
    });
    await new Promise<void>((ok) => hanging.listen(0, '127.0.0.1', ok));
    const h = await start({ UIS_WORKSPACE_URL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/workspace` });
    const context = await browser.newContext();
    try {
      await link(h);
      await context.addInitScript(() => ((globalThis as { __omniFrameTimeoutMs?: number }).__omniFrameTimeoutMs = 1500));
      const page = await context.newPage();
      const app = await openInPortal(page, h, { user: ADMIN, path: '/' });
      await waitPhase(app, 'notice');
      expect(await noticeReason(app)).toBe('unreachable');
    } finally {
      await context.close();
      hanging.closeAllConnections();
      hanging.close();
      await h.close();
    }
  });
});

/** A foreign site that launches our page like the portal does (named iframe + form POST). */
async function framer(launch: { url: string; form: Record<string, string>; appSid: string }): Promise<{ url: string; server: Server }> {
  const inputs = Object.entries(launch.form)
    .map(([k, v]) => `<input type="hidden" name="${k}" value='${v.replace(/'/g, '&#39;')}'>`)
    .join('');
  const html = `<!doctype html><iframe name="evil.example|0|${launch.appSid}" style="width:800px;height:600px"></iframe>
<form method="post" action="${launch.url}" target="evil.example|0|${launch.appSid}">${inputs}</form><script>document.forms[0].submit()</script>`;
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://localhost:${(server.address() as AddressInfo).port}/`, server };
}
