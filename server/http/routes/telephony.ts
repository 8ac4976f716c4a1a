import { Router } from 'express';
import { callTemplatePreviewRequestSchema, telephonySettingsSchema } from '../../contracts/telephony-settings';
import { badRequest, forbidden } from '../../domain/errors';
import { syncLines } from '../../services/telephony/lines';
import { loadTelephonyLists, previewCallTemplates, rotateHook, saveTelephony, telephonyView } from '../../services/telephony/settings';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** «Телефония»: the settings, what to configure in UIS, the UIS lists, template previews. */
export function telephonyRouter(deps: AppDeps): Router {
  const router = Router();
  const admin = (c: ApiCaller) => {
    if (!c.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change the Telephony settings');
    return c;
  };
  const sdeps = () => ({ ...deps, telephony: deps.telephony, crmRules: deps.crmRules });

  router.get('/api/telephony', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    res.json(await telephonyView(sdeps(), caller.memberId, { admin: caller.isAdmin }));
  });
  router.put('/api/telephony', async (req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    const parsed = telephonySettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveTelephony(sdeps(), caller.memberId, parsed.data));
  });
  router.post('/api/telephony/preview', (req, res) => {
    const parsed = callTemplatePreviewRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(previewCallTemplates(parsed.data));
  });
  router.get('/api/telephony/lists', async (_req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    res.json(await loadTelephonyLists(sdeps(), caller.memberId));
  });
  router.post('/api/telephony/hook/rotate', async (_req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    res.json(await rotateHook(sdeps(), caller.memberId));
  });
  router.post('/api/telephony/lines/sync', async (_req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    await syncLines(sdeps(), caller.memberId).catch(() => undefined);
    res.json(await telephonyView(sdeps(), caller.memberId, { admin: true }));
  });
  return router;
}
