import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';
import type { LeaseStore } from '../../services/lease-ports';

/**
 * PostgreSQL leases (migrations-pg/026), the counterpart of ../lease-repository.ts. Each operation
 * is one statement: acquire is one INSERT … ON CONFLICT … DO UPDATE … WHERE, so instances racing
 * for a lease serialize on its row and exactly one holds it. Expiry is compared in the statement
 * with the caller's clock (like SQLite's; instances on several machines need synchronized clocks,
 * the lease TTL being far above their skew).
 */
export function createPgLeaseStore(db: Kysely<PgSchema>, clock: () => number = Date.now): LeaseStore {
  // expires_at is BIGINT ms: a fractional time (SQLite would keep it as REAL) is rounded, not refused
  const now = () => Math.round(clock());
  return {
    async acquire(memberId, area, owner, ttlMs) {
      const t = now();
      const r = await db
        .insertInto('leases')
        .values({ member_id: memberId, area, owner, expires_at: Math.round(t + ttlMs) })
        .onConflict((oc) =>
          oc
            .columns(['member_id', 'area'])
            .doUpdateSet({ owner: (eb) => eb.ref('excluded.owner'), expires_at: (eb) => eb.ref('excluded.expires_at') })
            .where((eb) => eb.or([eb('leases.owner', '=', eb.ref('excluded.owner')), eb('leases.expires_at', '<=', t)])),
        )
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async renew(memberId, area, owner, ttlMs) {
      // still this owner's: nobody took it over, so extending it is safe even past its expiry
      const r = await db
        .updateTable('leases')
        .set({ expires_at: Math.round(now() + ttlMs) })
        .where('member_id', '=', memberId)
        .where('area', '=', area)
        .where('owner', '=', owner)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async holder(memberId, area) {
      const r = await db.selectFrom('leases').select(['owner', 'expires_at']).where('member_id', '=', memberId).where('area', '=', area).executeTakeFirst();
      return r ? { owner: r.owner, expired: Number(r.expires_at) <= now() } : null;
    },
    async release(memberId, area, owner) {
      await db.deleteFrom('leases').where('member_id', '=', memberId).where('area', '=', area).where('owner', '=', owner).execute();
    },
    async dropEarlier(instance, owner) {
      const r = await db
        .deleteFrom('leases')
        .where(sql<boolean>`starts_with(owner, ${`${instance}/`})`)
        .where('owner', '<>', owner)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
