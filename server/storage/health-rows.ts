import type { HealthArea } from '../contracts/health';

/**
 * What the health view reads (issue #16), shared by both stores (SQLite: health-repository.ts,
 * PostgreSQL: pg/health-store.ts): each area's queue as SQL over its table, in portable SQL with
 * named parameters (@now, @memberId, @from, @fromIso) — pure text and mapping, no database.
 */

export const iso = (ms: number) => new Date(ms).toISOString();
/** A time as a table keeps it (ms, or ISO text) → ms. */
export const ms = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);

/**
 * Each area's queue as SQL over its table: what is waiting (pending and due), since when, and
 * what failed for good. `due` is the column the worker picks items by (ms); `failedAt` the column
 * a failure is dated by and whether it holds ms or ISO text; `scope` narrows the table.
 */
export interface AreaTable {
  table: string;
  waiting: string;
  since: string;
  failed: string;
  failedAt: string;
  failedAtIso: boolean;
  reason: string;
}
export const HEALTH_AREA_TABLES: Record<Exclude<HealthArea, 'employee-sync'>, AreaTable> = {
  'bridge-in': { table: 'bridge_jobs', waiting: `kind = 'in' AND status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `kind = 'in' AND status = 'failed'`, failedAt: 'due_at', failedAtIso: false, reason: 'last_error' },
  'bridge-out': { table: 'bridge_jobs', waiting: `kind != 'in' AND status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `kind != 'in' AND status = 'failed'`, failedAt: 'due_at', failedAtIso: false, reason: 'last_error' },
  analytics: { table: 'analytics_jobs', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: true, reason: 'reason' },
  'crm-rules': { table: 'crm_requests', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: true, reason: 'reason' },
  telephony: { table: 'telephony_calls', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: false, reason: 'reason' },
  'chat-sources': { table: 'chat_source_items', waiting: `status IN ('pending', 'waiting') AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: true, reason: 'reason' },
  'open-lines': { table: 'open_lines_jobs', waiting: `status = 'pending' AND due_at <= @now`, since: 'due_at', failed: `status = 'failed'`, failedAt: 'updated_at', failedAtIso: false, reason: 'reason' },
};

/** The SQL of one area's figures: waiting (n, since), failed since @from (n), the latest failure (at, reason). */
export function areaSql(area: HealthArea, member: boolean): { waiting: string; failed: string; lastFailure: string } {
  const scoped = (sql: string) => (member ? `${sql} AND member_id = @memberId` : sql);
  if (area === 'employee-sync') {
    return {
      waiting: scoped(`SELECT COUNT(*) AS n, MIN(started_at) AS since FROM employee_sync_runs WHERE status = 'running'`),
      failed: scoped(`SELECT COUNT(*) AS n FROM employee_sync_runs WHERE status = 'failed' AND finished_at >= @fromIso`),
      lastFailure: `SELECT finished_at AS at, error AS reason FROM employee_sync_runs WHERE member_id = @memberId AND status = 'failed' AND finished_at >= @fromIso ORDER BY id DESC LIMIT 1`,
    };
  }
  const t = HEALTH_AREA_TABLES[area];
  const from = t.failedAtIso ? '@fromIso' : '@from';
  return {
    waiting: scoped(`SELECT COUNT(*) AS n, MIN(${t.since}) AS since FROM ${t.table} WHERE ${t.waiting}`),
    failed: scoped(`SELECT COUNT(*) AS n FROM ${t.table} WHERE ${t.failed} AND ${t.failedAt} >= ${from}`),
    lastFailure: `SELECT ${t.failedAt} AS at, ${t.reason} AS reason FROM ${t.table} WHERE member_id = @memberId AND ${t.failed} AND ${t.failedAt} >= ${from} ORDER BY ${t.failedAt} DESC LIMIT 1`,
  };
}

/** stateCounts: each figure as `SELECT <k>, COUNT(*) AS n … GROUP BY`, over the portals with the app. */
export const STATE_COUNTS_SQL = {
  lines: `SELECT l.status AS k, COUNT(*) AS n FROM bridge_lines l JOIN portals p ON p.member_id = l.member_id AND p.status = 'active' GROUP BY l.status`,
  channels: `SELECT COALESCE(c.status, 'unknown') AS k, COUNT(*) AS n FROM bridge_lines l JOIN portals p ON p.member_id = l.member_id AND p.status = 'active'
           LEFT JOIN uis_channels c ON c.member_id = l.member_id AND c.channel_id = l.channel_id GROUP BY k`,
  connections: `SELECT c.status AS k, COUNT(*) AS n FROM uis_connections c JOIN portals p ON p.member_id = c.member_id AND p.status = 'active' GROUP BY c.status`,
  amocrm: `SELECT a.status AS k, COUNT(*) AS n FROM amocrm_accounts a JOIN portals p ON p.member_id = a.member_id AND p.status = 'active' GROUP BY a.status`,
  audit: `SELECT CASE WHEN r.last_error IS NULL THEN 'ok' ELSE 'incomplete' END AS k, COUNT(*) AS n FROM bridge_recovery r JOIN portals p ON p.member_id = r.member_id AND p.status = 'active' GROUP BY k`,
  sourceErrors: `SELECT s.source AS k, COUNT(*) AS n FROM chat_source_state s JOIN portals p ON p.member_id = s.member_id AND p.status = 'active' WHERE s.last_error_code IS NOT NULL GROUP BY s.source`,
} as const;

type Row = Record<string, unknown>;

/** A queue's figures from its two rows (waiting: n, since; failed: n). */
export function queueStat(area: HealthArea, w: Row, f: Row): { area: HealthArea; depth: number; oldestSince: number | null; failedSince: number } {
  const since = area === 'employee-sync' ? (w.since ? ms(w.since) : null) : w.since === null || w.since === undefined ? null : ms(w.since);
  return { area, depth: Number(w.n), oldestSince: since, failedSince: Number(f.n) };
}

/** `k → n` of a stateCounts figure. */
export const countsOf = (rows: Row[]): Record<string, number> => Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
