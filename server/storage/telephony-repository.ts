import type { Db } from './db';
import type { SecretBox } from './secret-box';
import type { CallEventType, CallNotification, CallReport } from '../domain/telephony/events';
import type { TelephonyRepository } from '../services/telephony/ports';
import { hookTokenContext, hookTokenHash as sha256, inChunks, phoneDigitsOrNull as digits, readSettings, toCall, type CallRow } from './telephony-rows';

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * «Телефония» storage over better-sqlite3 (migration 018). The port is asynchronous; the SQL is
 * portable (no SQLite-only functions, upserts with ON CONFLICT, JSON only as text).
 */
export function createSqliteTelephonyRepository(db: Db, box: SecretBox, now: () => number = Date.now): TelephonyRepository {
  const iso = () => new Date(now()).toISOString();
  const q = {
    settings: db.prepare('SELECT settings, updated_at FROM telephony_settings WHERE member_id = ?'),
    saveSettings: db.prepare(
      `INSERT INTO telephony_settings (member_id, settings, enabled, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET settings = excluded.settings, enabled = excluded.enabled, updated_at = excluded.updated_at`,
    ),
    enabled: db.prepare('SELECT member_id FROM telephony_settings WHERE enabled = 1').pluck(),
    hook: db.prepare('SELECT token_sealed FROM telephony_hooks WHERE member_id = ?').pluck(),
    saveHook: db.prepare(
      `INSERT INTO telephony_hooks (member_id, token_hash, token_sealed, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET token_hash = excluded.token_hash, token_sealed = excluded.token_sealed, created_at = excluded.created_at`,
    ),
    byHook: db.prepare('SELECT member_id FROM telephony_hooks WHERE token_hash = ?').pluck(),
    insertEvent: db.prepare(
      `INSERT INTO telephony_events (member_id, session_id, event_type, body, dedupe_key, received_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (member_id, dedupe_key) DO NOTHING`,
    ),
    countType: db.prepare(
      `INSERT INTO telephony_event_types (member_id, event_type, received, last_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (member_id, event_type) DO UPDATE SET received = telephony_event_types.received + 1, last_at = excluded.last_at`,
    ),
    touch: db.prepare(
      `INSERT INTO telephony_calls (member_id, session_id, status, due_at, started_at, phone, created_at, updated_at)
       VALUES (@memberId, @sessionId, 'pending', @dueAt, @startedAt, @phone, @now, @now)
       ON CONFLICT (member_id, session_id) DO UPDATE SET
         due_at = CASE WHEN telephony_calls.status = 'pending' AND telephony_calls.due_at < excluded.due_at THEN telephony_calls.due_at ELSE excluded.due_at END,
         status = 'pending',
         phone = COALESCE(telephony_calls.phone, excluded.phone),
         started_at = COALESCE(telephony_calls.started_at, excluded.started_at),
         version = telephony_calls.version + 1,
         updated_at = excluded.updated_at`,
    ),
    arrivals: db.prepare('SELECT event_type, received, last_at FROM telephony_event_types WHERE member_id = ? ORDER BY event_type'),
    get: db.prepare('SELECT * FROM telephony_calls WHERE member_id = ? AND session_id = ?'),
    saveReport: db.prepare(
      `UPDATE telephony_calls SET report = @report, phone = COALESCE(phone, @phone), started_at = COALESCE(started_at, @startedAt),
         status = 'pending',
         due_at = CASE WHEN status = 'pending' AND due_at < @dueAt THEN due_at ELSE @dueAt END,
         version = version + 1, updated_at = @now
       WHERE member_id = @memberId AND session_id = @sessionId`,
    ),
    insertReport: db.prepare(
      `INSERT INTO telephony_calls (member_id, session_id, status, due_at, started_at, phone, report, created_at, updated_at)
       VALUES (@memberId, @sessionId, 'pending', @dueAt, @startedAt, @phone, @report, @now, @now)`,
    ),
    due: db.prepare(`SELECT * FROM telephony_calls WHERE member_id = ? AND status = 'pending' AND due_at <= ? ORDER BY due_at, session_id LIMIT ?`),
    portals: db.prepare(`SELECT DISTINCT member_id FROM telephony_calls WHERE status = 'pending' AND due_at <= ?`).pluck(),
    next: db.prepare(`SELECT MIN(due_at) FROM telephony_calls WHERE status = 'pending'`).pluck(),
    saveState: db.prepare('UPDATE telephony_calls SET state = ?, updated_at = ? WHERE member_id = ? AND session_id = ?'),
    finish: db.prepare(
      `UPDATE telephony_calls SET state = @state, outcome = @outcome, reason = @reason, attempts = @attempts, updated_at = @now,
         status = CASE WHEN version = @version THEN @status ELSE 'pending' END,
         due_at = CASE WHEN version = @version THEN @dueAt ELSE @now END
       WHERE member_id = @memberId AND session_id = @sessionId`,
    ),
    openMissed: db.prepare(
      `SELECT session_id, missed_activity_id FROM telephony_calls
       WHERE member_id = ? AND phone = ? AND missed_open = 1 AND missed_activity_id IS NOT NULL AND session_id <> ? ORDER BY session_id`,
    ),
    setMissed: db.prepare('UPDATE telephony_calls SET missed_activity_id = ?, missed_open = ? WHERE member_id = ? AND session_id = ?'),
    cursor: db.prepare('SELECT seen_till, last_run_at, recovered, last_error FROM telephony_reconcile WHERE member_id = ?'),
    saveCursor: db.prepare(
      `INSERT INTO telephony_reconcile (member_id, seen_till, last_run_at, recovered, last_error) VALUES (@memberId, @seenTill, @lastRunAt, @recovered, @lastError)
       ON CONFLICT (member_id) DO UPDATE SET seen_till = excluded.seen_till, last_run_at = excluded.last_run_at,
         recovered = telephony_reconcile.recovered + excluded.recovered, last_error = excluded.last_error`,
    ),
    lines: db.prepare('SELECT numbers, synced_at, last_error FROM telephony_lines WHERE member_id = ?'),
    saveLines: db.prepare(
      `INSERT INTO telephony_lines (member_id, numbers, synced_at, last_error) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET numbers = excluded.numbers, synced_at = excluded.synced_at, last_error = excluded.last_error`,
    ),
    counts: db.prepare('SELECT status, COUNT(*) AS n FROM telephony_calls WHERE member_id = ? GROUP BY status'),
    pruneEvents: db.prepare('DELETE FROM telephony_events WHERE received_at < ?'),
    pruneCalls: db.prepare(`DELETE FROM telephony_calls WHERE status IN ('done', 'failed') AND updated_at < ? AND missed_open = 0`),
  };

  const record = db.transaction((memberId: string, n: CallNotification, dedupeKey: string, dueAt: number): boolean => {
    q.countType.run(memberId, n.event, n.receivedAt);
    const fresh = q.insertEvent.run(memberId, n.sessionId, n.event, JSON.stringify(n), dedupeKey, n.receivedAt).changes === 1;
    if (fresh && n.sessionId !== null) {
      q.touch.run({ memberId, sessionId: n.sessionId, dueAt, startedAt: n.receivedAt, phone: digits(n.contactPhone), now: now() });
    }
    return fresh;
  });

  const saveReport = db.transaction((memberId: string, report: CallReport, dueAt: number): 'new' | 'updated' | 'unchanged' => {
    const row = q.get.get(memberId, report.id) as CallRow | undefined;
    const json = JSON.stringify(report);
    const p = { memberId, sessionId: report.id, report: json, phone: digits(report.contactPhone), startedAt: report.startedAt, dueAt, now: now() };
    if (!row) {
      q.insertReport.run(p);
      return 'new';
    }
    if (row.report === json) return 'unchanged';
    q.saveReport.run(p);
    return 'updated';
  });

  return {
    async getSettings(memberId) {
      const r = q.settings.get(memberId) as { settings: string; updated_at: string } | undefined;
      return r ? { settings: readSettings(r.settings), updatedAt: r.updated_at } : null;
    },
    async saveSettings(memberId, settings) {
      q.saveSettings.run(memberId, JSON.stringify(settings), settings.enabled ? 1 : 0, iso());
    },
    async enabledPortals() {
      return q.enabled.all() as string[];
    },
    async hookToken(memberId) {
      const sealed = q.hook.get(memberId) as string | undefined;
      return sealed ? box.open(sealed, hookTokenContext(memberId)) : null;
    },
    async saveHookToken(memberId, token) {
      q.saveHook.run(memberId, sha256(token), box.seal(token, hookTokenContext(memberId)), iso());
    },
    async memberByHookToken(token) {
      return (q.byHook.get(sha256(token)) as string | undefined) ?? null;
    },
    async record(n, dueAt) {
      return record(n.memberId, n.notification, n.dedupeKey, dueAt);
    },
    async arrivals(memberId) {
      return (q.arrivals.all(memberId) as Array<{ event_type: CallEventType; received: number; last_at: number }>).map((r) => ({ eventType: r.event_type, received: r.received, lastAt: Number(r.last_at) }));
    },
    async notifications(memberId, sessionIds) {
      const out = new Map<number, CallNotification[]>();
      for (const chunk of inChunks([...new Set(sessionIds)])) {
        const rows = db
          .prepare(`SELECT session_id, body FROM telephony_events WHERE member_id = ? AND session_id IN (${marks(chunk.length)}) ORDER BY id`)
          .all(memberId, ...chunk) as Array<{ session_id: number; body: string }>;
        for (const r of rows) {
          const id = Number(r.session_id);
          const list = out.get(id) ?? [];
          list.push(JSON.parse(r.body) as CallNotification);
          out.set(id, list);
        }
      }
      return out;
    },
    async saveReport(memberId, report, dueAt) {
      return saveReport(memberId, report, dueAt);
    },
    async get(memberId, sessionId) {
      const r = q.get.get(memberId, sessionId) as CallRow | undefined;
      return r ? toCall(r) : null;
    },
    async settled(memberId, sessionIds) {
      const out = new Set<number>();
      for (const chunk of inChunks([...new Set(sessionIds)])) {
        const rows = db
          .prepare(`SELECT session_id FROM telephony_calls WHERE member_id = ? AND status IN ('done', 'failed') AND report IS NOT NULL AND session_id IN (${marks(chunk.length)})`)
          .pluck()
          .all(memberId, ...chunk) as number[];
        rows.forEach((r) => out.add(Number(r)));
      }
      return out;
    },
    async due(memberId, at, limit) {
      return (q.due.all(memberId, at, limit) as CallRow[]).map(toCall);
    },
    async portalsWithDue(at) {
      return q.portals.all(at) as string[];
    },
    async nextDueAt() {
      const v = q.next.get() as number | null;
      return v === null || v === undefined ? null : Number(v);
    },
    async saveState(c) {
      q.saveState.run(JSON.stringify(c.state), now(), c.memberId, c.sessionId);
    },
    async finish(c, p) {
      q.finish.run({
        memberId: c.memberId,
        sessionId: c.sessionId,
        state: JSON.stringify(c.state),
        outcome: p.outcome,
        reason: p.reason,
        attempts: p.attempts ?? 0,
        version: c.version,
        status: p.status,
        dueAt: p.dueAt ?? now(),
        now: now(),
      });
    },
    async openMissed(memberId, phone, exceptSession) {
      return (q.openMissed.all(memberId, phone, exceptSession) as Array<{ session_id: number; missed_activity_id: number }>).map((r) => ({ sessionId: Number(r.session_id), activityId: Number(r.missed_activity_id) }));
    },
    async setMissed(memberId, sessionId, activityId, open) {
      q.setMissed.run(activityId, open ? 1 : 0, memberId, sessionId);
    },
    async closeMissed(memberId, activityIds) {
      for (const chunk of inChunks([...new Set(activityIds)])) {
        db.prepare(`UPDATE telephony_calls SET missed_open = 0 WHERE member_id = ? AND missed_activity_id IN (${marks(chunk.length)})`).run(memberId, ...chunk);
      }
    },
    async reconcileCursor(memberId) {
      const r = q.cursor.get(memberId) as { seen_till: number; last_run_at: number | null; recovered: number; last_error: string | null } | undefined;
      return r ? { seenTill: Number(r.seen_till), lastRunAt: r.last_run_at === null ? null : Number(r.last_run_at), recovered: r.recovered, lastError: r.last_error } : null;
    },
    async saveReconcile(memberId, p) {
      q.saveCursor.run({ memberId, seenTill: p.seenTill, lastRunAt: p.lastRunAt, recovered: p.recoveredAdd, lastError: p.lastError });
    },
    async lines(memberId) {
      const r = q.lines.get(memberId) as { numbers: string; synced_at: number; last_error: string | null } | undefined;
      return r ? { numbers: JSON.parse(r.numbers) as Array<{ number: string; name: string }>, syncedAt: Number(r.synced_at), lastError: r.last_error } : null;
    },
    async saveLines(memberId, p) {
      q.saveLines.run(memberId, JSON.stringify(p.numbers), p.syncedAt, p.lastError);
    },
    async prune(eventsBefore, callsBefore) {
      return { events: q.pruneEvents.run(eventsBefore).changes, calls: q.pruneCalls.run(callsBefore).changes };
    },
    async counts(memberId) {
      const rows = q.counts.all(memberId) as Array<{ status: string; n: number }>;
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}
