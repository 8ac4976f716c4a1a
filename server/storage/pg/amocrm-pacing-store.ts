import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';
import type { AmoPacingStore } from '../../amocrm/client';

/**
 * PostgreSQL amoCRM pacing (migrations-pg/030), the counterpart of ../amocrm-pacing-repository.ts:
 * a slot is taken with one INSERT … ON CONFLICT DO UPDATE … WHERE, so of instances racing for one
 * host's slot exactly one gets it. Time is the caller's clock (as in SQLite).
 */
export function createPgAmoPacingStore(db: Kysely<PgSchema>, now: () => number = Date.now): AmoPacingStore {
  return {
    async take(origin, intervalMs) {
      const t = now();
      const at = sql<number>`${t}::double precision`;
      const taken = await db
        .insertInto('amocrm_pacing')
        .values({ origin, last_at: t })
        .onConflict((oc) =>
          oc
            .column('origin')
            .doUpdateSet({ last_at: at })
            .where(sql<boolean>`amocrm_pacing.last_at + ${intervalMs}::double precision <= ${at}`),
        )
        .returning('last_at')
        .executeTakeFirst();
      if (taken) return 0;
      const row = await db.selectFrom('amocrm_pacing').select('last_at').where('origin', '=', origin).executeTakeFirst();
      return Math.max(1, (row?.last_at ?? t) + intervalMs - t);
    },
    async holdUntil(origin, at) {
      await db
        .insertInto('amocrm_pacing')
        .values({ origin, last_at: at })
        .onConflict((oc) => oc.column('origin').doUpdateSet({ last_at: sql<number>`greatest(amocrm_pacing.last_at, excluded.last_at)` }))
        .execute();
    },
  };
}
