import { sql, type Kysely } from 'kysely';
import type { AmoAccountRepository } from '../../services/chat-sources/ports';
import { amoSecretContext as ctx, STATUS_REASON_MAX, toAmoConnection, type AmoAccountRow } from '../amocrm-account-rows';
import type { SecretBox } from '../secret-box';
import type { PgSchema } from './schema';
import { pgText } from './nul';

/**
 * The connected amoCRM account of a portal in PostgreSQL (migrations-pg/019), the counterpart of
 * ../amocrm-account-repository.ts with the same behaviour; rows mapped by ../amocrm-account-rows.ts.
 * The OAuth pair is sealed at rest with the portal as context (../secret-box.ts), never stored in
 * clear. amoCRM's refresh token works once, so the instances sharing the database must not both
 * spend it: the refresh lease is one conditional UPDATE (a concurrent one waits for the row and
 * re-checks the condition on the winner's version: one lease), and a rotated pair is saved
 * compare-and-set on the sealed refresh token it replaces (one UPDATE … WHERE refresh_token = …).
 *
 * Times in ms are BIGINT: a fractional time is rounded when stored; the lease's `until < now` test
 * compares with the ceiling of `now` (the same leases as SQLite's comparison with the fraction).
 * PostgreSQL's text cannot hold U+0000, which SQLite keeps: in free text (the account's name, the
 * webhook's detail, a status reason) it is written as U+FFFD instead of failing the statement.
 */
const ms = (t: number) => Math.round(t);
const text = pgText;

export function createPgAmoAccountStore(db: Kysely<PgSchema>, box: SecretBox, now: () => number = Date.now): AmoAccountRepository {
  const iso = () => new Date(now()).toISOString();
  const row = async (memberId: string) => (await db.selectFrom('amocrm_accounts').selectAll().where('member_id', '=', memberId).executeTakeFirst()) as AmoAccountRow | undefined;

  return {
    async get(memberId) {
      const r = await row(memberId);
      return r ? toAmoConnection(r) : null;
    },
    async connect(c, tokens, at) {
      await db
        .insertInto('amocrm_accounts')
        .values({
          member_id: c.memberId,
          name: text(c.name),
          origin: c.origin,
          account_id: c.accountId,
          access_token: box.seal(tokens.accessToken, ctx(c.memberId)),
          refresh_token: box.seal(tokens.refreshToken, ctx(c.memberId)),
          expires_at: ms(tokens.expiresAt),
          refreshed_at: ms(at),
          status: 'active',
          status_reason: null,
          refresh_lease_until: null,
          webhook_mode: c.webhook.mode,
          webhook_disabled: c.webhook.disabled ? 1 : 0,
          webhook_detail: text(c.webhook.detail),
          connected_at: ms(c.connectedAt),
          updated_at: iso(),
        })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            origin: eb.ref('excluded.origin'),
            account_id: eb.ref('excluded.account_id'),
            access_token: eb.ref('excluded.access_token'),
            refresh_token: eb.ref('excluded.refresh_token'),
            expires_at: eb.ref('excluded.expires_at'),
            refreshed_at: eb.ref('excluded.refreshed_at'),
            status: 'active',
            status_reason: null,
            refresh_lease_until: null,
            webhook_mode: eb.ref('excluded.webhook_mode'),
            webhook_disabled: eb.ref('excluded.webhook_disabled'),
            webhook_detail: eb.ref('excluded.webhook_detail'),
            connected_at: eb.ref('excluded.connected_at'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },
    async setWebhook(memberId, w) {
      await db
        .updateTable('amocrm_accounts')
        .set({ webhook_mode: w.mode, webhook_disabled: w.disabled ? 1 : 0, webhook_detail: text(w.detail), updated_at: iso() })
        .where('member_id', '=', memberId)
        .execute();
    },
    async remove(memberId) {
      await db.deleteFrom('amocrm_accounts').where('member_id', '=', memberId).execute();
    },
    async connected() {
      // byte order, as SQLite's BINARY collation
      const r = await db.selectFrom('amocrm_accounts').selectAll().orderBy(sql`member_id COLLATE "C"`).execute();
      return (r as AmoAccountRow[]).map(toAmoConnection);
    },
    async load(memberId) {
      const r = await row(memberId);
      if (!r) return null;
      return {
        origin: r.origin,
        status: r.status,
        tokens: { accessToken: box.open(r.access_token, ctx(memberId)), refreshToken: box.open(r.refresh_token, ctx(memberId)), expiresAt: r.expires_at },
      };
    },
    async saveTokens(memberId, tokens, previousRefresh) {
      const r = await row(memberId);
      if (!r || box.open(r.refresh_token, ctx(memberId)) !== previousRefresh) return false;
      const changed = await db
        .updateTable('amocrm_accounts')
        .set({
          access_token: box.seal(tokens.accessToken, ctx(memberId)),
          refresh_token: box.seal(tokens.refreshToken, ctx(memberId)),
          expires_at: ms(tokens.expiresAt),
          refreshed_at: ms(now()),
          updated_at: iso(),
        })
        .where('member_id', '=', memberId)
        .where('refresh_token', '=', r.refresh_token)
        .executeTakeFirst();
      return Number(changed.numUpdatedRows) === 1;
    },
    async leaseRefresh(memberId, until, at) {
      const r = await db
        .updateTable('amocrm_accounts')
        .set({ refresh_lease_until: ms(until) })
        .where('member_id', '=', memberId)
        .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', Math.ceil(at))]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async releaseRefresh(memberId) {
      await db.updateTable('amocrm_accounts').set({ refresh_lease_until: null }).where('member_id', '=', memberId).execute();
    },
    async setStatus(memberId, status, reason) {
      await db
        .updateTable('amocrm_accounts')
        .set({ status, status_reason: text(reason?.slice(0, STATUS_REASON_MAX) ?? null), updated_at: iso() })
        .where('member_id', '=', memberId)
        .execute();
    },
  };
}
