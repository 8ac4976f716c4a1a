import type { Db } from './db';
import type { CrmRequestRepository } from '../services/crm-rules/ports';
import { eventRankSql, toCrmRequest as toRequest, toCrmRequestMessage, type CrmRequestMessageRow, type CrmRequestRow as Row } from './crm-requests-rows';

export function createSqliteCrmRequestRepository(db: Db, now: () => number = Date.now): CrmRequestRepository {
  const iso = () => new Date(now()).toISOString();
  const q = {
    get: db.prepare('SELECT * FROM crm_requests WHERE member_id = ? AND kind = ? AND request_id = ?'),
    events: db.prepare('SELECT request_id, event FROM crm_requests WHERE member_id = ? AND kind = ? AND request_id IN (SELECT value FROM json_each(?))'),
    // created, or re-opened keeping the furthest lifecycle point (events may arrive out of order;
    // EVENT_RANK in crm-requests-rows.ts: started < message = received < finished), in one statement
    touch: db.prepare(
      `INSERT INTO crm_requests (member_id, kind, request_id, event, channel_id, visitor_id, started_at, facts, status, due_at, updated_at)
       VALUES (@memberId, @kind, @requestId, @event, @channelId, @visitorId, @startedAt, @facts, 'pending', @dueAt, @now)
       ON CONFLICT (member_id, kind, request_id) DO UPDATE SET
         event = CASE WHEN ${eventRankSql('excluded.event')} >= ${eventRankSql('crm_requests.event')} THEN excluded.event ELSE crm_requests.event END,
         channel_id = COALESCE(excluded.channel_id, crm_requests.channel_id), visitor_id = COALESCE(excluded.visitor_id, crm_requests.visitor_id),
         started_at = COALESCE(crm_requests.started_at, excluded.started_at), facts = COALESCE(excluded.facts, crm_requests.facts),
         due_at = CASE WHEN crm_requests.status = 'pending' THEN MIN(crm_requests.due_at, excluded.due_at) ELSE excluded.due_at END,
         status = 'pending',
         version = crm_requests.version + 1, updated_at = excluded.updated_at`,
    ),
    touchVisitor: db.prepare(
      `UPDATE crm_requests SET status = 'pending', due_at = ?, version = version + 1, updated_at = ?
       WHERE member_id = ? AND visitor_id = ? AND status = 'waiting' AND event != 'finished'`,
    ),
    addMessage: db.prepare(
      `INSERT INTO crm_request_messages (member_id, request_id, message_id, at, source, text, author) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    editMessage: db.prepare('UPDATE crm_request_messages SET text = ? WHERE member_id = ? AND request_id = ? AND message_id = ? AND text != ?'),
    messages: db.prepare('SELECT message_id, at, source, text, author FROM crm_request_messages WHERE member_id = ? AND request_id = ? ORDER BY at, message_id'),
    due: db.prepare(`SELECT * FROM crm_requests WHERE member_id = ? AND status = 'pending' AND due_at <= ? ORDER BY due_at, request_id LIMIT ?`),
    portals: db.prepare(`SELECT DISTINCT member_id FROM crm_requests WHERE status = 'pending' AND due_at <= ?`),
    next: db.prepare(`SELECT MIN(due_at) FROM crm_requests WHERE status = 'pending'`),
    setPlan: db.prepare('UPDATE crm_requests SET plan = ?, updated_at = ? WHERE member_id = ? AND kind = ? AND request_id = ?'),
    finish: db.prepare(
      `UPDATE crm_requests SET plan = NULL, outcome = @outcome, reason = @reason, link = COALESCE(@link, link), attempts = 0, updated_at = @now,
         status = CASE WHEN version = @version THEN @status ELSE 'pending' END
       WHERE member_id = @memberId AND kind = @kind AND request_id = @requestId`,
    ),
    retry: db.prepare(
      `UPDATE crm_requests SET attempts = attempts + 1, due_at = ?, reason = ?, updated_at = ? WHERE member_id = ? AND kind = ? AND request_id = ?`,
    ),
    op: db.prepare('SELECT state, result_id FROM crm_ops WHERE member_id = ? AND op_key = ?'),
    markSent: db.prepare(
      `INSERT INTO crm_ops (member_id, op_key, state, updated_at) VALUES (?, ?, 'sent', ?) ON CONFLICT (member_id, op_key) DO NOTHING`,
    ),
    markDone: db.prepare(
      `INSERT INTO crm_ops (member_id, op_key, state, result_id, updated_at) VALUES (?, ?, 'done', ?, ?)
       ON CONFLICT (member_id, op_key) DO UPDATE SET state = 'done', result_id = excluded.result_id, updated_at = excluded.updated_at`,
    ),
    clearOp: db.prepare(`DELETE FROM crm_ops WHERE member_id = ? AND op_key = ? AND state = 'sent'`),
    cursor: db.prepare('SELECT seen_till FROM crm_poll_cursor WHERE member_id = ? AND report = ?'),
    setCursor: db.prepare(
      `INSERT INTO crm_poll_cursor (member_id, report, seen_till, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id, report) DO UPDATE SET seen_till = MAX(seen_till, excluded.seen_till), updated_at = excluded.updated_at`,
    ),
    count: db.prepare(`SELECT kind || ':' || status AS k, COUNT(*) AS n FROM crm_requests WHERE member_id = ? GROUP BY k`),
    pruneMessages: db.prepare(
      `DELETE FROM crm_request_messages WHERE EXISTS (
         SELECT 1 FROM crm_requests r WHERE r.member_id = crm_request_messages.member_id AND r.kind = 'chat' AND r.request_id = crm_request_messages.request_id
           AND r.status IN ('done', 'failed') AND r.updated_at < ?)`,
    ),
  };

  return {
    touch(r) {
      const p = {
        memberId: r.memberId,
        kind: r.kind,
        requestId: r.requestId,
        event: r.event,
        channelId: r.channelId ?? null,
        visitorId: r.visitorId ?? null,
        startedAt: r.startedAt ?? null,
        facts: r.facts ? JSON.stringify(r.facts) : null,
        dueAt: r.dueAt,
        now: iso(),
      };
      q.touch.run(p);
    },
    touchVisitor(memberId, visitorId, dueAt) {
      return q.touchVisitor.run(dueAt, iso(), memberId, visitorId).changes;
    },
    get(memberId, kind, requestId) {
      const r = q.get.get(memberId, kind, requestId) as Row | undefined;
      return r ? toRequest(r) : null;
    },
    events(memberId, kind, requestIds) {
      const rows = q.events.all(memberId, kind, JSON.stringify(requestIds)) as Array<{ request_id: string; event: Row['event'] }>;
      return new Map(rows.map((r) => [r.request_id, r.event]));
    },
    addMessage(memberId, requestId, m) {
      return q.addMessage.run(memberId, requestId, m.id, m.at, m.source, m.text, m.author).changes > 0;
    },
    editMessage(memberId, requestId, messageId, text) {
      return q.editMessage.run(text, memberId, requestId, messageId, text).changes > 0;
    },
    messages(memberId, requestId) {
      return (q.messages.all(memberId, requestId) as CrmRequestMessageRow[]).map(toCrmRequestMessage);
    },
    due(memberId, t, limit) {
      return (q.due.all(memberId, t, limit) as Row[]).map(toRequest);
    },
    portalsWithDue(t) {
      return (q.portals.all(t) as Array<{ member_id: string }>).map((r) => r.member_id);
    },
    nextDueAt() {
      return (q.next.pluck().get() as number | null) ?? null;
    },
    setPlan(r, plan) {
      q.setPlan.run(plan === null ? null : JSON.stringify(plan), iso(), r.memberId, r.kind, r.requestId);
    },
    finish(r, p) {
      q.finish.run({
        memberId: r.memberId,
        kind: r.kind,
        requestId: r.requestId,
        version: r.version,
        status: p.status,
        outcome: p.outcome,
        reason: p.reason,
        link: p.link ? JSON.stringify(p.link) : null,
        now: iso(),
      });
    },
    retry(r, dueAt, reason) {
      q.retry.run(dueAt, reason, iso(), r.memberId, r.kind, r.requestId);
    },
    op(memberId, key) {
      const r = q.op.get(memberId, key) as { state: 'sent' | 'done'; result_id: number | null } | undefined;
      return r ? { state: r.state, resultId: r.result_id } : null;
    },
    markSent(memberId, keys) {
      const t = iso();
      db.transaction(() => keys.forEach((k) => q.markSent.run(memberId, k, t)))();
    },
    markDone(memberId, key, resultId) {
      q.markDone.run(memberId, key, resultId, iso());
    },
    clearOps(memberId, keys) {
      db.transaction(() => keys.forEach((k) => q.clearOp.run(memberId, k)))();
    },
    pollCursor(memberId, report) {
      return (q.cursor.pluck().get(memberId, report) as number | undefined) ?? null;
    },
    setPollCursor(memberId, report, seenTill) {
      q.setCursor.run(memberId, report, seenTill, iso());
    },
    count(memberId) {
      return Object.fromEntries((q.count.all(memberId) as Array<{ k: string; n: number }>).map((r) => [r.k, r.n]));
    },
    pruneMessages(beforeMs) {
      return q.pruneMessages.run(new Date(beforeMs).toISOString()).changes;
    },
  };
}
