import { Router } from 'express';
import { crmRulesSettingsSchema } from '../../contracts/crm-rules';
import { crmRulesKindSchema, templatePreviewRequestSchema, type CrmDirectory } from '../../contracts/crm-settings';
import { badRequest, forbidden, notFound } from '../../domain/errors';
import { crmDirectory } from '../../services/crm-rules/directory';
import { crmRulesView, previewTemplates, saveCrmRules } from '../../services/crm-rules/settings';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** «Чаты» and «Оффлайн заявки»: the rules per tab, the portal's CRM directory, template previews. */
export function crmRulesRouter(deps: AppDeps): Router {
  const router = Router();
  const admin = (c: ApiCaller) => {
    if (!c.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change the Chats and Offline requests settings');
    return c;
  };
  const kindOf = (raw: unknown) => {
    const parsed = crmRulesKindSchema.safeParse(raw);
    if (!parsed.success) throw notFound('NOT_FOUND', 'Unknown settings tab: use chats or offline');
    return parsed.data;
  };
  /** E-mails of colleagues are for administrators (they pick responsibles); others see names. */
  const forCaller = (c: ApiCaller, d: CrmDirectory): CrmDirectory => (c.isAdmin ? d : { ...d, users: d.users.map((u) => ({ ...u, email: null })) });

  router.post('/api/crm-rules/preview', (req, res) => {
    const parsed = templatePreviewRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(previewTemplates(parsed.data));
  });
  router.get('/api/crm-rules/:kind', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    res.json(await crmRulesView(deps, caller.memberId, kindOf(req.params.kind)));
  });
  router.put('/api/crm-rules/:kind', async (req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    const kind = kindOf(req.params.kind);
    const parsed = crmRulesSettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveCrmRules(deps, caller.memberId, kind, parsed.data));
  });
  router.get('/api/crm/directory', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    res.json(forCaller(caller, await crmDirectory(deps, caller.memberId)));
  });
  router.post('/api/crm/directory/refresh', async (_req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    res.json(forCaller(caller, await crmDirectory(deps, caller.memberId, { refresh: true })));
  });
  return router;
}
