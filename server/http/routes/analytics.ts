import { Router } from 'express';
import { analyticsSettingsSchema, type AnalyticsJobView } from '../../contracts/analytics';
import { eventSchema } from '../../bitrix/event-schemas';
import { verifyApplicationToken } from '../../bitrix/verify';
import { badRequest, forbidden, unauthorized } from '../../domain/errors';
import { enqueueAnalyticsFromEvent } from '../../services/analytics/on-event';
import { analyticsView, loadAnalyticsLists, saveAnalyticsSettings } from '../../services/analytics/settings';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** «Открытые линии: сквозная аналитика»: settings, live UIS lists, job outcomes. */
export function analyticsApiRouter(deps: AppDeps): Router {
  const router = Router();
  const admin = (c: ApiCaller) => {
    if (!c.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change analytics settings');
    return c;
  };
  router.get('/api/analytics', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    const view = await analyticsView(deps, caller.memberId);
    // the hand-made webhook's token is a secret: only administrators get it back
    if (!caller.isAdmin && view.settings.webhookToken) view.settings = { ...view.settings, webhookToken: '********' };
    res.json(view);
  });
  router.put('/api/analytics', async (req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    const parsed = analyticsSettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveAnalyticsSettings(deps, caller.memberId, parsed.data));
  });
  router.get('/api/analytics/lists', async (_req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    res.json(await loadAnalyticsLists(deps, caller.memberId));
  });
  router.get('/api/analytics/jobs', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    const jobs: AnalyticsJobView[] = (await deps.analytics.recent(caller.memberId, 100)).map((j) => ({
      entityType: j.entityType,
      entityId: j.entityId,
      status: j.status,
      reason: j.reason,
      chatId: j.chatId,
      attribution: j.attribution,
      updatedAt: j.updatedAt,
    }));
    res.json(jobs);
  });
  return router;
}

/**
 * A hand-made outgoing webhook (portals that configure ONCRMLEADADD/ONCRMDEALADD themselves):
 * the URL names the portal's analytics hook, and `auth[application_token]` must equal the token
 * Bitrix24 showed for that webhook (saved in the settings) — compared in constant time.
 */
export function analyticsHookRouter(deps: AppDeps): Router {
  const router = Router();
  router.post('/b24/analytics/:hookId', async (req, res) => {
    const parsed = eventSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('MALFORMED_EVENT', zodMessage(parsed.error));
    const cfg = await deps.analytics.getByHook(String(req.params.hookId));
    const ev = parsed.data;
    if (!cfg || cfg.memberId !== ev.auth.member_id || !verifyApplicationToken(cfg.settings.webhookToken, ev.auth.application_token)) {
      throw unauthorized('EVENT_REFUSED', 'Unknown hook, other portal or wrong application_token');
    }
    const queued = await enqueueAnalyticsFromEvent(deps, cfg.memberId, ev);
    res.json({ ok: true, outcome: queued ? 'queued' : 'ignored' });
  });
  return router;
}
