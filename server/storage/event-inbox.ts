import type { Db } from './db';
import type { EventInbox } from '../services/ports';

/** How long a delivery is remembered for de-duplication (and kept at all). */
export const EVENT_DEDUPE_WINDOW_MS = 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;

/**
 * SQLite event inbox. A dedupe key seen again *within the window* is a duplicate; an older row with
 * the same key is taken over by the new delivery (the same change can happen again later), and
 * rows older than the window are deleted, at most once an hour, so the table stays bounded.
 */
export function createSqliteEventInbox(db: Db, now: () => number = Date.now, o: { windowMs?: number } = {}): EventInbox {
  const windowMs = o.windowMs ?? EVENT_DEDUPE_WINDOW_MS;
  // ISO-8601 UTC strings of one format compare like the instants they name
  const upsert = db.prepare(
    `INSERT INTO event_inbox (member_id, event, data, ts, dedupe_key, received_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (member_id, dedupe_key) DO UPDATE
       SET event = excluded.event, data = excluded.data, ts = excluded.ts, received_at = excluded.received_at, status = 'new'
       WHERE event_inbox.received_at < ?`,
  );
  const prune = db.prepare('DELETE FROM event_inbox WHERE received_at < ?');
  const count = db.prepare('SELECT COUNT(*) FROM event_inbox WHERE member_id = ?').pluck();
  let prunedAt = 0;
  return {
    record(e) {
      const t = now();
      const cutoff = new Date(t - windowMs).toISOString();
      if (t - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = t;
        prune.run(cutoff);
      }
      const r = upsert.run(e.memberId, e.event, JSON.stringify(e.data ?? null), e.ts, e.dedupeKey, new Date(t).toISOString(), cutoff);
      return r.changes === 1;
    },
    count(memberId) {
      return count.get(memberId) as number;
    },
  };
}
