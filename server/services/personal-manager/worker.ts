import type { BitrixGateway } from '../../bitrix/rest-client';
import type { CrmEntityType } from '../../domain/crm-rules/types';
import type { Logger } from '../../logging';
import { createJobLoop } from '../job-loop';
import type { TelephonyRepository } from '../telephony/ports';
import { readEmployeePhones, type EmployeePhonesDeps } from './employee-phones';
import type { PersonalManagerWorker, PmRef } from './ports';
import { readItems, readPage } from './read-crm';

export interface PersonalManagerWorkerDeps extends EmployeePhonesDeps {
  gateway: BitrixGateway;
  telephony: Pick<TelephonyRepository, 'getSettings' | 'enabledPortals'>;
  log: Logger;
}

export interface PersonalManagerWorkerOptions {
  /** a row read longer ago than this is read again by the upkeep (default 6 h) */
  staleAfterMs?: number;
  /** the employees' numbers are read again after this (default 15 min) */
  employeesEveryMs?: number;
}

/** Items one run reads: 10 list commands of 50 ids, one `batch` request. */
const RUN = 500;
/** The first full read: types in the order the priority needs them; `batch` requests per upkeep pass (2,500 items each). */
const WARMUP_TYPES: readonly CrmEntityType[] = ['contact', 'company', 'lead', 'deal'];
const WARMUP_BATCHES = 10;
const MAX_ATTEMPTS = 6;

/**
 * Keeps the phone → responsible map current. An item a CRM event or our own write names is put in
 * a durable queue and read as it is now (`readItems`), never as the event said: events arrive late,
 * out of order, or not at all, and the read of the newest state wins (older reads never overwrite
 * it, deletions leave tombstones). What events never brought is caught by the upkeep: what existed
 * before the forwarding was on is read once (warm-up), rows older than `staleAfterMs` are read
 * again, in batches of 500 items per request.
 */
export function createPersonalManagerWorker(deps: PersonalManagerWorkerDeps, o: PersonalManagerWorkerOptions = {}): PersonalManagerWorker {
  const staleAfterMs = o.staleAfterMs ?? 6 * 3600_000;
  const employeesEveryMs = o.employeesEveryMs ?? 15 * 60_000;
  const log = deps.log.child({ component: 'personal-manager' });
  const inUse = async (memberId: string) => {
    const s = (await deps.telephony.getSettings(memberId))?.settings;
    return !!(s?.enabled && s.personalManager?.use);
  };

  const processPortal = async (memberId: string): Promise<void> => {
    const refs = await deps.map.dirty(memberId, deps.clock.now(), RUN);
    if (!refs.length) return;
    const readAt = deps.clock.now();
    try {
      const r = await readItems(deps.gateway.client(memberId), refs);
      await deps.map.put(memberId, { ...r, readAt });
      await deps.map.clearDirty(memberId, refs);
      // a lead or deal names a contact/company the map lacks: read it too (its phone finds the client)
      const linked: PmRef[] = r.entities.flatMap((e) => [
        ...(e.contactId ? [{ type: 'contact' as CrmEntityType, id: e.contactId }] : []),
        ...(e.companyId ? [{ type: 'company' as CrmEntityType, id: e.companyId }] : []),
      ]);
      const known = new Set((await deps.map.known(memberId, linked)).map((x) => `${x.type}:${x.id}`));
      await deps.map.markDirty(memberId, linked.filter((x) => !known.has(`${x.type}:${x.id}`)), deps.clock.now());
    } catch (e) {
      const wait = 30_000;
      await deps.map.retryDirty(memberId, refs, deps.clock.now() + wait, MAX_ATTEMPTS);
      log.warn({ memberId, code: (e as { code?: string }).code, items: refs.length }, 'personal manager: CRM items could not be read; tried again later');
    }
  };
  const loop = createJobLoop({
    name: 'personal-manager',
    clock: deps.clock,
    log,
    debounceMs: 200,
    portalsWithDueJobs: (now) => deps.map.portalsWithDirty(now),
    nextDueAt: () => deps.map.nextDirtyAt(),
    processPortal,
    concurrency: 4,
    // several instances on one database (issue #12): one of them reads a portal's items and does its upkeep
    lease: deps.gateway.leases,
  });

  /**
   * Items that existed before the forwarding was on (their events were not followed): every item
   * of each type read once in ID order, `WARMUP_BATCHES` requests per pass, resumed where it stopped.
   */
  const warmUp = async (memberId: string): Promise<void> => {
    const state = await deps.map.warmup(memberId);
    let batches = 0;
    for (const type of WARMUP_TYPES) {
      let at = state[type] ?? { afterId: 0, done: false };
      while (!at.done && batches < WARMUP_BATCHES) {
        const readAt = deps.clock.now();
        const page = await readPage(deps.gateway.client(memberId), type, at.afterId);
        batches++;
        await deps.map.put(memberId, { entities: page.entities, gone: [], readAt });
        at = { afterId: page.lastId, done: page.done };
        await deps.map.saveWarmup(memberId, type, { ...at, at: deps.clock.now() });
      }
      if (!at.done) return;
    }
  };

  const upkeep = async (memberId: string): Promise<void> => {
    if (!(await inUse(memberId))) {
      // events are not followed while it is off: switched on again, everything is read afresh
      await deps.map.resetWarmup(memberId);
      return;
    }
    await warmUp(memberId);
    const now = deps.clock.now();
    // retention: expired misses; tombstones a month old (every read that old has long landed)
    await deps.map.prune(memberId, now, now - 30 * 86_400_000);
    const stale = await deps.map.stale(memberId, now - staleAfterMs, RUN);
    if (stale.length) {
      await deps.map.markDirty(memberId, stale, now);
      loop.wake(0);
    }
    const readAt = await deps.map.employeePhonesReadAt(memberId);
    if (readAt === null || now - readAt >= employeesEveryMs) await readEmployeePhones(deps, memberId);
  };

  return {
    async touch(memberId, refs) {
      const valid = refs.filter((r) => Number.isInteger(r.id) && r.id > 0);
      if (!valid.length || !(await inUse(memberId))) return;
      await deps.map.markDirty(memberId, valid, deps.clock.now());
      loop.wake();
    },
    start(intervalMs) {
      loop.everyPortal(intervalMs, () => deps.telephony.enabledPortals(), upkeep, 'personal manager upkeep failed');
    },
    upkeep,
    wake: (d) => loop.wake(d),
    drain: () => loop.drain(),
    idle: () => loop.idle(),
    stop: () => loop.stop(),
  };
}
