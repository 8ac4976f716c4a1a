import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { INSTALL_STEPS } from '../../../install/plan';
import type { InstallProgress, StepView } from '../../contracts/install';
import type { PortalView } from '../../contracts/portal';
import { forbidden, notFound, unauthorized } from '../../domain/errors';
import { runInstall } from '../../services/run-install';
import type { AppDeps } from '../deps';
import type { ApiCaller } from './api-caller';
import { uisLinkRouter } from './uis-link';
import { workspaceRouter } from './workspace';
import { analyticsApiRouter } from './analytics';
import { chatSourcesApiRouter } from './chat-sources';
import { connectorRouter } from './connector';
import { crmRulesRouter } from './crm-rules';
import { employeeSyncRouter } from './employee-sync';
import { openLinesRouter } from './open-lines';
import { healthViewRouter } from './health-view';
import { telephonyRouter } from './telephony';

/** JSON API for our own pages, authenticated by the page session the server issued (never a cookie). */
export function apiRouter(deps: AppDeps): Router {
  const router = Router();
  router.use('/api', express.json({ limit: '100kb' }), authenticate(deps));

  router.get('/api/portal', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    const p = await deps.portals.get(caller.memberId);
    if (!p || p.status === 'deleted') throw notFound('PORTAL_NOT_FOUND', 'The app is not installed on this portal');
    const view: PortalView = { memberId: p.memberId, domain: p.domain, status: p.status, installedAt: p.installedAt, scopes: p.scopes };
    res.json(view);
  });

  router.post('/api/install/run', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    if (!caller.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can install the app');
    const p = await deps.portals.get(caller.memberId);
    if (!p || p.status === 'deleted') throw notFound('PORTAL_NOT_FOUND', 'The app is not installed on this portal');
    res.status(200).type('application/x-ndjson').setHeader('Cache-Control', 'no-store');
    const write = (m: InstallProgress) => res.write(JSON.stringify(m) + '\n');
    const views = new Map<string, StepView>(INSTALL_STEPS.map((s) => [s.id, { id: s.id, label: s.label, status: 'pending' }]));
    write({ type: 'plan', steps: [...views.values()] });
    const ok = await runInstall(deps, p.memberId, (r) => {
      const step: StepView = { ...views.get(r.id)!, status: r.status, detail: r.detail, error: r.error };
      views.set(r.id, step);
      write({ type: 'step', step });
    });
    write({ type: 'done', ok });
    res.end();
  });

  router.use(uisLinkRouter(deps));
  router.use(workspaceRouter(deps));
  router.use(analyticsApiRouter(deps));
  router.use(chatSourcesApiRouter(deps));
  router.use(connectorRouter(deps));
  router.use(crmRulesRouter(deps));
  router.use(employeeSyncRouter(deps));
  router.use(openLinesRouter(deps));
  router.use(healthViewRouter(deps));
  router.use(telephonyRouter(deps));
  return router;
}

function authenticate(deps: AppDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const caller = token ? deps.sessions.verify(token) : null;
    if (!caller) throw unauthorized('NO_SESSION', 'Open this page from Bitrix24 again: the page session is missing or expired');
    // A session outlives nothing: the portal must still have the app (uninstalled, or its data
    // deleted with CLEAN=1, means no reads and no writes with a session issued before).
    const portal = await deps.portals.get(caller.memberId);
    if (!portal || portal.status === 'deleted') throw unauthorized('APP_NOT_INSTALLED', 'The app is not installed on this portal any more: install it again from Bitrix24');
    res.locals.caller = caller satisfies ApiCaller;
    next();
  };
}
