import type { Db } from './db';
import type { LeaseStore } from '../services/lease-ports';

/**
 * SQLite leases (migration 026). Each operation is one statement, atomic under SQLite's write lock,
 * so processes sharing the database file (WAL) agree on the owner; expiry is compared in the
 * statement with the caller's clock (processes on one machine share it).
 */
export function createSqliteLeaseStore(db: Db, now: () => number = Date.now): LeaseStore {
  const acquireStmt = db.prepare(`
    INSERT INTO leases (member_id, area, owner, expires_at) VALUES (@memberId, @area, @owner, @expiresAt)
    ON CONFLICT (member_id, area) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
      WHERE leases.owner = excluded.owner OR leases.expires_at <= @now`);
  // still this owner's: nobody took it over, so extending it is safe even past its expiry
  const renewStmt = db.prepare('UPDATE leases SET expires_at = @expiresAt WHERE member_id = @memberId AND area = @area AND owner = @owner');
  const releaseStmt = db.prepare('DELETE FROM leases WHERE member_id = ? AND area = ? AND owner = ?');
  const holderStmt = db.prepare('SELECT owner, expires_at <= ? AS expired FROM leases WHERE member_id = ? AND area = ?');
  const dropStmt = db.prepare('DELETE FROM leases WHERE substr(owner, 1, length(@prefix)) = @prefix AND owner <> @owner');
  return {
    async acquire(memberId, area, owner, ttlMs) {
      const t = now();
      return acquireStmt.run({ memberId, area, owner, expiresAt: t + ttlMs, now: t }).changes === 1;
    },
    async renew(memberId, area, owner, ttlMs) {
      return renewStmt.run({ memberId, area, owner, expiresAt: now() + ttlMs }).changes === 1;
    },
    async holder(memberId, area) {
      const r = holderStmt.get(now(), memberId, area) as { owner: string; expired: number } | undefined;
      return r ? { owner: r.owner, expired: r.expired === 1 } : null;
    },
    async release(memberId, area, owner) {
      releaseStmt.run(memberId, area, owner);
    },
    async dropEarlier(instance, owner) {
      return dropStmt.run({ prefix: `${instance}/`, owner }).changes;
    },
  };
}
