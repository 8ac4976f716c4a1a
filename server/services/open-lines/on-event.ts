import type { BitrixEvent } from '../../bitrix/event-schemas';
import type { Clock } from '../../domain/clock';
import type { OpenLinesRepository } from './ports';
import type { OpenLinesWorker } from './worker';

const ENTITY: Record<string, 'lead' | 'deal'> = { ONCRMLEADADD: 'lead', ONCRMDEALADD: 'deal' };

export interface OpenLineFieldsIntake {
  openLines: OpenLinesRepository;
  openLinesWorker: Pick<OpenLinesWorker, 'wake'>;
  clock: Clock;
}

/** A new lead or deal of a portal with the «Открытые линии» tab on → a durable job; true when it is new. */
export async function takeOpenLineEntity(deps: OpenLineFieldsIntake, memberId: string, type: 'lead' | 'deal', id: number): Promise<boolean> {
  if (!(id > 0) || !(await deps.openLines.isEnabled(memberId))) return false;
  const fresh = await deps.openLines.enqueue(memberId, type, id, deps.clock.now());
  if (fresh) deps.openLinesWorker.wake();
  return fresh;
}

/** ONCRMLEADADD / ONCRMDEALADD (already verified) → a job for the tab's «Доп. поля». */
export function enqueueOpenLineFieldsFromEvent(deps: OpenLineFieldsIntake, memberId: string, ev: Pick<BitrixEvent, 'event' | 'data'>): Promise<boolean> {
  const type = ENTITY[ev.event];
  if (!type) return Promise.resolve(false);
  return takeOpenLineEntity(deps, memberId, type, Number((ev.data as { FIELDS?: { ID?: unknown } } | undefined)?.FIELDS?.ID));
}
