import type { PortalRestClient } from './rest-client';

const PAGE = 50;

/**
 * Take one event type from the portal's offline queue (docs/facts/bitrix24.md#event-delivery): rows are reserved
 * with `clear=0`, handed to `handle`, then confirmed with `event.offline.clear` for that
 * process id — a crash before the confirmation leaves them reserved, not lost. Pages of 50
 * until the queue is empty (bounded by `maxPages`). Resolves to the rows handed over.
 */
export async function takeOfflineEvents(
  rest: PortalRestClient,
  eventName: string,
  /** Awaited per row before the page is confirmed: a row is handed over durably or not confirmed. */
  handle: (data: unknown) => void | Promise<void>,
  maxPages = 20,
): Promise<number> {
  let seen = 0;
  for (let page = 0; page < maxPages; page++) {
    const r = await rest.call<{ process_id?: string | null; events?: Array<{ EVENT_DATA?: unknown }> }>('event.offline.get', {
      filter: { EVENT_NAME: eventName },
      clear: 0,
      limit: PAGE,
    });
    const events = r.result.events ?? [];
    for (const ev of events) await handle(ev.EVENT_DATA);
    seen += events.length;
    if (r.result.process_id && events.length) await rest.call('event.offline.clear', { process_id: r.result.process_id });
    if (events.length < PAGE) break;
  }
  return seen;
}
