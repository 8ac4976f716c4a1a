import { sql, type Kysely, type Updateable } from 'kysely';
import type { ItemState } from '../../domain/chat-sources/items';
import type { ChatSourceRepository } from '../../services/chat-sources/ports';
import {
  CHANNEL_LIST_MAX,
  CHANNEL_MAX,
  ERROR_MESSAGE_MAX,
  ITEM_PATCH_COLUMNS,
  likePrefix,
  statusCounts,
  toSourceItem,
  toSourceState,
  type ChatSourceItemRow,
} from '../chat-source-rows';
import type { ChatSourceItemsTable, PgSchema } from './schema';
import { pgText } from './nul';

/**
 * «Источники чатов» in PostgreSQL (migrations-pg/019), the counterpart of ../chat-source-repository.ts
 * with the same behaviour; rows mapped by ../chat-source-rows.ts.
 *
 * Several instances share the queue. A portal's due items are worked by the instance holding its
 * work lease (the job loop's `lease`), so `due` only reads, as in SQLite. What instances do race on
 * is a webhook delivered twice (or a late copy) to two of them: `applyItem` reads the item FOR
 * UPDATE and writes the decision in one transaction, so decisions on one item are serialized; when
 * the item does not exist yet, the INSERT … ON CONFLICT DO NOTHING of the loser waits for the
 * winner's commit and inserts nothing, and the loser decides again on the winner's row.
 *
 * Times in ms are BIGINT: a fractional time (SQLite would keep a REAL) is rounded when stored, and a
 * bound `due_at <= at` is floored (the same items as SQLite's comparison with the fraction).
 * PostgreSQL's text cannot hold U+0000, which SQLite keeps: in free text (a channel — amoCRM's
 * talk origin is any string —, a reason, an attribution, an error message) it is written as U+FFFD
 * instead of failing the statement (a webhook would get a 5xx).
 */
const ms = (t: number) => Math.round(t);
const text = pgText;
const TEXT_PATCH = new Set(['attribution', 'reason']);
const DUE_STATUSES = ['pending', 'waiting'] as const;
const FINAL_STATUSES = ['uploaded', 'skipped', 'failed'] as const;
/** a payload forgotten by the retention (`forgetPayloads`): JSON null */
const FORGOTTEN = 'null';
/** a decision retried on the concurrent winner's row: more than twice means something else is wrong */
const APPLY_ROUNDS = 3;

export function createPgChatSourceStore(db: Kysely<PgSchema>, now: () => number = Date.now): ChatSourceRepository {
  const iso = () => new Date(now()).toISOString();

  const items = () => db.selectFrom('chat_source_items').selectAll();
  const rows = (r: unknown[]) => (r as ChatSourceItemRow[]).map(toSourceItem);

  return {
    async getSettings(memberId, source) {
      const r = await db.selectFrom('chat_source_settings').select(['settings', 'hook_secret']).where('member_id', '=', memberId).where('source', '=', source).executeTakeFirst();
      return r ? { settings: JSON.parse(r.settings) as unknown, hookSecret: r.hook_secret } : null;
    },
    async getByHookSecret(source, secret) {
      const r = await db.selectFrom('chat_source_settings').select(['member_id', 'settings']).where('source', '=', source).where('hook_secret', '=', secret).executeTakeFirst();
      return r ? { memberId: r.member_id, settings: JSON.parse(r.settings) as unknown } : null;
    },
    async saveSettings(memberId, source, settings, hookSecret) {
      await db
        .insertInto('chat_source_settings')
        .values({ member_id: memberId, source, settings: JSON.stringify(settings), hook_secret: hookSecret, updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'source']).doUpdateSet({ settings: (eb) => eb.ref('excluded.settings'), updated_at: (eb) => eb.ref('excluded.updated_at') }))
        .execute();
    },
    async initSettings(memberId, source, settings, hookSecret) {
      await db
        .insertInto('chat_source_settings')
        .values({ member_id: memberId, source, settings: JSON.stringify(settings), hook_secret: hookSecret, updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'source']).doNothing())
        .execute();
      const r = await db.selectFrom('chat_source_settings').select('hook_secret').where('member_id', '=', memberId).where('source', '=', source).executeTakeFirstOrThrow();
      return r.hook_secret;
    },
    async applyItem(key, fresh, decide) {
      return db.transaction().execute(async (trx) => {
        for (let round = 0; round < APPLY_ROUNDS; round++) {
          const row = await trx
            .selectFrom('chat_source_items')
            .select(['id', 'status', 'version', 'reopened'])
            .where('member_id', '=', key.memberId)
            .where('source', '=', key.source)
            .where('ext_id', '=', key.extId)
            .forUpdate()
            .executeTakeFirst();
          const d = decide(row ? { status: row.status as ItemState['status'], version: row.version, reopened: row.reopened === 1 } : null);
          if (!d) return false;
          if (!row) {
            const inserted = await trx
              .insertInto('chat_source_items')
              .values({
                member_id: key.memberId,
                source: key.source,
                ext_id: key.extId,
                kind: fresh.kind,
                channel: text(fresh.channel),
                status: d.status,
                version: d.version,
                reopened: d.reopened ? 1 : 0,
                payload: JSON.stringify(fresh.payload),
                attempts: 0,
                due_at: ms(fresh.dueAt),
                created_at: ms(now()),
                updated_at: iso(),
              })
              .onConflict((oc) => oc.columns(['member_id', 'source', 'ext_id']).doNothing())
              .returning('id')
              .executeTakeFirst();
            if (inserted) return true;
            continue; // another instance inserted it since our read (and has committed): decide on its row
          }
          const due = d.status === 'pending' && row.status !== 'pending';
          const set: Updateable<ChatSourceItemsTable> = { status: d.status, version: d.version, reopened: d.reopened ? 1 : 0 };
          if (d.replacePayload) Object.assign(set, { payload: JSON.stringify(fresh.payload), channel: text(fresh.channel) });
          if (due) Object.assign(set, { attempts: 0, due_at: ms(fresh.dueAt) });
          set.updated_at = iso();
          await trx.updateTable('chat_source_items').set(set).where('id', '=', row.id).execute();
          return true;
        }
        throw new Error(`chat source item ${key.source}/${key.extId}: no stable row after ${APPLY_ROUNDS} rounds`);
      });
    },
    async due(memberId, at, limit) {
      const r = await items()
        .where('member_id', '=', memberId)
        .where('status', 'in', DUE_STATUSES)
        .where('due_at', '<=', Math.floor(at))
        .orderBy('due_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows(r);
    },
    async portalsWithDue(at) {
      const r = await db.selectFrom('chat_source_items').select('member_id').distinct().where('status', 'in', DUE_STATUSES).where('due_at', '<=', Math.floor(at)).execute();
      return r.map((x) => x.member_id);
    },
    async nextDueAt() {
      const r = await db
        .selectFrom('chat_source_items')
        .select((eb) => eb.fn.min('due_at').as('at'))
        .where('status', 'in', DUE_STATUSES)
        .executeTakeFirst();
      return r?.at ?? null;
    },
    async updateItem(id, patch) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch)) {
        // as better-sqlite3 binds it: an undefined value writes NULL
        const value = v === undefined ? null : k === 'payload' ? JSON.stringify(v) : k === 'dueAt' ? ms(v as number) : TEXT_PATCH.has(k) ? text(v as string | null) : v;
        set[ITEM_PATCH_COLUMNS[k as keyof typeof ITEM_PATCH_COLUMNS]] = value;
      }
      if (!Object.keys(set).length) return;
      await db
        .updateTable('chat_source_items')
        .set({ ...(set as Updateable<ChatSourceItemsTable>), updated_at: iso() })
        .where('id', '=', id)
        .execute();
    },
    async retryFailed(memberId, source, reasonPrefix, at) {
      // ILIKE: SQLite's LIKE ignores the case of ASCII letters
      const r = await db
        .updateTable('chat_source_items')
        .set({ status: 'pending', attempts: 0, due_at: ms(at), updated_at: iso() })
        .where('member_id', '=', memberId)
        .where('source', '=', source)
        .where('status', '=', 'failed')
        .where(sql<boolean>`reason ILIKE ${likePrefix(reasonPrefix)} ESCAPE '!'`)
        .where('payload', '!=', FORGOTTEN)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async retryWaiting(memberId, source, at) {
      const r = await db
        .updateTable('chat_source_items')
        .set({ due_at: ms(at), updated_at: iso() })
        .where('member_id', '=', memberId)
        .where('source', '=', source)
        .where('status', '=', 'waiting')
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async recent(memberId, source, limit) {
      let q = items().where('member_id', '=', memberId);
      if (source) q = q.where('source', '=', source);
      return rows(await q.orderBy('id', 'desc').limit(limit).execute());
    },
    async counts(memberId, source) {
      const r = await db
        .selectFrom('chat_source_items')
        .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
        .where('member_id', '=', memberId)
        .where('source', '=', source)
        .groupBy('status')
        .execute();
      return statusCounts(r);
    },
    async noteEvent(memberId, source, at, channel) {
      await db
        .insertInto('chat_source_state')
        .values({ member_id: memberId, source, last_event_at: ms(at) })
        .onConflict((oc) => oc.columns(['member_id', 'source']).doUpdateSet({ last_event_at: (eb) => eb.ref('excluded.last_event_at') }))
        .execute();
      if (channel) {
        await db
          .insertInto('chat_source_channels')
          .values({ member_id: memberId, source, channel: text(channel.slice(0, CHANNEL_MAX)), last_at: ms(at) })
          .onConflict((oc) => oc.columns(['member_id', 'source', 'channel']).doUpdateSet({ last_at: (eb) => eb.ref('excluded.last_at') }))
          .execute();
      }
    },
    async noteUpload(memberId, source, at) {
      await db
        .insertInto('chat_source_state')
        .values({ member_id: memberId, source, last_upload_at: ms(at) })
        .onConflict((oc) => oc.columns(['member_id', 'source']).doUpdateSet({ last_upload_at: (eb) => eb.ref('excluded.last_upload_at') }))
        .execute();
    },
    async noteError(memberId, source, error) {
      await db
        .insertInto('chat_source_state')
        .values({
          member_id: memberId,
          source,
          last_error_at: error ? ms(error.at) : null,
          last_error_code: text(error?.code ?? null),
          last_error_message: text(error?.message.slice(0, ERROR_MESSAGE_MAX) ?? null),
        })
        .onConflict((oc) =>
          oc.columns(['member_id', 'source']).doUpdateSet({
            last_error_at: (eb) => eb.ref('excluded.last_error_at'),
            last_error_code: (eb) => eb.ref('excluded.last_error_code'),
            last_error_message: (eb) => eb.ref('excluded.last_error_message'),
          }),
        )
        .execute();
    },
    async resolveErrors(memberId, source, codes) {
      if (!codes.length) return;
      await db
        .updateTable('chat_source_state')
        .set({ last_error_at: null, last_error_code: null, last_error_message: null })
        .where('member_id', '=', memberId)
        .where('source', '=', source)
        .where('last_error_code', 'in', [...codes])
        .execute();
    },
    async state(memberId, source) {
      const r = await db
        .selectFrom('chat_source_state')
        .select(['last_event_at', 'last_upload_at', 'last_error_at', 'last_error_code', 'last_error_message'])
        .where('member_id', '=', memberId)
        .where('source', '=', source)
        .executeTakeFirst();
      return toSourceState(r);
    },
    async channels(memberId, source) {
      const r = await db
        .selectFrom('chat_source_channels')
        .select(['channel', 'last_at'])
        .where('member_id', '=', memberId)
        .where('source', '=', source)
        .orderBy('last_at', 'desc')
        .limit(CHANNEL_LIST_MAX)
        .execute();
      return r.map((x) => ({ key: x.channel, lastAt: x.last_at }));
    },
    async forgetPayloads(beforeMs) {
      // the update time stays: the admin's list shows when the item was last worked
      const r = await db
        .updateTable('chat_source_items')
        .set({ payload: FORGOTTEN })
        .where('status', 'in', FINAL_STATUSES)
        .where('updated_at', '<', new Date(beforeMs).toISOString())
        .where('payload', '!=', FORGOTTEN)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
  };
}
