/**
 * The portal's /rest endpoint (docs/facts/bitrix24.md#rest-url, docs/facts/bitrix24.md#rest-errors, docs/facts/bitrix24-frame.md#frame-rest, docs/facts/bitrix24-frame.md#host-page):
 * - `/rest/<method>`, `/rest/<method>.json`, and `/rest//<method>` (B24OAuth with a trailing-slash
 *   client_endpoint); method names are case-insensitive;
 * - GET query, POST form (PHP nested keys via qs) and POST JSON; query and body are merged;
 * - auth from `Authorization: Bearer`, else `auth`, else `access_token` (rest/lib/oauth/auth.php);
 * - order: unknown method 404 → auth 401 → scope → leaky bucket 503 → method;
 * - CORS exactly as CRestUtil::sendHeaders: `*` with `origin, content-type, accept` (so a browser
 *   cannot send an Authorization header cross-origin — the SDK sends `auth` in the body).
 */
import express from 'express';
import qs from 'qs';
import { methodNotFound, noAuth, expiredToken, invalidToken, insufficientScope, queryLimit, type RestError } from './errors';
import { methodScopeGranted, runMethod } from './execute';
import { isRecord, type Params } from './php';
import { METHODS } from './methods';
import type { LeakyBucket } from './bucket';
import type { PortalCore } from './types';

export interface RestStats {
  requests: number;
  limited503: number;
  byMethod: Record<string, number>;
}

/** Test control: the answer of the next `remaining` calls of `methods` is held after they ran. */
export interface AnswerHold {
  methods: string[];
  remaining: number;
  /** called once per held call, right after the portal executed it */
  executed(name: string): void;
  /** resolves when the held answers may go out */
  released: Promise<void>;
}

export interface RestHost extends PortalCore {
  readonly bucket: LeakyBucket;
  readonly stats: RestStats;
  readonly answerHolds: AnswerHold[];
}

const QS_OPTIONS = { depth: 20, arrayLimit: 1000, parameterLimit: 10_000 } as const;

function corsHeaders(res: express.Response): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'origin, content-type, accept');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

function send(res: express.Response, status: number, body: Params): void {
  res.status(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

function sendError(res: express.Response, e: RestError): void {
  send(res, e.status, e.body());
}

/** Method name from the raw URL, so `/rest//profile` survives (Express would not normalise it either). */
export function methodFromUrl(originalUrl: string): string {
  const path = originalUrl.split('?')[0] ?? '';
  let name = path.replace(/^\/rest/, '').replace(/^\/+/, '');
  try {
    name = decodeURIComponent(name);
  } catch {
    /* keep raw */
  }
  return name.replace(/\.json$/i, '').toLowerCase();
}

function parseBody(req: express.Request): Params {
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return {};
  const text = raw.toString('utf8');
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return isRecord(parsed) ? parsed : {}; // PHP: an undecodable body is simply no parameters
    } catch {
      return {};
    }
  }
  if (type.includes('application/x-www-form-urlencoded')) return qs.parse(text, QS_OPTIONS) as Params;
  return {};
}

function authKey(req: express.Request, params: Params): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string' && /^Bearer\s+/i.test(header)) return header.replace(/^Bearer\s+/i, '');
  for (const key of ['auth', 'access_token']) {
    const v = params[key];
    if (v !== undefined && !Array.isArray(v) && !isRecord(v)) return String(v);
  }
  return null;
}

export function restRouter(host: RestHost): express.Router {
  const router = express.Router();
  router.use('/rest', express.raw({ type: () => true, limit: '50mb' }));
  router.use('/rest', async (req, res) => {
    corsHeaders(res);
    if (req.method === 'OPTIONS') {
      res.status(200).end();
      return;
    }
    const startMs = host.shared.clock.now();
    const name = methodFromUrl(req.originalUrl);
    host.stats.requests++;
    host.stats.byMethod[name] = (host.stats.byMethod[name] ?? 0) + 1;

    const def = METHODS.get(name);
    if (!def) return sendError(res, methodNotFound()); // checked before auth (docs/facts/bitrix24.md#rest-envelope)

    const queryString = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
    const params: Params = { ...(qs.parse(queryString, QS_OPTIONS) as Params), ...parseBody(req) };
    const token = authKey(req, params);
    delete params.auth;
    delete params.access_token;
    delete params.auth_connector;
    if (token === null || token === '') return sendError(res, noAuth());
    const check = host.shared.tokens.check(token, host.memberId);
    if (!check.ok) return sendError(res, check.error === 'expired_token' ? expiredToken() : invalidToken());
    const user = host.users.get(check.record.userId);
    if (!user || !host.install) return sendError(res, invalidToken());

    res.setHeader('X-Bitrix-Rest-Application', host.shared.app.clientId);
    if (!methodScopeGranted(def, host.shared.app.scopes)) {
      return sendError(res, insufficientScope('The request requires higher privileges than provided by the access token'));
    }
    if (!host.bucket.take()) {
      host.stats.limited503++;
      return sendError(res, queryLimit());
    }

    let start = 0;
    if (params.start !== undefined) {
      start = Number.parseInt(String(params.start), 10) || 0;
      delete params.start;
    }
    const ctx = { portal: host, user, scopes: host.shared.app.scopes, start, methods: METHODS };
    const outcome = await runMethod(def, name, params, ctx, startMs);
    const hold = host.answerHolds.find((x) => x.remaining > 0 && x.methods.includes(name));
    if (hold) {
      hold.remaining--;
      hold.executed(name);
      await hold.released; // the portal ran it; its answer is late (or never read: the caller died)
    }
    const time = outcome.body.time;
    if (isRecord(time) && typeof time.processing === 'number') {
      res.setHeader('X-Bitrix-Rest-Time', time.processing.toFixed(10));
    }
    send(res, outcome.status, outcome.body);
  });
  return router;
}
