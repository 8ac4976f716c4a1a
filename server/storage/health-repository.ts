import { HEALTH_AREAS, type HealthArea } from '../contracts/health';
import type { AreaFailure, HealthRepository, QueueStat } from '../services/health/ports';
import type { Db } from './db';
import { STATE_COUNTS_SQL, areaSql, countsOf, iso, ms, queueStat } from './health-rows';

type Row = Record<string, unknown>;

/**
 * SQLite implementation of the health view's reads (async, so a PostgreSQL store can follow:
 * pg/health-store.ts). The SQL of each area is in ./health-rows.ts, shared with it.
 */
export function createSqliteHealthRepository(db: Db): HealthRepository {
  type Stmt = { get(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  const stmts = new Map<string, Stmt>();
  /** Statements prepared once (the SQL of each area and scope is fixed). */
  const prepare = (sql: string): Stmt => {
    let s = stmts.get(sql);
    if (!s) stmts.set(sql, (s = db.prepare(sql) as unknown as Stmt));
    return s;
  };

  function queue(area: HealthArea, memberId: string | null, now: number, failedFrom: number): QueueStat {
    const p = { now, memberId, from: failedFrom, fromIso: iso(failedFrom) };
    const q = areaSql(area, !!memberId);
    return queueStat(area, prepare(q.waiting).get(p) as Row, prepare(q.failed).get(p) as Row);
  }

  function lastFailure(area: HealthArea, memberId: string, from: number): AreaFailure | null {
    const p = { memberId, from, fromIso: iso(from) };
    const r = prepare(areaSql(area, true).lastFailure).get(p) as Row | undefined;
    return r ? { area, at: ms(r.at), reason: String(r.reason ?? '') } : null;
  }

  const counts = (sql: string) => countsOf(prepare(sql).all() as Row[]);

  return {
    async queues(memberId, now, failedFrom) {
      return HEALTH_AREAS.map((a) => queue(a, memberId, now, failedFrom));
    },
    async lastFailures(memberId, from) {
      return HEALTH_AREAS.map((a) => lastFailure(a, memberId, from))
        .filter((f): f is AreaFailure => f !== null)
        .sort((a, b) => b.at - a.at);
    },
    async channels(memberId, accountId) {
      return (prepare(`SELECT channel_id, name, type, status FROM uis_channels WHERE member_id = ? AND account_id = ? AND status != 'removed' ORDER BY name`).all(memberId, accountId) as Row[]).map((r) => ({
        channelId: String(r.channel_id),
        name: String(r.name),
        type: String(r.type),
        status: String(r.status),
      }));
    },
    async activePortals() {
      return (prepare(`SELECT member_id FROM portals WHERE status = 'active'`).all() as Row[]).map((r) => String(r.member_id));
    },
    async stateCounts() {
      return {
        lines: counts(STATE_COUNTS_SQL.lines),
        channels: counts(STATE_COUNTS_SQL.channels),
        connections: counts(STATE_COUNTS_SQL.connections),
        amocrm: counts(STATE_COUNTS_SQL.amocrm),
        audit: counts(STATE_COUNTS_SQL.audit),
        sourceErrors: counts(STATE_COUNTS_SQL.sourceErrors),
      };
    },
  };
}
