import express, { Router } from 'express';
import { unauthorized } from '../../domain/errors';
import { sameSecret } from '../../domain/same-secret';
import type { AppDeps } from '../deps';

/**
 * UIS Chat API callbacks: `{webhook_url}/<path>` with the bearer secret we generated when
 * registering the adapter (uis-api.md §2.3). The hook id in the URL names the portal's link; the
 * secret proves the caller is UIS. Verified callbacks are handed to `deps.uisCallbacks`
 * (the Open Lines bridge); unverified ones are refused with 401 and change nothing.
 */
export function uisCallbacksRouter(deps: AppDeps): Router {
  const router = Router();
  // POST, and PATCH / DELETE for v2 updates (PATCH /chat, PATCH /message, PATCH|DELETE /channel …).
  router.all(/^\/uis\/callbacks\/([A-Za-z0-9_-]{8,64})(\/.*)?$/, express.json({ limit: '2mb' }), async (req, res, next) => {
    if (req.method !== 'POST' && req.method !== 'PATCH' && req.method !== 'DELETE') return next();
    const params = req.params as unknown as Record<string, string | undefined>;
    const hookId = params[0] ?? '';
    const path = params[1] ?? '/';
    const link = deps.links.getByHook(hookId);
    const given = (req.get('authorization') ?? '').replace(/^Bearer\s+/i, '');
    if (!link || !sameSecret(link.webhookSecret, given)) throw unauthorized('CALLBACK_REFUSED', 'Unknown hook or wrong webhook secret');
    await deps.uisCallbacks.handle(link, path, req.method, req.body);
    res.status(204).end();
  });
  return router;
}
