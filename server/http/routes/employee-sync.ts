import { Router } from 'express';
import { employeeSyncSettingsSchema, type EmployeeSyncView } from '../../contracts/employee-sync';
import { AppError, badRequest, forbidden } from '../../domain/errors';
import { employeeSyncView, saveEmployeeSyncSettings } from '../../services/employee-sync/settings';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** E-mails of colleagues are for administrators; others see names and outcomes. */
function forCaller(c: ApiCaller, v: EmployeeSyncView): EmployeeSyncView {
  if (c.isAdmin) return v;
  const strip = <T extends { email: string | null }>(xs: T[]) => xs.map((x) => ({ ...x, email: null }));
  const run = (r: EmployeeSyncView['run']) =>
    r && r.result ? { ...r, result: { ...r.result, unmatchedB24: strip(r.result.unmatchedB24), unmatchedUis: strip(r.result.unmatchedUis), noLastName: strip(r.result.noLastName) } } : r;
  return { ...v, run: run(v.run), lastResult: run(v.lastResult) };
}

/** «Синхронизация сотрудников» on the «Главная» tab: settings, manual run (polled), last result. */
export function employeeSyncRouter(deps: AppDeps): Router {
  const router = Router();
  const admin = (c: ApiCaller) => {
    if (!c.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change the employee sync');
    return c;
  };
  router.get('/api/employee-sync', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    res.json(forCaller(caller, await employeeSyncView(deps, caller.memberId)));
  });
  router.put('/api/employee-sync/settings', async (req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    const parsed = employeeSyncSettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveEmployeeSyncSettings(deps, caller.memberId, parsed.data));
  });
  router.post('/api/employee-sync/run', async (_req, res) => {
    const caller = admin(res.locals.caller as ApiCaller);
    if (!(await deps.links.get(caller.memberId))) throw new AppError('UIS_NOT_LINKED', 'Link a UIS account on the «Главная» tab first', 409);
    const run = await deps.employeeSyncWorker.trigger(caller.memberId, 'manual');
    if (!run) throw new AppError('SYNC_RUNNING', 'A sync of this portal is already running; wait for it to finish', 409);
    res.status(202).json(await employeeSyncView(deps, caller.memberId));
  });
  return router;
}
