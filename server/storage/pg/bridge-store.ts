import { sql, type Kysely, type Transaction, type Updateable } from 'kysely';
import type { AsyncPort } from '../../services/async-port';
import type { BridgeRepository, BridgeSettlement, BridgeVisitor } from '../../services/bridge/ports';
import { ECHO_TTL_MS, keyCounts, LINK_PATCH_COLUMNS, str, toBinding, toChat, toJob, toLink, type BridgeRow } from '../bridge-rows';
import type { BridgeChatsTable, BridgeMessagesTable, BridgeVisitorsTable, PgSchema } from './schema';
import { pgText } from './nul';

/**
 * The Open Lines bridge in PostgreSQL (migrations-pg 006, 007, 012, 014–017, 020), the counterpart of
 * ../bridge-repository.ts with the same behaviour (rows mapped by ../bridge-rows.ts), as the
 * asynchronous form of its port.
 *
 * Several instances share it. What they can race on holds across connections:
 * - `addLink` / `enqueue`: INSERT … ON CONFLICT DO NOTHING RETURNING — of copies arriving at once
 *   exactly one is told it is new (the others wait for its commit and insert nothing);
 * - `takeEcho`: one DELETE of the oldest matching echo not locked by another taker (SKIP LOCKED),
 *   so an echo is consumed once and two takers of two equal echoes get one each;
 * - `bind`: in one transaction holding the portal's binding lock (a transaction-scoped advisory
 *   lock), so binds of one portal are serialized as in SQLite: a channel moves atomically, never
 *   bound to two lines, and each bind is told the line it took the channel from;
 * - `enqueueAhead`: the insert and the moves of the overtaken jobs (delete, insert the same row:
 *   a job's place in its chat is its id) in one transaction, each overtaken row read FOR UPDATE
 *   (one moved by a concurrent caller meanwhile is gone and skipped).
 * - `resequence`: the chat's pending rows read FOR UPDATE, then the same delete-and-insert moves, in
 *   one transaction (a run's in-flight mark set meanwhile waits and then finds its row gone).
 *
 * A round trip costs what the relay's work per message costs on SQLite, so what a relay round reads
 * and writes for many jobs goes in one statement each: `chatsOf` / `visitorsOf` (= ANY of an array)
 * and `settle` (one transaction: one INSERT … ON CONFLICT DO UPDATE for the chats, one for the
 * visitors, one UPDATE … FROM of the links, one of the jobs done, one of those failed — the rows
 * passed as one JSON parameter, repeats of a key merged first as the single calls would leave it).
 *
 * Times in ms are BIGINT: a fractional time (SQLite would keep a REAL) is rounded when stored, and
 * a bound `due_at <= t` is floored (`due_at > t` likewise: the same rows as SQLite's comparison).
 * PostgreSQL's text cannot hold U+0000, which SQLite keeps: in every string stored or looked up
 * (ids, keys, names, error messages) it is written as U+FFFD instead of failing the statement (a
 * callback would get a 5xx); a lookup maps it the same way, so it finds what was stored. Payloads
 * are JSON text, whose escapes (\u0000) keep them exactly.
 */
const ms = (t: number) => Math.round(t);
const t = pgText;
/** SQLite's CAST(line_id AS INTEGER): the leading integer, 0 when there is none; ties in byte order */
const LINE_ORDER = sql`COALESCE(substring(line_id from '^\\s*([-+]?[0-9]+)')::numeric, 0), line_id COLLATE "C"`;

type Db = Kysely<PgSchema> | Transaction<PgSchema>;
type Job = Parameters<BridgeRepository['enqueue']>[0];

/**
 * `settle`'s rows as the statements take them: strings mapped as every string stored (U+0000), a
 * key given twice merged into one row the way the calls one after another would leave it (a multi-row
 * upsert or UPDATE … FROM must not meet a row twice): chats and visitors keep the last value given
 * (null or absent: not given; the first channel, which only an insert writes), links the last value
 * of each column a patch names (undefined: NULL, as updateLink writes it), jobs the last error.
 */
function settlementRows(s: BridgeSettlement) {
  // a lone UTF-16 surrogate becomes U+FFFD, as it does in a string bound as a parameter (JSON would
  // escape it, and jsonb refuses the escape)
  const t = <T extends string | null | undefined>(x: T): T => (typeof x === 'string' ? (pgText(x).replace(/\p{Surrogate}/gu, '\uFFFD') as T) : x);
  const given = <V>(v: V | null | undefined): v is V => v !== null && v !== undefined;
  const chats = new Map<string, Record<string, string | number | null>>();
  for (const c of s.chats ?? []) {
    const key = t(c.uisChatId);
    const row = chats.get(key) ?? { uis_chat_id: key, channel_id: t(c.channelId) };
    const fields = {
      visitor_id: c.visitorId,
      initiator: c.initiator,
      operator_id: c.operatorId,
      line_id: c.lineId,
      b24_chat_id: c.b24ChatId,
      b24_session_id: c.b24SessionId,
      ext_chat_id: c.extChatId,
      successor_uis_chat_id: c.successorUisChatId,
      status: c.status,
    };
    for (const [k, v] of Object.entries(fields)) if (given(v)) row[k] = t(v);
    if (c.b24SessionClosed !== undefined) row.b24_session_closed = c.b24SessionClosed ? 1 : 0;
    chats.set(key, row);
  }
  const visitors = new Map<string, Record<string, string>>();
  for (const v of s.visitors ?? []) {
    const key = t(v.visitorId);
    const row = visitors.get(key) ?? { visitor_id: key };
    for (const [k, x] of Object.entries({ phone: v.phone, email: v.email, name: v.name, b24_user_id: v.b24UserId })) if (given(x)) row[k] = t(x);
    visitors.set(key, row);
  }
  const links = new Map<string, { origin: string; key: string; p: Record<string, string | null> }>();
  for (const l of s.links ?? []) {
    const key = t(l.key);
    const row = links.get(`${l.origin}:${key}`) ?? { origin: l.origin, key, p: {} };
    for (const [k, v] of Object.entries(l.patch)) {
      const column = LINK_PATCH_COLUMNS[k as keyof typeof LINK_PATCH_COLUMNS];
      if (column) row.p[column] = t((v ?? null) as string | null);
    }
    links.set(`${l.origin}:${key}`, row);
  }
  const failed = new Map((s.failed ?? []).map((f) => [f.id, { id: f.id, error: t(f.error) }]));
  return {
    chats: [...chats.values()],
    visitors: [...visitors.values()],
    links: [...links.values()].filter((l) => Object.keys(l.p).length), // an empty patch writes nothing
    done: [...new Set(s.done ?? [])],
    failed: [...failed.values()],
  };
}

export function createPgBridgeStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<BridgeRepository> {
  const iso = () => new Date(now()).toISOString();
  const one = <R>(r: BridgeRow | undefined, map: (r: BridgeRow) => R): R | null => (r ? map(r) : null);

  const insertJob = (q: Db, j: Job) =>
    q
      .insertInto('bridge_jobs')
      .values({
        member_id: t(j.memberId),
        kind: t(j.kind),
        chat_key: t(j.chatKey),
        idem_key: t(j.idemKey),
        payload: JSON.stringify(j.payload),
        status: 'pending',
        attempts: 0,
        due_at: ms(j.dueAt),
        enqueued_at: ms(now()),
      })
      .onConflict((oc) => oc.columns(['member_id', 'idem_key']).doNothing())
      .returning('id')
      .executeTakeFirst();

  return {
    binding: async (m, l) => one(await db.selectFrom('bridge_lines').selectAll().where('member_id', '=', t(m)).where('line_id', '=', t(l)).executeTakeFirst(), toBinding),
    bindingByChannel: async (m, c) =>
      one(await db.selectFrom('bridge_lines').selectAll().where('member_id', '=', t(m)).where('channel_id', '=', t(c)).executeTakeFirst(), toBinding),
    bindings: async (m) => (await db.selectFrom('bridge_lines').selectAll().where('member_id', '=', t(m)).orderBy(LINE_ORDER).execute()).map(toBinding),
    bind: (m, l, c) =>
      db.transaction().execute(async (trx) => {
        const [memberId, lineId, channelId] = [t(m), t(l), t(c)];
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`bridge_lines:${memberId}`}, 0))`.execute(trx);
        const other = await trx.selectFrom('bridge_lines').select('line_id').where('member_id', '=', memberId).where('channel_id', '=', channelId).executeTakeFirst();
        const movedFrom = other && other.line_id !== lineId ? other.line_id : null;
        await trx
          .deleteFrom('bridge_lines')
          .where('member_id', '=', memberId)
          .where('line_id', 'in', other ? [other.line_id, lineId] : [lineId])
          .execute();
        await trx
          .insertInto('bridge_lines')
          .values({ member_id: memberId, line_id: lineId, channel_id: channelId, status: 'active', chats_rules_off: 1, last_error: null, updated_at: iso(), bound_at: ms(now()), reconciled_till: ms(now()) })
          .execute();
        return { movedFrom };
      }),
    unbind: async (m, l) => {
      await db.deleteFrom('bridge_lines').where('member_id', '=', t(m)).where('line_id', '=', t(l)).execute();
    },
    boundPortals: async () => (await db.selectFrom('bridge_lines').select('member_id').distinct().execute()).map((r) => r.member_id),
    setBindingStatus: async (m, l, s, e) => {
      await db.updateTable('bridge_lines').set({ status: s, last_error: t(e), updated_at: iso() }).where('member_id', '=', t(m)).where('line_id', '=', t(l)).execute();
    },
    setBindingError: async (m, l, e) => {
      await db.updateTable('bridge_lines').set({ last_error: t(e), updated_at: iso() }).where('member_id', '=', t(m)).where('line_id', '=', t(l)).execute();
    },
    defaultOperator: async (m) => {
      const r = await db.selectFrom('bridge_settings').select('default_operator_id').where('member_id', '=', t(m)).executeTakeFirst();
      return r?.default_operator_id ?? null;
    },
    setDefaultOperator: async (m, id) => {
      await db
        .insertInto('bridge_settings')
        .values({ member_id: t(m), default_operator_id: id, updated_at: iso() })
        .onConflict((oc) => oc.column('member_id').doUpdateSet((eb) => ({ default_operator_id: eb.ref('excluded.default_operator_id'), updated_at: eb.ref('excluded.updated_at') })))
        .execute();
    },

    chat: async (m, c) => one(await db.selectFrom('bridge_chats').selectAll().where('member_id', '=', t(m)).where('uis_chat_id', '=', t(c)).executeTakeFirst(), toChat),
    chatByB24: async (m, c) =>
      one(
        await db.selectFrom('bridge_chats').selectAll().where('member_id', '=', t(m)).where('b24_chat_id', '=', t(c)).orderBy(sql`updated_at COLLATE "C"`, 'desc').limit(1).executeTakeFirst(),
        toChat,
      ),
    openChatsOfVisitor: async (m, v) =>
      (
        await db
          .selectFrom('bridge_chats')
          .selectAll()
          .where('member_id', '=', t(m))
          .where('visitor_id', '=', t(v))
          .where('status', '=', 'open')
          .orderBy(sql`uis_chat_id COLLATE "C"`)
          .limit(50)
          .execute()
      ).map(toChat),
    upsertChat: async (c) => {
      const fields = {
        visitor_id: t(c.visitorId ?? null),
        initiator: t(c.initiator ?? null),
        operator_id: t(c.operatorId ?? null),
        line_id: t(c.lineId ?? null),
        b24_chat_id: t(c.b24ChatId ?? null),
        b24_session_id: t(c.b24SessionId ?? null),
        ext_chat_id: t(c.extChatId ?? null),
        successor_uis_chat_id: t(c.successorUisChatId ?? null),
      };
      const closed = c.b24SessionClosed === undefined ? null : c.b24SessionClosed ? 1 : 0;
      const status = c.status ?? null;
      // what is given replaces, what is not (null) keeps the stored value (SQLite: COALESCE(excluded.x, x))
      const set: Updateable<BridgeChatsTable> = { updated_at: iso() };
      for (const [k, v] of Object.entries(fields)) if (v !== null) Object.assign(set, { [k]: v });
      if (closed !== null) set.b24_session_closed = closed;
      if (status !== null) set.status = status;
      await db
        .insertInto('bridge_chats')
        .values({ member_id: t(c.memberId), uis_chat_id: t(c.uisChatId), channel_id: t(c.channelId), ...fields, b24_session_closed: closed ?? 0, status: status ?? 'open', updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'uis_chat_id']).doUpdateSet(set))
        .execute();
    },
    closeB24Session: async (m, id, sessionId) => {
      // one conditional statement: a new dialog's session written since the event was read stays open
      const r = await db
        .updateTable('bridge_chats')
        .set({ b24_session_closed: 1, updated_at: iso() })
        .where('member_id', '=', t(m))
        .where('uis_chat_id', '=', t(id))
        .where((eb) => (sessionId === null ? eb('b24_session_id', 'is', null) : eb.or([eb('b24_session_id', 'is', null), eb('b24_session_id', '=', t(sessionId))])))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    visitor: async (m, v) => {
      const r = await db.selectFrom('bridge_visitors').selectAll().where('member_id', '=', t(m)).where('visitor_id', '=', t(v)).executeTakeFirst();
      return r ? ({ memberId: m, visitorId: v, phone: str(r.phone), email: str(r.email), name: str(r.name), b24UserId: str(r.b24_user_id) } satisfies BridgeVisitor) : null;
    },
    upsertVisitor: async (v) => {
      const fields = { phone: t(v.phone ?? null), email: t(v.email ?? null), name: t(v.name ?? null), b24_user_id: t(v.b24UserId ?? null) };
      const set: Updateable<BridgeVisitorsTable> = { updated_at: iso() };
      for (const [k, x] of Object.entries(fields)) if (x !== null) Object.assign(set, { [k]: x });
      await db
        .insertInto('bridge_visitors')
        .values({ member_id: t(v.memberId), visitor_id: t(v.visitorId), ...fields, updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'visitor_id']).doUpdateSet(set))
        .execute();
    },

    chatsOf: async (m, ids) =>
      ids.length
        ? (await db.selectFrom('bridge_chats').selectAll().where('member_id', '=', t(m)).where(sql<boolean>`uis_chat_id = ANY(${ids.map(t)}::text[])`).execute()).map(toChat)
        : [],
    visitorsOf: async (m, ids) =>
      ids.length
        ? (await db.selectFrom('bridge_visitors').selectAll().where('member_id', '=', t(m)).where(sql<boolean>`visitor_id = ANY(${ids.map(t)}::text[])`).execute()).map(
            (r) => ({ memberId: m, visitorId: r.visitor_id, phone: str(r.phone), email: str(r.email), name: str(r.name), b24UserId: str(r.b24_user_id) }) satisfies BridgeVisitor,
          )
        : [],

    link: async (m, o, k) =>
      one(await db.selectFrom('bridge_messages').selectAll().where('member_id', '=', t(m)).where('origin', '=', o).where('key', '=', t(k)).executeTakeFirst(), toLink),
    linkByUisMessage: async (m, id) =>
      one(await db.selectFrom('bridge_messages').selectAll().where('member_id', '=', t(m)).where('uis_message_id', '=', t(id)).limit(1).executeTakeFirst(), toLink),
    addLink: async (m, l) => {
      // as in SQLite, b24SessionId is not written here (updateLink sets it from the send.messages answer)
      const r = await db
        .insertInto('bridge_messages')
        .values({
          member_id: t(m),
          origin: l.origin,
          key: t(l.key),
          uis_chat_id: t(l.uisChatId),
          uis_message_id: t(l.uisMessageId),
          b24_chat_id: t(l.b24ChatId),
          b24_message_id: t(l.b24MessageId),
          b24_user_id: t(l.b24UserId ?? null),
          state: l.state,
          error: t(l.error),
          updated_at: iso(),
        })
        .onConflict((oc) => oc.columns(['member_id', 'origin', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      return r !== undefined;
    },
    updateLink: async (m, origin, key, patch) => {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch)) {
        const column = LINK_PATCH_COLUMNS[k as keyof typeof LINK_PATCH_COLUMNS];
        // as better-sqlite3 binds it: an undefined value writes NULL
        if (column) set[column] = t((v ?? null) as string | null);
      }
      if (!Object.keys(set).length) return;
      await db
        .updateTable('bridge_messages')
        .set({ ...(set as Updateable<BridgeMessagesTable>), updated_at: iso() })
        .where('member_id', '=', t(m))
        .where('origin', '=', origin)
        .where('key', '=', t(key))
        .execute();
    },
    countLinks: async (m) =>
      keyCounts(
        await db
          .selectFrom('bridge_messages')
          .select((eb) => [sql<string>`origin || ':' || state`.as('k'), eb.fn.countAll<number>().as('n')])
          .where('member_id', '=', t(m))
          .groupBy(['origin', 'state'])
          .execute(),
      ),

    expectEcho: async (m, chat, hash) => {
      await db.deleteFrom('bridge_echoes').where('created_at', '<', ms(now() - ECHO_TTL_MS)).execute();
      await db.insertInto('bridge_echoes').values({ member_id: t(m), ext_chat_id: t(chat), text_hash: t(hash), created_at: ms(now()) }).execute();
    },
    // one taker of a (portal, chat, text) at a time across instances (a transaction-scoped advisory
    // lock): the second taker for the same Bitrix24 message sees the first one's mark as taken
    takeEcho: async (m, chat, hash, by) => {
      const take = async (trx: Db): Promise<boolean> => {
        const [memberId, ext, h] = [t(m), t(chat), t(hash)];
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`bridge_echoes:${memberId}:${ext}:${h}`}, 0))`.execute(trx);
        const marks = trx.selectFrom('bridge_echoes').select('id').where('member_id', '=', memberId).where('ext_chat_id', '=', ext).where('text_hash', '=', h);
        if (by !== undefined && (await marks.where('taken_by', '=', t(by)).limit(1).executeTakeFirst())) return true;
        const free = await marks.where('taken_by', 'is', null).orderBy('id').limit(1).executeTakeFirst();
        if (!free) return false;
        if (by === undefined) await trx.deleteFrom('bridge_echoes').where('id', '=', free.id).execute();
        else await trx.updateTable('bridge_echoes').set({ taken_by: t(by) }).where('id', '=', free.id).execute();
        return true;
      };
      if (db.isTransaction) return take(db);
      // no mark to take (an operator's own message, the common case): one read, no transaction — a
      // mark is committed before its send, so its echo never comes before it
      const any = await db
        .selectFrom('bridge_echoes')
        .select('id')
        .where('member_id', '=', t(m))
        .where('ext_chat_id', '=', t(chat))
        .where('text_hash', '=', t(hash))
        .where((eb) => (by === undefined ? eb('taken_by', 'is', null) : eb.or([eb('taken_by', 'is', null), eb('taken_by', '=', t(by))])))
        .limit(1)
        .executeTakeFirst();
      return any ? db.transaction().execute(take) : false;
    },

    enqueue: async (j) => (await insertJob(db, j)) !== undefined,
    enqueueAhead: (j, overtake) =>
      db.transaction().execute(async (trx) => {
        if (!(await insertJob(trx, j))) return false;
        for (const id of overtake) {
          const r = await trx.selectFrom('bridge_jobs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
          // one a run started sending meanwhile (in flight) keeps its place
          if (!r || r.status !== 'pending' || Number(r.inflight) === 1 || r.member_id !== t(j.memberId) || r.chat_key !== t(j.chatKey)) continue;
          await trx.deleteFrom('bridge_jobs').where('id', '=', id).execute();
          const { id: _old, ...row } = r;
          await trx.insertInto('bridge_jobs').values(row).execute();
        }
        return true;
      }),
    pendingOfChat: async (m, chatKey) =>
      (await db.selectFrom('bridge_jobs').selectAll().where('member_id', '=', t(m)).where('chat_key', '=', t(chatKey)).where('status', '=', 'pending').orderBy('id').execute()).map(toJob),
    due: async (m, at, limit) => {
      // a job whose chat has an older pending job still backing off (its blocker) is not due: order is kept per chat
      // (a negative limit is none, as in SQLite). Each chat's first blocker is found by a window over the
      // portal's pending rows, read once: a join with the blockers, planned on the statistics of a table
      // a burst has just filled (one pending row expected), ran as a nested loop over every due row —
      // 0.4–2.7 s a round with 5,000 queued messages
      const r = await sql<BridgeRow>`
        SELECT id, member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at, last_error, inflight FROM (
          SELECT j.*, MIN(j.id) FILTER (WHERE j.due_at > ${Math.floor(at)}::bigint) OVER (PARTITION BY j.chat_key) AS first_blocker
          FROM bridge_jobs j WHERE j.member_id = ${t(m)} AND j.status = 'pending') p
        WHERE p.due_at <= ${Math.floor(at)}::bigint AND (p.first_blocker IS NULL OR p.id < p.first_blocker)
        ORDER BY p.id LIMIT ${limit < 0 ? null : Math.floor(limit)}::bigint`.execute(db);
      return r.rows.map(toJob);
    },
    complete: async (id) => {
      await db.updateTable('bridge_jobs').set({ status: 'done', last_error: null, inflight: 0 }).where('id', '=', id).execute();
    },
    fail: async (id, e) => {
      await db.updateTable('bridge_jobs').set({ status: 'failed', last_error: t(e), inflight: 0 }).where('id', '=', id).execute();
    },
    retry: async (id, attempts, dueAt, e) => {
      await db.updateTable('bridge_jobs').set({ attempts, due_at: ms(dueAt), last_error: t(e) }).where('id', '=', id).execute();
    },
    dueNow: async (m, chatKey, at) => {
      const r = await db
        .updateTable('bridge_jobs')
        .set({ due_at: ms(at) })
        .where('member_id', '=', t(m))
        .where('chat_key', '=', t(chatKey))
        .where('status', '=', 'pending')
        .where('due_at', '>', Math.floor(at))
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    holdChatWith: async (m, chatKey, id) => {
      const r = await sql`
        UPDATE bridge_jobs j SET due_at = h.due_at FROM bridge_jobs h
        WHERE h.id = ${id} AND h.member_id = ${t(m)} AND h.chat_key = ${t(chatKey)} AND h.status = 'pending'
          AND j.member_id = ${t(m)} AND j.chat_key = ${t(chatKey)} AND j.status = 'pending' AND j.id <> h.id AND j.due_at <> h.due_at`.execute(db);
      return Number(r.numAffectedRows ?? 0);
    },
    resequence: (m, chatKey, ids) =>
      ids.length === 0 || new Set(ids).size !== ids.length
        ? Promise.resolve(false)
        : db.transaction().execute(async (trx) => {
            // the chat's pending rows locked: a concurrent move or start waits for this one, then finds its rows gone
            const rows = await trx.selectFrom('bridge_jobs').selectAll().where('member_id', '=', t(m)).where('chat_key', '=', t(chatKey)).where('status', '=', 'pending').orderBy('id').forUpdate().execute();
            const from = Math.min(...ids);
            const tail = rows.filter((r) => Number(r.id) >= from);
            const byId = new Map(tail.map((r) => [Number(r.id), r]));
            if (tail.length !== ids.length || !ids.every((id) => byId.has(id)) || tail.some((r) => Number(r.inflight) === 1)) return false;
            for (const id of ids) {
              const { id: _old, ...row } = byId.get(id)!;
              await trx.deleteFrom('bridge_jobs').where('id', '=', id).execute();
              await trx.insertInto('bridge_jobs').values(row).execute();
            }
            return true;
          }),
    settle: (m, s) => {
      const w = settlementRows(s);
      if (!w.chats.length && !w.visitors.length && !w.links.length && !w.done.length && !w.failed.length) return Promise.resolve();
      const write = async (trx: Db): Promise<void> => {
        const [memberId, at] = [t(m), iso()];
        if (w.chats.length) {
          // b24_session_closed and status are not nullable: their given value is looked up in the
          // source, so one not given keeps the stored value (upsertChat: set only what is given)
          await sql`
            WITH src AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(w.chats)}::jsonb) AS s(
              uis_chat_id text, channel_id text, visitor_id text, initiator text, operator_id text, line_id text, b24_chat_id text,
              b24_session_id text, b24_session_closed integer, status text, ext_chat_id text, successor_uis_chat_id text))
            INSERT INTO bridge_chats AS c (member_id, uis_chat_id, channel_id, visitor_id, initiator, operator_id, line_id, b24_chat_id, b24_session_id,
              b24_session_closed, status, ext_chat_id, successor_uis_chat_id, updated_at)
            SELECT ${memberId}, uis_chat_id, channel_id, visitor_id, initiator, operator_id, line_id, b24_chat_id, b24_session_id,
              COALESCE(b24_session_closed, 0), COALESCE(status, 'open'), ext_chat_id, successor_uis_chat_id, ${at} FROM src
            ON CONFLICT (member_id, uis_chat_id) DO UPDATE SET
              visitor_id = COALESCE(excluded.visitor_id, c.visitor_id), initiator = COALESCE(excluded.initiator, c.initiator),
              operator_id = COALESCE(excluded.operator_id, c.operator_id), line_id = COALESCE(excluded.line_id, c.line_id),
              b24_chat_id = COALESCE(excluded.b24_chat_id, c.b24_chat_id), b24_session_id = COALESCE(excluded.b24_session_id, c.b24_session_id),
              b24_session_closed = COALESCE((SELECT s.b24_session_closed FROM src s WHERE s.uis_chat_id = excluded.uis_chat_id), c.b24_session_closed),
              status = COALESCE((SELECT s.status FROM src s WHERE s.uis_chat_id = excluded.uis_chat_id), c.status),
              ext_chat_id = COALESCE(excluded.ext_chat_id, c.ext_chat_id), successor_uis_chat_id = COALESCE(excluded.successor_uis_chat_id, c.successor_uis_chat_id),
              updated_at = excluded.updated_at`.execute(trx);
        }
        if (w.visitors.length) {
          await sql`
            INSERT INTO bridge_visitors AS v (member_id, visitor_id, phone, email, name, b24_user_id, updated_at)
            SELECT ${memberId}, visitor_id, phone, email, name, b24_user_id, ${at}
              FROM jsonb_to_recordset(${JSON.stringify(w.visitors)}::jsonb) AS s(visitor_id text, phone text, email text, name text, b24_user_id text)
            ON CONFLICT (member_id, visitor_id) DO UPDATE SET phone = COALESCE(excluded.phone, v.phone), email = COALESCE(excluded.email, v.email),
              name = COALESCE(excluded.name, v.name), b24_user_id = COALESCE(excluded.b24_user_id, v.b24_user_id), updated_at = excluded.updated_at`.execute(trx);
        }
        if (w.links.length) {
          // a column the patch names is set (to NULL when its value is), one it does not name is kept
          const col = (c: string) => sql`${sql.ref(c)} = CASE WHEN u.p ? ${c} THEN u.p->>${c} ELSE m.${sql.ref(c)} END`;
          await sql`
            UPDATE bridge_messages m SET ${sql.join(Object.values(LINK_PATCH_COLUMNS).map(col))}, updated_at = ${at}
            FROM (SELECT e->>'origin' AS origin, e->>'key' AS key, e->'p' AS p FROM jsonb_array_elements(${JSON.stringify(w.links)}::jsonb) AS e) u
            WHERE m.member_id = ${memberId} AND m.origin = u.origin AND m.key = u.key`.execute(trx);
        }
        if (w.done.length) {
          await trx.updateTable('bridge_jobs').set({ status: 'done', last_error: null, inflight: 0 }).where(sql<boolean>`id = ANY(${w.done}::bigint[])`).execute();
        }
        if (w.failed.length) {
          await sql`
            UPDATE bridge_jobs j SET status = 'failed', last_error = f.error, inflight = 0
            FROM jsonb_to_recordset(${JSON.stringify(w.failed)}::jsonb) AS f(id bigint, error text) WHERE j.id = f.id`.execute(trx);
        }
      };
      return db.isTransaction ? write(db) : db.transaction().execute(write);
    },
    setInflight: async (ids, on) => {
      if (!ids.length) return;
      // one statement: every job marked, or none
      await db.updateTable('bridge_jobs').set({ inflight: on ? 1 : 0 }).where('id', 'in', ids).execute();
    },
    portalsWithDueJobs: async (at) =>
      (await db.selectFrom('bridge_jobs').select('member_id').distinct().where('status', '=', 'pending').where('due_at', '<=', Math.floor(at)).execute()).map((r) => r.member_id),
    nextDueAt: async () => {
      // only the oldest pending job of a chat (its head) decides when the chat can move
      const r = await sql<{ at: number | null }>`
        SELECT MIN(due_at) AS at FROM bridge_jobs j WHERE j.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM bridge_jobs o WHERE o.member_id = j.member_id AND o.chat_key = j.chat_key AND o.status = 'pending' AND o.id < j.id)`.execute(db);
      return r.rows[0]?.at ?? null;
    },
    pendingSignature: async (m) => {
      const r = await sql<{ s: string }>`
        SELECT COUNT(*) || ':' || COALESCE(MAX(id), 0) || ':' || COALESCE(SUM(attempts), 0) || ':' || COALESCE(SUM(due_at), 0) AS s
        FROM bridge_jobs WHERE status = 'pending' AND member_id = ${t(m)}`.execute(db);
      return String(r.rows[0]!.s);
    },
    countJobs: async (m) =>
      keyCounts(
        await db
          .selectFrom('bridge_jobs')
          .select((eb) => [sql<string>`kind || ':' || status`.as('k'), eb.fn.countAll<number>().as('n')])
          .where('member_id', '=', t(m))
          .groupBy(['kind', 'status'])
          .execute(),
      ),
    prune: async (before) => {
      const jobs = await db.deleteFrom('bridge_jobs').where('status', '=', 'done').where('enqueued_at', '<', Math.ceil(before)).executeTakeFirst();
      const inbox = await db.deleteFrom('uis_inbox').where(sql`received_at COLLATE "C"`, '<', new Date(before).toISOString()).executeTakeFirst();
      return { jobs: Number(jobs.numDeletedRows), inbox: Number(inbox.numDeletedRows) };
    },
  };
}
