import type { Db } from './db';
import type { UisInbox } from '../services/ports';

/** Durable record of verified UIS callbacks (one row per distinct callback per portal). */
export function createSqliteUisInbox(db: Db, now: () => number = Date.now): UisInbox {
  const insert = db.prepare(
    `INSERT INTO uis_inbox (member_id, path, body, dedupe_key, received_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (member_id, dedupe_key) DO NOTHING`,
  );
  const count = db.prepare('SELECT COUNT(*) FROM uis_inbox WHERE member_id = ?').pluck();
  return {
    record(e) {
      return insert.run(e.memberId, e.path, JSON.stringify(e.body ?? null), e.dedupeKey, new Date(now()).toISOString()).changes === 1;
    },
    count(memberId) {
      return count.get(memberId) as number;
    },
  };
}
