import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { dataApiDateTime } from '../../domain/uis-time';
import type { Logger } from '../../logging';
import { accountZones } from '../../uis/account-zone';
import { CALLS_REPORT_FIELDS, callReportOf } from '../../uis/call-reports';
import { dataApiForLink } from '../../uis/data-api';
import { DataApiBudgetLow, type DataApiBudget } from '../../uis/data-api-budget';
import type { RunLease } from '../job-loop';
import type { AsyncPort } from '../async-port';
import type { UisEndpoints, UisLinkRepository } from '../ports';
import { createPollLeases } from '../poll-leases';
import type { TelephonyRepository } from './ports';

export interface TelephonyReconcileDeps {
  telephony: TelephonyRepository;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  budget: DataApiBudget;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /** the worker: calls the report made due */
  wake(): void;
  /** Several instances on one database (issue #12): one of them reconciles a portal (gateway.leases). */
  lease?: RunLease;
}

export interface TelephonyReconcile {
  /** One pass over a portal's recent calls; how many calls it made due. */
  run(memberId: string): Promise<number>;
  /**
   * Every portal with the tab on, now and then every `intervalMs`, until stopped; `alongside` runs
   * after each portal's pass (the lines' upkeep), its failure logged.
   */
  start(intervalMs: number, alongside?: (memberId: string) => Promise<unknown>): void;
  stop(): void;
  idle(): Promise<void>;
}

/** Calls that started this long before the last pass are read again (a long call ends later). */
const LOOKBACK_MS = 3 * 3600_000;
/** The first pass of a portal looks this far back. */
const FIRST_LOOKBACK_MS = 30 * 60_000;
const PAGE = 1000;

/**
 * Reconciliation (docs/facts/telephony.md#calls-report): UIS promises nothing about notification delivery, so every
 * minute the account's finished calls are read from `get.calls_report` — since the last pass, less
 * a lookback for calls still running then — and every call the app has not finished yet (no
 * notification, or no end notification, or a recording that came later) is made due with its report
 * row. With no notifications at all this alone brings every call, a minute or two late. The reads
 * go through the account's Data API point budget guard and stop while it is low.
 */
export function createTelephonyReconcile(deps: TelephonyReconcileDeps): TelephonyReconcile {
  const log = deps.log.child({ component: 'telephony-reconcile' });
  const zoneOf = accountZones();
  let stopped = false;
  /** the pass in flight (shutdown waits for it, not for the loop's sleep) */
  let inFlight: Promise<unknown> | null = null;

  async function run(memberId: string): Promise<number> {
    const link = await deps.links.get(memberId);
    if (!link) return 0;
    const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
    const now = deps.clock.now();
    const cursor = await deps.telephony.reconcileCursor(memberId);
    const from = Math.max(now - 80 * 86_400_000, (cursor ? cursor.seenTill : now - FIRST_LOOKBACK_MS) - LOOKBACK_MS);
    let made = 0;
    try {
      const zone = await zoneOf(memberId, api);
      const rows: Array<Record<string, unknown>> = [];
      for (let offset = 0; ; offset += PAGE) {
        const r = await deps.budget.call<Array<Record<string, unknown>>>(memberId, api, 'get.calls_report', {
          date_from: dataApiDateTime(from, zone),
          date_till: dataApiDateTime(now + 60_000, zone),
          fields: [...CALLS_REPORT_FIELDS],
          sort: [{ field: 'start_time', order: 'asc' }],
          limit: PAGE,
          offset,
        });
        const page = Array.isArray(r.data) ? r.data : [];
        rows.push(...page);
        if (page.length < PAGE) break;
      }
      const reports = rows.map((row) => callReportOf(row, zone)).filter((r): r is NonNullable<typeof r> => !!r && r.finishedAt !== null);
      const settled = await deps.telephony.settled(memberId, reports.map((r) => r.id));
      for (const rep of reports) {
        if (settled.has(rep.id)) continue;
        const outcome = await deps.telephony.saveReport(memberId, rep, now);
        if (outcome !== 'unchanged') made++;
      }
      await deps.telephony.saveReconcile(memberId, { seenTill: now, lastRunAt: now, recoveredAdd: made, lastError: null });
    } catch (e) {
      const message = e instanceof DataApiBudgetLow ? e.message : `UIS Data API: ${(e as Error).message}`;
      await deps.telephony.saveReconcile(memberId, { seenTill: cursor?.seenTill ?? now - FIRST_LOOKBACK_MS, lastRunAt: now, recoveredAdd: made, lastError: message });
      log.warn({ memberId, code: (e as { code?: string }).code }, 'telephony reconcile stopped');
    }
    if (made) deps.wake();
    return made;
  }

  return {
    run,
    start(intervalMs, alongside) {
      // a cluster: the instance that reconciled a portal keeps doing it, the others skip it
      const polls = createPollLeases(deps.lease, 'poll:telephony-reconcile', log);
      void (async () => {
        while (!stopped) {
          const list = await deps.telephony.enabledPortals();
          await polls.keepOnly(list);
          for (const memberId of list) {
            if (stopped) break;
            if (!(await polls.mine(memberId))) continue;
            const pass = run(memberId)
              .catch((e: unknown) => log.warn({ memberId, err: e }, 'telephony reconcile failed'))
              .then(() => alongside?.(memberId))
              .catch((e: unknown) => log.warn({ memberId, code: (e as { code?: string }).code }, 'telephony upkeep failed'));
            inFlight = pass;
            await pass;
            inFlight = null;
          }
          if (!stopped) await deps.clock.sleep(intervalMs);
        }
        await polls.releaseAll();
      })().catch((e: unknown) => log.error({ err: e }, 'telephony reconcile loop failed'));
    },
    stop() {
      stopped = true;
    },
    async idle() {
      await inFlight;
    },
  };
}
