import { Router } from 'express';
import { eventSchema } from '../../bitrix/event-schemas';
import { handleEvent } from '../../services/handle-event';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';

/**
 * POST /b24/events — every Bitrix24 event, form-encoded with nested `auth[...]`/`data[...]`
 * keys (docs/facts/bitrix24.md#event-delivery). Parse → verify → handle → answer; slow work is left to background jobs.
 */
export function eventsRouter(deps: AppDeps): Router {
  const router = Router();
  router.post('/b24/events', async (req, res) => {
    const parsed = eventSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      deps.metrics.events.inc({ event: 'unknown', outcome: 'malformed' });
      res.status(400).json({ error: 'MALFORMED_EVENT', message: zodMessage(parsed.error) });
      return;
    }
    const ev = parsed.data;
    try {
      const outcome = await handleEvent(deps, ev);
      deps.metrics.events.inc({ event: ev.event, outcome });
      res.json({ ok: true, outcome });
    } catch (e) {
      deps.metrics.events.inc({ event: ev.event, outcome: 'refused' });
      deps.log.warn({ event: ev.event, memberId: ev.auth.member_id, code: (e as { code?: string }).code }, 'event refused');
      throw e;
    }
  });
  return router;
}
