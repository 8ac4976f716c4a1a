import type { BitrixGateway } from '../../bitrix/rest-client';
import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { ownerOf } from '../../domain/crm-rules/choose-responsible';
import type { Found } from '../../domain/crm-rules/types';
import { phoneDigits } from '../../domain/phone';
import type { Logger } from '../../logging';
import type { AsyncPort } from '../async-port';
import type { EmployeeDirectory } from '../employee-sync/ports';
import type { UisEndpoints, UisLinkRepository } from '../ports';
import type { TelephonyRepository } from '../telephony/ports';
import type { ManagerAnswer, NoManager, PersonalManagerRepository } from './ports';
import { readClient } from './read-crm';
import { readEmployeePhones } from './employee-phones';

export interface ManagerLookupDeps {
  map: PersonalManagerRepository;
  telephony: Pick<TelephonyRepository, 'getSettings'>;
  employees: AsyncPort<EmployeeDirectory>;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /** How long an answer may take in all (real ms): UIS's wait, less a margin for the network. */
  budgetMs: number;
  /** How long a number a live lookup found in no CRM item is trusted as "not a client". */
  missTtlMs: number;
  /** Live lookups in flight: one per number (per process), at most `max` per portal (the cluster's with `slots`). */
  live: LiveLookups;
}

/** Live lookups in flight: the same number asked twice shares one; a portal has at most `max` at once. */
export interface LiveLookups {
  max: number;
  byPhone: Map<string, Promise<Found | null>>;
  perPortal: Map<string, number>;
  /**
   * Several instances on one database (issue #12): the `max` is the cluster's — each live lookup
   * holds one of the portal's `max` slot leases ('pm-live:<i>'), so N instances do not send N × max
   * lookups into the portal's shared bucket. A keeper without linger (a freed slot is free at once).
   */
  slots?: { hold(memberId: string, area: string): Promise<{ release(): Promise<void> } | null> };
  /** slots this process's lookups hold, per portal */
  slotsInUse: Map<string, Set<number>>;
}

export const newLiveLookups = (max = 2, slots?: LiveLookups['slots']): LiveLookups => ({ max, byPhone: new Map(), perPortal: new Map(), slots, slotsInUse: new Map() });

/** One of the portal's slots not used by this process and not held by another instance; null when none. */
async function takeSlot(live: LiveLookups, memberId: string): Promise<{ release(): Promise<void> } | null> {
  if (!live.slots) return { release: async () => {} };
  const mine = live.slotsInUse.get(memberId) ?? new Set<number>();
  live.slotsInUse.set(memberId, mine);
  for (let i = 0; i < live.max; i++) {
    if (mine.has(i)) continue;
    mine.add(i); // before the await: a concurrent lookup of this process tries another slot
    const h = await live.slots.hold(memberId, `pm-live:${i}`).catch(() => null);
    if (h)
      return {
        release: async () => {
          mine.delete(i);
          await h.release();
        },
      };
    mine.delete(i);
  }
  return null;
}

/**
 * The live lookup of a number through the in-flight registry: joined when already running; none
 * when the portal has `max` running (in the cluster, with `slots`) — those requests would only queue behind each other in the
 * portal's bucket (2 req/s, shared with the calls) past UIS's wait.
 */
async function liveLookup(deps: ManagerLookupDeps, memberId: string, phone: string): Promise<{ work: Promise<Found | null> } | null> {
  const key = `${memberId}:${phone}`;
  const running = deps.live.byPhone.get(key);
  // wrapped: an async function returning a promise would wait for it
  if (running) return { work: running };
  const n = deps.live.perPortal.get(memberId) ?? 0;
  if (n >= deps.live.max) return null;
  deps.live.perPortal.set(memberId, n + 1);
  const done = () => {
    const left = (deps.live.perPortal.get(memberId) ?? 1) - 1;
    if (left > 0) deps.live.perPortal.set(memberId, left);
    else deps.live.perPortal.delete(memberId);
  };
  let slot: { release(): Promise<void> } | null = { release: async () => {} };
  if (deps.live.slots) {
    slot = await takeSlot(deps.live, memberId);
    const joined = deps.live.byPhone.get(key); // started meanwhile by this process
    if (!slot || joined) {
      done();
      if (slot) await slot.release().catch(() => undefined);
      return joined ? { work: joined } : null;
    }
  }
  const held = slot;
  const work = lookupLive(deps, memberId, phone).finally(() => {
    deps.live.byPhone.delete(key);
    done();
    void held.release().catch((e: unknown) => deps.log.warn({ err: e, memberId }, 'personal manager: live lookup slot release failed'));
  });
  deps.live.byPhone.set(key, work);
  return { work };
}

const none = (reason: NoManager): ManagerAnswer => ({ kind: 'none', reason });

/**
 * «Переадресация на персонального менеджера из CRM» (seed 002; docs/facts/telephony.md#personal-manager): the caller's
 * responsible by the CRM priority Contact → Company → Lead/Deal (`ownerOf`, the same rule the calls
 * and chats use), paired with his UIS employee by the employee sync, and the numbers UIS rings for
 * that employee. Answered from the map (no REST request, so never behind the portal's bucket); only
 * a number the map has no item for is looked up live, and only for what is left of `budgetMs` —
 * what the live lookup finds is kept in the map all the same. Transport-free: the interactive
 * processing adapter (server/http/routes/personal-manager.ts) is one way to ask.
 */
export async function findPersonalManager(deps: ManagerLookupDeps, memberId: string, rawPhone: string, startedAt = Date.now()): Promise<ManagerAnswer> {
  const settings = (await deps.telephony.getSettings(memberId))?.settings;
  // the manual: with the toggle off the operation does not work — "no manager" at once
  if (!settings?.enabled || !settings.personalManager?.use) return none('off');
  const phone = phoneDigits(rawPhone);
  if (!phone) return none('bad-number');
  const deadline = startedAt + deps.budgetMs;

  let found = await deps.map.clientOf(memberId, phone);
  let from: 'map' | 'live' = 'map';
  if (!found) {
    if (await deps.map.isMiss(memberId, phone, deps.clock.now())) return none('not-client');
    const lookup = await liveLookup(deps, memberId, phone);
    if (!lookup) return none('busy');
    const live = await withinDeadline(lookup.work, deadline);
    if (live === 'timeout') return none('timeout');
    if (live === 'failed') {
      deps.log.warn({ memberId }, 'personal manager: the live CRM lookup failed');
      return none('lookup-failed');
    }
    if (!live) return none('not-client');
    found = live;
    from = 'live';
  }
  const userId = ownerOf(found);
  if (userId === null) return none('no-responsible');
  const uisEmployeeId = await deps.employees.uisEmployeeFor(memberId, userId);
  if (uisEmployeeId === null) return none('not-paired');
  let phones = await deps.map.employeePhones(memberId, uisEmployeeId);
  if (phones === null) {
    const read = await withinDeadline(readEmployeePhones(deps, memberId).then(() => deps.map.employeePhones(memberId, uisEmployeeId)), deadline);
    if (read === 'timeout') return none('timeout');
    phones = read === 'failed' ? null : read;
  }
  if (!phones?.length) return none('no-numbers');
  return { kind: 'manager', userId, uisEmployeeId, phones, from };
}

/** Reads the client live and keeps what was found (or that nothing was) in the map. */
async function lookupLive(deps: ManagerLookupDeps, memberId: string, phone: string): Promise<Found | null> {
  const readAt = deps.clock.now();
  const entities = await readClient(deps.gateway.client(memberId), phone);
  await deps.map.put(memberId, { entities, gone: [], readAt });
  const found = await deps.map.clientOf(memberId, phone);
  if (!found) await deps.map.saveMiss(memberId, phone, deps.clock.now() + deps.missTtlMs);
  return found;
}

/**
 * The work's result, or 'timeout' once the deadline (real time: UIS waits in real time) passes —
 * the work goes on and its result still lands in the map for the next call — or 'failed'.
 */
async function withinDeadline<T>(work: Promise<T>, deadline: number): Promise<T | 'timeout' | 'failed'> {
  const left = deadline - Date.now();
  const settled = work.then(
    (v) => v,
    () => 'failed' as const,
  );
  if (left <= 0) return 'timeout';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((ok) => (timer = setTimeout(() => ok('timeout'), left)));
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
