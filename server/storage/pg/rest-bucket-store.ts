import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';
import type { RestBucketStore } from '../../services/rest-bucket-ports';

/**
 * PostgreSQL REST buckets (migrations-pg/027), the counterpart of ../rest-bucket-repository.ts:
 * one INSERT … ON CONFLICT DO UPDATE … RETURNING per request; concurrent takes of one portal wait
 * on its row, each sees the level the one before left. Time is the caller's clock (as in SQLite);
 * a caller slightly behind the last update drains nothing.
 */
export function createPgRestBucketStore(db: Kysely<PgSchema>, now: () => number = Date.now): RestBucketStore {
  const upsert = async (memberId: string, t: number, ms: number, capacity: number | undefined): Promise<number> => {
    const at = sql<number>`${t}::double precision`;
    const drained = sql<number>`greatest(0, rest_buckets.level - greatest(0, ${at} - rest_buckets.at) / ${ms}::double precision)`;
    const row = await db
      .insertInto('rest_buckets')
      .values({ member_id: memberId, level: capacity ?? 1, at: t })
      .onConflict((oc) =>
        oc.column('member_id').doUpdateSet({
          level: capacity === undefined ? sql<number>`${drained} + 1` : sql<number>`greatest(${drained}, ${capacity}::double precision)`,
          at: sql<number>`greatest(rest_buckets.at, ${at})`,
        }),
      )
      .returning('level')
      .executeTakeFirstOrThrow();
    return row.level;
  };
  return {
    take: (memberId, msPerRequest) => upsert(memberId, now(), msPerRequest, undefined),
    fill: (memberId, capacity, msPerRequest) => upsert(memberId, now(), msPerRequest, capacity),
  };
}
