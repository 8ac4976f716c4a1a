import type { HealthArea } from '../../contracts/health';

/** One area's queue: waiting items (due, not done), the oldest one's due time, and recent failures. */
export interface QueueStat {
  area: HealthArea;
  depth: number;
  /** ms; null when nothing waits */
  oldestSince: number | null;
  failedSince: number;
}

/** The latest failure of an area, as the worker recorded it (`CODE: text`, or UIS's/Bitrix24's words). */
export interface AreaFailure {
  area: HealthArea;
  at: number;
  reason: string;
}

/** Counts over the portals with the app, by state (never by portal). */
export interface StateCounts {
  /** open-line bindings by our status: active, off */
  lines: Record<string, number>;
  /** channels bound to a line, by their UIS status */
  channels: Record<string, number>;
  /** UIS adapter connections by status */
  connections: Record<string, number>;
  /** amoCRM connections by status: active, reauth */
  amocrm: Record<string, number>;
  /** the bridge's last reconcile/audit: ok, incomplete */
  audit: Record<string, number>;
  /** chat sources whose last error stands, by source */
  sourceErrors: Record<string, number>;
}

/**
 * Read-only figures over the durable job tables for «Состояние» and /metrics (issue #16). A
 * `memberId` of null sums every portal (the metrics never name a portal).
 */
export interface HealthRepository {
  /** Every area, in HEALTH_AREAS order; `failedFrom` (ms) bounds the failures counted. */
  queues(memberId: string | null, now: number, failedFrom: number): Promise<QueueStat[]>;
  /** The latest failure of each area since `from` (ms), newest first. */
  lastFailures(memberId: string, from: number): Promise<AreaFailure[]>;
  /** The adapter connection's channels as UIS last announced them (removed ones left out). */
  channels(memberId: string, accountId: string): Promise<Array<{ channelId: string; name: string; type: string; status: string }>>;
  /** Portals with the app (for the REST budget figure of /metrics). */
  activePortals(): Promise<string[]>;
  /** Open-line bindings by our status (active, off), bound channels by their UIS status, adapter connections by status. */
  stateCounts(): Promise<StateCounts>;
}
