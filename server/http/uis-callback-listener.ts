import type { IncomingMessage, RequestListener } from 'node:http';
import { sameSecret } from '../domain/same-secret';
import { jsonDepth, MAX_JSON_DEPTH, parseUisCallback } from '../uis/callback-schemas';
import type { AppDeps } from './deps';
import { zodMessage } from './zod-message';

const PATH = /^\/uis\/callbacks\/([A-Za-z0-9_-]{8,64})(\/[^?#]*)?(?:\?.*)?$/;
const MAX_BODY = 2 * 1024 * 1024;

/**
 * UIS Chat API callbacks: `{webhook_url}/<path>` with the bearer secret we generated when
 * registering the adapter (docs/facts/uis.md#chat-callbacks). The hook id in the URL names the portal's link; the
 * secret proves the caller is UIS. Verified callbacks are parsed with their schema
 * (server/uis/callback-schemas.ts) and go to `deps.uisCallbacks` (recorded and committed in
 * groups, then answered 204); unverified ones are refused with 401, and a body that is not the
 * documented callback with a 4xx and its reason — neither changes anything.
 *
 * This is the hottest endpoint (UIS posts every message, status and card of every linked account)
 * and its contract is tiny: a JSON body in, an empty answer out. It is served straight from the
 * Node request event, ahead of Express: the router, body parser and browser security headers cost
 * more than the work itself (the bench measured ≈ 40 % of a callback's CPU in them). Everything else
 * goes on to `next` (the Express app).
 */
export function uisCallbackListener(deps: AppDeps, next: RequestListener): RequestListener {
  return (req, res) => {
    const m = req.method === 'POST' || req.method === 'PATCH' || req.method === 'DELETE' ? PATH.exec(req.url ?? '') : null;
    if (!m) return next(req, res);
    const done = (status: number, body?: { error: string; message: string }) => {
      deps.metrics.httpRequests.inc({ route: '/uis/callbacks', status: String(status) });
      if (!body) return void res.writeHead(status).end();
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    // the link's lookup is the only wait before the body is read: the request stays paused meanwhile
    deps.links.getByHook(m[1]!).then(
      (link) => {
        const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
        if (!link || !sameSecret(link.webhookSecret, given)) {
          req.resume();
          return done(401, { error: 'CALLBACK_REFUSED', message: 'Unknown hook or wrong webhook secret' });
        }
        const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (encoding !== 'identity') {
          req.resume();
          return done(415, { error: 'UNSUPPORTED_ENCODING', message: `Content-Encoding ${encoding} is not accepted; send the JSON body as is` });
        }
        const type = req.headers['content-type'] ?? '';
        const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]?.toLowerCase();
        if (charset && charset !== 'utf-8' && charset !== 'utf8') {
          req.resume();
          return done(415, { error: 'UNSUPPORTED_CHARSET', message: `charset ${charset.slice(0, 40)} is not accepted; send UTF-8 JSON` });
        }
        readBody(req, (raw) => {
          if (raw === null) return done(413, { error: 'BODY_TOO_LARGE', message: `The request body is larger than ${MAX_BODY} bytes` });
          let body: unknown;
          // UIS sends JSON; a body of another type (or none) is handed on as undefined, like a JSON parser would.
          if (/\bjson\b/i.test(type) && raw.length) {
            const text = raw.toString('utf8');
            if (jsonDepth(text) > MAX_JSON_DEPTH) return done(400, { error: 'MALFORMED_BODY', message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels` });
            try {
              body = JSON.parse(text);
            } catch {
              return done(400, { error: 'MALFORMED_BODY', message: 'The request body is not valid JSON' });
            }
          }
          const parsed = parseUisCallback(req.method!, m[2] ?? '/', body);
          if (!parsed.ok) {
            const message = parsed.issues ? `${parsed.error}: ${zodMessage(parsed.issues)}` : parsed.error;
            return done(parsed.status, { error: parsed.status === 404 ? 'UNKNOWN_CALLBACK' : 'INVALID_CALLBACK', message: message.slice(0, 1000) });
          }
          deps.uisCallbacks.submit(link, parsed.callback).then(
            () => done(204),
            (err: unknown) => {
              deps.log.error({ err, route: parsed.callback.route }, 'UIS callback could not be recorded');
              done(500, { error: 'INTERNAL', message: 'Internal error' });
            },
          );
        });
      },
      (err: unknown) => {
        req.resume();
        deps.log.error({ err }, 'UIS callback: the link could not be read');
        done(500, { error: 'INTERNAL', message: 'Internal error' });
      },
    );
  };
}

/** The whole body, or null once it exceeds MAX_BODY (the rest is discarded). */
function readBody(req: IncomingMessage, then: (raw: Buffer | null) => void): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY) {
    req.resume();
    return then(null);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    if (over) return;
    size += c.length;
    if (size > MAX_BODY) {
      over = true;
      chunks.length = 0;
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => then(over ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  req.on('error', () => {
    /* the connection is gone: nothing to answer */
  });
}
