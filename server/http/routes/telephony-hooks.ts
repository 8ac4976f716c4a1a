import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { parseCallNotification } from '../../uis/call-notifications';
import { portalOfHook, recordCallNotification } from '../../services/telephony/intake';
import type { AppDeps } from '../deps';

const MAX_BODY = 64 * 1024;

/**
 * UIS HTTP notifications about calls («Уведомления о событиях», docs/facts/telephony.md#notifications): the URL the
 * «Телефония» tab shows, `/uis/calls/<secret>/<event type>`, by GET (query) or POST (JSON or form
 * body, query too). The secret names the portal; an unknown one is refused with 401 before the
 * body is read, and nothing is recorded. A body that is not a notification is a 4xx with its
 * reason. A verified notification is recorded (durably) before the 204.
 */
export function telephonyHooksRouter(deps: AppDeps): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: MAX_BODY });
  /** The secret first: an unknown one is refused before the body is read. */
  const verify = async (req: Request, res: Response, next: NextFunction) => {
    const memberId = await portalOfHook(deps.telephony, String(req.params.token ?? ''));
    const portal = memberId ? await deps.portals.get(memberId) : null;
    if (!memberId || !portal || portal.status === 'deleted') {
      req.resume();
      res.status(401).json({ error: 'NOTIFICATION_REFUSED', message: 'Unknown notification URL: copy it again from the «Телефония» tab' });
      return;
    }
    res.locals.memberId = memberId;
    next();
  };
  const handle = async (req: Request, res: Response) => {
    const memberId = res.locals.memberId as string;
    const event = typeof req.params.event === 'string' ? req.params.event : null;
    const query = new URLSearchParams(req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const parsed = parseCallNotification({ pathEvent: event, query, contentType: req.get('content-type') ?? '', body, receivedAt: deps.clock.now() });
    if (!parsed.ok) {
      res.status(parsed.status).json({ error: parsed.code, message: parsed.message.slice(0, 500) });
      return;
    }
    await recordCallNotification({ telephony: deps.telephony, now: () => deps.clock.now(), wake: () => deps.telephonyWorker.wake() }, memberId, parsed.notification);
    res.status(204).end();
  };
  /** The path carries the secret: a failure here is logged without it (the app's error handler logs paths). */
  const guarded = (fn: (req: Request, res: Response, next: NextFunction) => Promise<void>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      await fn(req, res, next);
    } catch (err) {
      deps.log.error({ err, route: '/uis/calls/:token/:event' }, 'UIS call notification could not be recorded');
      if (!res.headersSent) res.status(500).json({ error: 'INTERNAL', message: 'Internal error' });
    }
  };
  for (const path of ['/uis/calls/:token', '/uis/calls/:token/:event']) {
    router.get(path, guarded(verify), guarded(handle));
    router.post(path, guarded(verify), raw, guarded(handle));
  }
  return router;
}
