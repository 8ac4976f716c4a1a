import type { Db } from './db';
import type { TelephonyStart, TelephonyStartRepository } from '../services/telephony/start-ports';
import { toStart, type StartRow as Row } from './telephony-rows';

/** Calls started from Bitrix24 (migration 023) over better-sqlite3; the port is asynchronous, the SQL portable. */
export function createSqliteTelephonyStartRepository(db: Db): TelephonyStartRepository {
  const q = {
    save: db.prepare(
      `INSERT INTO telephony_starts (member_id, correlation_id, kind, call_id, user_id, phone, session_id, status, error_code, error, created_at)
       VALUES (@memberId, @correlationId, @kind, @callId, @userId, @phone, @sessionId, @status, @errorCode, @error, @createdAt)
       ON CONFLICT (member_id, correlation_id) DO UPDATE SET call_id = excluded.call_id, user_id = excluded.user_id,
         session_id = excluded.session_id, status = excluded.status, error_code = excluded.error_code, error = excluded.error`,
    ),
    get: db.prepare('SELECT * FROM telephony_starts WHERE member_id = ? AND correlation_id = ?'),
    failures: db.prepare(`SELECT * FROM telephony_starts WHERE member_id = ? AND status = 'failed' ORDER BY created_at DESC, rowid DESC LIMIT ?`),
    prune: db.prepare('DELETE FROM telephony_starts WHERE created_at < ?'),
  };
  return {
    async save(s) {
      q.save.run({ ...s });
    },
    async get(memberId, correlationIds) {
      const out = new Map<string, TelephonyStart>();
      for (const id of new Set(correlationIds)) {
        const r = q.get.get(memberId, id) as Row | undefined;
        if (r) out.set(id, toStart(r));
      }
      return out;
    },
    async failures(memberId, limit) {
      return (q.failures.all(memberId, limit) as Row[]).map(toStart);
    },
    async prune(before) {
      return q.prune.run(before).changes;
    },
  };
}
