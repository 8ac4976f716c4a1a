import type { BitrixEvent } from '../../bitrix/event-schemas';
import type { Clock } from '../../domain/clock';
import type { AsyncPort } from '../async-port';
import type { AnalyticsRepository } from '../ports';
import type { AnalyticsWorker } from './worker';

const ENTITY: Record<string, 'lead' | 'deal'> = { ONCRMLEADADD: 'lead', ONCRMDEALADD: 'deal' };

/** ONCRMLEADADD / ONCRMDEALADD (already verified) → a durable analytics job, if analytics is on. */
export async function enqueueAnalyticsFromEvent(
  deps: { analytics: AsyncPort<AnalyticsRepository>; analyticsWorker: AnalyticsWorker; clock: Clock },
  memberId: string,
  ev: Pick<BitrixEvent, 'event' | 'data'>,
): Promise<boolean> {
  const type = ENTITY[ev.event];
  if (!type || !(await deps.analytics.getSettings(memberId))?.settings.enabled) return false;
  const id = Number((ev.data as { FIELDS?: { ID?: unknown } } | undefined)?.FIELDS?.ID);
  if (!(id > 0)) return false;
  const fresh = await deps.analytics.enqueue(memberId, type, id, deps.clock.now());
  deps.analyticsWorker.wake();
  return fresh;
}
