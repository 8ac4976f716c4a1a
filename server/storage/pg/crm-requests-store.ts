import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';
import type { CrmRequestRepository } from '../../services/crm-rules/ports';
import type { AsyncPort } from '../../services/async-port';
import { eventRankSql, toCrmRequest, toCrmRequestMessage, type CrmRequestMessageRow, type CrmRequestRow } from '../crm-requests-rows';
import { pgText } from './nul';

/**
 * The CRM rules' request queue in PostgreSQL (migrations-pg/009 and 013), the counterpart of
 * ../crm-requests-repository.ts with the same behaviour; rows mapped by ../crm-requests-rows.ts.
 *
 * Several instances share it. UIS may call the same chat's events in at several of them at once:
 * `touch` is one transaction that reads the request FOR UPDATE and then re-opens it (so every event
 * adds one version and the row keeps the furthest lifecycle point), and when the request does not
 * exist yet its INSERT … ON CONFLICT DO NOTHING waits for a concurrent first insert's commit, inserts
 * nothing and the event re-opens the winner's row instead. A message or an operation key is stored
 * once (INSERT … ON CONFLICT DO NOTHING: exactly one caller told it is new); `markSent` inserts its
 * keys in one transaction in byte order (two runs sharing keys cannot deadlock), `clearOps` is one
 * statement. The poll cursor never moves back (GREATEST in its upsert).
 *
 * Times in ms are BIGINT: a fractional one (SQLite would keep a REAL) is rounded when stored, a
 * bound `due_at <= at` is floored. U+0000 (./nul.ts) is written as U+FFFD in free text (a message,
 * its author, an outcome, a reason) and in the ids UIS hands over (request, channel, visitor,
 * message, operation keys), on writes and on lookups alike, so a callback carrying it is stored and
 * found instead of failing.
 */
const ms = (t: number) => Math.round(t);
const ms0 = (t: number | null | undefined) => (t === null || t === undefined ? null : ms(t));
const json = (v: unknown): string | null => (v === null || v === undefined ? null : (JSON.stringify(v) ?? null));
/** rows per INSERT of markSent (4 parameters a row: far below PostgreSQL's 65,535) */
const CHUNK = 1000;

export function createPgCrmRequestStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<CrmRequestRepository> {
  const iso = () => new Date(now()).toISOString();
  const requests = (rows: unknown[]) => (rows as CrmRequestRow[]).map(toCrmRequest);
  const keyOf = (r: { memberId: string; kind: string; requestId: string }) =>
    [sql<boolean>`member_id = ${r.memberId}`, sql<boolean>`kind = ${r.kind}`, sql<boolean>`request_id = ${pgText(r.requestId)}`] as const;
  const byKey = <Q extends { where(e: ReturnType<typeof sql<boolean>>): Q }>(q: Q, r: { memberId: string; kind: string; requestId: string }): Q =>
    keyOf(r).reduce((acc, cond) => acc.where(cond), q);

  return {
    async touch(r) {
      const p = {
        channelId: pgText(r.channelId ?? null),
        visitorId: pgText(r.visitorId ?? null),
        startedAt: ms0(r.startedAt),
        facts: r.facts ? JSON.stringify(r.facts) : null,
        dueAt: ms(r.dueAt),
      };
      // One statement (a round trip per UIS message in the callback chain, issue #12): the row is
      // created, or — locked by the conflict — re-opened keeping the furthest lifecycle point.
      await db
        .insertInto('crm_requests')
        .values({
          member_id: r.memberId,
          kind: r.kind,
          request_id: pgText(r.requestId),
          event: r.event,
          channel_id: p.channelId,
          visitor_id: p.visitorId,
          started_at: p.startedAt,
          facts: p.facts,
          status: 'pending',
          due_at: p.dueAt,
          updated_at: iso(),
        })
        .onConflict((oc) =>
          oc.columns(['member_id', 'kind', 'request_id']).doUpdateSet({
            event: sql`CASE WHEN ${sql.raw(eventRankSql('excluded.event'))} >= ${sql.raw(eventRankSql('crm_requests.event'))} THEN excluded.event ELSE crm_requests.event END`,
            channel_id: sql`COALESCE(excluded.channel_id, crm_requests.channel_id)`,
            visitor_id: sql`COALESCE(excluded.visitor_id, crm_requests.visitor_id)`,
            started_at: sql`COALESCE(crm_requests.started_at, excluded.started_at)`,
            facts: sql`COALESCE(excluded.facts, crm_requests.facts)`,
            due_at: sql`CASE WHEN crm_requests.status = 'pending' THEN LEAST(crm_requests.due_at, excluded.due_at) ELSE excluded.due_at END`,
            status: 'pending',
            version: sql`crm_requests.version + 1`,
            updated_at: sql`excluded.updated_at`,
          }),
        )
        .execute();
    },
    async touchVisitor(memberId, visitorId, dueAt) {
      const r = await db
        .updateTable('crm_requests')
        .set({ status: 'pending', due_at: ms(dueAt), version: sql`version + 1`, updated_at: iso() })
        .where('member_id', '=', memberId)
        .where('visitor_id', '=', pgText(visitorId))
        .where('status', '=', 'waiting')
        .where('event', '!=', 'finished')
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async get(memberId, kind, requestId) {
      const r = await byKey(db.selectFrom('crm_requests').selectAll(), { memberId, kind, requestId }).executeTakeFirst();
      return r ? toCrmRequest(r as CrmRequestRow) : null;
    },
    async events(memberId, kind, requestIds) {
      if (!requestIds.length) return new Map();
      const rows = await db
        .selectFrom('crm_requests')
        .select(['request_id', 'event'])
        .where('member_id', '=', memberId)
        .where('kind', '=', kind)
        .where(sql<boolean>`request_id = ANY(${requestIds.map((id) => pgText(id))}::text[])`)
        .execute();
      return new Map(rows.map((r) => [r.request_id, r.event as CrmRequestRow['event']]));
    },
    async addMessage(memberId, requestId, m) {
      const r = await db
        .insertInto('crm_request_messages')
        .values({ member_id: memberId, request_id: pgText(requestId), message_id: pgText(m.id), at: ms(m.at), source: m.source, text: pgText(m.text), author: pgText(m.author) })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async editMessage(memberId, requestId, messageId, text) {
      const t = pgText(text);
      const r = await db
        .updateTable('crm_request_messages')
        .set({ text: t })
        .where('member_id', '=', memberId)
        .where('request_id', '=', pgText(requestId))
        .where('message_id', '=', pgText(messageId))
        .where('text', '!=', t)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async messages(memberId, requestId) {
      const rows = await db
        .selectFrom('crm_request_messages')
        .select(['message_id', 'at', 'source', 'text', 'author'])
        .where('member_id', '=', memberId)
        .where('request_id', '=', pgText(requestId))
        .orderBy('at')
        .orderBy(sql`message_id COLLATE "C"`) // byte order, as SQLite's BINARY collation
        .execute();
      return (rows as CrmRequestMessageRow[]).map(toCrmRequestMessage);
    },
    async due(memberId, at, limit) {
      const rows = await db
        .selectFrom('crm_requests')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('status', '=', 'pending')
        .where('due_at', '<=', Math.floor(at))
        .orderBy('due_at')
        .orderBy(sql`request_id COLLATE "C"`)
        .limit(limit)
        .execute();
      return requests(rows);
    },
    async portalsWithDue(at) {
      const rows = await db.selectFrom('crm_requests').select('member_id').distinct().where('status', '=', 'pending').where('due_at', '<=', Math.floor(at)).execute();
      return rows.map((r) => r.member_id);
    },
    async nextDueAt() {
      const r = await db.selectFrom('crm_requests').select((eb) => eb.fn.min('due_at').as('at')).where('status', '=', 'pending').executeTakeFirst();
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
    async setPlan(r, plan) {
      await byKey(db.updateTable('crm_requests').set({ plan: json(plan), updated_at: iso() }), r).execute();
    },
    async finish(r, p) {
      await byKey(
        db.updateTable('crm_requests').set({
          plan: null,
          outcome: pgText(p.outcome),
          reason: pgText(p.reason),
          link: sql`COALESCE(${p.link ? JSON.stringify(p.link) : null}::text, link)`,
          attempts: 0,
          updated_at: iso(),
          // a newer event arrived meanwhile: it is left pending
          status: sql`CASE WHEN version = ${r.version}::integer THEN ${p.status}::text ELSE 'pending' END`,
        }),
        r,
      ).execute();
    },
    async retry(r, dueAt, reason) {
      await byKey(db.updateTable('crm_requests').set({ attempts: sql`attempts + 1`, due_at: ms(dueAt), reason: pgText(reason), updated_at: iso() }), r).execute();
    },
    async op(memberId, key) {
      const r = await db.selectFrom('crm_ops').select(['state', 'result_id']).where('member_id', '=', memberId).where('op_key', '=', pgText(key)).executeTakeFirst();
      return r ? { state: r.state as 'sent' | 'done', resultId: r.result_id } : null;
    },
    async markSent(memberId, keys) {
      // byte order: two runs inserting shared keys take their locks in one order
      const sorted = [...new Set(keys.map((k) => pgText(k)))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      if (!sorted.length) return;
      const t = iso();
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < sorted.length; i += CHUNK) {
          await trx
            .insertInto('crm_ops')
            .values(sorted.slice(i, i + CHUNK).map((k) => ({ member_id: memberId, op_key: k, state: 'sent', updated_at: t })))
            .onConflict((oc) => oc.columns(['member_id', 'op_key']).doNothing())
            .execute();
        }
      });
    },
    async markDone(memberId, key, resultId) {
      await db
        .insertInto('crm_ops')
        .values({ member_id: memberId, op_key: pgText(key), state: 'done', result_id: resultId, updated_at: iso() })
        .onConflict((oc) =>
          oc.columns(['member_id', 'op_key']).doUpdateSet({ state: 'done', result_id: (eb) => eb.ref('excluded.result_id'), updated_at: (eb) => eb.ref('excluded.updated_at') }),
        )
        .execute();
    },
    async clearOps(memberId, keys) {
      if (!keys.length) return;
      // one statement: one transaction
      await db
        .deleteFrom('crm_ops')
        .where('member_id', '=', memberId)
        .where(sql<boolean>`op_key = ANY(${keys.map((k) => pgText(k))}::text[])`)
        .where('state', '=', 'sent')
        .execute();
    },
    async pollCursor(memberId, report) {
      const r = await db.selectFrom('crm_poll_cursor').select('seen_till').where('member_id', '=', memberId).where('report', '=', report).executeTakeFirst();
      return r ? Number(r.seen_till) : null;
    },
    async setPollCursor(memberId, report, seenTill) {
      await db
        .insertInto('crm_poll_cursor')
        .values({ member_id: memberId, report, seen_till: ms(seenTill), updated_at: iso() })
        .onConflict((oc) =>
          oc.columns(['member_id', 'report']).doUpdateSet({
            seen_till: sql`GREATEST(crm_poll_cursor.seen_till, excluded.seen_till)`,
            updated_at: (eb) => eb.ref('excluded.updated_at'),
          }),
        )
        .execute();
    },
    async count(memberId) {
      const r = await sql<{ k: string; n: number }>`SELECT kind || ':' || status AS k, COUNT(*) AS n FROM crm_requests WHERE member_id = ${memberId} GROUP BY 1`.execute(db);
      return Object.fromEntries(r.rows.map((x) => [x.k, Number(x.n)]));
    },
    async pruneMessages(beforeMs) {
      const r = await sql`DELETE FROM crm_request_messages m USING crm_requests r
        WHERE r.member_id = m.member_id AND r.kind = 'chat' AND r.request_id = m.request_id
          AND r.status IN ('done', 'failed') AND r.updated_at < ${new Date(beforeMs).toISOString()}`.execute(db);
      return Number(r.numAffectedRows ?? 0);
    },
  };
}
