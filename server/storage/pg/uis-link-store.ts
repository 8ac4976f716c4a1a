import type { Kysely } from 'kysely';
import type { UisLinkRepository } from '../../services/ports';
import type { AsyncPort } from '../../services/async-port';
import type { SecretBox } from '../secret-box';
import { toUisLink, uisLinkRow, type UisLinkRow } from '../uis-link-rows';
import { pgText as text } from './nul';
import type { PgSchema } from './schema';

/**
 * UIS links in PostgreSQL (migrations-pg/002), the counterpart of ../uis-link-repository.ts with
 * the same behaviour; rows mapped by ../uis-link-rows.ts. Every secret (the UIS password, the Data
 * API token, the adapter's password, the webhook secret) is sealed with the portal's member_id as
 * context (../secret-box.ts), never stored in clear. `save` is one INSERT … ON CONFLICT DO UPDATE:
 * instances saving one portal's link at once leave one of them whole (the last to commit); a hook id
 * already another portal's fails the statement, as SQLite's UNIQUE does.
 * PostgreSQL's text cannot hold U+0000: in free text, and in the keys rows are looked up by alike, it is
 * written and looked up as U+FFFD (./nul.ts) — a statement never fails on it (a hook id from a URL
 * answers, never throws) and a key reads back what was stored under it.
 */
export function createPgUisLinkStore(db: Kysely<PgSchema>, box: SecretBox): AsyncPort<UisLinkRepository> {
  const one = async (column: 'member_id' | 'hook_id', value: string) => {
    const r = await db.selectFrom('uis_links').selectAll().where(column, '=', text(value)).executeTakeFirst();
    return r ? toUisLink(box, r as UisLinkRow) : null;
  };
  return {
    get: (memberId) => one('member_id', memberId),
    getByHook: (hookId) => one('hook_id', hookId),
    async save(l) {
      const r = uisLinkRow(box, { ...l, memberId: text(l.memberId) });
      await db
        .insertInto('uis_links')
        .values({
          ...r,
          login: text(r.login),
          account_id: text(r.account_id),
          account_name: text(r.account_name),
          adapter_id: text(r.adapter_id),
          connection_id: text(r.connection_id),
          adapter_login: text(r.adapter_login),
          hook_id: text(r.hook_id),
          linked_at: text(r.linked_at),
          last_error: text(r.last_error),
        })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet((eb) => ({
            project: eb.ref('excluded.project'),
            login: eb.ref('excluded.login'),
            password_enc: eb.ref('excluded.password_enc'),
            data_api_token_enc: eb.ref('excluded.data_api_token_enc'),
            account_id: eb.ref('excluded.account_id'),
            account_name: eb.ref('excluded.account_name'),
            adapter_id: eb.ref('excluded.adapter_id'),
            connection_id: eb.ref('excluded.connection_id'),
            adapter_login: eb.ref('excluded.adapter_login'),
            adapter_password_enc: eb.ref('excluded.adapter_password_enc'),
            hook_id: eb.ref('excluded.hook_id'),
            webhook_secret_enc: eb.ref('excluded.webhook_secret_enc'),
            linked_at: eb.ref('excluded.linked_at'),
            last_error: eb.ref('excluded.last_error'),
          })),
        )
        .execute();
    },
    async delete(memberId) {
      await db.deleteFrom('uis_links').where('member_id', '=', text(memberId)).execute();
    },
  };
}
