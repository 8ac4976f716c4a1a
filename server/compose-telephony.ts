import type { Clock } from './domain/clock';
import type { Logger } from './logging';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from './services/ports';
import type { AsyncPort } from './services/async-port';
import type { EmployeeDirectory } from './services/employee-sync/ports';
import type { TelephonyRepository } from './services/telephony/ports';
import type { TelephonyStartRepository } from './services/telephony/start-ports';
import type { UisProject } from './contracts/uis';
import { createDataApiBudget } from './uis/data-api-budget';
import { createTelephonyWorker, type TelephonyWorkerDeps, type TelephonyWorkerOptions } from './services/telephony/worker';
import { createTelephonyReconcile } from './services/telephony/reconcile';
import { syncLines } from './services/telephony/lines';
import { createTelephonyStarts } from './services/telephony/starts';

/** How often the report is read for calls notifications missed, and the lines are checked against UIS. */
export const TELEPHONY_RECONCILE_MS = 60_000;
export const TELEPHONY_LINES_MS = 30 * 60_000;

/**
 * «Телефония» (issue #13) wired: its storage, the worker that applies calls to Bitrix24, the
 * report's reconciliation (which also keeps the external lines in step with the account's numbers).
 */
export function createTelephony(o: {
  telephony: TelephonyRepository;
  starts: TelephonyStartRepository;
  clock: Clock;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  employees: AsyncPort<EmployeeDirectory>;
  log: Logger;
  fetch?: typeof fetch;
  options?: TelephonyWorkerOptions;
  rateLimit?: { drainPerSec: number; burst: number };
  /** CRM items a call created or changed (the personal-manager map, issue #14) */
  crmWritten?: TelephonyWorkerDeps['crmWritten'];
}) {
  const telephony = o.telephony;
  const budget = createDataApiBudget({ clock: o.clock });
  const base = { telephony, gateway: o.gateway, links: o.links, uisEndpoints: o.uisEndpoints, clock: o.clock, log: o.log, fetch: o.fetch };
  const startsRepo = o.starts;
  const telephonyWorker = createTelephonyWorker({ ...base, employees: o.employees, starts: startsRepo, budget, rateLimit: o.rateLimit, crmWritten: o.crmWritten }, o.options);
  // click-to-call and the callback form (issue #14): Bitrix24 events → UIS Call API sessions
  const starts = createTelephonyStarts({ ...base, starts: startsRepo, employees: o.employees, wake: () => telephonyWorker.wake(0) });
  const reconcile = createTelephonyReconcile({ ...base, budget, wake: () => telephonyWorker.wake(0), lease: o.gateway.leases });
  /** The lines are checked against UIS along the reconciliation: every 30 minutes (5 after a failure), and when the tab is saved. */
  let prunedAt = 0;
  const upkeep = async (memberId: string) => {
    // retention, once an hour: notifications after 7 days, finished calls after 90 (an open missed call stays)
    const now = o.clock.now();
    if (now - prunedAt >= 3_600_000) {
      prunedAt = now;
      await telephony.prune(now - 7 * 86_400_000, now - 90 * 86_400_000);
      await startsRepo.prune(now - 90 * 86_400_000);
    }
    const lines = await telephony.lines(memberId);
    if (!lines || o.clock.now() - lines.syncedAt >= (lines.lastError ? 5 * 60_000 : TELEPHONY_LINES_MS)) await syncLines(base, memberId);
  };
  const telephonyReconcile: typeof reconcile = { ...reconcile, start: (ms, alongside) => reconcile.start(ms, alongside ?? upkeep) };
  return { telephony, telephonyWorker, telephonyReconcile, installLines: (memberId: string) => syncLines(base, memberId), starts, startsRepo };
}
