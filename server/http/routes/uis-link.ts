import { Router } from 'express';
import { uisLinkRequestSchema } from '../../contracts/uis';
import { badRequest, forbidden } from '../../domain/errors';
import { linkUis, toLinkView, unlinkUis } from '../../services/link-uis';
import { bridgeHealth } from '../../services/bridge/health';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** «Аккаунт UIS» on the main page: read (any user of the portal), link and unlink (admins). */
export function uisLinkRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/api/uis/link', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    const health = await bridgeHealth({ links: deps.links, bridge: deps.bridge, channels: deps.workspace.channels, recovery: deps.bridgeRecoveryStore }, caller.memberId);
    res.json({ ...toLinkView(await deps.links.get(caller.memberId), deps.appUrl), health });
  });
  router.post('/api/uis/link', async (req, res) => {
    const caller = requireAdmin(res.locals.caller as ApiCaller);
    const parsed = uisLinkRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    const link = await linkUis(deps, caller.memberId, parsed.data);
    res.json(toLinkView(link, deps.appUrl));
  });
  router.delete('/api/uis/link', async (_req, res) => {
    const caller = requireAdmin(res.locals.caller as ApiCaller);
    await unlinkUis(deps, caller.memberId);
    res.json(toLinkView(null, deps.appUrl));
  });
  return router;
}

function requireAdmin(c: ApiCaller): ApiCaller {
  if (!c.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change the UIS account link');
  return c;
}
