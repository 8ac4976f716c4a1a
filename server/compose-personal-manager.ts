import type { Clock } from './domain/clock';
import type { Logger } from './logging';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from './services/ports';
import type { AsyncPort } from './services/async-port';
import type { EmployeeDirectory } from './services/employee-sync/ports';
import type { TelephonyRepository } from './services/telephony/ports';
import type { UisProject } from './contracts/uis';
import { findPersonalManager, newLiveLookups, type LiveLookups } from './services/personal-manager/lookup';
import { createPersonalManagerWorker, type PersonalManagerWorkerOptions } from './services/personal-manager/worker';
import { personalManagerOnEvent } from './services/personal-manager/on-event';
import type { PersonalManager, PersonalManagerRepository } from './services/personal-manager/ports';

/** UIS waits for the answer for a time its docs do not give; ours is given within 2 s (the tab asks for ≥ 3 s). */
export const PERSONAL_MANAGER_BUDGET_MS = 2000;
/**
 * The upkeep of the portals that use the forwarding, every minute (cheap when there is nothing to
 * do): the first full read within a minute of switching on, stale rows, the employees' numbers.
 */
export const PERSONAL_MANAGER_UPKEEP_MS = 60_000;

export interface PersonalManagerOptions extends PersonalManagerWorkerOptions {
  budgetMs?: number;
  missTtlMs?: number;
}

/** «Переадресация на персонального менеджера из CRM» (issue #14) wired: the map, its worker, the lookup. */
export function createPersonalManager(o: {
  map: PersonalManagerRepository;
  clock: Clock;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  employees: AsyncPort<EmployeeDirectory>;
  telephony: TelephonyRepository;
  log: Logger;
  fetch?: typeof fetch;
  options?: PersonalManagerOptions;
  /** Several instances (issue #12): the portal's live-lookup slots as leases (a keeper without linger). */
  liveSlots?: LiveLookups['slots'];
}): PersonalManager {
  const map = o.map;
  const base = { map, gateway: o.gateway, links: o.links, uisEndpoints: o.uisEndpoints, telephony: o.telephony, clock: o.clock, log: o.log, fetch: o.fetch };
  const worker = createPersonalManagerWorker(base, o.options);
  const lookup = { ...base, employees: o.employees, budgetMs: o.options?.budgetMs ?? PERSONAL_MANAGER_BUDGET_MS, missTtlMs: o.options?.missTtlMs ?? 10 * 60_000, live: newLiveLookups(2, o.liveSlots) };
  return {
    map,
    worker,
    find: (memberId, phone, startedAt) => findPersonalManager(lookup, memberId, phone, startedAt),
    onEvent: (memberId, ev) => personalManagerOnEvent(worker, memberId, ev),
    noteAsk: async (memberId, a) => {
      if (a.kind === 'none' && a.reason === 'off') return;
      await map.noteAsk(memberId, { outcome: a.kind === 'manager' ? 'manager' : a.reason, withManager: a.kind === 'manager', at: o.clock.now() });
    },
  };
}
