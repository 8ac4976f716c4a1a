import type { Db } from './db';
import type { BridgeRepository, BridgeSettlement, BridgeVisitor } from '../services/bridge/ports';
import { ECHO_TTL_MS, keyCounts, LINK_PATCH_COLUMNS, str, toBinding, toChat, toJob, toLink, type BridgeRow } from './bridge-rows';

type Row = BridgeRow;

/** SQLite store of the Open Lines bridge (migrations 006, 007, 012, 014–017). */
export function createSqliteBridgeRepository(db: Db, now: () => number = Date.now): BridgeRepository {
  const iso = () => new Date(now()).toISOString();
  const q = {
    binding: db.prepare('SELECT * FROM bridge_lines WHERE member_id = ? AND line_id = ?'),
    bindingByChannel: db.prepare('SELECT * FROM bridge_lines WHERE member_id = ? AND channel_id = ?'),
    bindings: db.prepare('SELECT * FROM bridge_lines WHERE member_id = ? ORDER BY CAST(line_id AS INTEGER)'),
    deleteBinding: db.prepare('DELETE FROM bridge_lines WHERE member_id = ? AND line_id = ?'),
    // bound_at / reconciled_till (migration 017): UIS messages before the binding are not the line's
    insertBinding: db.prepare(
      `INSERT INTO bridge_lines (member_id, line_id, channel_id, status, chats_rules_off, last_error, updated_at, bound_at, reconciled_till) VALUES (?, ?, ?, 'active', 1, NULL, ?, ?, ?)`,
    ),
    bindingStatus: db.prepare('UPDATE bridge_lines SET status = ?, last_error = ?, updated_at = ? WHERE member_id = ? AND line_id = ?'),
    bindingError: db.prepare('UPDATE bridge_lines SET last_error = ?, updated_at = ? WHERE member_id = ? AND line_id = ?'),
    defaultOp: db.prepare('SELECT default_operator_id FROM bridge_settings WHERE member_id = ?'),
    setDefaultOp: db.prepare(
      `INSERT INTO bridge_settings (member_id, default_operator_id, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET default_operator_id = excluded.default_operator_id, updated_at = excluded.updated_at`,
    ),
    chat: db.prepare('SELECT * FROM bridge_chats WHERE member_id = ? AND uis_chat_id = ?'),
    chatByB24: db.prepare('SELECT * FROM bridge_chats WHERE member_id = ? AND b24_chat_id = ? ORDER BY updated_at DESC LIMIT 1'),
    openChatsOfVisitor: db.prepare("SELECT * FROM bridge_chats WHERE member_id = ? AND visitor_id = ? AND status = 'open' ORDER BY uis_chat_id LIMIT 50"),
    upsertChat: db.prepare(
      `INSERT INTO bridge_chats (member_id, uis_chat_id, channel_id, visitor_id, initiator, operator_id, line_id, b24_chat_id, b24_session_id, b24_session_closed, status, ext_chat_id, successor_uis_chat_id, updated_at)
       VALUES (@member_id, @uis_chat_id, @channel_id, @visitor_id, @initiator, @operator_id, @line_id, @b24_chat_id, @b24_session_id, COALESCE(@b24_session_closed, 0), COALESCE(@status, 'open'), @ext_chat_id, @successor_uis_chat_id, @updated_at)
       ON CONFLICT (member_id, uis_chat_id) DO UPDATE SET
         visitor_id = COALESCE(excluded.visitor_id, visitor_id), initiator = COALESCE(excluded.initiator, initiator),
         operator_id = COALESCE(excluded.operator_id, operator_id), line_id = COALESCE(excluded.line_id, line_id),
         b24_chat_id = COALESCE(excluded.b24_chat_id, b24_chat_id), b24_session_id = COALESCE(excluded.b24_session_id, b24_session_id),
         b24_session_closed = COALESCE(@b24_session_closed, b24_session_closed),
         status = COALESCE(@status, status), ext_chat_id = COALESCE(excluded.ext_chat_id, ext_chat_id),
         successor_uis_chat_id = COALESCE(excluded.successor_uis_chat_id, successor_uis_chat_id), updated_at = excluded.updated_at`,
    ),
    closeSession: db.prepare(
      `UPDATE bridge_chats SET b24_session_closed = 1, updated_at = @t
       WHERE member_id = @m AND uis_chat_id = @id AND (b24_session_id IS NULL OR b24_session_id = @s)`,
    ),
    visitor: db.prepare('SELECT * FROM bridge_visitors WHERE member_id = ? AND visitor_id = ?'),
    // the ids as one JSON array: one statement however many
    chatsOf: db.prepare('SELECT * FROM bridge_chats WHERE member_id = ? AND uis_chat_id IN (SELECT value FROM json_each(?))'),
    visitorsOf: db.prepare('SELECT * FROM bridge_visitors WHERE member_id = ? AND visitor_id IN (SELECT value FROM json_each(?))'),
    upsertVisitor: db.prepare(
      `INSERT INTO bridge_visitors (member_id, visitor_id, phone, email, name, b24_user_id, updated_at) VALUES (@member_id, @visitor_id, @phone, @email, @name, @b24_user_id, @updated_at)
       ON CONFLICT (member_id, visitor_id) DO UPDATE SET phone = COALESCE(excluded.phone, phone), email = COALESCE(excluded.email, email),
         name = COALESCE(excluded.name, name), b24_user_id = COALESCE(excluded.b24_user_id, b24_user_id), updated_at = excluded.updated_at`,
    ),
    link: db.prepare('SELECT * FROM bridge_messages WHERE member_id = ? AND origin = ? AND key = ?'),
    linkByUis: db.prepare('SELECT * FROM bridge_messages WHERE member_id = ? AND uis_message_id = ? LIMIT 1'),
    addLink: db.prepare(
      `INSERT OR IGNORE INTO bridge_messages (member_id, origin, key, uis_chat_id, uis_message_id, b24_chat_id, b24_message_id, b24_user_id, state, error, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    countLinks: db.prepare('SELECT origin || \':\' || state AS k, COUNT(*) AS n FROM bridge_messages WHERE member_id = ? GROUP BY 1'),
    expectEcho: db.prepare('INSERT INTO bridge_echoes (member_id, ext_chat_id, text_hash, created_at) VALUES (?, ?, ?, ?)'),
    findEcho: db.prepare('SELECT id FROM bridge_echoes WHERE member_id = ? AND ext_chat_id = ? AND text_hash = ? AND taken_by IS NULL ORDER BY id LIMIT 1'),
    echoTakenBy: db.prepare('SELECT id FROM bridge_echoes WHERE member_id = ? AND ext_chat_id = ? AND text_hash = ? AND taken_by = ? LIMIT 1'),
    dropEcho: db.prepare('DELETE FROM bridge_echoes WHERE id = ?'),
    markEcho: db.prepare('UPDATE bridge_echoes SET taken_by = ? WHERE id = ?'),
    pruneEchoes: db.prepare('DELETE FROM bridge_echoes WHERE created_at < ?'),
    enqueue: db.prepare(
      `INSERT OR IGNORE INTO bridge_jobs (member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    ),
    // A job whose chat has an older pending job still backing off is not due: order is kept per chat.
    // Each chat's first job not due yet (its blocker) is found once (index bridge_jobs_pending),
    // not compared against every earlier job of the chat for each due job.
    due: db.prepare(
      `WITH blockers AS (
         SELECT chat_key, MIN(id) AS first_id FROM bridge_jobs WHERE member_id = @m AND status = 'pending' AND due_at > @t GROUP BY chat_key)
       SELECT j.* FROM bridge_jobs j LEFT JOIN blockers b ON b.chat_key = j.chat_key
       WHERE j.member_id = @m AND j.status = 'pending' AND j.due_at <= @t AND (b.first_id IS NULL OR j.id < b.first_id)
       ORDER BY j.id LIMIT @limit`,
    ),
    pendingOfChat: db.prepare(`SELECT * FROM bridge_jobs WHERE member_id = ? AND chat_key = ? AND status = 'pending' ORDER BY id`),
    jobById: db.prepare('SELECT * FROM bridge_jobs WHERE id = ?'),
    deleteJob: db.prepare('DELETE FROM bridge_jobs WHERE id = ?'),
    reinsertJob: db.prepare(
      `INSERT INTO bridge_jobs (member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at, last_error, inflight)
       VALUES (@member_id, @kind, @chat_key, @idem_key, @payload, @status, @attempts, @due_at, @enqueued_at, @last_error, @inflight)`,
    ),
    complete: db.prepare(`UPDATE bridge_jobs SET status = 'done', last_error = NULL, inflight = 0 WHERE id = ?`),
    fail: db.prepare(`UPDATE bridge_jobs SET status = 'failed', last_error = ?, inflight = 0 WHERE id = ?`),
    inflight: db.prepare(`UPDATE bridge_jobs SET inflight = ? WHERE id = ?`),
    retry: db.prepare(`UPDATE bridge_jobs SET attempts = ?, due_at = ?, last_error = ? WHERE id = ?`),
    dueNow: db.prepare(`UPDATE bridge_jobs SET due_at = ? WHERE member_id = ? AND chat_key = ? AND status = 'pending' AND due_at > ?`),
    holdChatWith: db.prepare(
      `UPDATE bridge_jobs SET due_at = (SELECT h.due_at FROM bridge_jobs h WHERE h.id = @id)
         WHERE member_id = @m AND chat_key = @c AND status = 'pending' AND id <> @id
           AND due_at <> (SELECT h.due_at FROM bridge_jobs h WHERE h.id = @id)
           AND EXISTS (SELECT 1 FROM bridge_jobs h WHERE h.id = @id AND h.member_id = @m AND h.chat_key = @c AND h.status = 'pending')`,
    ),
    // only the oldest pending job of a chat (its head) decides when the chat can move (see `due`)
    // Portals with a due job (index bridge_jobs_due alone). A superset: a portal whose due jobs all
    // wait behind an older job of their chat gets a run whose `due` read finds nothing.
    portalsDue: db.prepare(`SELECT DISTINCT member_id FROM bridge_jobs WHERE status = 'pending' AND due_at <= ?`),
    nextDue: db.prepare(
      `SELECT MIN(due_at) FROM bridge_jobs j WHERE j.status = 'pending'
         AND NOT EXISTS (SELECT 1 FROM bridge_jobs o WHERE o.member_id = j.member_id AND o.chat_key = j.chat_key AND o.status = 'pending' AND o.id < j.id)`,
    ),
    pruneJobs: db.prepare(`DELETE FROM bridge_jobs WHERE status = 'done' AND enqueued_at < ?`),
    pruneInbox: db.prepare(`DELETE FROM uis_inbox WHERE received_at < ?`),
    countJobs: db.prepare(`SELECT kind || ':' || status AS k, COUNT(*) AS n FROM bridge_jobs WHERE member_id = ? GROUP BY 1`),
    // pending rows only (index bridge_jobs_due): done jobs kept for the retention are not read
    pendingSignature: db.prepare(
      `SELECT COUNT(*) || ':' || COALESCE(MAX(id), 0) || ':' || COALESCE(SUM(attempts), 0) || ':' || COALESCE(SUM(due_at), 0)
       FROM bridge_jobs WHERE status = 'pending' AND member_id = ?`,
    ).pluck(),
  };
  const counts = (rows: Row[]) => keyCounts(rows as Array<{ k: unknown; n: unknown }>);

  const bind = db.transaction((memberId: string, lineId: string, channelId: string): { movedFrom: string | null } => {
    const other = q.bindingByChannel.get(memberId, channelId) as Row | undefined;
    const movedFrom = other && String(other.line_id) !== lineId ? String(other.line_id) : null;
    if (other) q.deleteBinding.run(memberId, String(other.line_id));
    q.deleteBinding.run(memberId, lineId);
    q.insertBinding.run(memberId, lineId, channelId, iso(), now(), now());
    return { movedFrom };
  });

  // a job's place in its chat is its id: the overtaken ones get new ids behind `j` (delete, insert the same row)
  const enqueueAhead = db.transaction((j: Parameters<BridgeRepository['enqueue']>[0], overtake: number[]): boolean => {
    if (q.enqueue.run(j.memberId, j.kind, j.chatKey, j.idemKey, JSON.stringify(j.payload), j.dueAt, now()).changes === 0) return false;
    for (const id of overtake) {
      const r = q.jobById.get(id) as Row | undefined;
      // one a run started sending meanwhile (in flight) keeps its place
      if (!r || r.status !== 'pending' || Number(r.inflight) === 1 || r.member_id !== j.memberId || r.chat_key !== j.chatKey) continue;
      q.deleteJob.run(id);
      const { member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at, last_error, inflight } = r;
      q.reinsertJob.run({ member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at, last_error, inflight });
    }
    return true;
  });

  const resequence = db.transaction((m: string, chatKey: string, ids: number[]): boolean => {
    const from = Math.min(...ids);
    const tail = (q.pendingOfChat.all(m, chatKey) as Row[]).filter((r) => Number(r.id) >= from);
    const byId = new Map(tail.map((r) => [Number(r.id), r]));
    if (tail.length !== ids.length || new Set(ids).size !== ids.length || !ids.every((id) => byId.has(id)) || tail.some((r) => Number(r.inflight) === 1)) return false;
    for (const id of ids) {
      const { member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at, last_error, inflight } = byId.get(id)!;
      q.deleteJob.run(id);
      q.reinsertJob.run({ member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at, last_error, inflight });
    }
    return true;
  });

  // one writer at a time from the start (IMMEDIATE): two processes on one file never take one mark
  const takeEcho = db.transaction((m: string, chat: string, hash: string, by: string | undefined): boolean => {
    if (by !== undefined && q.echoTakenBy.get(m, chat, hash, by)) return true;
    const r = q.findEcho.get(m, chat, hash) as Row | undefined;
    if (!r) return false;
    if (by === undefined) q.dropEcho.run(r.id);
    else q.markEcho.run(by, r.id);
    return true;
  });

  const setInflight = db.transaction((ids: number[], on: boolean) => {
    for (const id of ids) q.inflight.run(on ? 1 : 0, id);
  });

  // one transaction, each write as its own method does it (one process writes the file at a time)
  const settle = db.transaction((m: string, s: BridgeSettlement) => {
    for (const c of s.chats ?? []) repo.upsertChat({ ...c, memberId: m });
    for (const v of s.visitors ?? []) repo.upsertVisitor({ ...v, memberId: m });
    for (const l of s.links ?? []) repo.updateLink(m, l.origin, l.key, l.patch);
    for (const id of s.done ?? []) q.complete.run(id);
    for (const f of s.failed ?? []) q.fail.run(f.error, f.id);
  });
  const toVisitor = (r: Row): BridgeVisitor => ({
    memberId: String(r.member_id),
    visitorId: String(r.visitor_id),
    phone: str(r.phone),
    email: str(r.email),
    name: str(r.name),
    b24UserId: str(r.b24_user_id),
  });

  const repo: BridgeRepository = {
    binding: (m, l) => ((r) => (r ? toBinding(r) : null))(q.binding.get(m, l) as Row | undefined),
    bindingByChannel: (m, c) => ((r) => (r ? toBinding(r) : null))(q.bindingByChannel.get(m, c) as Row | undefined),
    bindings: (m) => (q.bindings.all(m) as Row[]).map(toBinding),
    bind: (m, l, c) => bind(m, l, c),
    unbind: (m, l) => void q.deleteBinding.run(m, l),
    boundPortals: () => db.prepare('SELECT DISTINCT member_id FROM bridge_lines').pluck().all() as string[],
    setBindingStatus: (m, l, s, e) => void q.bindingStatus.run(s, e, iso(), m, l),
    setBindingError: (m, l, e) => void q.bindingError.run(e, iso(), m, l),
    defaultOperator: (m) => {
      const v = (q.defaultOp.get(m) as Row | undefined)?.default_operator_id;
      return v === null || v === undefined ? null : Number(v);
    },
    setDefaultOperator: (m, id) => void q.setDefaultOp.run(m, id, iso()),

    chat: (m, c) => ((r) => (r ? toChat(r) : null))(q.chat.get(m, c) as Row | undefined),
    chatByB24: (m, c) => ((r) => (r ? toChat(r) : null))(q.chatByB24.get(m, c) as Row | undefined),
    openChatsOfVisitor: (m, v) => (q.openChatsOfVisitor.all(m, v) as Row[]).map(toChat),
    upsertChat: (c) =>
      void q.upsertChat.run({
        member_id: c.memberId,
        uis_chat_id: c.uisChatId,
        channel_id: c.channelId,
        visitor_id: c.visitorId ?? null,
        initiator: c.initiator ?? null,
        operator_id: c.operatorId ?? null,
        line_id: c.lineId ?? null,
        b24_chat_id: c.b24ChatId ?? null,
        b24_session_id: c.b24SessionId ?? null,
        b24_session_closed: c.b24SessionClosed === undefined ? null : c.b24SessionClosed ? 1 : 0,
        status: c.status ?? null,
        ext_chat_id: c.extChatId ?? null,
        successor_uis_chat_id: c.successorUisChatId ?? null,
        updated_at: iso(),
      }),
    closeB24Session: (m, id, sessionId) =>
      q.closeSession.run({ m, id, s: sessionId, t: iso() }).changes > 0,
    visitor: (m, v) => {
      const r = q.visitor.get(m, v) as Row | undefined;
      return r
        ? ({ memberId: m, visitorId: v, phone: str(r.phone), email: str(r.email), name: str(r.name), b24UserId: str(r.b24_user_id) } satisfies BridgeVisitor)
        : null;
    },
    upsertVisitor: (v) =>
      void q.upsertVisitor.run({
        member_id: v.memberId,
        visitor_id: v.visitorId,
        phone: v.phone ?? null,
        email: v.email ?? null,
        name: v.name ?? null,
        b24_user_id: v.b24UserId ?? null,
        updated_at: iso(),
      }),

    chatsOf: (m, ids) => (ids.length ? (q.chatsOf.all(m, JSON.stringify(ids)) as Row[]).map(toChat) : []),
    visitorsOf: (m, ids) => (ids.length ? (q.visitorsOf.all(m, JSON.stringify(ids)) as Row[]).map(toVisitor) : []),

    link: (m, o, k) => ((r) => (r ? toLink(r) : null))(q.link.get(m, o, k) as Row | undefined),
    linkByUisMessage: (m, id) => ((r) => (r ? toLink(r) : null))(q.linkByUis.get(m, id) as Row | undefined),
    addLink: (m, l) => q.addLink.run(m, l.origin, l.key, l.uisChatId, l.uisMessageId, l.b24ChatId, l.b24MessageId, l.b24UserId ?? null, l.state, l.error, iso()).changes > 0,
    updateLink(m, origin, key, patch) {
      const sets: string[] = [];
      const vals: unknown[] = [];
      const cols: Record<string, string> = LINK_PATCH_COLUMNS;
      for (const [k, v] of Object.entries(patch)) {
        if (!cols[k]) continue;
        sets.push(`${cols[k]} = ?`);
        vals.push(v);
      }
      if (!sets.length) return;
      db.prepare(`UPDATE bridge_messages SET ${sets.join(', ')}, updated_at = ? WHERE member_id = ? AND origin = ? AND key = ?`).run(...vals, iso(), m, origin, key);
    },
    countLinks: (m) => counts(q.countLinks.all(m) as Row[]),

    expectEcho(m, chat, hash) {
      q.pruneEchoes.run(now() - ECHO_TTL_MS);
      q.expectEcho.run(m, chat, hash, now());
    },
    takeEcho: (m, chat, hash, by) => (db.inTransaction ? takeEcho(m, chat, hash, by) : takeEcho.immediate(m, chat, hash, by)),

    enqueue: (j) => q.enqueue.run(j.memberId, j.kind, j.chatKey, j.idemKey, JSON.stringify(j.payload), j.dueAt, now()).changes > 0,
    enqueueAhead: (j, overtake) => enqueueAhead(j, overtake),
    pendingOfChat: (m, chatKey) => (q.pendingOfChat.all(m, chatKey) as Row[]).map(toJob),
    due: (m, t, limit) => (q.due.all({ m, t, limit }) as Row[]).map(toJob),
    complete: (id) => void q.complete.run(id),
    fail: (id, e) => void q.fail.run(e, id),
    retry: (id, attempts, dueAt, e) => void q.retry.run(attempts, dueAt, e, id),
    dueNow: (m, chatKey, t) => q.dueNow.run(t, m, chatKey, t).changes,
    holdChatWith: (m, chatKey, id) => q.holdChatWith.run({ m, c: chatKey, id }).changes,
    resequence: (m, chatKey, ids) => (ids.length ? resequence(m, chatKey, ids) : false),
    setInflight: (ids, on) => (ids.length ? setInflight(ids, on) : undefined),
    settle: (m, s) => settle(m, s),
    portalsWithDueJobs: (t) => q.portalsDue.pluck().all(t) as string[],
    nextDueAt: () => (q.nextDue.pluck().get() as number | null) ?? null,
    countJobs: (m) => counts(q.countJobs.all(m) as Row[]),
    pendingSignature: (m) => String(q.pendingSignature.get(m)),
    prune: (before) => ({ jobs: q.pruneJobs.run(before).changes, inbox: q.pruneInbox.run(new Date(before).toISOString()).changes }),
  };
  return repo;
}
