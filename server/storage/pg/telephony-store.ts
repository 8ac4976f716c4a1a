import { sql, type Kysely, type Transaction } from 'kysely';
import type { PgSchema } from './schema';
import type { SecretBox } from '../secret-box';
import type { CallEventType, CallNotification, CallReport } from '../../domain/telephony/events';
import type { TelephonyRepository } from '../../services/telephony/ports';
import { hookTokenContext, hookTokenHash, inChunks, phoneDigitsOrNull, readSettings, toCall } from '../telephony-rows';

type Db = Kysely<PgSchema> | Transaction<PgSchema>;

/**
 * The ms columns are BIGINT where SQLite would keep a fractional time (a scaled clock) as REAL: a
 * time written is rounded to whole ms, a bound is moved to the whole ms that selects the same
 * whole-ms rows (x <= 1000.5 ⇔ x <= 1000; x < 1000.5 ⇔ x < 1001) — never refused.
 */
const ms = (v: number) => Math.round(v);
const msOrNull = (v: number | null) => (v === null ? null : Math.round(v));
const atMost = (v: number) => Math.floor(v);
const below = (v: number) => Math.ceil(v);

/**
 * «Телефония» storage over PostgreSQL (migrations-pg/018), the counterpart of
 * ../telephony-repository.ts with the same behaviour (rows mapped by ../telephony-rows.ts).
 *
 * Atomicity where several instances share the store: a notification is recorded in one transaction
 * whose event INSERT … ON CONFLICT DO NOTHING decides the repeat (an instance receiving the same
 * notification at once waits on the unique key and finds it taken: exactly one records it); the
 * call is touched by one upsert (each fresh notification adds one version); a report is stored by
 * an INSERT … ON CONFLICT DO NOTHING, else by an update of the row locked FOR UPDATE (exactly one
 * 'new'); finish compares the version in its single UPDATE (a notification that arrived meanwhile
 * leaves the call pending); the counters (event types, recovered calls) add in their upsert.
 */
export function createPgTelephonyStore(db: Kysely<PgSchema>, box: SecretBox, clock: () => number = Date.now): TelephonyRepository {
  const now = () => ms(clock());
  const iso = () => new Date(clock()).toISOString();

  /** The call's row made pending by a fresh notification (the SQLite `touch`). */
  async function touch(t: Db, p: { memberId: string; sessionId: number; dueAt: number; startedAt: number; phone: string | null }): Promise<void> {
    const at = now();
    await t
      .insertInto('telephony_calls')
      .values({ member_id: p.memberId, session_id: p.sessionId, status: 'pending', due_at: ms(p.dueAt), started_at: ms(p.startedAt), phone: p.phone, created_at: at, updated_at: at })
      .onConflict((oc) =>
        oc.columns(['member_id', 'session_id']).doUpdateSet({
          due_at: sql<number>`CASE WHEN telephony_calls.status = 'pending' AND telephony_calls.due_at < excluded.due_at THEN telephony_calls.due_at ELSE excluded.due_at END`,
          status: 'pending',
          phone: sql<string | null>`COALESCE(telephony_calls.phone, excluded.phone)`,
          started_at: sql<number | null>`COALESCE(telephony_calls.started_at, excluded.started_at)`,
          version: sql<number>`telephony_calls.version + 1`,
          updated_at: (eb) => eb.ref('excluded.updated_at'),
        }),
      )
      .execute();
  }

  return {
    async getSettings(memberId) {
      const r = await db.selectFrom('telephony_settings').select(['settings', 'updated_at']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? { settings: readSettings(r.settings), updatedAt: r.updated_at } : null;
    },
    async saveSettings(memberId, settings) {
      await db
        .insertInto('telephony_settings')
        .values({ member_id: memberId, settings: JSON.stringify(settings), enabled: settings.enabled ? 1 : 0, updated_at: iso() })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            settings: (eb) => eb.ref('excluded.settings'),
            enabled: (eb) => eb.ref('excluded.enabled'),
            updated_at: (eb) => eb.ref('excluded.updated_at'),
          }),
        )
        .execute();
    },
    async enabledPortals() {
      const rows = await db.selectFrom('telephony_settings').select('member_id').where('enabled', '=', 1).execute();
      return rows.map((r) => r.member_id);
    },

    async hookToken(memberId) {
      const r = await db.selectFrom('telephony_hooks').select('token_sealed').where('member_id', '=', memberId).executeTakeFirst();
      return r?.token_sealed ? box.open(r.token_sealed, hookTokenContext(memberId)) : null;
    },
    async saveHookToken(memberId, token) {
      await db
        .insertInto('telephony_hooks')
        .values({ member_id: memberId, token_hash: hookTokenHash(token), token_sealed: box.seal(token, hookTokenContext(memberId)), created_at: iso() })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            token_hash: (eb) => eb.ref('excluded.token_hash'),
            token_sealed: (eb) => eb.ref('excluded.token_sealed'),
            created_at: (eb) => eb.ref('excluded.created_at'),
          }),
        )
        .execute();
    },
    async memberByHookToken(token) {
      const r = await db.selectFrom('telephony_hooks').select('member_id').where('token_hash', '=', hookTokenHash(token)).executeTakeFirst();
      return r?.member_id ?? null;
    },

    async record({ memberId, notification: n, dedupeKey }, dueAt) {
      return db.transaction().execute(async (trx) => {
        await trx
          .insertInto('telephony_event_types')
          .values({ member_id: memberId, event_type: n.event, received: 1, last_at: ms(n.receivedAt) })
          .onConflict((oc) =>
            oc.columns(['member_id', 'event_type']).doUpdateSet({
              received: sql<number>`telephony_event_types.received + 1`,
              last_at: (eb) => eb.ref('excluded.last_at'),
            }),
          )
          .execute();
        const inserted = await trx
          .insertInto('telephony_events')
          .values({ member_id: memberId, session_id: n.sessionId, event_type: n.event, body: JSON.stringify(n), dedupe_key: dedupeKey, received_at: ms(n.receivedAt) })
          .onConflict((oc) => oc.columns(['member_id', 'dedupe_key']).doNothing())
          .executeTakeFirst();
        const fresh = Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
        if (fresh && n.sessionId !== null) {
          await touch(trx, { memberId, sessionId: n.sessionId, dueAt, startedAt: n.receivedAt, phone: phoneDigitsOrNull(n.contactPhone) });
        }
        return fresh;
      });
    },
    async arrivals(memberId) {
      const rows = await db.selectFrom('telephony_event_types').select(['event_type', 'received', 'last_at']).where('member_id', '=', memberId).orderBy('event_type').execute();
      return rows.map((r) => ({ eventType: r.event_type as CallEventType, received: r.received, lastAt: Number(r.last_at) }));
    },
    async notifications(memberId, sessionIds) {
      const out = new Map<number, CallNotification[]>();
      for (const chunk of inChunks([...new Set(sessionIds)])) {
        const rows = await db
          .selectFrom('telephony_events')
          .select(['session_id', 'body'])
          .where('member_id', '=', memberId)
          .where('session_id', 'in', chunk)
          .orderBy('id')
          .execute();
        for (const r of rows) {
          const id = Number(r.session_id);
          const list = out.get(id) ?? [];
          list.push(JSON.parse(r.body) as CallNotification);
          out.set(id, list);
        }
      }
      return out;
    },

    async saveReport(memberId, report: CallReport, dueAt) {
      const json = JSON.stringify(report);
      const phone = phoneDigitsOrNull(report.contactPhone);
      const startedAt = msOrNull(report.startedAt);
      const due = ms(dueAt);
      return db.transaction().execute(async (trx) => {
        // a row deleted (pruned) between the two statements: the insert is tried again
        for (;;) {
          const at = now();
          const inserted = await trx
            .insertInto('telephony_calls')
            .values({ member_id: memberId, session_id: report.id, status: 'pending', due_at: due, started_at: startedAt, phone, report: json, created_at: at, updated_at: at })
            .onConflict((oc) => oc.columns(['member_id', 'session_id']).doNothing())
            .executeTakeFirst();
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return 'new' as const;
          const row = await trx.selectFrom('telephony_calls').select('report').where('member_id', '=', memberId).where('session_id', '=', report.id).forUpdate().executeTakeFirst();
          if (!row) continue;
          if (row.report === json) return 'unchanged' as const;
          await trx
            .updateTable('telephony_calls')
            .set({
              report: json,
              phone: sql<string | null>`COALESCE(phone, ${phone})`,
              started_at: sql<number | null>`COALESCE(started_at, ${startedAt}::bigint)`,
              status: 'pending',
              due_at: sql<number>`CASE WHEN status = 'pending' AND due_at < ${due}::bigint THEN due_at ELSE ${due}::bigint END`,
              version: sql<number>`version + 1`,
              updated_at: at,
            })
            .where('member_id', '=', memberId)
            .where('session_id', '=', report.id)
            .execute();
          return 'updated' as const;
        }
      });
    },
    async get(memberId, sessionId) {
      const r = await db.selectFrom('telephony_calls').selectAll().where('member_id', '=', memberId).where('session_id', '=', sessionId).executeTakeFirst();
      return r ? toCall(r) : null;
    },
    async settled(memberId, sessionIds) {
      const out = new Set<number>();
      for (const chunk of inChunks([...new Set(sessionIds)])) {
        const rows = await db
          .selectFrom('telephony_calls')
          .select('session_id')
          .where('member_id', '=', memberId)
          .where('status', 'in', ['done', 'failed'])
          .where('report', 'is not', null)
          .where('session_id', 'in', chunk)
          .execute();
        rows.forEach((r) => out.add(Number(r.session_id)));
      }
      return out;
    },
    async due(memberId, at, limit) {
      const rows = await db
        .selectFrom('telephony_calls')
        .selectAll()
        .where('member_id', '=', memberId)
        .where('status', '=', 'pending')
        .where('due_at', '<=', atMost(at))
        .orderBy('due_at')
        .orderBy('session_id')
        .limit(limit)
        .execute();
      return rows.map(toCall);
    },
    async portalsWithDue(at) {
      const rows = await db.selectFrom('telephony_calls').select('member_id').distinct().where('status', '=', 'pending').where('due_at', '<=', atMost(at)).execute();
      return rows.map((r) => r.member_id);
    },
    async nextDueAt() {
      const r = await db
        .selectFrom('telephony_calls')
        .select((eb) => eb.fn.min('due_at').as('next'))
        .where('status', '=', 'pending')
        .executeTakeFirst();
      const v = r?.next;
      return v === null || v === undefined ? null : Number(v);
    },
    async saveState(c) {
      await db
        .updateTable('telephony_calls')
        .set({ state: JSON.stringify(c.state), updated_at: now() })
        .where('member_id', '=', c.memberId)
        .where('session_id', '=', c.sessionId)
        .execute();
    },
    async finish(c, p) {
      const at = now();
      const dueAt = p.dueAt === undefined ? at : ms(p.dueAt);
      await db
        .updateTable('telephony_calls')
        .set({
          state: JSON.stringify(c.state),
          outcome: p.outcome,
          reason: p.reason,
          attempts: p.attempts ?? 0,
          updated_at: at,
          status: sql<string>`CASE WHEN version = ${c.version}::integer THEN ${p.status}::text ELSE 'pending' END`,
          due_at: sql<number>`CASE WHEN version = ${c.version}::integer THEN ${dueAt}::bigint ELSE ${at}::bigint END`,
        })
        .where('member_id', '=', c.memberId)
        .where('session_id', '=', c.sessionId)
        .execute();
    },

    async openMissed(memberId, phone, exceptSession) {
      const rows = await db
        .selectFrom('telephony_calls')
        .select(['session_id', 'missed_activity_id'])
        .where('member_id', '=', memberId)
        .where('phone', '=', phone)
        .where('missed_open', '=', 1)
        .where('missed_activity_id', 'is not', null)
        .where('session_id', '<>', exceptSession)
        .orderBy('session_id')
        .execute();
      return rows.map((r) => ({ sessionId: Number(r.session_id), activityId: Number(r.missed_activity_id) }));
    },
    async setMissed(memberId, sessionId, activityId, open) {
      await db
        .updateTable('telephony_calls')
        .set({ missed_activity_id: activityId, missed_open: open ? 1 : 0 })
        .where('member_id', '=', memberId)
        .where('session_id', '=', sessionId)
        .execute();
    },
    async closeMissed(memberId, activityIds) {
      for (const chunk of inChunks([...new Set(activityIds)])) {
        await db.updateTable('telephony_calls').set({ missed_open: 0 }).where('member_id', '=', memberId).where('missed_activity_id', 'in', chunk).execute();
      }
    },

    async reconcileCursor(memberId) {
      const r = await db.selectFrom('telephony_reconcile').select(['seen_till', 'last_run_at', 'recovered', 'last_error']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? { seenTill: Number(r.seen_till), lastRunAt: r.last_run_at === null ? null : Number(r.last_run_at), recovered: r.recovered, lastError: r.last_error } : null;
    },
    async saveReconcile(memberId, p) {
      await db
        .insertInto('telephony_reconcile')
        .values({ member_id: memberId, seen_till: ms(p.seenTill), last_run_at: ms(p.lastRunAt), recovered: p.recoveredAdd, last_error: p.lastError })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            seen_till: (eb) => eb.ref('excluded.seen_till'),
            last_run_at: (eb) => eb.ref('excluded.last_run_at'),
            recovered: sql<number>`telephony_reconcile.recovered + excluded.recovered`,
            last_error: (eb) => eb.ref('excluded.last_error'),
          }),
        )
        .execute();
    },

    async lines(memberId) {
      const r = await db.selectFrom('telephony_lines').select(['numbers', 'synced_at', 'last_error']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? { numbers: JSON.parse(r.numbers) as Array<{ number: string; name: string }>, syncedAt: Number(r.synced_at), lastError: r.last_error } : null;
    },
    async saveLines(memberId, p) {
      await db
        .insertInto('telephony_lines')
        .values({ member_id: memberId, numbers: JSON.stringify(p.numbers), synced_at: ms(p.syncedAt), last_error: p.lastError })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            numbers: (eb) => eb.ref('excluded.numbers'),
            synced_at: (eb) => eb.ref('excluded.synced_at'),
            last_error: (eb) => eb.ref('excluded.last_error'),
          }),
        )
        .execute();
    },

    async prune(eventsBefore, callsBefore) {
      const events = await db.deleteFrom('telephony_events').where('received_at', '<', below(eventsBefore)).executeTakeFirst();
      const calls = await db
        .deleteFrom('telephony_calls')
        .where('status', 'in', ['done', 'failed'])
        .where('updated_at', '<', below(callsBefore))
        .where('missed_open', '=', 0)
        .executeTakeFirst();
      return { events: Number(events.numDeletedRows), calls: Number(calls.numDeletedRows) };
    },
    async counts(memberId) {
      const rows = await db
        .selectFrom('telephony_calls')
        .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
        .where('member_id', '=', memberId)
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
}
