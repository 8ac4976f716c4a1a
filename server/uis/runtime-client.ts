import { createHash } from 'node:crypto';
import { UisApiError } from './errors';
import { uisJson } from './http';

/**
 * UIS Chat API runtime client (docs/facts/uis.md#runtime-api; comagic/comagic.github.io chat_api §"Chat API").
 * The adapter logs in with its own credentials (the ones we registered it with, kept in the
 * UisLink) — form `username`/`password` → bearer token with `expires_at` — and the token is
 * cached until shortly before that moment; a 401 on a call logs in again once. Logins for one
 * adapter are single-flight. There is no idempotency key in the runtime API: a retried
 * `POST /v1/adapter/message` is a second message, so nothing here retries writes.
 */
export interface UisRuntimeCredentials {
  /** Runtime base, e.g. https://chat-integration-api-prod.uiscom.ru */
  runtimeUrl: string;
  /** The adapter's login and password (UisLink.adapterLogin / adapterPassword). */
  login: string;
  password: string;
}

/** Where a call acts: the runtime `account_id` is our connection id, `channel_id` an adapter channel id. */
export interface RuntimeScope {
  accountId: string | number;
  channelId: string | number;
}

export type VisitorIdentity = { phone: string } | { email: string } | { username: string };

/** A WABA template as `context.template` carries it (Chat API §"Отправка сообщения с использованием шаблона"). */
export interface TemplateRef {
  id: number;
  text?: string;
  header?: unknown;
  footer?: unknown;
  keyboard?: unknown;
}

export type ResourceType = 'photo' | 'video' | 'audio' | 'voice' | 'document';

export interface UisResource {
  id: number;
  token: string;
  type: ResourceType;
  name: string;
  size: number;
}

export interface UisRuntime {
  /** POST /v1/adapter/chat: an outbound chat (whatsapp, waba, telegram_private, sms, email only). */
  startChat(scope: RuntimeScope, o: { operatorId: number; visitor: VisitorIdentity }): Promise<{ chatId: number; visitorId: number }>;
  /** POST /v1/adapter/message as an operator; WABA outside the window needs `template`. */
  sendMessage(
    scope: RuntimeScope,
    o: { chatId: number; operatorId: number; text?: string; replyToId?: number; resource?: Pick<UisResource, 'id' | 'token' | 'type'>; template?: TemplateRef },
  ): Promise<{ messageId: number }>;
  /** POST /v1/adapter/chat/close with reason closed_by_operator. */
  closeChat(scope: RuntimeScope, o: { chatId: number; operatorId: number }): Promise<void>;
  /** POST /v1/adapter/resource (multipart): a file to attach to a later message. */
  uploadResource(scope: RuntimeScope, o: { type: ResourceType; name: string; mime: string; content: Uint8Array }): Promise<UisResource>;
  /** GET /v1/adapter/resource/{account}/{channel}/{id}/{token}/payload: a resource's bytes (the Open Lines bridge re-hosts them). */
  downloadResource(scope: RuntimeScope, o: { id: string | number; token: string }): Promise<{ content: Uint8Array; mime: string }>;
}

export interface RuntimeClientOptions {
  fetch?: typeof fetch;
  /** ms clock for token expiry (the app's Clock). */
  now?: () => number;
  /** Log in again this long before `expires_at` (default 60 s). */
  marginMs?: number;
  timeoutMs?: number;
}

interface CachedToken {
  token: string;
  expiresAtMs: number;
}

type Row = Record<string, unknown>;

/** One factory per process: the token cache is shared by every caller of the same adapter. */
export function createUisRuntimeFactory(o: RuntimeClientOptions = {}): (c: UisRuntimeCredentials) => UisRuntime {
  const now = o.now ?? Date.now;
  const margin = o.marginMs ?? 60_000;
  const tokens = new Map<string, CachedToken>();
  const logins = new Map<string, Promise<CachedToken>>();

  return (c) => {
    const base = c.runtimeUrl.replace(/\/+$/, '');
    const key = `${base}|${c.login}|${createHash('sha256').update(c.password).digest('hex')}`;

    const login = (): Promise<CachedToken> => {
      let pending = logins.get(key);
      if (!pending) {
        pending = uisJson<{ access_token?: unknown; expires_at?: unknown }>('runtime', `${base}/v1/adapter/login`, {
          form: { username: c.login, password: c.password },
          fetch: o.fetch,
          timeoutMs: o.timeoutMs,
        })
          .then((r) => {
            if (typeof r?.access_token !== 'string' || !r.access_token) throw new UisApiError('bad_response', 'no access_token in the login answer', 200, 'runtime');
            const exp = Number(r.expires_at);
            const t = { token: r.access_token, expiresAtMs: Number.isFinite(exp) && exp > 0 ? exp * 1000 : now() + 3600_000 };
            tokens.set(key, t);
            return t;
          })
          .finally(() => logins.delete(key));
        logins.set(key, pending);
      }
      return pending;
    };

    const token = async (): Promise<string> => {
      const t = tokens.get(key);
      if (t && t.expiresAtMs - margin > now()) return t.token;
      return (await login()).token;
    };

    /** One authorised call; a 401 (token revoked or expired early) logs in again and retries once. */
    const authorised = async <T>(send: (bearer: string) => Promise<T>): Promise<T> => {
      try {
        return await send(await token());
      } catch (e) {
        if (!(e instanceof UisApiError && e.httpStatus === 401)) throw e;
        tokens.delete(key);
        return send((await login()).token);
      }
    };

    const post = <T>(path: string, body: Row) =>
      authorised((bearer) => uisJson<T>('runtime', `${base}${path}`, { headers: { authorization: `Bearer ${bearer}` }, body, fetch: o.fetch, timeoutMs: o.timeoutMs }));

    const scopeBody = (s: RuntimeScope): Row => ({ account_id: Number(s.accountId), channel_id: Number(s.channelId) });
    const createdAt = () => new Date(now()).toISOString();

    return {
      async startChat(scope, x) {
        const visitor: Row =
          'phone' in x.visitor ? { visitor_phone: x.visitor.phone } : 'email' in x.visitor ? { visitor_email: x.visitor.email } : { visitor_username: x.visitor.username };
        const r = await post<Row>('/v1/adapter/chat', { ...scopeBody(scope), operator_id: x.operatorId, initiator: 'operator', created_at: createdAt(), ...visitor });
        const chatId = Number(r?.chat_id);
        if (!Number.isInteger(chatId) || chatId <= 0) throw new UisApiError('bad_response', 'no chat_id in the answer', 200, 'runtime');
        return { chatId, visitorId: Number(r.visitor_id) };
      },

      async sendMessage(scope, x) {
        const body: Row = { ...scopeBody(scope), chat_id: x.chatId, operator_id: x.operatorId, source: 'operator', created_at: createdAt() };
        if (x.text !== undefined) body.text = x.text;
        if (x.replyToId !== undefined) body.reply_to_id = x.replyToId;
        if (x.resource) body.resource = { id: x.resource.id, token: x.resource.token, type: x.resource.type };
        if (x.template) body.context = { template: x.template };
        const r = await post<Row>('/v1/adapter/message', body);
        return { messageId: Number(r?.id) };
      },

      async closeChat(scope, x) {
        await post('/v1/adapter/chat/close', { ...scopeBody(scope), chat_id: x.chatId, operator_id: x.operatorId, reason: 'closed_by_operator' });
      },

      async uploadResource(scope, x) {
        const r = await authorised((bearer) => multipart(`${base}/v1/adapter/resource`, bearer, scope, x, o));
        return { id: Number(r.id), token: String(r.token), type: r.type as ResourceType, name: String(r.name), size: Number(r.size) };
      },

      async downloadResource(scope, x) {
        const path = [scope.accountId, scope.channelId, x.id, x.token].map((v) => encodeURIComponent(String(v))).join('/');
        return authorised(async (bearer) => {
          let res: Response;
          try {
            res = await (o.fetch ?? fetch)(`${base}/v1/adapter/resource/${path}/payload`, {
              headers: { authorization: `Bearer ${bearer}` },
              redirect: 'follow',
              signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
            });
          } catch (e) {
            throw new UisApiError('NETWORK_ERROR', e instanceof Error ? e.message : String(e), 0, 'runtime');
          }
          if (!res.ok) throw new UisApiError(`HTTP_${res.status}`, `resource download answered ${res.status}`, res.status, 'runtime');
          return { content: new Uint8Array(await res.arrayBuffer()), mime: res.headers.get('content-type') ?? 'application/octet-stream' };
        });
      },
    };
  };
}

async function multipart(
  url: string,
  bearer: string,
  scope: RuntimeScope,
  x: { type: ResourceType; name: string; mime: string; content: Uint8Array },
  o: RuntimeClientOptions,
): Promise<Row> {
  const form = new FormData();
  form.set('account_id', String(scope.accountId));
  form.set('channel_id', String(scope.channelId));
  form.set('type', x.type);
  form.set('file', new Blob([new Uint8Array(x.content)], { type: x.mime }), x.name);
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
      body: form,
      redirect: 'error',
      signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
    });
  } catch (e) {
    throw new UisApiError('NETWORK_ERROR', e instanceof Error ? e.message : String(e), 0, 'runtime');
  }
  const json = (await res.json().catch(() => null)) as Row | null;
  if (!res.ok) {
    const detail = json?.detail;
    throw new UisApiError(`HTTP_${res.status}`, typeof detail === 'string' ? detail : JSON.stringify(detail ?? ''), res.status, 'runtime');
  }
  if (!json) throw new UisApiError('bad_response', 'no JSON in the answer', res.status, 'runtime');
  return json;
}
