import { sql, type Kysely } from 'kysely';
import type { UisChannelRepository } from '../../services/workspace-ports';
import type { AsyncPort } from '../../services/async-port';
import { toUisChannel, uisChannelRow, type UisChannelRow } from '../uis-channel-rows';
import { pgText as text } from './nul';
import type { PgSchema } from './schema';

/**
 * The adapter channels UIS announced, in PostgreSQL (migrations-pg/004), the counterpart of
 * ../uis-channel-repository.ts with the same behaviour; rows mapped by ../uis-channel-rows.ts.
 * `upsert` is one INSERT … ON CONFLICT DO UPDATE (announcements of one channel reaching instances at
 * once: one row, the last to commit). `list` orders as SQLite's CAST(channel_id AS INTEGER): the
 * integer its text starts with (after white space; none: 0; clamped to BIGINT), which PostgreSQL's
 * cast would refuse for a channel id that is not a number; ties in byte order. The templates are
 * JSON text (JSON.stringify escapes U+0000, kept as is). PostgreSQL's text cannot hold U+0000: in free text, and in the keys rows are looked up by alike, it is
 * written and looked up as U+FFFD (./nul.ts) — a statement never fails on it (a hook id from a URL
 * answers, never throws) and a key reads back what was stored under it.
 */
const INT_PREFIX = '^[ \\t\\n\\v\\f\\r]*([+-]?[0-9]+)';
// none: 0 first (GREATEST and LEAST skip a NULL)
const sqliteInteger = sql`LEAST(GREATEST(COALESCE(substring(channel_id from ${INT_PREFIX})::numeric, 0), -9223372036854775808), 9223372036854775807)`;

export function createPgUisChannelStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<UisChannelRepository> {
  const iso = () => new Date(now()).toISOString();
  return {
    async upsert(c) {
      const r = uisChannelRow(c);
      await db
        .insertInto('uis_channels')
        .values({
          member_id: text(r.member_id),
          channel_id: text(r.channel_id),
          account_id: text(r.account_id),
          chat_channel_id: text(r.chat_channel_id),
          type: text(r.type),
          name: text(r.name),
          status: text(r.status),
          templates: r.templates,
          updated_at: iso(),
        })
        .onConflict((oc) =>
          oc.columns(['member_id', 'channel_id']).doUpdateSet((eb) => ({
            account_id: eb.ref('excluded.account_id'),
            chat_channel_id: eb.ref('excluded.chat_channel_id'),
            type: eb.ref('excluded.type'),
            name: eb.ref('excluded.name'),
            status: eb.ref('excluded.status'),
            templates: eb.ref('excluded.templates'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },
    async markRemoved(memberId, channelId) {
      await db.updateTable('uis_channels').set({ status: 'removed', updated_at: iso() }).where('member_id', '=', text(memberId)).where('channel_id', '=', text(channelId)).execute();
    },
    async list(memberId, accountId) {
      const rows = await db
        .selectFrom('uis_channels')
        .selectAll()
        .where('member_id', '=', text(memberId))
        .where('account_id', '=', text(accountId))
        .where('status', '=', 'active')
        .orderBy(sqliteInteger)
        .orderBy(sql`channel_id COLLATE "C"`)
        .execute();
      return (rows as UisChannelRow[]).map(toUisChannel);
    },
    async get(memberId, channelId) {
      const r = await db.selectFrom('uis_channels').selectAll().where('member_id', '=', text(memberId)).where('channel_id', '=', text(channelId)).executeTakeFirst();
      return r ? toUisChannel(r as UisChannelRow) : null;
    },
  };
}
