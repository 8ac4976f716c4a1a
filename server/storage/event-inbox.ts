import type { Db } from './db';
import type { EventInbox } from '../services/ports';

/** SQLite event inbox: one row per distinct event per portal (dedupe key unique). */
export function createSqliteEventInbox(db: Db, now: () => number = Date.now): EventInbox {
  const insert = db.prepare(
    `INSERT INTO event_inbox (member_id, event, data, ts, dedupe_key, received_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (member_id, dedupe_key) DO NOTHING`,
  );
  const count = db.prepare('SELECT COUNT(*) FROM event_inbox WHERE member_id = ?').pluck();
  return {
    record(e) {
      const r = insert.run(e.memberId, e.event, JSON.stringify(e.data ?? null), e.ts, e.dedupeKey, new Date(now()).toISOString());
      return r.changes === 1;
    },
    count(memberId) {
      return count.get(memberId) as number;
    },
  };
}
