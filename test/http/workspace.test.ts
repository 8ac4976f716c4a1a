import { afterEach, describe, expect, it } from 'vitest';
import { createUisRuntimeFactory } from '../../server/uis/runtime-client';
import type { Employee, UisAccount } from '../emulator/uis/index';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

/**
 * The operator workspace backend (issue #5) over real HTTP against the emulated portal and the
 * emulated UIS platform: workspace state, chat lookup by contact data, outbound chats started as
 * the mapped operator (with the WABA template rule), and what a plain employee may do.
 */
let h: Harness;
afterEach(async () => h?.close());

const ADMIN_EMAIL = 'admin@portal.example';
const EMPLOYEE_EMAIL = 'ivan@portal.example';

async function session(h: Harness, userId: number, placement = 'LEFT_MENU'): Promise<string> {
  const page = await openPage(h.portal, { userId, placement });
  if (!page.boot.session) throw new Error(`page refused: ${JSON.stringify(page.boot.error)}`);
  return page.boot.session;
}

/** Install, then link the first UIS account through our API (as the settings page does). */
async function linked(o: { env?: Record<string, string> } = {}): Promise<{ admin: string; acc: UisAccount }> {
  h = await startHarness({ env: o.env });
  await installApp(h);
  const acc = h.uis.accounts[0]!;
  const admin = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const r = await api(h.app.url, admin, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  if (r.status !== 200) throw new Error(`link failed: ${JSON.stringify(r.json)}`);
  await acc.settle();
  return { admin: await session(h, h.portal.adminUserId), acc };
}

/** A UIS employee whose e-mail is the Bitrix24 user's (the operator mapping key). */
function addEmployee(acc: UisAccount, email: string, o: Partial<Employee> = {}): Employee {
  const e: Employee = {
    id: 900_000 + acc.employees.length,
    first_name: 'Анна',
    last_name: 'Админова',
    full_name: 'Админова Анна',
    email,
    login: email.split('@')[0]!,
    operator_chat_enabled: true,
    status: 'available',
    ...o,
  };
  acc.employees.push(e);
  return e;
}

const channelOf = async (session: string, type: string) => {
  const r = await api(h.app.url, session, 'POST', '/api/workspace/lookup', { phones: [], emails: [] });
  const ch = (r.json.channels as Array<{ id: string; type: string; templates: Array<{ id: number; text: string }> }>).find((c) => c.type === type);
  if (!ch) throw new Error(`no ${type} channel in ${JSON.stringify(r.json)}`);
  return ch;
};

describe('workspace state', () => {
  it('when no UIS account is linked, then the admin is offered the settings and an employee is not', async () => {
    h = await startHarness();
    await installApp(h);
    const admin = await api(h.app.url, await session(h, h.portal.adminUserId), 'GET', '/api/workspace');
    expect(admin.json).toEqual({ state: 'not-linked', url: null, canManage: true });
    const employee = await api(h.app.url, await session(h, h.portal.userId), 'GET', '/api/workspace');
    expect(employee.json).toEqual({ state: 'not-linked', url: null, canManage: false });
  });

  it('when linked, then the workspace URL names the account, and the operator when the user maps to a UIS employee', async () => {
    const { admin, acc } = await linked();
    const emp = addEmployee(acc, ADMIN_EMAIL.toUpperCase());
    const r = await api(h.app.url, admin, 'GET', '/api/workspace');
    expect(r.json.state).toBe('ready');
    const url = new URL(String(r.json.url));
    expect(`${url.origin}${url.pathname}`).toBe(h.uis.workspaceUrl);
    expect(url.searchParams.get('account')).toBe(String(acc.appId));
    expect(url.searchParams.get('operator_id')).toBe(String(emp.id));

    // a user without a UIS employee still gets the workspace, just without an operator
    const employee = await api(h.app.url, await session(h, h.portal.userId), 'GET', '/api/workspace');
    expect(employee.json.state).toBe('ready');
    expect(new URL(String(employee.json.url)).searchParams.has('operator_id')).toBe(false);
  });

  it('when the workspace host answers 5xx, then the state is "unreachable" and no URL is given', async () => {
    const { admin } = await linked();
    h.uis.setDown(true);
    const r = await api(h.app.url, admin, 'GET', '/api/workspace');
    expect(r.json).toMatchObject({ state: 'unreachable', url: null });
  });

  it('when the linked account is a CoMagic one, then the state says so', async () => {
    const { admin } = await linked();
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    await h.app.deps.links.save({ ...link, project: 'comagic' });
    expect((await api(h.app.url, admin, 'GET', '/api/workspace')).json).toMatchObject({ state: 'comagic', url: null });
    const lookup = await api(h.app.url, admin, 'POST', '/api/workspace/lookup', { phones: ['+79161234567'], emails: [] });
    expect(lookup.status).toBe(409);
    expect(lookup.json.error).toBe('COMAGIC_NOT_SUPPORTED');
  });
});

describe('chat lookup', () => {
  it('when the client has a chat, then it is found by any spelling of the phone and the workspace opens on it', async () => {
    const { admin, acc } = await linked();
    const { chatId } = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567' }, text: 'Здравствуйте' });
    const r = await api(h.app.url, admin, 'POST', '/api/workspace/lookup', { phones: ['8 (916) 123-45-67'], emails: ['ivan@example.com'] });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.chats).toEqual([expect.objectContaining({ id: chatId, channelType: 'whatsapp', status: 'new' })]);
    const open = new URL(String(r.json.openUrl));
    expect(open.searchParams.get('chat_id')).toBe(String(chatId));
    expect(open.searchParams.get('phone')).toBe('79161234567');
    // the one phone rule: no country code, an extension — still the same client
    const ext = await api(h.app.url, admin, 'POST', '/api/workspace/lookup', { phones: ['916 123-45-67 доб. 12'], emails: [] });
    expect(ext.json.chats).toEqual([expect.objectContaining({ id: chatId })]);
  });

  it('when the client has no chat, then nothing is opened and the channels that can start one are listed, WABA with its templates', async () => {
    const { admin, acc } = await linked();
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79990000000' }, text: 'другой клиент' });
    const r = await api(h.app.url, admin, 'POST', '/api/workspace/lookup', { phones: ['+79161234567'], emails: [] });
    expect(r.json.chats).toEqual([]);
    expect(r.json.openUrl).toBeNull();
    const channels = r.json.channels as Array<{ type: string; templates: unknown[] }>;
    expect(channels.map((c) => c.type).sort()).toEqual(['email', 'sms', 'telegram_private', 'waba', 'whatsapp']);
    expect(channels.find((c) => c.type === 'waba')!.templates).toHaveLength(2);
    expect(channels.find((c) => c.type === 'whatsapp')!.templates).toEqual([]);
  });

  it('when the request is malformed or the portal is not linked, then a clear 4xx', async () => {
    h = await startHarness();
    await installApp(h);
    const s = await session(h, h.portal.adminUserId);
    expect((await api(h.app.url, s, 'POST', '/api/workspace/lookup', { phones: 'x' })).json.error).toBe('VALIDATION_FAILED');
    const r = await api(h.app.url, s, 'POST', '/api/workspace/lookup', { phones: ['+79161234567'], emails: [] });
    expect(r.status).toBe(409);
    expect(r.json.error).toBe('NOT_LINKED');
    expect((await api(h.app.url, 'forged', 'GET', '/api/workspace')).status).toBe(401);
  });
});

describe('starting a chat', () => {
  it('when the Bitrix24 user matches no UIS employee, then 409 OPERATOR_NOT_FOUND names the e-mail and UIS starts nothing', async () => {
    const { admin, acc } = await linked();
    const ch = await channelOf(admin, 'whatsapp');
    const r = await api(h.app.url, admin, 'POST', '/api/workspace/chats', { channelId: ch.id, phone: '+79161234567', text: 'Добрый день' });
    expect(r.status).toBe(409);
    expect(r.json.error).toBe('OPERATOR_NOT_FOUND');
    expect(String(r.json.message)).toContain(ADMIN_EMAIL);
    expect(acc.chats()).toEqual([]);
  });

  it('when the matching employee may not chat, then 409 OPERATOR_NOT_ALLOWED', async () => {
    const { admin, acc } = await linked();
    addEmployee(acc, ADMIN_EMAIL, { operator_chat_enabled: false });
    const ch = await channelOf(admin, 'sms');
    const r = await api(h.app.url, admin, 'POST', '/api/workspace/chats', { channelId: ch.id, phone: '+79161234567', text: 'Добрый день' });
    expect(r.json.error).toBe('OPERATOR_NOT_ALLOWED');
    expect(acc.chats()).toEqual([]);
  });

  it('when the operator maps, then the chat starts as that employee with the first message, and the lookup finds it', async () => {
    const { admin, acc } = await linked();
    const emp = addEmployee(acc, ADMIN_EMAIL);
    const ch = await channelOf(admin, 'whatsapp');
    // the card's number with the trunk prefix and an extension: the chat starts on +79161234567
    const r = await api(h.app.url, admin, 'POST', '/api/workspace/chats', { channelId: ch.id, phone: '8 916 123-45-67 доб. 5', text: 'Добрый день!' });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const chat = acc.chats().find((c) => c.id === r.json.chatId)!;
    expect(chat).toMatchObject({ channelType: 'whatsapp', operatorId: emp.id, initiator: 'operator', status: 'active' });
    expect(chat.messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['Добрый день!']);
    const url = new URL(String(r.json.url));
    expect(url.searchParams.get('chat_id')).toBe(String(chat.id));
    expect(url.searchParams.get('phone')).toBe('79161234567');
    expect(url.searchParams.get('operator_id')).toBe(String(emp.id));

    const lookup = await api(h.app.url, admin, 'POST', '/api/workspace/lookup', { phones: ['+79161234567'], emails: [] });
    expect((lookup.json.chats as Array<{ id: number }>).map((c) => c.id)).toEqual([chat.id]);
  });

  it('when the channel is WABA, then only one of its templates may be the first message', async () => {
    const { admin, acc } = await linked();
    addEmployee(acc, ADMIN_EMAIL);
    const waba = await channelOf(admin, 'waba');
    const start = (body: Record<string, unknown>) => api(h.app.url, admin, 'POST', '/api/workspace/chats', { channelId: waba.id, phone: '+79161234567', ...body });
    expect((await start({})).json.error).toBe('WABA_TEMPLATE_REQUIRED');
    expect((await start({ text: 'Привет' })).json.error).toBe('WABA_TEMPLATE_REQUIRED');
    expect((await start({ templateId: 424242 })).json.error).toBe('WABA_TEMPLATE_UNKNOWN');
    expect(acc.chats()).toEqual([]);

    const template = waba.templates[0]!;
    const ok = await start({ templateId: template.id });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
    const sent = acc.chats()[0]!.messages.filter((m) => m.source === 'operator');
    expect(sent).toEqual([expect.objectContaining({ templateId: template.id, text: template.text })]);
  });

  it('when the identity does not fit the channel, then 400 and nothing starts; Telegram takes an @username', async () => {
    const { admin, acc } = await linked();
    addEmployee(acc, ADMIN_EMAIL);
    const wa = await channelOf(admin, 'whatsapp');
    const tg = await channelOf(admin, 'telegram_private');
    const mail = await channelOf(admin, 'email');
    const start = (body: Record<string, unknown>) => api(h.app.url, admin, 'POST', '/api/workspace/chats', body);
    expect((await start({ channelId: wa.id, email: 'ivan@example.com' })).json.error).toBe('CONTACT_NOT_APPLICABLE');
    expect((await start({ channelId: wa.id, phone: '+79161234567', email: 'ivan@example.com' })).json.error).toBe('CONTACT_NOT_APPLICABLE');
    expect((await start({ channelId: tg.id, username: '@ab' })).json.error).toBe('CONTACT_INVALID');
    expect((await start({ channelId: wa.id, phone: '+79161234567', templateId: 1 })).json.error).toBe('TEMPLATE_NOT_APPLICABLE');
    expect((await start({ channelId: 'nope', phone: '+79161234567' })).json.error).toBe('CHANNEL_NOT_FOUND');
    expect(acc.chats()).toEqual([]);

    expect((await start({ channelId: tg.id, username: 'ivan_petrov' })).status).toBe(201);
    expect((await start({ channelId: mail.id, email: 'Ivan@Example.com' })).status).toBe(201);
    expect(acc.chats().map((c) => c.channelType).sort()).toEqual(['email', 'telegram_private']);
  });

  it('when UIS is down, then 503 UIS_UNAVAILABLE', async () => {
    const { admin, acc } = await linked();
    addEmployee(acc, ADMIN_EMAIL);
    const ch = await channelOf(admin, 'whatsapp');
    await api(h.app.url, admin, 'GET', '/api/workspace'); // the operator mapping is cached from here
    h.uis.failNext('/runtime/v1/adapter/chat', 1, 503);
    const r = await api(h.app.url, admin, 'POST', '/api/workspace/chats', { channelId: ch.id, phone: '+79161234567' });
    expect(r.status).toBe(503);
    expect(r.json.error).toBe('UIS_UNAVAILABLE');
  });
});

describe('a plain employee', () => {
  it('when an employee starts a chat, then it runs as their own UIS employee, never the admin’s', async () => {
    const { acc } = await linked();
    addEmployee(acc, ADMIN_EMAIL);
    const employee = await session(h, h.portal.userId);
    const ch = await channelOf(employee, 'whatsapp');
    const refused = await api(h.app.url, employee, 'POST', '/api/workspace/chats', { channelId: ch.id, phone: '+79161234567' });
    expect(refused.json.error).toBe('OPERATOR_NOT_FOUND');
    expect(String(refused.json.message)).toContain(EMPLOYEE_EMAIL);

    const ivan = addEmployee(acc, EMPLOYEE_EMAIL, { first_name: 'Иван', full_name: 'Сотрудников Иван' });
    const r = await api(h.app.url, employee, 'POST', '/api/workspace/chats', { channelId: ch.id, phone: '+79161234567' });
    expect(r.status).toBe(201);
    expect(acc.chats()[0]!.operatorId).toBe(ivan.id);
    expect((await api(h.app.url, employee, 'GET', '/api/workspace')).json.canManage).toBe(false);
  });

  it('when the CRM tab opens, then its boot carries the viewing user’s own token, which the portal refuses for cards they may not see', async () => {
    await linked();
    const tab = await openPage(h.portal, { userId: h.portal.userId, placement: 'CRM_LEAD_DETAIL_TAB', placementOptions: { ID: '3' } });
    expect(tab.status).toBe(200);
    const auth = tab.boot.portalAuth!;
    expect(auth.accessToken).toBe(tab.form.AUTH_ID);
    expect(auth.restUrl).toBe(h.portal.clientEndpoint);
    const read = (id: number) =>
      fetch(`${auth.restUrl}crm.lead.get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, auth: auth.accessToken }) }).then(
        async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }),
      );
    const own = await read(1);
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.json)).toContain('+79161234567');
    const hidden = await read(3);
    expect(hidden.status).toBe(400);
    expect(hidden.json.error_description).toMatch(/Access denied/);

    const menu = await openPage(h.portal, { userId: h.portal.userId, placement: 'LEFT_MENU' });
    expect(menu.boot.portalAuth).toBeUndefined();
  });
});

describe('page headers', () => {
  it('when the portal opens a workspace page, then only that portal may frame it and it may frame the UIS workspace', async () => {
    await linked();
    for (const placement of ['LEFT_MENU', 'CRM_DEAL_DETAIL_TAB']) {
      const page = await openPage(h.portal, { userId: h.portal.userId, placement });
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain(`frame-ancestors ${h.portal.origin}`);
      expect(csp).toMatch(new RegExp(`frame-src [^;]*${new URL(h.uis.workspaceUrl).origin.replace(/[.:/]/g, '\\$&')}`));
      expect(csp).toContain(`connect-src 'self' ${h.portal.origin}`);
    }
    const { url, form } = h.portal.openApp({ userId: h.portal.userId, placement: 'LEFT_MENU' });
    const forged = await fetch(url, { method: 'POST', body: new URLSearchParams({ ...form, AUTH_ID: 'forged-token' }) });
    expect(forged.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('UIS runtime client', () => {
  it('when called repeatedly, then it logs in once, again only after expires_at or a 401', async () => {
    const { acc } = await linked();
    addEmployee(acc, ADMIN_EMAIL);
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const channel = (await h.app.deps.workspace.channels.list(link.memberId, link.connectionId!)).find((c) => c.type === 'whatsapp')!;
    const calls: string[] = [];
    let refuseNext = false;
    let now = Date.now();
    const runtime = createUisRuntimeFactory({
      now: () => now,
      fetch: async (input, init) => {
        const path = new URL(String(input)).pathname;
        calls.push(path);
        if (refuseNext && path.endsWith('/message')) {
          refuseNext = false;
          return new Response(JSON.stringify({ detail: 'Signature has expired' }), { status: 401 });
        }
        return fetch(input, init);
      },
    })({ runtimeUrl: h.uis.runtimeUrl, login: link.adapterLogin, password: link.adapterPassword });
    const scope = { accountId: link.connectionId!, channelId: channel.channelId };
    const operatorId = acc.employees.at(-1)!.id;
    const logins = () => calls.filter((p) => p.endsWith('/login')).length;

    const { chatId } = await runtime.startChat(scope, { operatorId, visitor: { phone: '+79161234567' } });
    await runtime.sendMessage(scope, { chatId, operatorId, text: 'раз' });
    expect(logins()).toBe(1);
    now += 25 * 3600_000; // past the emulator's 24 h expires_at
    await runtime.sendMessage(scope, { chatId, operatorId, text: 'два' });
    expect(logins()).toBe(2);
    now = Date.now(); // back to the emulator's time, where the new token is fresh
    refuseNext = true;
    await runtime.sendMessage(scope, { chatId, operatorId, text: 'три' });
    expect(logins()).toBe(3);
    const res = await runtime.uploadResource(scope, { type: 'document', name: 'price.txt', mime: 'text/plain', content: new TextEncoder().encode('цены') });
    await runtime.sendMessage(scope, { chatId, operatorId, text: 'прайс', resource: res });
    await runtime.closeChat(scope, { chatId, operatorId });
    const chat = acc.chats().find((c) => c.id === chatId)!;
    expect(chat.messages.filter((m) => m.source === 'operator').map((m) => m.text)).toEqual(['раз', 'два', 'три', 'прайс']);
    expect(chat.messages.at(-1)!.resource?.name).toBe('price.txt');
    expect(chat.status).toBe('closed');
  });
});
