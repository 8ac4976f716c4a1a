import type { Db } from './db';
import type { RestBucketStore } from '../services/rest-bucket-ports';

/**
 * SQLite REST buckets (migration 027): one UPSERT … RETURNING per request, atomic under SQLite's
 * write lock, so processes sharing the file (WAL) see one level per portal. Time is the caller's
 * clock (processes on one machine share it); a caller slightly behind the last update drains nothing.
 */
export function createSqliteRestBucketStore(db: Db, now: () => number = Date.now): RestBucketStore {
  const drained = 'max(0, rest_buckets.level - max(0, @now - rest_buckets.at) / @ms)';
  const take = db.prepare(`
    INSERT INTO rest_buckets (member_id, level, at) VALUES (@memberId, 1, @now)
    ON CONFLICT (member_id) DO UPDATE SET level = ${drained} + 1, at = max(rest_buckets.at, @now)
    RETURNING level`).pluck();
  const fill = db.prepare(`
    INSERT INTO rest_buckets (member_id, level, at) VALUES (@memberId, @capacity, @now)
    ON CONFLICT (member_id) DO UPDATE SET level = max(${drained}, @capacity), at = max(rest_buckets.at, @now)
    RETURNING level`).pluck();
  return {
    async take(memberId, msPerRequest) {
      return take.get({ memberId, now: now(), ms: msPerRequest }) as number;
    },
    async fill(memberId, capacity, msPerRequest) {
      return fill.get({ memberId, now: now(), ms: msPerRequest, capacity }) as number;
    },
  };
}
