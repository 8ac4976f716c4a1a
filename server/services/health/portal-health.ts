import type { HealthView } from '../../contracts/health';
import type { Clock } from '../../domain/clock';
import { assessHealth, type HealthFacts } from '../../domain/health';
import type { AsyncPort } from '../async-port';
import type { BridgeRecoveryRepository } from '../bridge/ports';
import { chatSourceHealth } from '../chat-sources/health';
import { lineStates, type OpenLinesDeps } from '../open-lines/settings';
import type { HealthRepository } from './ports';

const DAY_MS = 24 * 60 * 60_000;

export interface PortalHealthDeps {
  store: HealthRepository;
  clock: Clock;
  /** The Open Lines tab's view of the lines (both sides: one `batch` to the portal). */
  openLines: OpenLinesDeps;
  recovery: Pick<AsyncPort<BridgeRecoveryRepository>, 'counters' | 'connectionStatus'>;
  sources: Parameters<typeof chatSourceHealth>[0];
  /** How full the portal's REST bucket is now (0…1), as this server paces it. */
  restUsed(memberId: string): number;
}

const uisState = (s: string | null | undefined): HealthView['uis']['channels'][number]['status'] => (s === 'active' || s === 'disabled' || s === 'removed' ? s : 'unknown');

/**
 * «Состояние» of one portal (issue #16): its token, the UIS link and the bound channels, each
 * line on both sides, every area's queue and recent failures, the REST budget in use, what the
 * loss audit repaired and the chat sources — judged by `assessHealth`. Reads only this portal.
 */
export async function portalHealth(deps: PortalHealthDeps, memberId: string): Promise<HealthView> {
  const now = deps.clock.now();
  const portal = await deps.openLines.portals.get(memberId);
  const link = await deps.openLines.links.get(memberId);
  const bindings = await deps.openLines.bridge.bindings(memberId);
  const [states, queues, failures, sources, accountChannels] = await Promise.all([
    lineStates(deps.openLines, memberId),
    deps.store.queues(memberId, now, now - DAY_MS),
    deps.store.lastFailures(memberId, now - DAY_MS),
    chatSourceHealth(deps.sources, memberId),
    link?.connectionId ? deps.store.channels(memberId, link.connectionId) : Promise.resolve([]),
  ]);
  const bound = new Set(bindings.map((b) => b.channelId));
  const linked = !!link?.connectionId;
  const counters = linked ? await deps.recovery.counters(memberId) : null;
  const boundChannels = await Promise.all(bindings.map((b) => deps.openLines.channels.get(memberId, b.channelId)));
  const connection = linked ? await deps.recovery.connectionStatus(memberId, link.connectionId!) : null;
  const facts: HealthFacts = {
    checkedAt: new Date(now).toISOString(),
    token: { status: portal?.status ?? 'deleted' },
    uis: {
      linked,
      connection: linked ? uisState(connection ?? 'active') : null,
      channels: [
        ...bindings.map((b, i) => {
          const ch = boundChannels[i];
          return { channelId: b.channelId, name: ch?.name ?? b.channelId, type: ch?.type ?? '', status: uisState(ch?.status), lineId: b.lineId };
        }),
        ...accountChannels.filter((c) => !bound.has(c.channelId)).map((c) => ({ ...c, status: uisState(c.status), lineId: null })),
      ],
    },
    lines: states.lines.map((l) => ({
      lineId: l.lineId,
      lineName: l.lineName,
      channelName: l.channelName,
      channelType: l.channelType,
      binding: l.binding,
      uis: l.uisStatus,
      portal: l.portal,
      connectorUrl: l.connectorUrl,
    })),
    linesError: states.portalError,
    queues: queues.map((q) => ({ area: q.area, depth: q.depth, oldestSeconds: q.oldestSince === null ? null : Math.max(0, Math.round((now - q.oldestSince) / 1000)), failed24h: q.failedSince })),
    rest: { used: Math.min(1, Math.max(0, deps.restUsed(memberId))) },
    repairs: counters && {
      recovered: counters.recovered,
      repaired: counters.repaired,
      lastReconcileAt: counters.lastReconcileAt,
      lastAuditAt: counters.lastAuditAt,
      lastRepairAt: counters.lastRepairAt,
    },
    auditError: counters?.lastError ?? null,
    failures: failures.map((f) => ({ area: f.area, at: new Date(f.at).toISOString(), reason: f.reason })),
    sources: sources.map((s) => ({
      source: s.source,
      enabled: s.enabled,
      connected: s.connected,
      pending: s.counts.pending,
      lastError: s.lastError ? { code: s.lastError.code, message: s.lastError.message, at: s.lastError.at } : null,
    })),
  };
  return assessHealth(facts);
}
