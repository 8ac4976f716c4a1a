import { Router } from 'express';
import { forbidden } from '../../domain/errors';
import { portalHealth, type PortalHealthDeps } from '../../services/health/portal-health';
import type { AppDeps } from '../deps';
import type { ApiCaller } from './api-caller';
import { openLinesDeps } from './open-lines';

/** How full a portal's REST bucket is (0…1) as this process paces it. */
export const restUsed = (deps: AppDeps) => (memberId: string) => Math.min(1, deps.gateway.limiter(memberId).level() / Math.max(1, deps.health.restBurst));

/** «Состояние» (issue #16): GET /api/health — the caller's portal only, administrators only. */
export function healthViewRouter(deps: AppDeps): Router {
  const router = Router();
  const d = (): PortalHealthDeps => ({
    store: deps.health.store,
    clock: deps.clock,
    openLines: openLinesDeps(deps),
    recovery: deps.bridgeRecoveryStore,
    sources: { sources: deps.chatSources.sources, amoAccounts: deps.chatSources.amoAccounts },
    restUsed: restUsed(deps),
  });
  router.get('/api/health', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    if (!caller.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can see the integration state');
    res.json(await portalHealth(d(), caller.memberId));
  });
  return router;
}
