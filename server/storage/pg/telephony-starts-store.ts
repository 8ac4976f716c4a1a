import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';
import type { TelephonyStart, TelephonyStartRepository } from '../../services/telephony/start-ports';
import { inChunks, toStart } from '../telephony-rows';

/**
 * Calls started from Bitrix24 over PostgreSQL (migrations-pg/023), the counterpart of
 * ../telephony-starts-repository.ts: a start is saved by one INSERT … ON CONFLICT … DO UPDATE
 * (its kind, number and creation time stay those of its first save).
 */
export function createPgTelephonyStartStore(db: Kysely<PgSchema>): TelephonyStartRepository {
  return {
    async save(s) {
      await db
        .insertInto('telephony_starts')
        .values({
          member_id: s.memberId,
          correlation_id: s.correlationId,
          kind: s.kind,
          call_id: s.callId,
          user_id: s.userId,
          phone: s.phone,
          session_id: s.sessionId,
          status: s.status,
          error_code: s.errorCode,
          error: s.error,
          // BIGINT ms: a fractional time (a scaled clock; SQLite keeps a REAL) is rounded, not refused
          created_at: Math.round(s.createdAt),
        })
        .onConflict((oc) =>
          oc.columns(['member_id', 'correlation_id']).doUpdateSet({
            call_id: (eb) => eb.ref('excluded.call_id'),
            user_id: (eb) => eb.ref('excluded.user_id'),
            session_id: (eb) => eb.ref('excluded.session_id'),
            status: (eb) => eb.ref('excluded.status'),
            error_code: (eb) => eb.ref('excluded.error_code'),
            error: (eb) => eb.ref('excluded.error'),
          }),
        )
        .execute();
    },
    async get(memberId, correlationIds) {
      const out = new Map<string, TelephonyStart>();
      for (const chunk of inChunks([...new Set(correlationIds)])) {
        const rows = await db.selectFrom('telephony_starts').selectAll().where('member_id', '=', memberId).where('correlation_id', 'in', chunk).execute();
        for (const r of rows) out.set(r.correlation_id, toStart(r));
      }
      return out;
    },
    async failures(memberId, limit) {
      // SQLite breaks a tie (two failures in one ms) by rowid, the insertion order; PostgreSQL has no
      // such column: the row's place in the heap (ctid) follows the order rows were written while the
      // table is only appended to — the closest there is (an update moves the row to its new version).
      const rows = await db
        .selectFrom('telephony_starts')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('status', '=', 'failed')
        .orderBy('created_at', 'desc')
        .orderBy(sql`ctid`, 'desc')
        .limit(limit)
        .execute();
      return rows.map(toStart);
    },
    async prune(before) {
      const r = await db.deleteFrom('telephony_starts').where('created_at', '<', Math.ceil(before)).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
