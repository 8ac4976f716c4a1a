/**
 * The UIS emulator against the public contracts (comagic/comagic.github.io chat_api/, data_api/),
 * over real HTTP. A fake clock whose sleeps advance time at once keeps status callbacks instant;
 * token expiry is driven by hand. No timing assertions.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../server/domain/clock';
import { launchChromium } from '../support/browser';
import { startUisEmulator, type UisAccount, type UisEmulator, type UisEmulatorOptions } from './uis';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface FakeClock extends Clock {
  advance(ms: number): void;
}

function fakeClock(start = Date.UTC(2026, 7, 21, 9, 0, 0)): FakeClock {
  let t = start;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

interface Hit {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string;
  body: Json;
}

/** A tiny adapter webhook: records every callback; `status` (or `byPath`) decides the answer. */
async function startReceiver() {
  const hits: Hit[] = [];
  const ctl: { status: number; byPath: Record<string, number> } = { status: 200, byPath: {} };
  const app = express();
  app.use(express.json({ type: () => true }));
  app.all('/{*rest}', (req, res) => {
    hits.push({ method: req.method, path: req.path, authorization: req.headers.authorization, contentType: String(req.headers['content-type'] ?? ''), body: req.body as Json });
    const status = ctl.byPath[req.path] ?? ctl.status;
    if (status === 204) res.status(204).end();
    else res.status(status).json({ ok: status < 300 });
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uis-hook`;
  return { url, hits, ctl, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(opts: Partial<UisEmulatorOptions> = {}) {
  const receiver = await startReceiver();
  const clock = fakeClock();
  const emu: UisEmulator = await startUisEmulator({ clock, ...opts });
  cleanups.push(receiver.close, emu.close);
  const account = emu.accounts[0] as UisAccount;
  return { receiver, clock, emu, account };
}

async function call(url: string, init: { method?: string; token?: string; json?: unknown; form?: Record<string, string>; body?: BodyInit } = {}) {
  const headers: Record<string, string> = {};
  let body: BodyInit | undefined = init.body;
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json, text, headers: res.headers };
}

async function authLogin(emu: UisEmulator, a: UisAccount): Promise<string> {
  const r = await call(`${emu.authUrl}?method=login`, { json: { jsonrpc: '2.0', id: '1', method: 'login', params: { login: a.login, password: a.password, project: a.project === 'uis' ? 'uis2' : 'comagic' } } });
  return r.json.result.jwt as string;
}

const ADAPTER = (webhookUrl: string, extra: Json = {}) => ({
  type: 'uis_omni_b24',
  name: 'UIS OMNI для Битрикс24',
  login: 'omni_runtime',
  password: 'omni-secret-1',
  webhook_url: webhookUrl,
  webhook_auth: { type: 'Bearer', token: 'hook-token' },
  supported_channel_types: ['comagic', 'whatsapp', 'waba', 'telegram', 'telegram_private', 'avito', 'email', 'sms'],
  ...extra,
});

/** Registers our adapter, connects every supported channel, logs in to the runtime API. */
async function connected(opts: Partial<UisEmulatorOptions> = {}, adapterExtra: Json = {}) {
  const ctx = await setup(opts);
  const { emu, account, receiver } = ctx;
  const jwt = await authLogin(emu, account);
  const created = await call(`${emu.managementUrl}/v1/integration/adapter`, { token: jwt, json: ADAPTER(receiver.url, adapterExtra) });
  expect(created.status).toBe(200);
  const channels = account.channels.filter((c) => c.type !== 'vkontakte_groups').map((c) => c.id);
  const conn = await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt, json: { name: 'Битрикс24 portal', adapter_id: created.json.id, channels, context: {} } });
  expect(conn.status).toBe(200);
  const login = await call(`${emu.runtimeUrl}/v1/adapter/login`, { form: { username: 'omni_runtime', password: 'omni-secret-1' } });
  const rt = login.json.access_token as string;
  const chan = (type: string) => account.adapterChannels().find((c) => c.type === type)!.id;
  const accountId = account.connection()!.id;
  receiver.hits.length = 0;
  return { ...ctx, jwt, rt, chan, accountId, adapterId: created.json.id as number };
}

async function data(emu: UisEmulator, method: string, params: Json, id: unknown = 1) {
  return (await call(emu.dataApiUrl, { json: { jsonrpc: '2.0', id, method, params } })).json;
}

// ---------------------------------------------------------------------------------------------

describe('auth login (JSON-RPC)', () => {
  it('issues a jwt and refresh for the right login/password/project', async () => {
    const { emu, account } = await setup();
    const r = await call(`${emu.authUrl}?method=login`, { json: { jsonrpc: '2.0', id: '1742467134', method: 'login', params: { login: account.login, password: account.password, project: 'uis2' } } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ error: null, id: '1742467134', jsonrpc: '2.0', result: { is_2fa_enabled: false } });
    expect(r.json.result.jwt.split('.')).toHaveLength(3);
    expect(r.json.result.refresh).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses bad credentials and the other project with auth_error', async () => {
    const { emu, account } = await setup();
    const bad = await call(emu.authUrl, { json: { jsonrpc: '2.0', id: 1, method: 'login', params: { login: account.login, password: 'nope', project: 'uis2' } } });
    expect(bad.json.error).toMatchObject({ code: -32001, data: { mnemonic: 'auth_error' } });
    const other = await call(emu.authUrl, { json: { jsonrpc: '2.0', id: 2, method: 'login', params: { login: account.login, password: account.password, project: 'comagic' } } });
    expect(other.json.error.data.mnemonic).toBe('auth_error');
    const comagic = emu.addAccount({ project: 'comagic' });
    expect(await authLogin(emu, comagic)).toMatch(/\./);
  });
});

describe('Management API', () => {
  it('wants a valid bearer jwt, and it expires', async () => {
    const { emu, account, clock } = await setup();
    const none = await call(`${emu.managementUrl}/v1/integration/adapter`);
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ detail: 'Not authenticated' });
    const jwt = await authLogin(emu, account);
    expect((await call(`${emu.managementUrl}/v1/integration/channel`, { token: jwt })).status).toBe(200);
    clock.advance(3601_000);
    const expired = await call(`${emu.managementUrl}/v1/integration/channel`, { token: jwt });
    expect(expired.status).toBe(401);
  });

  it('validates adapters the pydantic way and never echoes secrets', async () => {
    const { emu, account, receiver } = await setup();
    const jwt = await authLogin(emu, account);
    const url = `${emu.managementUrl}/v1/integration/adapter`;
    const badType = await call(url, { token: jwt, json: ADAPTER(receiver.url, { type: 'UIS-Omni' }) });
    expect(badType.status).toBe(422);
    expect(badType.json.detail[0]).toMatchObject({ type: 'string_pattern_mismatch', loc: ['body', 'type'] });
    const missing = await call(url, { token: jwt, json: { type: 'x_y' } });
    expect(missing.status).toBe(422);
    expect(missing.json.detail.map((d: Json) => d.loc[1])).toEqual(expect.arrayContaining(['name', 'login', 'password', 'webhook_url', 'supported_channel_types']));
    const both = await call(url, { token: jwt, json: ADAPTER(receiver.url, { webhook_token: 'legacy' }) });
    expect(both.status).toBe(422);
    const vk = await call(url, { token: jwt, json: ADAPTER(receiver.url, { supported_channel_types: ['vkontakte_groups'] }) });
    expect(vk.status).toBe(422);
    expect(vk.json.detail[0]).toMatchObject({ type: 'enum', loc: ['body', 'supported_channel_types', 0] });

    const ok = await call(url, { token: jwt, json: ADAPTER(receiver.url) });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ type: 'uis_omni_b24', status: 'active', owner: account.appId, visibility_status: 'private', login: 'omni_runtime', webhook_version: 'v2' });
    expect(ok.json).not.toHaveProperty('password');
    expect(ok.json).not.toHaveProperty('webhook_auth');
    expect((await call(url, { token: jwt, json: ADAPTER(receiver.url, { login: 'other' }) })).status).toBe(409);

    const list = await call(url, { token: jwt });
    expect(list.json.some((a: Json) => a.owner === null)).toBe(true);
    expect(list.json.some((a: Json) => a.id === ok.json.id)).toBe(true);
    expect((await call(`${url}/1`, { method: 'DELETE', token: jwt })).status).toBe(403);
    const patched = await call(`${url}/${ok.json.id}`, { method: 'PATCH', token: jwt, json: { name: 'Новое имя' } });
    expect(patched.json.name).toBe('Новое имя');
    expect((await call(`${url}/${ok.json.id}`, { method: 'DELETE', token: jwt })).status).toBe(204);
    expect((await call(`${url}/${ok.json.id}`, { method: 'DELETE', token: jwt })).status).toBe(404);
  });

  it('connecting sends POST /account then POST /channel with the webhook auth; lists work', async () => {
    const { emu, account, receiver } = await setup();
    const jwt = await authLogin(emu, account);
    const adapter = (await call(`${emu.managementUrl}/v1/integration/adapter`, {
      token: jwt,
      json: ADAPTER(receiver.url, { webhook_auth: { type: 'Basic', login: 'hook', password: 'pw' } }),
    })).json;
    const channels = (await call(`${emu.managementUrl}/v1/integration/channel`, { token: jwt })).json as Json[];
    expect(channels[0]).toEqual({ id: expect.any(Number), channel_id: expect.any(Number), type: 'comagic', name: expect.any(String), is_active: true, is_removed: false, status: 'active', status_reason: '' });
    const wa = channels.find((c) => c.type === 'whatsapp')!;
    const waba = channels.find((c) => c.type === 'waba')!;
    const conn = await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt, json: { name: 'Портал', adapter_id: adapter.id, channels: [wa.id, waba.id], context: {} } });
    expect(conn.status).toBe(200);
    expect(conn.json).toEqual({ name: 'Портал', adapter_id: adapter.id, channels: [wa.id, waba.id], context: {}, id: expect.any(Number), status: 'active' });

    expect(receiver.hits.map((h) => `${h.method} ${h.path}`)).toEqual(['POST /uis-hook/account', 'POST /uis-hook/channel', 'POST /uis-hook/channel']);
    expect(receiver.hits[0]!.authorization).toBe(`Basic ${Buffer.from('hook:pw').toString('base64')}`);
    expect(receiver.hits[0]!.body).toEqual({ id: conn.json.id, name: 'Портал', adapter_id: adapter.id, client_id: 1, context: { app_id: account.appId }, status: 'active' });
    expect(receiver.hits[1]!.body).toEqual({ id: expect.any(Number), name: wa.name, type: 'whatsapp', account_id: conn.json.id, context: { app_id: account.appId, chat_channel_id: wa.id }, status: 'active' });
    expect(receiver.hits[2]!.body.context.message_templates[0]).toMatchObject({ id: expect.any(Number), name: 'greeting', content: { text: expect.any(String) } });
    expect(account.adapter()).toMatchObject({ id: adapter.id, type: 'uis_omni_b24', webhookUrl: receiver.url });
    expect(account.connection()).toMatchObject({ id: conn.json.id, adapterId: adapter.id });
    expect(account.callbacks.map((c) => c.status)).toEqual([200, 200, 200]);

    expect((await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt, json: { name: 'x', adapter_id: adapter.id, channels: [wa.id] } })).status).toBe(409);
    expect((await call(`${emu.managementUrl}/v1/integration/adapter/${adapter.id}`, { method: 'DELETE', token: jwt })).status).toBe(409);
    const listed = await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt });
    expect(listed.json).toHaveLength(1);
    expect((await call(`${emu.managementUrl}/v1/integration/account/${conn.json.id}`, { method: 'DELETE', token: jwt })).status).toBe(204);
    expect(receiver.hits.at(-1)).toMatchObject({ method: 'DELETE', path: `/uis-hook/account/${conn.json.id}` });
    expect(account.connection()).toBeNull();
  });

  it('refuses to connect while the webhook fails, and VK channels', async () => {
    const { emu, account, receiver } = await setup();
    const jwt = await authLogin(emu, account);
    const adapter = (await call(`${emu.managementUrl}/v1/integration/adapter`, { token: jwt, json: ADAPTER(receiver.url) })).json;
    receiver.ctl.status = 500;
    const wa = account.channels.find((c) => c.type === 'whatsapp')!;
    const failed = await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt, json: { name: 'p', adapter_id: adapter.id, channels: [wa.id] } });
    expect(failed.status).toBe(400);
    expect(failed.json.detail).toMatch(/webhook/i);
    expect(account.connection()).toBeNull();
    receiver.ctl.status = 204;
    const vk = account.channels.find((c) => c.type === 'vkontakte_groups')!;
    expect((await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt, json: { name: 'p', adapter_id: adapter.id, channels: [vk.id] } })).status).toBe(400);
    expect((await call(`${emu.managementUrl}/v1/integration/account`, { token: jwt, json: { name: 'p', adapter_id: adapter.id, channels: [wa.id] } })).status).toBe(200);
  });
});

describe('visitor side → callbacks', () => {
  it('a first WhatsApp message delivers POST /chat then POST /message (v2 shapes, webhook auth)', async () => {
    const { account, receiver, chan, accountId } = await connected();
    const out = await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+7 (916) 123-45-67' }, text: 'Здравствуйте!' });
    expect(receiver.hits.map((h) => `${h.method} ${h.path}`)).toEqual(['POST /uis-hook/chat', 'POST /uis-hook/message']);
    for (const h of receiver.hits) {
      expect(h.authorization).toBe('Bearer hook-token');
      expect(h.contentType).toMatch(/application\/json/);
    }
    const wa = account.channels.find((c) => c.type === 'whatsapp')!;
    const context = { app_id: account.appId, chat_channel_id: wa.id };
    expect(receiver.hits[0]!.body).toEqual({
      context,
      account_id: accountId,
      channel_id: chan('whatsapp'),
      chat_id: out.chatId,
      visitor_id: out.visitorId,
      visitor_phone: '79161234567',
      operator_id: null,
      initiator: 'visitor',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/),
    });
    expect(receiver.hits[1]!.body).toEqual({
      context,
      account_id: accountId,
      channel_id: chan('whatsapp'),
      id: out.messageId,
      chat_id: out.chatId,
      source: 'visitor',
      operator_id: null,
      reply_to_id: null,
      text: 'Здравствуйте!',
      created_at: expect.any(String),
      status: 'sent',
      resource: null,
      system_message_mnemonic: null,
    });
    await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79161234567' }, text: 'Ещё вопрос' });
    expect(receiver.hits.map((h) => h.path)).toEqual(['/uis-hook/chat', '/uis-hook/message', '/uis-hook/message']);
    expect(account.chats()).toHaveLength(1);
  });

  it('a new visitor with a name gets /visitor/card; WABA messages carry conversation_frame_ts; close by visitor', async () => {
    const { account, receiver, clock } = await connected();
    const out = await account.visitorWrite({ channelType: 'waba', visitor: { phone: '79030000001', name: 'Пётр' }, text: 'Привет' });
    expect(receiver.hits.map((h) => h.path)).toEqual(['/uis-hook/chat', '/uis-hook/message', '/uis-hook/visitor/card']);
    expect(receiver.hits[1]!.body.context.conversation_frame_ts).toBe(Math.floor(clock.now() / 1000) + 86_400);
    expect(receiver.hits[2]!.body).toMatchObject({ visitor_id: out.visitorId, visitor_card: { name: 'Пётр', company: null, comment: null, phones: ['79030000001'], emails: [] } });
    await account.visitorCard(out.chatId, { name: 'Пётр Иванов', emails: ['petr@example.com'] });
    expect(receiver.hits.at(-1)!.body.visitor_card).toMatchObject({ name: 'Пётр Иванов', emails: ['petr@example.com'] });
    await account.closeChatByVisitor(out.chatId);
    expect(receiver.hits.at(-1)).toMatchObject({ path: '/uis-hook/chat/close', body: { chat_id: out.chatId, reason: 'closed_by_visitor', operator_id: null } });
    const again = await account.visitorWrite({ channelType: 'waba', visitor: { phone: '79030000001' }, text: 'Снова я' });
    expect(again.chatId).not.toBe(out.chatId);
    expect(again.visitorId).toBe(out.visitorId);
  });
});

describe('changes UIS reports (v2)', () => {
  it('a visitor edit is «Обновление сообщения»: POST /message with the same id and no source/status/operator_id; the report shows the new text', async () => {
    const { emu, account, receiver, chan, accountId } = await connected();
    const out = await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000020' }, text: 'опечтка' });
    receiver.hits.length = 0;
    await account.visitorEdit(out.messageId, 'опечатка');
    expect(receiver.hits.map((h) => `${h.method} ${h.path}`)).toEqual(['POST /uis-hook/message']);
    const wa = account.channels.find((c) => c.type === 'whatsapp')!;
    expect(receiver.hits[0]!.body).toEqual({
      context: { app_id: account.appId, chat_channel_id: wa.id },
      account_id: accountId,
      channel_id: chan('whatsapp'),
      id: out.messageId,
      chat_id: out.chatId,
      text: 'опечатка',
      resource: null,
    });
    const report = await data(emu, 'get.chat_messages_report', { access_token: account.dataApiToken, chat_id: out.chatId });
    expect(report.result.data.map((m: Json) => m.text)).toEqual(['опечатка']);
  });

  it('a v1 adapter hears no edits (the callback is v2 only)', async () => {
    const { account, receiver } = await connected({}, { webhook_version: 'v1' });
    const out = await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000021' }, text: 'a' });
    receiver.hits.length = 0;
    await account.visitorEdit(out.messageId, 'b');
    expect(receiver.hits).toHaveLength(0);
  });

  it('a channel renamed, disabled and enabled again is PATCH /channel/{id} with the whole Channel; while disabled it takes messages without callbacks', async () => {
    const { emu, account, receiver, chan, accountId, rt } = await connected();
    const wa = account.channels.find((c) => c.type === 'whatsapp')!;
    await account.updateChannel('whatsapp', { name: 'WhatsApp продаж' });
    expect(receiver.hits.map((h) => `${h.method} ${h.path}`)).toEqual([`PATCH /uis-hook/channel/${chan('whatsapp')}`]);
    expect(receiver.hits[0]!.body).toEqual({
      id: chan('whatsapp'),
      name: 'WhatsApp продаж',
      type: 'whatsapp',
      account_id: accountId,
      context: { app_id: account.appId, chat_channel_id: wa.id },
      status: 'active',
    });
    await account.updateChannel('whatsapp', { status: 'disabled', statusReason: 'Номер отключён' });
    expect(receiver.hits.at(-1)!.body).toMatchObject({ id: chan('whatsapp'), status: 'disabled' });
    expect(account.adapterChannels().find((c) => c.type === 'whatsapp')!.status).toBe('disabled');
    const list = await call(`${emu.managementUrl}/v1/integration/channel`, { method: 'GET', token: await authLogin(emu, account) });
    expect(list.json.find((c: Json) => c.id === wa.id)).toMatchObject({ status: 'disabled', is_active: false, status_reason: 'Номер отключён' });
    receiver.hits.length = 0;
    const w = await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000022' }, text: 'пока канал выключен' });
    expect(receiver.hits).toHaveLength(0);
    const report = await data(emu, 'get.chat_messages_report', { access_token: account.dataApiToken, chat_id: w.chatId });
    expect(report.result.data.map((m: Json) => m.text)).toEqual(['пока канал выключен']);
    const refused = await call(`${emu.runtimeUrl}/v1/adapter/message`, {
      token: rt,
      json: { account_id: accountId, channel_id: chan('whatsapp'), chat_id: w.chatId, operator_id: account.employees[0]!.id, source: 'operator', text: 'x', created_at: '2026-08-21T09:00:00Z' },
    });
    expect(refused.status).toBe(404);
    await account.updateChannel('whatsapp', { status: 'active' });
    expect(receiver.hits.map((h) => `${h.method} ${h.path}`)).toEqual([`PATCH /uis-hook/channel/${chan('whatsapp')}`]); // nothing replayed
    await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000022' }, text: 'снова' });
    expect(receiver.hits.slice(1).map((h) => `${h.method} ${h.path}`)).toEqual(['POST /uis-hook/message']); // the chat existed: no /chat
  });

  it('WABA templates changed arrive in PATCH /channel context.message_templates', async () => {
    const { account, receiver } = await connected();
    const waba = account.channels.find((c) => c.type === 'waba')!;
    const t = { ...waba.messageTemplates![0]!, id: 777, name: 'new_template', content: { text: 'Новый шаблон' } };
    await account.updateChannel('waba', { templates: [t] });
    expect(receiver.hits.at(-1)!.body.context.message_templates).toEqual([t]);
  });

  it('the connection disabled and enabled again is PATCH /account/{id} with the whole Account; while disabled no callbacks, the runtime refuses', async () => {
    const { emu, account, receiver, accountId, adapterId, rt, chan } = await connected();
    await account.updateConnection({ status: 'disabled' });
    expect(receiver.hits.map((h) => `${h.method} ${h.path}`)).toEqual([`PATCH /uis-hook/account/${accountId}`]);
    expect(receiver.hits[0]!.body).toEqual({ id: accountId, name: 'Битрикс24 portal', adapter_id: adapterId, client_id: 1, context: { app_id: account.appId }, status: 'disabled' });
    await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000023' }, text: 'никто не слышит' });
    expect(receiver.hits).toHaveLength(1);
    const refused = await call(`${emu.runtimeUrl}/v1/adapter/chat`, {
      token: rt,
      json: { account_id: accountId, channel_id: chan('whatsapp'), visitor_phone: '79160000024', operator_id: account.employees[0]!.id, initiator: 'operator', created_at: '2026-08-21T09:00:00Z' },
    });
    expect(refused.status).toBe(404);
    await account.updateConnection({ status: 'active' });
    expect(receiver.hits.at(-1)).toMatchObject({ method: 'PATCH', body: { status: 'active' } });
    expect(receiver.hits).toHaveLength(2);
  });
});

describe('runtime API', () => {
  it('logs in with the form, answers 401 for a bad or expired token', async () => {
    const { emu, clock, rt } = await connected();
    const bad = await call(`${emu.runtimeUrl}/v1/adapter/login`, { form: { username: 'omni_runtime', password: 'wrong' } });
    expect(bad.status).toBe(401);
    const asJson = await call(`${emu.runtimeUrl}/v1/adapter/login`, { json: { username: 'omni_runtime', password: 'omni-secret-1' } });
    expect(asJson.status).toBe(422);
    const good = await call(`${emu.runtimeUrl}/v1/adapter/login`, { form: { username: 'omni_runtime', password: 'omni-secret-1' } });
    expect(good.json).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_at: Math.floor(clock.now() / 1000) + 86_400 });
    const payload = JSON.parse(Buffer.from(good.json.access_token.split('.')[1], 'base64url').toString()) as Json;
    expect(payload).toMatchObject({ type: 'Adapter', exp: good.json.expires_at });
    clock.advance(86_401_000);
    const expired = await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: {} });
    expect(expired.status).toBe(401);
  });

  it('an operator message answers the docs shape, then /message/status accepted → sent → delivered (no echo)', async () => {
    const { emu, account, receiver, rt, chan, accountId } = await connected();
    const { chatId } = await account.visitorWrite({ channelType: 'telegram', visitor: { username: '@ivan_petrov', name: 'Иван' }, text: 'Есть вопрос' });
    receiver.hits.length = 0;
    const op = account.employees[0]!;
    const body = { account_id: accountId, channel_id: chan('telegram'), chat_id: chatId, operator_id: op.id, source: 'operator', text: 'Слушаю вас', created_at: '2026-08-21T09:00:01+00:00' };
    const r = await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: body });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ context: null, account_id: accountId, channel_id: chan('telegram'), id: expect.any(Number), chat_id: chatId, source: 'operator', operator_id: op.id, reply_to_id: null, text: 'Слушаю вас', created_at: '2026-08-21T09:00:01+00:00', status: null, resource: null, system_message_mnemonic: null });
    await account.settle();
    expect(receiver.hits.map((h) => h.path)).toEqual(['/uis-hook/message/status', '/uis-hook/message/status', '/uis-hook/message/status']);
    expect(receiver.hits.map((h) => h.body.status)).toEqual(['accepted', 'sent', 'delivered']);
    expect(receiver.hits[0]!.body).toEqual({ context: expect.any(Object), account_id: accountId, channel_id: chan('telegram'), chat_id: chatId, message_id: r.json.id, status: 'accepted' });
    const chat = account.chats()[0]!;
    expect(chat.operatorId).toBe(op.id);
    expect(chat.messages.at(-1)).toMatchObject({ source: 'operator', status: 'delivered', origin: 'adapter' });

    // the same call again is a second message: the docs define no idempotency key
    const again = await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: body });
    expect(again.json.id).not.toBe(r.json.id);
    // unknown operator, wrong source, closed chat
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...body, operator_id: 1 } })).status).toBe(400);
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...body, operator_id: account.employees[2]!.id } })).status).toBe(400);
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...body, source: 'system' } })).status).toBe(400);
    const close = await call(`${emu.runtimeUrl}/v1/adapter/chat/close`, { token: rt, json: { account_id: accountId, channel_id: chan('telegram'), chat_id: chatId, operator_id: op.id, reason: 'closed_by_operator' } });
    expect(close.status).toBe(200);
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: body })).status).toBe(400);
    await account.settle();
    expect(receiver.hits.some((h) => h.path === '/uis-hook/chat/close')).toBe(false);
  });

  it('a failed delivery ends in status error', async () => {
    const { emu, account, receiver, rt, chan, accountId } = await connected();
    const { chatId } = await account.visitorWrite({ channelType: 'sms', visitor: { phone: '79161112233' }, text: 'SMS' });
    account.failDelivery(chatId);
    receiver.hits.length = 0;
    await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { account_id: accountId, channel_id: chan('sms'), chat_id: chatId, operator_id: account.employees[0]!.id, source: 'operator', text: 'Ответ', created_at: '2026-08-21T09:00:01Z' } });
    await account.settle();
    expect(receiver.hits.map((h) => h.body.status)).toEqual(['accepted', 'error']);
  });

  it('outbound chats: channel types, identities, WABA template rule, chat_started callback', async () => {
    const { emu, account, receiver, rt, chan, accountId } = await connected();
    const op = account.employees[1]!.id;
    const start = (channel: string, extra: Json) =>
      call(`${emu.runtimeUrl}/v1/adapter/chat`, { token: rt, json: { account_id: accountId, channel_id: chan(channel), operator_id: op, initiator: 'operator', created_at: '2026-08-21T09:00:00.000Z', ...extra } });
    expect((await start('telegram', { visitor_username: '@ivan_petrov' })).status).toBe(400);
    expect((await start('comagic', { visitor_phone: '79161234567' })).status).toBe(400);
    expect((await start('whatsapp', { visitor_email: 'a@example.com' })).status).toBe(400);
    expect((await start('whatsapp', { visitor_phone: '79161234567', visitor_email: 'a@example.com' })).status).toBe(400);
    expect((await start('whatsapp', { visitor_phone: '79161234567', initiator: 'visitor' })).status).toBe(400);
    expect((await start('telegram_private', { visitor_username: 'no_at_sign' })).status).toBe(400);
    expect((await start('whatsapp', {})).status).toBe(400);

    const wa = await start('whatsapp', { visitor_phone: '74959268686' });
    expect(wa.status).toBe(200);
    expect(wa.json).toEqual({
      context: {},
      account_id: accountId,
      channel_id: chan('whatsapp'),
      chat_id: expect.any(Number),
      visitor_id: expect.any(Number),
      visitor_phone: '74959268686',
      visitor_email: null,
      visitor_username: null,
      operator_id: op,
      initiator: 'operator',
      created_at: expect.stringMatching(/\+00:00$/),
    });
    await account.settle();
    expect(receiver.hits.map((h) => h.path)).toEqual(['/uis-hook/message']);
    expect(receiver.hits[0]!.body).toMatchObject({ chat_id: wa.json.chat_id, source: 'system', system_message_mnemonic: 'chat_started', status: 'sent', operator_id: null });
    expect((await start('telegram_private', { visitor_username: '@ivan_petrov' })).status).toBe(200);
    expect((await start('email', { visitor_email: 'client@example.com' })).status).toBe(200);

    const waba = await start('waba', { visitor_phone: '79035550000' });
    expect(waba.status).toBe(200);
    const msg = { account_id: accountId, channel_id: chan('waba'), chat_id: waba.json.chat_id, operator_id: op, source: 'operator', created_at: '2026-08-21T09:00:02Z' };
    const free = await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...msg, text: 'Привет без шаблона' } });
    expect(free.status).toBe(400);
    expect(free.json.detail).toMatch(/template/);
    const template = account.channels.find((c) => c.type === 'waba')!.messageTemplates![0]!;
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...msg, context: { template: { id: 999 } } } })).status).toBe(400);
    const withTemplate = await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...msg, context: { template: { id: template.id, text: template.content.text } } } });
    expect(withTemplate.status).toBe(200);
    expect(withTemplate.json.text).toBe(template.content.text);
    // the client answers → the window opens → free text is fine
    await account.visitorWrite({ channelType: 'waba', visitor: { phone: '79035550000' }, text: 'Да, слушаю' });
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: { ...msg, text: 'Отлично' } })).status).toBe(200);
  });

  it('resources: multipart upload, attach, download; visitor files are downloadable by the adapter', async () => {
    const { emu, account, receiver, rt, chan, accountId } = await connected();
    const { chatId } = await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000002' }, file: { name: 'фото.jpg', mime: 'image/jpeg', content: Buffer.from('JPEGDATA') } });
    const res = receiver.hits.find((h) => h.path === '/uis-hook/message')!.body.resource as Json;
    expect(res).toEqual({ id: expect.any(Number), token: expect.any(String), type: 'photo', name: 'фото.jpg', size: 8 });
    const got = await fetch(`${emu.runtimeUrl}/v1/adapter/resource/${accountId}/${chan('whatsapp')}/${res.id}/${res.token}/payload`, { headers: { authorization: `Bearer ${rt}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).toString()).toBe('JPEGDATA');
    expect((await fetch(`${emu.runtimeUrl}/v1/adapter/resource/${accountId}/${chan('whatsapp')}/${res.id}/wrong/payload`, { headers: { authorization: `Bearer ${rt}` } })).status).toBe(404);

    const form = new FormData();
    form.set('account_id', String(accountId));
    form.set('channel_id', String(chan('whatsapp')));
    form.set('type', 'document');
    form.set('file', new Blob([Buffer.from('%PDF-1.4')], { type: 'application/pdf' }), 'счёт.pdf');
    const up = await call(`${emu.runtimeUrl}/v1/adapter/resource`, { token: rt, body: form });
    expect(up.json).toEqual({ id: expect.any(Number), token: expect.any(String), type: 'document', name: 'счёт.pdf', size: 8 });
    const noType = new FormData();
    noType.set('account_id', String(accountId));
    noType.set('channel_id', String(chan('whatsapp')));
    expect((await call(`${emu.runtimeUrl}/v1/adapter/resource`, { token: rt, body: noType })).status).toBe(422);
    const sent = await call(`${emu.runtimeUrl}/v1/adapter/message`, {
      token: rt,
      json: { account_id: accountId, channel_id: chan('whatsapp'), chat_id: chatId, operator_id: account.employees[0]!.id, source: 'operator', created_at: '2026-08-21T09:00:01Z', resource: up.json },
    });
    expect(sent.status).toBe(200);
    expect(sent.json.resource).toEqual(up.json);
  });

  it('webhook v1 gets POST /chat/operator where v2 gets PATCH /chat (operator reply from the workspace)', async () => {
    const { emu, account, receiver } = await connected({}, { webhook_version: 'v1' });
    const { chatId } = await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000003' }, text: 'Алло' });
    receiver.hits.length = 0;
    const r = await call(`${emu.origin}/workspace/api/reply`, { json: { account: account.appId, chat_id: chatId, operator_id: account.employees[0]!.id, text: 'Из РМО' } });
    expect(r.status).toBe(200);
    await account.settle();
    expect(receiver.hits.map((h) => `${h.method} ${h.path}`).slice(0, 2)).toEqual(['POST /uis-hook/chat/operator', 'POST /uis-hook/message']);
    expect(receiver.hits[1]!.body).toMatchObject({ source: 'operator', text: 'Из РМО', operator_id: account.employees[0]!.id });
  });
});

describe('Data API', () => {
  it('answers get.* with metadata.limits that count down; JSON-RPC errors', async () => {
    const { emu, account } = await setup();
    const acc = await data(emu, 'get.account', { access_token: account.dataApiToken });
    expect(acc.result.data).toEqual([{ app_id: account.appId, name: account.name, timezone: 'Europe/Moscow' }]);
    const before = acc.result.metadata.limits;
    expect(before).toMatchObject({ day_limit: 10_000, minute_limit: 100 });
    const emps = await data(emu, 'get.employees', { access_token: account.dataApiToken });
    expect(emps.result.data).toHaveLength(3);
    expect(emps.result.data[0]).toMatchObject({ id: account.employees[0]!.id, email: 'anna@example.com', operator: { operator_chat_enabled: true } });
    expect(emps.result.metadata.limits.day_remaining).toBe(before.day_remaining - 1);
    expect(emps.result.metadata.total_items).toBe(3);
    const filtered = await data(emu, 'get.employees', { access_token: account.dataApiToken, filter: { field: 'email', operator: '=', value: 'marina@example.com' }, fields: ['id', 'full_name'] });
    expect(filtered.result.data).toEqual([{ id: account.employees[1]!.id, full_name: 'Иванова Марина' }]);
    expect((await data(emu, 'get.sites', { access_token: account.dataApiToken })).result.data[0]).toMatchObject({ id: account.sites[0]!.id, domain_name: 'romashka.example' });
    expect((await data(emu, 'get.sources', { access_token: account.dataApiToken })).result.data.length).toBe(account.sources.length);
    expect((await data(emu, 'get.campaigns', { access_token: account.dataApiToken })).result.data.some((c: Json) => c.type === 'system')).toBe(true);

    const batch = (await call(emu.dataApiUrl, { json: [{ jsonrpc: '2.0', id: 1, method: 'get.account', params: { access_token: account.dataApiToken } }] })).json;
    expect(batch.error).toMatchObject({ code: -32099, data: { mnemonic: 'batch_opreations_not_supported' } });
    const note = (await call(emu.dataApiUrl, { json: { jsonrpc: '2.0', method: 'get.account', params: { access_token: account.dataApiToken } } })).json;
    expect(note.error.data.mnemonic).toBe('notifications_not_supported');
    expect((await data(emu, 'get.account', { access_token: 'nope' })).error).toMatchObject({ code: -32001, data: { mnemonic: 'access_token_invalid' } });
    const unknown = await data(emu, 'get.everything', { access_token: account.dataApiToken });
    expect(unknown.error.code).toBe(-32601);
    const extra = await data(emu, 'get.account', { access_token: account.dataApiToken, foo: 1 });
    expect(extra.error.data).toMatchObject({ mnemonic: 'unexpected_parameters', field: 'foo', metadata: { limits: expect.any(Object) } });
    const sortBad = await data(emu, 'get.employees', { access_token: account.dataApiToken, sort: [{ field: 'email' }] });
    expect(sortBad.error.data.mnemonic).toBe('sort_prohibited');
  });

  it('answers limit_exceeded (-32029) when the minute budget is spent; login.user works', async () => {
    const { emu, account } = await setup();
    account.setDataApiLimits({ minute: 2 });
    const login = await data(emu, 'login.user', { login: account.login, password: account.password });
    expect(login.result.data).toMatchObject({ access_token: expect.any(String), app_id: account.appId });
    const key = login.result.data.access_token as string;
    const second = await data(emu, 'get.account', { access_token: key });
    expect(second.result.metadata.limits.minute_remaining).toBe(0);
    const third = await data(emu, 'get.account', { access_token: key });
    expect(third.error).toMatchObject({ code: -32029, data: { mnemonic: 'limit_exceeded', metadata: { limits: { minute_remaining: 0 } } } });
    expect((await data(emu, 'login.user', { login: account.login, password: 'x' })).error.data.mnemonic).toBe('auth_error');
  });

  it('upload.chats validates like the docs and dedupes by ext_id', async () => {
    const { emu, account, clock } = await setup();
    const t = (msAgo: number) => {
      const d = new Date(clock.now() - msAgo + 3 * 3600_000);
      return d.toISOString().slice(0, 19).replace('T', ' ');
    };
    const op = account.employees[0]!.id;
    const chat = (extra: Json = {}) => ({
      start_date_time: t(3600_000),
      status: 'succeed',
      phone: '79161234567',
      site_id: account.sites[0]!.id,
      messages: [
        { date_time: t(3500_000), source: 'visitor', message: 'Здравствуйте' },
        { date_time: t(3400_000), source: 'operator', employee_id: op, message: 'Добрый день' },
      ],
      ext_id: 'b24-chat-1',
      ...extra,
    });
    const up = (chats: unknown[]) => data(emu, 'upload.chats', { access_token: account.dataApiToken, chats });
    const err = async (chats: unknown[]) => (await up(chats)).error.data as Json;

    expect(await err(Array.from({ length: 51 }, (_, i) => chat({ ext_id: `x${i}` })))).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'chats' });
    expect(await err([chat({ site_id: undefined })])).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'chats.0.visitor_session_id' });
    expect(await err([chat({ site_id: undefined, campaign_id: -1 })])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'chats.0.campaign_id' });
    const otherSiteCampaign = account.campaigns.find((c) => c.site_id === account.sites[1]!.id)!;
    expect(await err([chat({ campaign_id: otherSiteCampaign.id })])).toMatchObject({ mnemonic: 'invalid_parameters_combination' });
    const session = account.addSession({ startedAt: clock.now() - 200 * 86_400_000 });
    expect(await err([chat({ site_id: undefined, visitor_session_id: session.id })])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'chats.0.visitor_session_id' });
    expect(await err([chat({ site_id: undefined, visitor_session_id: 1 })])).toMatchObject({ mnemonic: 'entity_not_found' });
    expect(await err([chat({ phone: '8 (916) 123-45-67' })])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'chats.0.phone' });
    expect(await err([chat({ phone: undefined })])).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'chats.0.phone' });
    expect(await err([chat({ start_date_time: t(-3600_000) })])).toMatchObject({ mnemonic: 'invalid_date_time' });
    expect(await err([chat({ start_date_time: '2026-08-21T09:00:00' })])).toMatchObject({ mnemonic: 'invalid_parameter_value' });
    expect(await err([chat({ messages: [{ source: 'operator', message: 'без сотрудника' }] })])).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'chats.0.messages.0.employee_id' });
    expect(await err([chat({ status: 'won' })])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'chats.0.status' });
    expect(account.uploadedChats()).toHaveLength(0);

    const first = await up([chat()]);
    expect(first.result.data).toEqual([{ id: expect.any(Number) }]);
    expect(first.result.metadata.limits).toBeDefined();
    const fresh = account.addSession();
    const second = await up([chat({ site_id: undefined, visitor_session_id: fresh.id, start_date_time: t(0), messages: [], status: 'lost', initiator: 'visitor' })]);
    expect(second.result.data[0].id).toBe(first.result.data[0].id);
    const stored = account.uploadedChats();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ ext_id: 'b24-chat-1', uploads: 2, visitor_session_id: fresh.id, status: 'lost', chat_channel_type: 'dataapi' });

    const report = await data(emu, 'get.chats_report', {
      access_token: account.dataApiToken,
      date_from: t(86_400_000),
      date_till: t(-60_000),
      fields: ['id', 'chat_channel_type', 'ext_id', 'visitor_session_id'],
      filter: { field: 'chat_channel_type', operator: '=', value: 'dataapi' },
    });
    expect(report.result.data).toEqual([{ id: first.result.data[0].id, chat_channel_type: 'dataapi', ext_id: 'b24-chat-1', visitor_session_id: fresh.id }]);
  });

  it('upload.offline_messages validates like the docs (anchors, campaign_id -1 with site_id, contact, date_time, 50 per call) and dedupes by ext_id', async () => {
    const { emu, account, clock } = await setup();
    const t = (msAgo: number) => new Date(clock.now() - msAgo + 3 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
    const site = account.sites[0]!.id;
    const req = (extra: Json = {}) => ({ date_time: t(600_000), phone: '+79161234567', name: 'Анна', message: 'Чат amoCRM', site_id: site, ext_id: 'amocrm:1:10', ...extra });
    const up = (offline_messages: unknown) => data(emu, 'upload.offline_messages', { access_token: account.dataApiToken, offline_messages });
    const err = async (items: unknown) => (await up(items)).error.data as Json;

    expect(await err([])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'offline_messages' });
    expect(await err(Array.from({ length: 51 }, (_, i) => req({ ext_id: `x${i}` })))).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'offline_messages' });
    expect(await err([req({ site_id: undefined })])).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'offline_messages.0.visitor_session_id' });
    expect(await err([req({ site_id: undefined, campaign_id: -1 })])).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'offline_messages.0.site_id' });
    expect(await err([req({ phone: undefined })])).toMatchObject({ mnemonic: 'required_parameter_missed', field: 'offline_messages.0.phone' });
    expect(await err([req({ phone: '8 916 123-45-67' })])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'offline_messages.0.phone' });
    expect(await err([req(), req({ date_time: t(-60_000), ext_id: 'future' })])).toMatchObject({ mnemonic: 'invalid_date_time', field: 'offline_messages.1.date_time' });
    const old = account.addSession({ startedAt: clock.now() - 200 * 86_400_000 });
    expect(await err([req({ site_id: undefined, visitor_session_id: old.id })])).toMatchObject({ mnemonic: 'invalid_parameter_value', field: 'offline_messages.0.visitor_session_id' });
    const late = account.addSession({ startedAt: clock.now() - 60_000 });
    expect(await err([req({ site_id: undefined, visitor_session_id: late.id })])).toMatchObject({ mnemonic: 'invalid_date_time', field: 'offline_messages.0.date_time' });
    expect(await err([req({ source_id: 999 })])).toMatchObject({ mnemonic: 'entity_not_found', field: 'offline_messages.0.source_id' });
    expect(await err([req({ user_fields: [{ ext_id: 'utm', value: 'x' }] })])).toMatchObject({ mnemonic: 'entity_not_found', field: 'offline_messages.0.user_fields.0.ext_id' });
    expect(await err([req({ rate: 5 })])).toMatchObject({ mnemonic: 'unexpected_parameters', field: 'offline_messages.0.rate' });
    expect(account.uploadedOfflineMessages()).toHaveLength(0);

    const first = await up([req({ campaign_id: -1 })]);
    expect(first.result.data).toEqual([{ id: expect.any(Number) }]);
    const noDate = await up([req({ date_time: undefined, ext_id: 'no-date', email: 'a@b.ru', phone: undefined })]);
    expect(noDate.result.data).toHaveLength(1);
    const again = await up([req({ message: 'Чат amoCRM, закрыт снова' })]);
    expect(again.result.data[0].id).toBe(first.result.data[0].id);
    expect(account.uploadedOfflineMessages()).toMatchObject([
      { ext_id: 'amocrm:1:10', uploads: 2, site_id: site, campaign_id: null, message: 'Чат amoCRM, закрыт снова' },
      { ext_id: 'no-date', uploads: 1, date_time: t(0), email: 'a@b.ru' },
    ]);
    (account as unknown as { components: { offlineUpload: boolean } }).components.offlineUpload = false;
    expect(await err([req()])).toMatchObject({ mnemonic: 'method_component_disabled' });
  });
});

describe('outages', () => {
  it('setDown answers 503 everywhere and holds callbacks until back up; failNext fails N requests', async () => {
    const { emu, account, receiver, rt } = await connected();
    emu.setDown(true);
    for (const url of [emu.authUrl, `${emu.managementUrl}/v1/integration/adapter`, `${emu.runtimeUrl}/v1/adapter/login`, emu.dataApiUrl, emu.workspaceUrl]) {
      expect((await call(url, { method: 'POST', json: {} })).status).toBe(503);
    }
    await account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000009' }, text: 'Пока вы лежали' });
    expect(receiver.hits).toHaveLength(0);
    emu.setDown(false);
    await account.settle();
    expect(receiver.hits.map((h) => h.path)).toEqual(['/uis-hook/chat', '/uis-hook/message']);

    emu.failNext('/runtime/v1/adapter/message', 2, 502);
    const body = { account_id: 0, channel_id: 0, chat_id: 0, operator_id: 0, source: 'operator', created_at: '2026-08-21T09:00:00Z' };
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: body })).status).toBe(502);
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: body })).status).toBe(502);
    expect((await call(`${emu.runtimeUrl}/v1/adapter/message`, { token: rt, json: body })).status).toBe(404);
  });

  it('retries failed callbacks only when asked to (the docs promise none)', async () => {
    const once = await connected();
    once.receiver.ctl.byPath['/uis-hook/message'] = 500;
    await once.account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000010' }, text: 'a' });
    expect(once.account.callbacks.filter((c) => c.path === '/message').map((c) => c.status)).toEqual([500]);

    const retrying = await connected({ callbackRetries: 2 });
    retrying.receiver.ctl.byPath['/uis-hook/message'] = 500;
    await retrying.account.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '79160000011' }, text: 'b' });
    expect(retrying.account.callbacks.filter((c) => c.path === '/message').map((c) => c.attempt)).toEqual([1, 2, 3]);
  });
});

describe('pages', () => {
  it('the workspace is frameable and opens on ?phone=, showing the client and an outbound chat', async () => {
    const { emu, account, rt, chan, accountId, receiver } = await connected();
    await call(`${emu.runtimeUrl}/v1/adapter/chat`, {
      token: rt,
      json: { account_id: accountId, channel_id: chan('whatsapp'), visitor_phone: '79161234567', operator_id: account.employees[0]!.id, initiator: 'operator', created_at: '2026-08-21T09:00:00Z' },
    });
    const head = await fetch(`${emu.workspaceUrl}?phone=79161234567`);
    expect(head.headers.get('x-frame-options')).toBeNull();
    expect(head.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect((await fetch(`${emu.origin}/visitor?account=${account.appId}`)).status).toBe(200);
    expect((await fetch(`${emu.origin}/analytics?account=${account.appId}`)).status).toBe(200);

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const pageObj = await browser.newPage();
    await pageObj.goto(`${emu.workspaceUrl}?phone=%2B79161234567`);
    const client = pageObj.getByTestId('workspace-client');
    await expect.poll(() => client.getAttribute('data-phone')).toBe('79161234567');
    expect(await client.textContent()).toContain('+79161234567');
    await expect.poll(() => pageObj.getByTestId('workspace-messages').textContent()).toContain('Чат начат оператором');
    receiver.hits.length = 0;
    await pageObj.getByTestId('workspace-text').fill('Добрый день, это Анна');
    await pageObj.getByTestId('workspace-send').click();
    await expect.poll(() => account.chats()[0]!.messages.some((m) => m.text === 'Добрый день, это Анна' && m.origin === 'workspace')).toBe(true);
    await account.settle();
    expect(receiver.hits.some((h) => h.path === '/uis-hook/message' && h.body.source === 'operator')).toBe(true);
  });
});
