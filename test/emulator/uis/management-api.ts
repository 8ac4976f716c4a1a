/**
 * Management API ("основной API чатов", https://chats-prod-logic.uiscom.ru/), mounted at /mgmt:
 * adapters, chat channels and adapter connections (Chat API §"Управление адаптерами",
 * §"Каналы чатов", §"Подключение адаптера"). Bearer = the `jwt` of the auth login.
 *
 * Documented: the entities and their fields, `type` ^[a-z0-9_]+$, webhook_token and webhook_auth
 * are mutually exclusive, system adapters (owner null) cannot be managed, an adapter in use cannot
 * be deleted, the webhook must be reachable to connect ("обязательным является доступность
 * web-сервера"), and connecting sends POST /account then POST /channel per channel.
 * Chosen (docs silent): FastAPI-style errors (see fastapi.ts); `type` and `login` unique across
 * the platform (409); create answers 200 with the entity (password and webhook secrets are not
 * echoed, as in §"Примеры"), delete answers 204; an unreachable webhook fails the connect with 400
 * and nothing is created; an adapter can be connected once per UIS account and a chat channel to one
 * connection at a time (409).
 */
import express from 'express';
import type { AccountImpl } from './account';
import { bearer, HttpError, jsonBody, Model, sendError, ValidationFailed } from './fastapi';
import { verifyJwt } from './jwt';
import { accountPayload, channelPayload } from './payloads';
import { ADAPTER_CHANNEL_TYPES, type AdapterChannelRec, type AdapterRec, type ConnectionRec, type WebhookAuth } from './types';
import type { World } from './world';

type Json = Record<string, unknown>;

export function adapterView(a: AdapterRec): Json {
  return {
    id: a.id,
    type: a.type,
    name: a.name,
    status: a.status,
    supported_channel_types: a.supportedChannelTypes,
    owner: a.owner,
    visibility_status: a.visibilityStatus,
    login: a.login,
    webhook_url: a.webhookUrl,
    webhook_version: a.webhookVersion,
    webhook_kwargs: a.webhookKwargs,
  };
}

function connectionView(c: ConnectionRec): Json {
  return { name: c.name, adapter_id: c.adapterId, channels: c.channels, context: c.context, id: c.id, status: c.status };
}

function readWebhookAuth(m: Model): WebhookAuth | null | undefined {
  const raw = m.dict('webhook_auth', { optional: true });
  if (raw === undefined || raw === null) return raw === null ? null : undefined;
  const tag = raw.type;
  if (tag !== 'Bearer' && tag !== 'Basic') {
    m.fail('webhook_auth', 'union_tag_invalid', `Input tag '${String(tag)}' found using 'type' does not match any of the expected tags: 'Bearer', 'Basic'`, raw, {
      discriminator: "'type'",
      tag: String(tag),
      expected_tags: "'Bearer', 'Basic'",
    });
    return undefined;
  }
  const sub = new Model(raw, ['body', 'webhook_auth', tag]);
  if (tag === 'Bearer') {
    const token = sub.str('token', { minLength: 1 });
    m.errors.push(...sub.errors);
    return token === undefined ? undefined : { type: 'Bearer', token };
  }
  const login = sub.str('login', { minLength: 1 });
  const password = sub.str('password', { minLength: 1 });
  m.errors.push(...sub.errors);
  return login === undefined || password === undefined ? undefined : { type: 'Basic', login, password };
}

function readKwargs(m: Model): AdapterRec['webhookKwargs'] | undefined {
  const raw = m.dict('webhook_kwargs', { optional: true });
  if (!raw) return undefined;
  const out: AdapterRec['webhookKwargs'] = {};
  if (raw.timeout !== undefined) {
    if (typeof raw.timeout !== 'number' || !(raw.timeout > 0)) m.fail(['webhook_kwargs', 'timeout'], 'float_type', 'Input should be a valid number', raw.timeout);
    else out.timeout = raw.timeout;
  }
  if (raw.headers !== undefined) {
    const h = raw.headers;
    if (typeof h !== 'object' || h === null || Array.isArray(h) || Object.values(h).some((v) => typeof v !== 'string')) {
      m.fail(['webhook_kwargs', 'headers'], 'dict_type', 'Input should be a valid dictionary', h);
    } else out.headers = h as Record<string, string>;
  }
  return out;
}

export function managementRouter(world: World): express.Router {
  const router = express.Router();
  router.use(express.text({ type: () => true, limit: '1mb' }));

  const body = (req: express.Request): unknown => jsonBody(typeof req.body === 'string' ? req.body : '');

  const caller = (req: express.Request): AccountImpl => {
    const token = bearer(req);
    const check = verifyJwt(token, world.secret, world.clock.now());
    if (!check.ok) throw new HttpError(401, check.reason === 'expired' ? 'Signature has expired' : 'Could not validate credentials', { 'WWW-Authenticate': 'Bearer' });
    const account = world.account(Number(check.payload.app_id));
    if (!account || check.payload.type === 'Adapter') throw new HttpError(401, 'Could not validate credentials', { 'WWW-Authenticate': 'Bearer' });
    return account;
  };

  const handle =
    (fn: (req: express.Request, res: express.Response) => Promise<void> | void) =>
    async (req: express.Request, res: express.Response): Promise<void> => {
      try {
        await fn(req, res);
      } catch (e) {
        sendError(res, e);
      }
    };

  const pathId = (req: express.Request, name: string): number => {
    const raw = String(req.params[name] ?? '');
    if (!/^\d+$/.test(raw)) {
      throw new ValidationFailed([{ type: 'int_parsing', loc: ['path', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw }]);
    }
    return Number(raw);
  };

  const ownAdapter = (account: AccountImpl, id: number): AdapterRec => {
    const a = world.adapters.get(id);
    if (!a || (a.owner !== null && a.owner !== account.appId)) throw new HttpError(404, 'Adapter not found');
    if (a.owner === null) throw new HttpError(403, 'System adapters cannot be managed');
    return a;
  };

  const assertUnique = (field: 'type' | 'login', value: string, except?: number): void => {
    for (const a of world.adapters.values()) {
      if (a.id !== except && a[field] === value) throw new HttpError(409, `Adapter with ${field} '${value}' already exists`);
    }
  };

  // ------------------------------------------------------------------ adapters

  router.get(
    '/v1/integration/adapter',
    handle((req, res) => {
      const account = caller(req);
      res.json([...world.adapters.values()].filter((a) => a.owner === null || a.owner === account.appId).map(adapterView));
    }),
  );

  router.post(
    '/v1/integration/adapter',
    handle((req, res) => {
      const account = caller(req);
      const m = Model.of(body(req));
      const type = m.str('type', { pattern: /^[a-z0-9_]+$/ });
      const name = m.str('name', { minLength: 1 });
      const login = m.str('login', { minLength: 1 });
      const password = m.str('password', { minLength: 1 });
      const webhookUrl = m.url('webhook_url');
      const webhookVersion = m.enumOf('webhook_version', ['v1', 'v2'] as const, { optional: true }) ?? 'v2';
      const webhookToken = m.str('webhook_token', { optional: true, minLength: 1 });
      const webhookAuth = readWebhookAuth(m);
      const kwargs = readKwargs(m);
      const types = m.enumList('supported_channel_types', ADAPTER_CHANNEL_TYPES, { minLength: 1 });
      if (webhookToken && webhookAuth) m.fail([], 'value_error', 'Value error, webhook_token and webhook_auth cannot be used together', m.raw, { error: {} });
      m.done();
      assertUnique('type', type!);
      assertUnique('login', login!);
      const a: AdapterRec = {
        id: world.ids.take('adapter'),
        type: type!,
        name: name!,
        status: 'active',
        supportedChannelTypes: types!,
        owner: account.appId,
        visibilityStatus: 'private',
        login: login!,
        password: password!,
        webhookUrl: webhookUrl!,
        webhookVersion,
        webhookToken: webhookToken ?? null,
        webhookAuth: webhookAuth ?? null,
        webhookKwargs: kwargs ?? {},
      };
      world.adapters.set(a.id, a);
      res.json(adapterView(a));
    }),
  );

  router.patch(
    '/v1/integration/adapter/:id',
    handle((req, res) => {
      const account = caller(req);
      const a = ownAdapter(account, pathId(req, 'id'));
      const m = Model.of(body(req));
      const name = m.str('name', { optional: true, minLength: 1 });
      const login = m.str('login', { optional: true, minLength: 1 });
      const password = m.str('password', { optional: true, minLength: 1 });
      const status = m.enumOf('status', ['active', 'disabled'] as const, { optional: true });
      const webhookUrl = m.raw.webhook_url === undefined || m.raw.webhook_url === null ? undefined : m.url('webhook_url');
      const webhookVersion = m.enumOf('webhook_version', ['v1', 'v2'] as const, { optional: true });
      const webhookToken = m.str('webhook_token', { optional: true, minLength: 1 });
      const webhookAuth = readWebhookAuth(m);
      const kwargs = readKwargs(m);
      const types = m.raw.supported_channel_types == null ? undefined : m.enumList('supported_channel_types', ADAPTER_CHANNEL_TYPES, { minLength: 1 });
      if (webhookToken && webhookAuth) m.fail([], 'value_error', 'Value error, webhook_token and webhook_auth cannot be used together', m.raw, { error: {} });
      m.done();
      if (login !== undefined) assertUnique('login', login, a.id);
      if (name !== undefined) a.name = name;
      if (login !== undefined) a.login = login;
      if (password !== undefined) a.password = password;
      if (status !== undefined) a.status = status;
      if (webhookUrl !== undefined) a.webhookUrl = webhookUrl;
      if (webhookVersion !== undefined) a.webhookVersion = webhookVersion;
      if (webhookToken) {
        a.webhookToken = webhookToken;
        a.webhookAuth = null;
      }
      if (webhookAuth) {
        a.webhookAuth = webhookAuth;
        a.webhookToken = null;
      }
      if (kwargs !== undefined) a.webhookKwargs = kwargs;
      if (types !== undefined) a.supportedChannelTypes = types;
      res.json(adapterView(a));
    }),
  );

  router.delete(
    '/v1/integration/adapter/:id',
    handle((req, res) => {
      const account = caller(req);
      const a = ownAdapter(account, pathId(req, 'id'));
      if ([...world.connections.values()].some((c) => c.adapterId === a.id)) throw new HttpError(409, 'Adapter is in use and cannot be deleted');
      world.adapters.delete(a.id);
      res.status(204).end();
    }),
  );

  // ------------------------------------------------------------------ channels

  router.get(
    '/v1/integration/channel',
    handle((req, res) => {
      const account = caller(req);
      res.json(
        account.channels.map((c) => ({
          id: c.id,
          channel_id: c.channelId,
          type: c.type,
          name: c.name,
          is_active: !c.isRemoved && c.status !== 'disabled',
          is_removed: c.isRemoved,
          status: c.isRemoved || c.status === 'disabled' ? 'disabled' : 'active',
          status_reason: c.statusReason ?? '',
        })),
      );
    }),
  );

  // ------------------------------------------------------------------ connections ("accounts")

  const checkChannels = (account: AccountImpl, adapter: AdapterRec, ids: number[], exceptConnection?: number): void => {
    for (const id of ids) {
      const ch = account.channels.find((c) => c.id === id);
      if (!ch) throw new HttpError(404, `Channel ${id} not found`);
      if (ch.isRemoved) throw new HttpError(400, `Channel ${id} is removed`);
      if (!(adapter.supportedChannelTypes as string[]).includes(ch.type)) throw new HttpError(400, `Channel type '${ch.type}' is not supported by the adapter`);
      for (const c of world.connections.values()) {
        if (c.id !== exceptConnection && c.status === 'active' && c.channels.includes(id)) throw new HttpError(409, `Channel ${id} is already connected to another adapter account`);
      }
    }
  };

  const readContext = (m: Model, optional: boolean): Record<string, unknown> | undefined => {
    const ctx = m.dict('context', { optional: true });
    if (ctx && ctx.is_chat_integration_scenario_created !== undefined && typeof ctx.is_chat_integration_scenario_created !== 'boolean') {
      m.fail(['context', 'is_chat_integration_scenario_created'], 'bool_type', 'Input should be a valid boolean', ctx.is_chat_integration_scenario_created);
    }
    return ctx ?? (optional ? undefined : {});
  };

  const adapterChannelFor = (connection: ConnectionRec, chatChannelId: number): AdapterChannelRec => {
    const existing = [...world.adapterChannels.values()].find((ac) => ac.connectionId === connection.id && ac.chatChannelId === chatChannelId);
    if (existing) {
      existing.status = 'active';
      return existing;
    }
    const ac: AdapterChannelRec = { id: world.ids.take('adapterChannel'), connectionId: connection.id, chatChannelId, status: 'active' };
    world.adapterChannels.set(ac.id, ac);
    return ac;
  };

  router.get(
    '/v1/integration/account',
    handle((req, res) => {
      const account = caller(req);
      res.json([...world.connections.values()].filter((c) => c.appId === account.appId).map(connectionView));
    }),
  );

  router.post(
    '/v1/integration/account',
    handle(async (req, res) => {
      const account = caller(req);
      const m = Model.of(body(req));
      const name = m.str('name', { minLength: 1 });
      const adapterId = m.int('adapter_id');
      const channels = m.intList('channels');
      const context = readContext(m, false)!;
      m.done();
      const adapter = world.adapters.get(adapterId!);
      if (!adapter || (adapter.owner !== null && adapter.owner !== account.appId)) throw new HttpError(404, 'Adapter not found');
      if (adapter.status !== 'active') throw new HttpError(400, 'Adapter is disabled');
      if ([...world.connections.values()].some((c) => c.appId === account.appId && c.adapterId === adapter.id && c.status === 'active')) {
        throw new HttpError(409, 'Adapter is already connected to this account');
      }
      const unique = [...new Set(channels!)];
      checkChannels(account, adapter, unique);
      const connection: ConnectionRec = { id: world.ids.take('connection'), name: name!, adapterId: adapter.id, appId: account.appId, channels: unique, context, status: 'active' };
      // The webhook must answer before anything exists: POST /account, then POST /channel for each channel.
      const adapterChannels = unique.map((id) => ({ ac: { id: world.ids.take('adapterChannel'), connectionId: connection.id, chatChannelId: id, status: 'active' as const }, ch: account.channelById(id) }));
      const steps = [
        { path: '/account', body: accountPayload(connection) },
        ...adapterChannels.map(({ ac, ch }) => ({ path: '/channel', body: channelPayload(connection, ac, ch) })),
      ];
      for (const step of steps) {
        const out = await world.callbacks.send(account, adapter, { path: step.path, method: 'POST', body: step.body });
        if (typeof out !== 'object' || !out.ok) {
          const got = typeof out === 'object' ? String(out.status) : out;
          throw new HttpError(400, `Adapter webhook is unavailable: POST ${adapter.webhookUrl.replace(/\/+$/, '')}${step.path} answered ${got}`);
        }
      }
      world.connections.set(connection.id, connection);
      for (const { ac } of adapterChannels) world.adapterChannels.set(ac.id, ac);
      res.json(connectionView(connection));
    }),
  );

  const ownConnection = (account: AccountImpl, id: number): ConnectionRec => {
    const c = world.connections.get(id);
    if (!c || c.appId !== account.appId) throw new HttpError(404, 'Account not found');
    return c;
  };

  router.patch(
    '/v1/integration/account/:id',
    handle(async (req, res) => {
      const account = caller(req);
      const connection = ownConnection(account, pathId(req, 'id'));
      const m = Model.of(body(req));
      const name = m.str('name', { optional: true, minLength: 1 });
      const channels = m.raw.channels == null ? undefined : m.intList('channels');
      const context = readContext(m, true);
      m.done();
      const adapter = world.adapters.get(connection.adapterId)!;
      const before = connection.channels;
      if (channels) checkChannels(account, adapter, [...new Set(channels)], connection.id);
      if (name !== undefined) connection.name = name;
      if (context !== undefined) connection.context = context;
      const sends: Array<{ path: string; method: 'POST' | 'PATCH' | 'DELETE'; body: unknown }> = [
        { path: `/account/${connection.id}`, method: 'PATCH', body: null },
      ];
      if (channels) {
        const after = [...new Set(channels)];
        connection.channels = after;
        for (const id of after.filter((x) => !before.includes(x))) {
          const ac = adapterChannelFor(connection, id);
          sends.push({ path: '/channel', method: 'POST', body: channelPayload(connection, ac, account.channelById(id)) });
        }
        for (const id of before.filter((x) => !after.includes(x))) {
          const ac = [...world.adapterChannels.values()].find((x) => x.connectionId === connection.id && x.chatChannelId === id);
          if (!ac) continue;
          ac.status = 'disabled';
          sends.push({ path: `/channel/${ac.id}`, method: 'DELETE', body: channelPayload(connection, ac, account.channelById(id)) });
        }
      }
      sends[0]!.body = accountPayload(connection);
      for (const s of sends) await world.callbacks.send(account, adapter, s);
      res.json(connectionView(connection));
    }),
  );

  router.delete(
    '/v1/integration/account/:id',
    handle(async (req, res) => {
      const account = caller(req);
      const connection = ownConnection(account, pathId(req, 'id'));
      const adapter = world.adapters.get(connection.adapterId)!;
      world.connections.delete(connection.id);
      for (const ac of world.adapterChannels.values()) if (ac.connectionId === connection.id) ac.status = 'disabled';
      await world.callbacks.send(account, adapter, { path: `/account/${connection.id}`, method: 'DELETE', body: accountPayload({ ...connection, status: 'disabled' }) });
      res.status(204).end();
    }),
  );

  router.use((req, res) => {
    sendError(res, new HttpError(404, 'Not Found'));
  });
  return router;
}
