import type { Db } from './db';
import type { AmoPacingStore } from '../amocrm/client';

/**
 * SQLite amoCRM pacing (migration 030): a slot is taken with one UPSERT, atomic under SQLite's write
 * lock, so processes sharing the file (WAL) space an account's requests as one pacer would. Time is
 * the caller's clock (processes on one machine share it).
 */
export function createSqliteAmoPacingStore(db: Db, now: () => number = Date.now): AmoPacingStore {
  const take = db.prepare(`
    INSERT INTO amocrm_pacing (origin, last_at) VALUES (@origin, @now)
    ON CONFLICT (origin) DO UPDATE SET last_at = @now WHERE amocrm_pacing.last_at + @ms <= @now`);
  const last = db.prepare('SELECT last_at FROM amocrm_pacing WHERE origin = ?').pluck();
  const hold = db.prepare(`
    INSERT INTO amocrm_pacing (origin, last_at) VALUES (@origin, @at)
    ON CONFLICT (origin) DO UPDATE SET last_at = max(amocrm_pacing.last_at, @at)`);
  return {
    async take(origin, intervalMs) {
      const t = now();
      if (take.run({ origin, now: t, ms: intervalMs }).changes === 1) return 0;
      const at = last.get(origin) as number | undefined;
      return Math.max(1, (at ?? t) + intervalMs - t);
    },
    async holdUntil(origin, at) {
      hold.run({ origin, at });
    },
  };
}
