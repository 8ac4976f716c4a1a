import { Router } from 'express';
import { openLinesSettingsSchema } from '../../contracts/open-lines';
import { badRequest, forbidden } from '../../domain/errors';
import { openLinesView, saveOpenLines, type OpenLinesDeps } from '../../services/open-lines/settings';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** What the Open Lines services need, from the app's deps (the health view reads the lines the same way). */
export const openLinesDeps = (deps: AppDeps): OpenLinesDeps => ({
  openLines: deps.openLines,
  crmRules: deps.crmRules,
  gateway: deps.gateway,
  clock: deps.clock,
  links: deps.links,
  portals: deps.portals,
  bridge: deps.bridge,
  channels: deps.workspace.channels,
  connectionStatus: (m, c) => deps.bridgeRecoveryStore.connectionStatus(m, c),
});

/** «Открытые линии» tab: its settings, the lines our connector drives (both sides), recent outcomes. */
export function openLinesRouter(deps: AppDeps): Router {
  const router = Router();
  const d = () => openLinesDeps(deps);
  router.get('/api/open-lines', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    res.json(await openLinesView(d(), caller.memberId));
  });
  router.put('/api/open-lines/settings', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    if (!caller.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change the Open Lines settings');
    const parsed = openLinesSettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveOpenLines(d(), caller.memberId, parsed.data));
  });
  return router;
}
