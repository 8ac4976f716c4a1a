import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { AppError } from '../domain/errors';
import type { AppDeps } from './deps';
import { apiRouter } from './routes/api';
import { eventsRouter } from './routes/events';
import { healthRouter } from './routes/health';
import { pagesRouter } from './routes/pages';
import { analyticsHookRouter } from './routes/analytics';
import { chatSourceHooksRouter } from './routes/chat-sources';
import { bridgeFilesRouter } from './routes/bridge-files';
import { staticAssets } from './static-assets';
import { telephonyHooksRouter } from './routes/telephony-hooks';
import { personalManagerRouter } from './routes/personal-manager';

/**
 * The Express application, without listen(): body parsers, security headers, routers, errors.
 * Bitrix24 posts pages and events form-encoded with PHP-style nested keys, hence `extended`.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.use((req, res, next) => {
    res.on('finish', () => deps.metrics.httpRequests.inc({ route: routeLabel(req), status: String(res.statusCode) }));
    next();
  });
  app.use(
    helmet({
      // Pages set their own CSP with frame-ancestors = the verified portal (csp.ts); the rest of
      // the app must never be framed. X-Frame-Options cannot express "this portal", so it is off.
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      frameguard: false,
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use(healthRouter(deps));
  if (deps.assetsDir) app.use('/assets', staticAssets(deps.assetsDir));
  app.use(['/b24'], express.urlencoded({ extended: true, limit: '1mb', parameterLimit: 5000 }), express.json({ limit: '1mb' }));
  app.use(eventsRouter(deps));
  app.use(telephonyHooksRouter(deps));
  app.use(personalManagerRouter(deps));
  app.use(analyticsHookRouter(deps));
  app.use(chatSourceHooksRouter(deps));
  app.use(bridgeFilesRouter(deps));
  app.use(pagesRouter(deps));
  app.use(apiRouter(deps));
  if (deps.dev) app.use(deps.dev.middlewares);
  app.use((_req, res) => res.status(404).json({ error: 'NOT_FOUND', message: 'No such route' }));
  app.use(errorHandler(deps));
  return app;
}

/**
 * The metrics label of a request: the pattern of the route that answered it (`/api/crm-rules/:kind`,
 * `/files/uis/:memberId/…`), never the path itself, so the series stay bounded whatever paths
 * clients send. A request no route took (404s, bodies refused before the route) gets its area.
 */
export function routeLabel(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  if (route && (typeof route.path === 'string' || Array.isArray(route.path))) return `${req.baseUrl}${String(route.path)}`;
  const p = req.originalUrl ?? req.url;
  if (p.startsWith('/assets/')) return '/assets';
  const area = /^\/(api|b24|files|uis)\//.exec(p);
  return area ? `/${area[1]}/(unmatched)` : '(unmatched)';
}

export function errorHandler(deps: Pick<AppDeps, 'log'>) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    let status = 500;
    let body: { error: string; message: string; field?: string; reason?: string } = { error: 'INTERNAL', message: 'Internal error' };
    if (err instanceof AppError) {
      status = err.httpStatus;
      body = { error: err.code, message: err.message, ...err.details };
    } else if (e.type === 'entity.too.large') {
      status = 413;
      body = { error: 'BODY_TOO_LARGE', message: 'The request body is too large' };
    } else if (isClientError(err)) {
      // What the body parsers refuse (http-errors with a 4xx): bad JSON or form syntax, too many
      // fields, fields nested deeper than 32 levels, an unsupported charset or Content-Encoding;
      // a path parameter that does not decode.
      status = err.status;
      body = {
        error: status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'MALFORMED_BODY',
        message: `The request could not be read: ${err.message.slice(0, 300)} (${err.type ?? 'invalid'})`,
      };
    } else {
      // The route's pattern, never the path: paths carry secrets (/hooks/jivo/:secret, /uis/calls/:secret…).
      deps.log.error({ err, route: routeLabel(req) }, 'unhandled error');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json(body);
  };
}

/**
 * A 4xx the request itself caused: the body parsers' http-errors (`expose` set), or the router's
 * "Failed to decode param" (a URIError given status 400: a path segment that is not UTF-8).
 */
function isClientError(err: unknown): err is { status: number; message: string; type?: string } {
  const e = err as { status?: unknown; expose?: unknown } | null;
  return !!e && typeof e === 'object' && (e.expose === true || err instanceof URIError) && typeof e.status === 'number' && e.status >= 400 && e.status < 500;
}
