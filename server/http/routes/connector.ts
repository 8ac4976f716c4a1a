import { Router } from 'express';
import { connectorBindRequestSchema, defaultOperatorRequestSchema, lineIdSchema } from '../../contracts/connector';
import { badRequest, forbidden } from '../../domain/errors';
import { bindLine, connectorView, unbindLine, type BindLineDeps } from '../../services/bridge/bind-line';
import { listEmployees, setDefaultOperator, type DefaultOperatorDeps } from '../../services/bridge/default-operator';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** `/api/connector`: the connector page's line ⇄ UIS channel binding (admins change it). */
export function connectorRouter(deps: AppDeps): Router {
  const router = Router();
  const d = (): BindLineDeps => ({
    bridge: deps.bridge,
    links: deps.links,
    channels: deps.workspace.channels,
    gateway: deps.gateway,
    appUrl: deps.appUrl,
    connectionStatus: (m, c) => deps.bridgeRecoveryStore.connectionStatus(m, c),
    crmRules: deps.crmRules,
  });
  const lineOf = (v: unknown) => {
    const p = lineIdSchema.safeParse(v);
    if (!p.success) throw badRequest('VALIDATION_FAILED', 'line: the open line id is missing or invalid');
    return p.data;
  };
  const admin = (caller: ApiCaller) => {
    if (!caller.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can connect channels to open lines');
  };

  router.get('/api/connector', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    res.json(await connectorView(d(), caller.memberId, lineOf(req.query.line)));
  });
  router.put('/api/connector', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    admin(caller);
    const body = connectorBindRequestSchema.safeParse(req.body);
    if (!body.success) throw badRequest('VALIDATION_FAILED', zodMessage(body.error));
    res.json(await bindLine(d(), caller.memberId, body.data.line, body.data.channelId));
  });
  router.delete('/api/connector', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    admin(caller);
    res.json(await unbindLine(d(), caller.memberId, lineOf(req.query.line)));
  });
  const ops = (): DefaultOperatorDeps => ({ bridge: deps.bridge, links: deps.links, dataApi: deps.workspace.dataApi });
  router.get('/api/connector/employees', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    admin(caller);
    res.json(await listEmployees(ops(), caller.memberId));
  });
  router.put('/api/connector/default-operator', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    admin(caller);
    const body = defaultOperatorRequestSchema.safeParse(req.body);
    if (!body.success) throw badRequest('VALIDATION_FAILED', zodMessage(body.error));
    res.json(await setDefaultOperator(ops(), caller.memberId, body.data.operatorId));
  });
  return router;
}
