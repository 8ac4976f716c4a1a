import { HEALTH_AREAS, type HealthArea } from '../contracts/health';
import type { AreaFailure, HealthRepository, QueueStat } from '../services/health/ports';
import type { Db } from './db';

type Row = Record<string, unknown>;
const iso = (ms: number) => new Date(ms).toISOString();
const ms = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);

/**
 * Each area's queue as SQL over its table: what is waiting (pending and due), since when, and
 * what failed for good. `due` is the column the worker picks items by (ms); `failedAt` the column
 * a failure is dated by and whether it holds ms or ISO text; `scope` narrows the table.
 */
interface AreaTable {
  table: string;
  waiting: string;
  since: string;
  failed: string;
  failedAt: string;
  failedAtIso: boolean;
  reason: string;
}
const TABLES: Record<Exclude<HealthArea, 'employee-sync'>, AreaTable> = {
  'bridge-in': { table: 'bridge_jobs', waiting: `kind = 'in' AND status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `kind = 'in' AND status = 'failed'`, failedAt: 'due_at', failedAtIso: false, reason: 'last_error' },
  'bridge-out': { table: 'bridge_jobs', waiting: `kind != 'in' AND status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `kind != 'in' AND status = 'failed'`, failedAt: 'due_at', failedAtIso: false, reason: 'last_error' },
  analytics: { table: 'analytics_jobs', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: true, reason: 'reason' },
  'crm-rules': { table: 'crm_requests', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: true, reason: 'reason' },
  telephony: { table: 'telephony_calls', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: false, reason: 'reason' },
  'chat-sources': { table: 'chat_source_items', waiting: `status IN ('pending', 'waiting') AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: true, reason: 'reason' },
  'open-lines': { table: 'open_lines_jobs', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: false, reason: 'reason' },
};

/** SQLite implementation of the health view's reads (async, so a PostgreSQL store can follow). */
export function createSqliteHealthRepository(db: Db): HealthRepository {
  const scoped = (sql: string, member: boolean) => (member ? `${sql} AND member_id = @memberId` : sql);
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
    if (area === 'employee-sync') {
      const w = prepare(scoped(`SELECT COUNT(*) AS n, MIN(started_at) AS since FROM employee_sync_runs WHERE status = 'running'`, !!memberId)).get(p) as Row;
      const f = prepare(scoped(`SELECT COUNT(*) AS n FROM employee_sync_runs WHERE status = 'failed' AND finished_at >= @fromIso`, !!memberId)).get(p) as Row;
      return { area, depth: Number(w.n), oldestSince: w.since ? ms(w.since) : null, failedSince: Number(f.n) };
    }
    const t = TABLES[area];
    const w = prepare(scoped(`SELECT COUNT(*) AS n, MIN(${t.since}) AS since FROM ${t.table} WHERE ${t.waiting}`, !!memberId)).get(p) as Row;
    const f = prepare(scoped(`SELECT COUNT(*) AS n FROM ${t.table} WHERE ${t.failed} AND ${t.failedAt} >= ${t.failedAtIso ? '@fromIso' : '@from'}`, !!memberId)).get(p) as Row;
    return { area, depth: Number(w.n), oldestSince: w.since === null ? null : ms(w.since), failedSince: Number(f.n) };
  }

  function lastFailure(area: HealthArea, memberId: string, from: number): AreaFailure | null {
    const p = { memberId, from, fromIso: iso(from) };
    if (area === 'employee-sync') {
      const r = prepare(`SELECT finished_at AS at, error AS reason FROM employee_sync_runs WHERE member_id = @memberId AND status = 'failed' AND finished_at >= @fromIso ORDER BY id DESC LIMIT 1`).get(p) as Row | undefined;
      return r ? { area, at: ms(r.at), reason: String(r.reason ?? '') } : null;
    }
    const t = TABLES[area];
    const r = prepare(
      `SELECT ${t.failedAt} AS at, ${t.reason} AS reason FROM ${t.table} WHERE member_id = @memberId AND ${t.failed} AND ${t.failedAt} >= ${t.failedAtIso ? '@fromIso' : '@from'} ORDER BY ${t.failedAt} DESC LIMIT 1`,
    ).get(p) as Row | undefined;
    return r ? { area, at: ms(r.at), reason: String(r.reason ?? '') } : null;
  }

  const counts = (sql: string) => Object.fromEntries((prepare(sql).all() as Row[]).map((r) => [String(r.k), Number(r.n)]));

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
        lines: counts(`SELECT l.status AS k, COUNT(*) AS n FROM bridge_lines l JOIN portals p ON p.member_id = l.member_id AND p.status = 'active' GROUP BY l.status`),
        channels: counts(
          `SELECT COALESCE(c.status, 'unknown') AS k, COUNT(*) AS n FROM bridge_lines l JOIN portals p ON p.member_id = l.member_id AND p.status = 'active'
           LEFT JOIN uis_channels c ON c.member_id = l.member_id AND c.channel_id = l.channel_id GROUP BY k`,
        ),
        connections: counts(`SELECT c.status AS k, COUNT(*) AS n FROM uis_connections c JOIN portals p ON p.member_id = c.member_id AND p.status = 'active' GROUP BY c.status`),
        amocrm: counts(`SELECT a.status AS k, COUNT(*) AS n FROM amocrm_accounts a JOIN portals p ON p.member_id = a.member_id AND p.status = 'active' GROUP BY a.status`),
        audit: counts(
          `SELECT CASE WHEN r.last_error IS NULL THEN 'ok' ELSE 'incomplete' END AS k, COUNT(*) AS n FROM bridge_recovery r JOIN portals p ON p.member_id = r.member_id AND p.status = 'active' GROUP BY k`,
        ),
        sourceErrors: counts(
          `SELECT s.source AS k, COUNT(*) AS n FROM chat_source_state s JOIN portals p ON p.member_id = s.member_id AND p.status = 'active' WHERE s.last_error_code IS NOT NULL GROUP BY s.source`,
        ),
      };
    },
  };
}
