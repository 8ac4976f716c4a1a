import type { BitrixEvent } from '../../bitrix/event-schemas';
import type { CrmEntityType } from '../../domain/crm-rules/types';
import type { PersonalManagerWorker } from './ports';

/**
 * The CRM events the personal-manager map follows (bound by the install plan): any add, change or
 * deletion of a contact, company, lead or deal. The event only names the item (`data[FIELDS][ID]`);
 * the worker reads it as it is when it gets to it, so the order they come in does not matter.
 */
export const PM_EVENTS: Readonly<Record<string, CrmEntityType>> = Object.fromEntries(
  (['CONTACT', 'COMPANY', 'LEAD', 'DEAL'] as const).flatMap((t) => (['ADD', 'UPDATE', 'DELETE'] as const).map((op) => [`ONCRM${t}${op}`, t.toLowerCase() as CrmEntityType])),
);

/** A verified Bitrix24 event → the item it names is read again (when the portal uses the forwarding). */
export async function personalManagerOnEvent(worker: Pick<PersonalManagerWorker, 'touch'>, memberId: string, ev: Pick<BitrixEvent, 'event' | 'data'>): Promise<void> {
  const type = PM_EVENTS[ev.event];
  if (!type) return;
  const id = Number((ev.data as { FIELDS?: { ID?: unknown } } | undefined)?.FIELDS?.ID);
  await worker.touch(memberId, [{ type, id }]);
}
