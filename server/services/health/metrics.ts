import type { Gauge } from 'prom-client';
import type { Clock } from '../../domain/clock';
import type { Metrics } from '../../metrics';
import type { HealthRepository } from './ports';

const DAY_MS = 24 * 60 * 60_000;

function setAll<L extends string>(g: Gauge<L>, label: L, values: Record<string, number>): void {
  g.reset();
  for (const [k, n] of Object.entries(values)) g.set({ [label]: k } as Record<L, string>, n);
}

/**
 * Sets the «Состояние» gauges for a /metrics scrape (issue #16): what the health view shows,
 * summed over every portal and labelled by area or state — never by portal, so series stay few.
 */
export async function collectHealthMetrics(deps: { store: HealthRepository; clock: Clock; restUsed(memberId: string): number }, metrics: Metrics['health']): Promise<void> {
  const now = deps.clock.now();
  const [queues, counts, portals] = await Promise.all([deps.store.queues(null, now, now - DAY_MS), deps.store.stateCounts(), deps.store.activePortals()]);
  for (const q of queues) {
    metrics.queueDepth.set({ area: q.area }, q.depth);
    metrics.queueOldestSeconds.set({ area: q.area }, q.oldestSince === null ? 0 : Math.max(0, (now - q.oldestSince) / 1000));
    metrics.failed24h.set({ area: q.area }, q.failedSince);
  }
  metrics.restBudgetUsedMax.set(portals.reduce((max, m) => Math.max(max, deps.restUsed(m)), 0));
  setAll(metrics.openLines, 'state', counts.lines);
  setAll(metrics.boundChannels, 'status', counts.channels);
  setAll(metrics.uisConnections, 'status', counts.connections);
  setAll(metrics.amocrmAccounts, 'status', counts.amocrm);
  setAll(metrics.bridgeAudit, 'state', counts.audit);
  setAll(metrics.chatSourceErrors, 'source', counts.sourceErrors);
}
