import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { PgSchema } from './schema';
import { HEALTH_AREAS, type HealthArea } from '../../contracts/health';
import type { AreaFailure, HealthRepository, QueueStat } from '../../services/health/ports';
import { STATE_COUNTS_SQL, areaSql, countsOf, iso, ms, queueStat } from '../health-rows';

type Row = Record<string, unknown>;

/**
 * The health view's reads in PostgreSQL (issue #12), the counterpart of ../health-repository.ts:
 * the same SQL over the same tables (../health-rows.ts: bridge jobs, analytics jobs, CRM requests,
 * calls, chat-source items, open-lines jobs, employee sync runs, and the bindings and connections
 * for the state counts), its @named parameters bound as PostgreSQL parameters. Read-only, one
 * statement at a time on the pool (a /metrics scrape holds one connection). Counts are BIGINT (read
 * as numbers).
 */
export function createPgHealthStore(db: Kysely<PgSchema>): HealthRepository {
  /** `… @name …` (the shared SQL's named parameters) → a Kysely query with bound values. */
  function named(text: string, params: Record<string, unknown>): RawBuilder<Row> {
    const parts = text.split(/@(\w+)/);
    const pieces = parts.map((part, i) => {
      if (i % 2 === 0) return sql.raw(part);
      if (!(part in params)) throw new Error(`health SQL: no value for @${part}`);
      return sql`${params[part]}`;
    });
    return sql<Row>`${sql.join(pieces, sql``)}`;
  }
  const all = async (text: string, params: Record<string, unknown> = {}) => (await named(text, params).execute(db)).rows;
  const one = async (text: string, params: Record<string, unknown>) => (await all(text, params))[0];

  /**
   * The parameters: times compared with BIGINT ms columns are whole ms on the side that selects the
   * same rows (`due_at <= @now` → floor, `… >= @from` → ceil); the ISO bound is the exact time.
   */
  const params = (memberId: string | null, now: number, from: number) => ({ now: Math.floor(now), memberId, from: Math.ceil(from), fromIso: iso(from) });

  async function queue(area: HealthArea, memberId: string | null, now: number, failedFrom: number): Promise<QueueStat> {
    const p = params(memberId, now, failedFrom);
    const q = areaSql(area, !!memberId);
    const w = await one(q.waiting, p);
    const f = await one(q.failed, p);
    return queueStat(area, w ?? {}, f ?? {});
  }

  async function lastFailure(area: HealthArea, memberId: string, from: number): Promise<AreaFailure | null> {
    const r = await one(areaSql(area, true).lastFailure, params(memberId, 0, from));
    return r ? { area, at: ms(r.at), reason: String(r.reason ?? '') } : null;
  }

  const counts = async (text: string) => countsOf(await all(text));

  return {
    async queues(memberId, now, failedFrom) {
      const out: QueueStat[] = [];
      for (const a of HEALTH_AREAS) out.push(await queue(a, memberId, now, failedFrom));
      return out;
    },
    async lastFailures(memberId, from) {
      const found: AreaFailure[] = [];
      for (const a of HEALTH_AREAS) {
        const f = await lastFailure(a, memberId, from);
        if (f) found.push(f);
      }
      return found.sort((a, b) => b.at - a.at);
    },
    async channels(memberId, accountId) {
      const rows = await db
        .selectFrom('uis_channels')
        .select(['channel_id', 'name', 'type', 'status'])
        .where('member_id', '=', memberId)
        .where('account_id', '=', accountId)
        .where('status', '!=', 'removed')
        .orderBy(sql`name COLLATE "C"`) // byte order, as SQLite's BINARY collation sorts
        .execute();
      return rows.map((r) => ({ channelId: String(r.channel_id), name: String(r.name), type: String(r.type), status: String(r.status) }));
    },
    async activePortals() {
      const rows = await db.selectFrom('portals').select('member_id').where('status', '=', 'active').execute();
      return rows.map((r) => String(r.member_id));
    },
    async stateCounts() {
      return {
        lines: await counts(STATE_COUNTS_SQL.lines),
        channels: await counts(STATE_COUNTS_SQL.channels),
        connections: await counts(STATE_COUNTS_SQL.connections),
        amocrm: await counts(STATE_COUNTS_SQL.amocrm),
        audit: await counts(STATE_COUNTS_SQL.audit),
        sourceErrors: await counts(STATE_COUNTS_SQL.sourceErrors),
      };
    },
  };
}
