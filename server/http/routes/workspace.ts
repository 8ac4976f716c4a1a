import { Router } from 'express';
import { lookupRequestSchema, startChatRequestSchema } from '../../contracts/workspace';
import { badRequest } from '../../domain/errors';
import { findClientChats } from '../../services/find-client-chats';
import { getWorkspace } from '../../services/get-workspace';
import { startChat } from '../../services/start-chat';
import { onChatStarted } from '../../services/bridge/on-uis-callback';
import type { WorkspaceDeps } from '../../services/workspace-ports';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/**
 * The operator workspace pages (left menu, CRM tabs; issue #5). Every portal user may use them:
 * UIS decides what an operator sees inside its workspace, and a chat is always started as the
 * caller's own UIS employee.
 */
export function workspaceRouter(deps: AppDeps): Router {
  const router = Router();
  const w: WorkspaceDeps = {
    ...deps.workspace,
    links: deps.links,
    employees: deps.employeeDirectory,
    uisEndpoints: deps.uisEndpoints,
    gateway: deps.gateway,
    clock: deps.clock,
    log: deps.log,
    chatStarted: (memberId, c) => onChatStarted({ bridge: deps.bridge, now: () => deps.clock.now(), wake: () => deps.bridgeWorker.wake() }, memberId, c),
  };

  router.get('/api/workspace', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await getWorkspace(w, res.locals.caller as ApiCaller));
  });

  router.post('/api/workspace/lookup', async (req, res) => {
    const parsed = lookupRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.setHeader('Cache-Control', 'no-store');
    res.json(await findClientChats(w, res.locals.caller as ApiCaller, parsed.data));
  });

  router.post('/api/workspace/chats', async (req, res) => {
    const parsed = startChatRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.status(201).json(await startChat(w, res.locals.caller as ApiCaller, parsed.data));
  });

  return router;
}
