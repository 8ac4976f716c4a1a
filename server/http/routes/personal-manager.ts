import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { portalOfHook } from '../../services/telephony/intake';
import type { ManagerAnswer } from '../../services/personal-manager/ports';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';

const MAX_BODY = 8 * 1024;
const param = z.string().trim().max(64);

/**
 * What «Интерактивная обработка вызова» sends (comagic.github.io interactive_call_processing: the
 * parameters the operation includes — `cdr_id, start_time, input_result, numa, numb`; CRM
 * integrations add `call_session_id`). Only the caller's number is needed.
 */
export const interactiveRequestSchema = z
  .object({
    // required: without it the operation is set up wrong; a hidden or odd number is answered "no manager"
    numa: z.string({ error: 'numa is missing: add «numa» (the caller\'s number) to the operation\'s parameters' }).max(64, 'numa is too long'),
    numb: param.optional(),
    cdr_id: param.optional(),
    call_session_id: param.optional(),
    start_time: param.optional(),
    input_result: param.optional(),
  })
  .loose();

/**
 * The interactive processing answer (HTTP 200, JSON): the manager's numbers as `phones` (digit
 * strings, as every documented example); no manager → `{}`, an empty answer, on which the
 * scenario takes the operation's linked one («Связанная операция»).
 */
export function interactiveAnswer(a: ManagerAnswer): Record<string, unknown> {
  return a.kind === 'manager' ? { phones: a.phones } : {};
}

/**
 * «Переадресация на персонального менеджера из CRM» over UIS interactive call processing: the URL
 * the «Телефония» tab shows, `/uis/manager/<secret>`, asked by GET (query) or POST (form or JSON
 * body) while the call is in the scenario. The secret names the portal (the one of the call
 * notification URLs): an unknown one is 401 before the body is read, nothing recorded; a request
 * without the caller's number is 400 with the reason. The lookup is a service
 * (services/personal-manager/lookup.ts); this file is only the transport, so another (the built-in
 * operation's protocol, when UIS publishes it) can sit beside it.
 */
export function personalManagerRouter(deps: AppDeps): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: MAX_BODY });
  const handle = async (req: Request, res: Response) => {
    const startedAt = Date.now();
    const pm = deps.personalManager;
    const memberId = pm ? await portalOfHook(deps.telephony, String(req.params.token ?? '')) : null;
    const portal = memberId ? await deps.portals.get(memberId) : null;
    if (!pm || !memberId || !portal || portal.status === 'deleted') {
      req.resume();
      res.status(401).json({ error: 'REQUEST_REFUSED', message: 'Unknown URL: copy it again from the «Телефония» tab' });
      return;
    }
    const body = await readBody(req, res, raw);
    if (body === null) return;
    const parsed = interactiveRequestSchema.safeParse({ ...Object.fromEntries(queryOf(req)), ...body });
    if (!parsed.success) {
      res.status(400).json({ error: 'BAD_REQUEST', message: zodMessage(parsed.error) });
      return;
    }
    const answer = await pm.find(memberId, parsed.data.numa, startedAt);
    res.status(200).json(interactiveAnswer(answer));
    // counted after the answer left (the tab's «UIS asks» check)
    void pm.noteAsk(memberId, answer).catch((err: unknown) => deps.log.warn({ err, memberId }, 'personal manager: the ask was not counted'));
  };
  const guarded = async (req: Request, res: Response) => {
    try {
      await handle(req, res);
    } catch (err) {
      // the path carries the secret: logged without it
      deps.log.error({ err, route: '/uis/manager/:token' }, 'personal manager request failed');
      if (!res.headersSent) res.status(200).json({});
    }
  };
  router.get('/uis/manager/:token', guarded);
  router.post('/uis/manager/:token', guarded);
  return router;
}

const queryOf = (req: Request) => new URLSearchParams(req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '');

/** The body as fields (form or JSON; none for GET); null when a 4xx was sent. */
async function readBody(req: Request, res: Response, raw: express.RequestHandler): Promise<Record<string, unknown> | null> {
  if (req.method !== 'POST') return {};
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    req.resume();
    res.status(415).json({ error: 'UNSUPPORTED_CHARSET', message: `charset ${charset.slice(0, 40)} is not accepted; send UTF-8` });
    return null;
  }
  const failed = await new Promise<unknown>((ok) => raw(req, res, (e?: unknown) => ok(e)));
  if (failed) {
    const status = (failed as { status?: number }).status ?? 400;
    res.status(status >= 400 && status < 500 ? status : 400).json({ error: 'BAD_REQUEST', message: (failed as Error).message || 'Unreadable body' });
    return null;
  }
  const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (!text.trim()) return {};
  if (/json/i.test(req.get('content-type') ?? '') || text.trimStart().startsWith('{')) {
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null ? undefined : String(x)]));
    } catch {
      // falls through to the 400 below
    }
    res.status(400).json({ error: 'BAD_REQUEST', message: 'The body must be a JSON object or a form' });
    return null;
  }
  return Object.fromEntries(new URLSearchParams(text));
}
