/**
 * Runtime Chat API (https://chat-integration-api-prod.uiscom.ru/), mounted at /runtime
 * (Chat API §"Chat API"): adapter login, chat create/close/transfer, operator messages, resources.
 *
 * Documented: form login → `{access_token, token_type: "bearer", expires_at}`; every other call
 * needs `Authorization: Bearer`; outbound chats only on whatsapp/waba/telegram_private/sms/email,
 * one of visitor_phone/visitor_email/visitor_username per channel type, `initiator` must be
 * `operator`; close reason must be `closed_by_operator` (with operator_id); message `source` must
 * be `operator`; WABA outside the window only with `context.template`; resource types.
 * Chosen (docs silent): FastAPI-style errors (fastapi.ts); 404 for an account/channel/chat that is
 * not the adapter's; 400 for a broken platform rule; no idempotency key exists in the docs, so two
 * identical POST /message calls make two messages.
 */
import express from 'express';
import type { AccountImpl } from './account';
import { phoneDigits } from './account';
import { DomainError } from './errors';
import { bearer, HttpError, jsonBody, Model, sendError, ValidationFailed } from './fastapi';
import { signJwt, verifyJwt } from './jwt';
import { resourcePayload } from './payloads';
import { isoMicro, parseIso } from './time';
import { CLOSE_REASONS, OUTBOUND_CHANNEL_TYPES, RESOURCE_TYPES, type AdapterChannelRec, type AdapterRec, type Chat, type ChatChannel, type ConnectionRec } from './types';
import type { World } from './world';

const MAX_RESOURCE_BYTES = 20 * 1024 * 1024;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Telegram usernames: 5–32 of [A-Za-z0-9_], written as @username (Chat API §"Создание чата"). */
const USERNAME_RE = /^@[A-Za-z0-9_]{5,32}$/;

interface Scope {
  account: AccountImpl;
  connection: ConnectionRec;
  adapterChannel: AdapterChannelRec;
  chatChannel: ChatChannel;
}

export function runtimeRouter(world: World): express.Router {
  const router = express.Router();

  const handle =
    (fn: (req: express.Request, res: express.Response) => Promise<void> | void) =>
    async (req: express.Request, res: express.Response): Promise<void> => {
      try {
        await fn(req, res);
      } catch (e) {
        if (e instanceof DomainError) sendError(res, new HttpError(e.status, e.message));
        else sendError(res, e);
      }
    };

  const adapterOf = (req: express.Request): AdapterRec => {
    const check = verifyJwt(bearer(req), world.secret, world.clock.now());
    if (!check.ok) throw new HttpError(401, check.reason === 'expired' ? 'Signature has expired' : 'Could not validate credentials', { 'WWW-Authenticate': 'Bearer' });
    const adapter = check.payload.type === 'Adapter' ? world.adapters.get(Number(check.payload.type_id)) : undefined;
    if (!adapter) throw new HttpError(401, 'Could not validate credentials', { 'WWW-Authenticate': 'Bearer' });
    if (adapter.status !== 'active') throw new HttpError(403, 'Adapter is disabled');
    return adapter;
  };

  const scope = (adapter: AdapterRec, accountId: number, channelId: number): Scope => {
    const connection = world.connections.get(accountId);
    if (!connection || connection.adapterId !== adapter.id || connection.status !== 'active') throw new HttpError(404, `Account ${accountId} not found`);
    const adapterChannel = world.adapterChannels.get(channelId);
    if (!adapterChannel || adapterChannel.connectionId !== connection.id || adapterChannel.status !== 'active') throw new HttpError(404, `Channel ${channelId} not found`);
    const account = world.account(connection.appId)!;
    const chatChannel = account.channelById(adapterChannel.chatChannelId);
    // docs silent: a channel UIS disabled refuses the adapter's actions like a missing one
    if (chatChannel.status === 'disabled') throw new HttpError(404, `Channel ${channelId} not found`);
    return { account, connection, adapterChannel, chatChannel };
  };

  const chatIn = (s: Scope, chatId: number): Chat => {
    const chat = s.account.chatList.find((c) => c.id === chatId && c.chatChannelId === s.chatChannel.id);
    if (!chat) throw new HttpError(404, `Chat ${chatId} not found`);
    return chat;
  };

  const json = (req: express.Request): Model => Model.of(jsonBody(typeof req.body === 'string' ? req.body : ''));
  const isoField = (m: Model, key: string): string | undefined => {
    const v = m.str(key);
    if (v !== undefined && parseIso(v) === null) m.fail(key, 'datetime_from_date_parsing', 'Input should be a valid datetime or date, invalid character in year', v, { error: 'invalid character in year' });
    return v;
  };

  // ------------------------------------------------------------------ login (OAuth2 password form)

  router.post(
    '/v1/adapter/login',
    express.urlencoded({ extended: false, limit: '64kb' }),
    handle((req, res) => {
      const form = (req.body ?? {}) as Record<string, unknown>;
      const m = new Model(form, ['body']);
      const username = m.str('username');
      const password = m.str('password');
      m.done();
      const adapter = [...world.adapters.values()].find((a) => a.login === username && a.password === password);
      if (!adapter) throw new HttpError(401, 'Incorrect username or password', { 'WWW-Authenticate': 'Bearer' });
      if (adapter.status !== 'active') throw new HttpError(403, 'Adapter is disabled');
      const expiresAt = Math.floor(world.clock.now() / 1000) + world.config.runtimeTokenTtlSec;
      const token = signJwt({ type: 'Adapter', type_id: adapter.id, exp: expiresAt }, world.secret);
      res.json({ access_token: token, token_type: 'bearer', expires_at: expiresAt });
    }),
  );

  // ------------------------------------------------------------------ resources (multipart)

  router.post(
    '/v1/adapter/resource',
    express.raw({ type: () => true, limit: MAX_RESOURCE_BYTES + 64 * 1024 }),
    handle(async (req, res) => {
      const adapter = adapterOf(req);
      const ct = String(req.headers['content-type'] ?? '');
      let form: FormData | null = null;
      if (ct.startsWith('multipart/form-data') && Buffer.isBuffer(req.body)) {
        try {
          form = await new Response(new Uint8Array(req.body), { headers: { 'content-type': ct } }).formData();
        } catch {
          throw new HttpError(400, 'There was an error parsing the body');
        }
      }
      const fields: Record<string, unknown> = {};
      if (form) for (const key of ['account_id', 'channel_id', 'type']) if (form.get(key) !== null) fields[key] = form.get(key);
      const m = new Model(fields, ['body']);
      const accountId = m.int('account_id');
      const channelId = m.int('channel_id');
      const type = m.enumOf('type', RESOURCE_TYPES);
      const file = form?.get('file');
      if (!file || typeof file === 'string') m.fail('file', 'missing', 'Field required', null);
      m.done();
      const s = scope(adapter, accountId!, channelId!);
      const blob = file as File;
      if (blob.size > MAX_RESOURCE_BYTES) throw new HttpError(413, 'File is too large');
      const content = Buffer.from(await blob.arrayBuffer());
      const r = s.account.createResource(s.chatChannel.id, { name: blob.name || 'file', mime: blob.type || 'application/octet-stream', content }, type);
      res.json({ id: r.id, token: r.token, type: r.type, name: r.name, size: r.size });
    }),
  );

  router.get(
    '/v1/adapter/resource/:accountId/:channelId/:resourceId/:token/payload',
    handle((req, res) => {
      const adapter = adapterOf(req);
      const ids = ['accountId', 'channelId', 'resourceId'].map((k) => {
        const raw = String(req.params[k]);
        if (!/^\d+$/.test(raw)) throw new ValidationFailed([{ type: 'int_parsing', loc: ['path', k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)], msg: 'Input should be a valid integer, unable to parse string as an integer', input: raw }]);
        return Number(raw);
      });
      const s = scope(adapter, ids[0]!, ids[1]!);
      const r = world.resources.get(ids[2]!);
      if (!r || r.token !== req.params.token || r.appId !== s.account.appId || r.chatChannelId !== s.chatChannel.id) throw new HttpError(404, 'Resource not found');
      res.setHeader('Content-Type', r.mime);
      res.setHeader('Content-Length', String(r.size));
      res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(r.name)}`);
      res.end(r.content);
    }),
  );

  // ------------------------------------------------------------------ JSON calls

  router.use('/v1/adapter', express.text({ type: () => true, limit: '2mb' }));

  router.post(
    '/v1/adapter/chat',
    handle(async (req, res) => {
      const adapter = adapterOf(req);
      const m = json(req);
      const accountId = m.int('account_id');
      const channelId = m.int('channel_id');
      const operatorId = m.int('operator_id');
      const initiator = m.enumOf('initiator', ['operator', 'visitor', 'autoinvite', 'chat_channel'] as const);
      const createdAt = isoField(m, 'created_at');
      const phone = m.str('visitor_phone', { optional: true });
      const email = m.str('visitor_email', { optional: true });
      const username = m.str('visitor_username', { optional: true });
      m.done();
      void createdAt;
      const s = scope(adapter, accountId!, channelId!);
      if (initiator !== 'operator') throw new HttpError(400, `Initiator '${initiator}' is not allowed, only 'operator'`);
      const type = s.chatChannel.type;
      if (!OUTBOUND_CHANNEL_TYPES.includes(type)) throw new HttpError(400, `Channel type '${type}' does not allow starting a chat`);
      const given = [phone && 'visitor_phone', email && 'visitor_email', username && 'visitor_username'].filter(Boolean) as string[];
      const allowed = type === 'email' ? ['visitor_email'] : type === 'telegram_private' ? ['visitor_phone', 'visitor_username'] : ['visitor_phone'];
      if (given.length !== 1) throw new HttpError(400, `Exactly one of ${allowed.join(', ')} is required for channel type '${type}'`);
      if (!allowed.includes(given[0]!)) throw new HttpError(400, `${given[0]} is not applicable to channel type '${type}', use ${allowed.join(' or ')}`);
      if (phone && !/^\+?\d{10,15}$/.test(phone.replace(/[\s()-]/g, ''))) throw new HttpError(400, `Invalid visitor_phone '${phone}'`);
      if (email && !EMAIL_RE.test(email)) throw new HttpError(400, `Invalid visitor_email '${email}'`);
      if (username && !USERNAME_RE.test(username)) throw new HttpError(400, `visitor_username must look like @username, got '${username}'`);
      const { chat, visitor } = await s.account.startOutboundChat({
        channel: s.chatChannel,
        operatorId: operatorId!,
        phone: phone ? phoneDigits(phone) : null,
        email: email ?? null,
        username: username ?? null,
        origin: 'adapter',
      });
      res.json({
        context: {},
        account_id: s.connection.id,
        channel_id: s.adapterChannel.id,
        chat_id: chat.id,
        visitor_id: visitor.id,
        visitor_phone: phone ?? null,
        visitor_email: email ?? null,
        visitor_username: username ?? null,
        operator_id: operatorId,
        initiator: 'operator',
        created_at: isoMicro(chat.createdAt),
      });
    }),
  );

  router.post(
    '/v1/adapter/chat/close',
    handle(async (req, res) => {
      const adapter = adapterOf(req);
      const m = json(req);
      const context = m.dict('context', { optional: true });
      const accountId = m.int('account_id');
      const channelId = m.int('channel_id');
      const chatId = m.int('chat_id');
      const operatorId = m.int('operator_id', { optional: true });
      const reason = m.enumOf('reason', CLOSE_REASONS);
      m.done();
      const s = scope(adapter, accountId!, channelId!);
      const chat = chatIn(s, chatId!);
      if (reason !== 'closed_by_operator') throw new HttpError(400, `Reason '${reason}' is not allowed, only 'closed_by_operator'`);
      if (operatorId === undefined) throw new HttpError(400, "operator_id is required with reason 'closed_by_operator'");
      await s.account.closeByOperator(chat, operatorId, 'adapter');
      res.json({ context: context ?? {}, account_id: s.connection.id, channel_id: s.adapterChannel.id, chat_id: chat.id, operator_id: operatorId, reason });
    }),
  );

  router.post(
    '/v1/adapter/chat/transfer',
    handle(async (req, res) => {
      const adapter = adapterOf(req);
      const m = json(req);
      const context = m.dict('context', { optional: true });
      const accountId = m.int('account_id');
      const channelId = m.int('channel_id');
      const chatId = m.int('chat_id');
      const from = m.int('from_operator_id');
      const to = m.int('to_operator_id');
      m.done();
      const s = scope(adapter, accountId!, channelId!);
      const chat = chatIn(s, chatId!);
      await s.account.transfer(chat, from!, to!, 'adapter');
      res.json({ context: context ?? {}, account_id: s.connection.id, channel_id: s.adapterChannel.id, chat_id: chat.id, from_operator_id: from, to_operator_id: to });
    }),
  );

  router.post(
    '/v1/adapter/message',
    handle(async (req, res) => {
      const adapter = adapterOf(req);
      const m = json(req);
      const accountId = m.int('account_id');
      const channelId = m.int('channel_id');
      const chatId = m.int('chat_id');
      const operatorId = m.int('operator_id');
      const replyTo = m.int('reply_to_id', { optional: true });
      const text = m.str('text', { optional: true });
      const createdAt = isoField(m, 'created_at');
      const source = m.enumOf('source', ['operator', 'visitor', 'system'] as const);
      const resourceRaw = m.dict('resource', { optional: true });
      const context = m.dict('context', { optional: true });
      let resourceRef: { id: number; token: string } | undefined;
      if (resourceRaw) {
        const r = new Model(resourceRaw, ['body', 'resource']);
        const id = r.int('id');
        const token = r.str('token');
        r.enumOf('type', RESOURCE_TYPES, { optional: true });
        m.errors.push(...r.errors);
        if (id !== undefined && token !== undefined) resourceRef = { id, token };
      }
      let template: ({ id: number } & Record<string, unknown>) | undefined;
      const tRaw = context?.template;
      if (tRaw !== undefined && tRaw !== null) {
        const t = Model.of(tRaw, ['body', 'context', 'template']);
        const id = t.int('id');
        m.errors.push(...t.errors);
        if (id !== undefined) template = { ...(tRaw as Record<string, unknown>), id };
      }
      m.done();
      const s = scope(adapter, accountId!, channelId!);
      if (source !== 'operator') throw new HttpError(400, `Source '${source}' is not allowed, only 'operator'`);
      const chat = chatIn(s, chatId!);
      let resource;
      if (resourceRef) {
        resource = world.resources.get(resourceRef.id);
        if (!resource || resource.token !== resourceRef.token || resource.appId !== s.account.appId || resource.chatChannelId !== s.chatChannel.id) {
          throw new HttpError(400, `Resource ${resourceRef.id} not found`);
        }
      }
      const msg = await s.account.operatorMessage({
        chat,
        operatorId: operatorId!,
        text: text ?? null,
        resource,
        replyToId: replyTo ?? null,
        createdAtRaw: createdAt,
        template,
        origin: 'adapter',
      });
      res.json({
        context: context ?? null,
        account_id: s.connection.id,
        channel_id: s.adapterChannel.id,
        id: msg.id,
        chat_id: chat.id,
        source: 'operator',
        operator_id: msg.operatorId,
        reply_to_id: msg.replyToId ?? null,
        text: msg.text,
        created_at: createdAt,
        status: null,
        resource: resourcePayload(msg),
        system_message_mnemonic: null,
      });
    }),
  );

  router.use((req, res) => {
    sendError(res, new HttpError(404, 'Not Found'));
  });
  // body-parser errors (too large, bad encoding) in FastAPI words
  router.use((err: { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err.type === 'entity.too.large') sendError(res, new HttpError(413, 'Request entity too large'));
    else sendError(res, new HttpError(err.status ?? 400, 'There was an error parsing the body'));
  });
  return router;
}
