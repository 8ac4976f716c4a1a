import { sql, type Kysely } from 'kysely';
import type { AsyncPort } from '../../services/async-port';
import type { BridgeRecoveryRepository, MessageLink, RecoveryCounters } from '../../services/bridge/ports';
import { boundAtOf, str } from '../bridge-rows';
import type { PgSchema } from './schema';
import { pgText } from './nul';

/**
 * The bridge's reconcile and loss audit in PostgreSQL (migrations-pg/017), the counterpart of
 * ../bridge-recovery-repository.ts with the same behaviour, as the asynchronous form of its port.
 * `markAudited` (a transaction in SQLite) is one UPDATE of all the chats; `count` and `noteRun` are
 * one upsert each (INSERT … ON CONFLICT DO UPDATE adding to the counter), so instances counting at
 * once lose nothing. ISO times are compared and sorted in byte order (COLLATE "C"), as SQLite does.
 * U+0000, which PostgreSQL's text cannot hold, is written (and looked up) as U+FFFD, as in
 * ./bridge-store.ts; a fractional time in ms is rounded.
 */
const t = pgText;
const texts = (ids: string[]) => ids.map((id) => t(id));

export function createPgBridgeRecoveryStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<BridgeRecoveryRepository> {
  const iso = () => new Date(now()).toISOString();
  return {
    targets: async (memberId) => {
      const rows = await db
        .selectFrom('bridge_lines')
        .select(['line_id', 'channel_id', 'bound_at', 'reconciled_till', 'updated_at'])
        .where('member_id', '=', t(memberId))
        .where('status', '=', 'active')
        // SQLite's CAST(line_id AS INTEGER): the leading integer, 0 when there is none; ties in byte order
        .orderBy(sql`COALESCE(substring(line_id from '^\\s*([-+]?[0-9]+)')::numeric, 0), line_id COLLATE "C"`)
        .execute();
      return rows.map((r) => ({ lineId: r.line_id, channelId: r.channel_id, boundAt: boundAtOf(r.bound_at, r.updated_at), reconciledTill: r.reconciled_till }));
    },
    setReconciledTill: async (memberId, lineId, channelId, till) => {
      await db
        .updateTable('bridge_lines')
        .set({ reconciled_till: Math.round(till) })
        .where('member_id', '=', t(memberId))
        .where('line_id', '=', t(lineId))
        .where('channel_id', '=', t(channelId))
        .execute();
    },
    chatsToAudit: async (memberId, limit) => {
      // a chat is due when it changed after its last audit (both ISO strings of the same clock)
      const r = await sql<{ uis_chat_id: string; channel_id: string; line_id: string; b24_chat_id: string }>`
        SELECT c.uis_chat_id, c.channel_id, c.line_id, c.b24_chat_id FROM bridge_chats c
        JOIN bridge_lines l ON l.member_id = c.member_id AND l.channel_id = c.channel_id AND l.line_id = c.line_id AND l.status = 'active'
        WHERE c.member_id = ${t(memberId)} AND c.b24_chat_id IS NOT NULL AND (c.audited_at IS NULL OR c.audited_at COLLATE "C" < c.updated_at COLLATE "C")
        ORDER BY c.audited_at IS NOT NULL, c.audited_at COLLATE "C", c.updated_at COLLATE "C" LIMIT ${limit < 0 ? null : Math.floor(limit)}::bigint`.execute(db);
      return r.rows.map((x) => ({ uisChatId: x.uis_chat_id, channelId: x.channel_id, lineId: x.line_id, b24ChatId: x.b24_chat_id }));
    },
    markAudited: async (memberId, ids, at) => {
      if (!ids.length) return;
      await db
        .updateTable('bridge_chats')
        .set({ audited_at: t(at) })
        .where('member_id', '=', t(memberId))
        .where(sql<boolean>`uis_chat_id = ANY(${texts(ids)}::text[])`)
        .execute();
    },
    linksOfChats: async (memberId, ids) => {
      if (!ids.length) return [];
      const rows = await db
        .selectFrom('bridge_messages')
        .select(['key', 'uis_chat_id', 'state', 'b24_chat_id', 'b24_session_id'])
        .where('member_id', '=', t(memberId))
        .where('origin', '=', 'uis')
        .where(sql<boolean>`uis_chat_id = ANY(${texts(ids)}::text[])`)
        .execute();
      return rows.map((r) => ({ key: r.key, uisChatId: String(r.uis_chat_id), state: r.state as MessageLink['state'], b24ChatId: str(r.b24_chat_id), b24SessionId: str(r.b24_session_id) }));
    },
    connectionStatus: async (memberId, connectionId) => {
      const r = await db.selectFrom('uis_connections').select('status').where('member_id', '=', t(memberId)).where('connection_id', '=', t(connectionId)).executeTakeFirst();
      return r?.status ?? null;
    },
    setConnection: async (memberId, connectionId, c) => {
      await db
        .insertInto('uis_connections')
        .values({ member_id: t(memberId), connection_id: t(connectionId), name: t(c.name ?? null), status: t(c.status), updated_at: iso() })
        .onConflict((oc) =>
          oc.columns(['member_id', 'connection_id']).doUpdateSet({
            name: sql<string | null>`COALESCE(excluded.name, uis_connections.name)`,
            status: (eb) => eb.ref('excluded.status'),
            updated_at: (eb) => eb.ref('excluded.updated_at'),
          }),
        )
        .execute();
    },
    counters: async (memberId): Promise<RecoveryCounters> => {
      const r = await db.selectFrom('bridge_recovery').selectAll().where('member_id', '=', t(memberId)).executeTakeFirst();
      return {
        recovered: Number(r?.recovered ?? 0),
        repaired: Number(r?.repaired ?? 0),
        lastReconcileAt: str(r?.last_reconcile_at),
        lastAuditAt: str(r?.last_audit_at),
        lastRepairAt: str(r?.last_repair_at),
        lastError: str(r?.last_error),
      };
    },
    count: async (memberId, field, n) => {
      if (n <= 0) return;
      const at = iso();
      const add = Math.round(n);
      const values = { member_id: t(memberId), recovered: field === 'recovered' ? add : 0, repaired: field === 'repaired' ? add : 0, last_repair_at: at, updated_at: at };
      await db
        .insertInto('bridge_recovery')
        .values(values)
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            ...(field === 'recovered' ? { recovered: sql<number>`bridge_recovery.recovered + excluded.recovered` } : { repaired: sql<number>`bridge_recovery.repaired + excluded.repaired` }),
            last_repair_at: (eb) => eb.ref('excluded.last_repair_at'),
            updated_at: (eb) => eb.ref('excluded.updated_at'),
          }),
        )
        .execute();
    },
    noteRun: async (memberId, kind, error) => {
      const at = iso();
      const column = kind === 'reconcile' ? 'last_reconcile_at' : 'last_audit_at';
      await db
        .insertInto('bridge_recovery')
        .values({ member_id: t(memberId), [column]: error ? null : at, last_error: t(error), updated_at: at })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet({
            [column]: sql<string | null>`COALESCE(${sql.ref(`excluded.${column}`)}, ${sql.ref(`bridge_recovery.${column}`)})`,
            last_error: (eb) => eb.ref('excluded.last_error'),
            updated_at: (eb) => eb.ref('excluded.updated_at'),
          }),
        )
        .execute();
    },
  };
}
