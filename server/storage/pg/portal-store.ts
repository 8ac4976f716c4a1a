import { sql, type Kysely } from 'kysely';
import type { PortalRepository } from '../../services/ports';
import type { AsyncPort } from '../../services/async-port';
import { portalColumns, PURGED_WITHOUT_CASCADE, sealPortalSecret, toPortal, type PortalRow } from '../portal-rows';
import type { SecretBox } from '../secret-box';
import { pgText as text } from './nul';
import type { PgSchema } from './schema';

/**
 * Portals in PostgreSQL (migrations-pg/001), the counterpart of ../portal-repository.ts with the
 * same behaviour; rows mapped by ../portal-rows.ts. The OAuth pair and the application token are
 * sealed with the portal's member_id as context (../secret-box.ts), never stored in clear.
 *
 * Each method is one statement, so instances sharing the database cannot mix writes: `save` is one
 * INSERT … ON CONFLICT DO UPDATE (instances installing one portal at once: one row, created_at of
 * the first, every other field of the last); `saveTokens` is one UPDATE of the pair, its expiry and
 * the endpoints, so racing rotations leave one of them whole (the last to commit, as SQLite's
 * last writer). `saveInstall` decides in its one upsert, from the row as it is when written, whether
 * an active portal stays active and whether a later-expiring pair stored meanwhile stays;
 * `saveEndpoint` (a portal's 302 to its new domain) writes the endpoint and domain only, so a pair
 * rotated while the request was on its way is not overwritten. `purge` deletes the portal's row; everything the app holds for it goes with it by
 * the schema's ON DELETE CASCADE, as in SQLite, and the rows of the tables without that foreign key
 * (PURGED_WITHOUT_CASCADE: the REST bucket, the callback inbox) are deleted in the same transaction;
 * leases expire on their own.
 *
 * Times in ms are BIGINT (a fractional expiry is rounded). PostgreSQL's text cannot hold U+0000: in free text, and in the keys rows are looked up by alike, it is
 * written and looked up as U+FFFD (./nul.ts) — a statement never fails on it (a hook id from a URL
 * answers, never throws) and a key reads back what was stored under it.
 */
const ms = (t: number | null) => (t === null ? null : Math.round(t));

export function createPgPortalStore(db: Kysely<PgSchema>, box: SecretBox, now: () => number = Date.now): AsyncPort<PortalRepository> {
  const iso = () => new Date(now()).toISOString();
  const seal = (v: string | null | undefined, memberId: string) => sealPortalSecret(box, v, memberId);

  return {
    async get(memberId) {
      const row = await db.selectFrom('portals').selectAll().where('member_id', '=', text(memberId)).executeTakeFirst();
      return row ? toPortal(box, row as PortalRow) : null;
    },
    async save(p) {
      const c = portalColumns(box, { ...p, memberId: text(p.memberId) });
      const t = iso();
      await db
        .insertInto('portals')
        .values({
          ...c,
          domain: text(c.domain),
          client_endpoint: text(c.client_endpoint),
          server_endpoint: text(c.server_endpoint),
          expires_at: ms(c.expires_at),
          scopes: text(c.scopes),
          status_reason: text(c.status_reason),
          installed_at: text(c.installed_at),
          created_at: t,
          updated_at: t,
        })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet((eb) => ({
            domain: eb.ref('excluded.domain'),
            client_endpoint: eb.ref('excluded.client_endpoint'),
            server_endpoint: eb.ref('excluded.server_endpoint'),
            access_token_enc: eb.ref('excluded.access_token_enc'),
            refresh_token_enc: eb.ref('excluded.refresh_token_enc'),
            expires_at: eb.ref('excluded.expires_at'),
            application_token_enc: eb.ref('excluded.application_token_enc'),
            scopes: eb.ref('excluded.scopes'),
            installed_by: eb.ref('excluded.installed_by'),
            status: eb.ref('excluded.status'),
            status_reason: eb.ref('excluded.status_reason'),
            updated_at: eb.ref('excluded.updated_at'),
            installed_at: eb.ref('excluded.installed_at'),
          })),
        )
        .execute();
    },
    async saveInstall(p, opts) {
      const c = portalColumns(box, { ...p, memberId: text(p.memberId), status: 'installing', statusReason: null, createdAt: '', updatedAt: '', installedAt: null });
      const t = iso();
      const same = opts.sameInstall;
      // one statement: the CASEs read the row as it is when written (SET refers to the stored values)
      const keep = sql<boolean>`${same}::boolean AND portals.status = 'active'`;
      const keepPair = sql<boolean>`${same}::boolean AND portals.status IN ('active', 'installing') AND portals.access_token_enc IS NOT NULL
        AND portals.refresh_token_enc IS NOT NULL AND portals.expires_at > excluded.expires_at`;
      const row = await db
        .insertInto('portals')
        .values({
          ...c,
          domain: text(c.domain),
          client_endpoint: text(c.client_endpoint),
          server_endpoint: text(c.server_endpoint),
          expires_at: ms(c.expires_at),
          scopes: text(c.scopes),
          status: 'installing',
          status_reason: null,
          installed_at: null,
          created_at: t,
          updated_at: t,
        })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet((eb) => ({
            domain: eb.ref('excluded.domain'),
            client_endpoint: eb.ref('excluded.client_endpoint'),
            server_endpoint: eb.ref('excluded.server_endpoint'),
            access_token_enc: sql<string | null>`CASE WHEN ${keepPair} THEN portals.access_token_enc ELSE excluded.access_token_enc END`,
            refresh_token_enc: sql<string | null>`CASE WHEN ${keepPair} THEN portals.refresh_token_enc ELSE excluded.refresh_token_enc END`,
            expires_at: sql<number | null>`CASE WHEN ${keepPair} THEN portals.expires_at ELSE excluded.expires_at END`,
            application_token_enc: eb.ref('excluded.application_token_enc'),
            scopes: eb.ref('excluded.scopes'),
            installed_by: eb.ref('excluded.installed_by'),
            status: sql<PortalRow['status']>`CASE WHEN ${keep} THEN 'active' ELSE 'installing' END`,
            status_reason: null,
            installed_at: sql<string | null>`CASE WHEN ${keep} THEN portals.installed_at ELSE NULL END`,
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toPortal(box, row as PortalRow);
    },
    async saveTokens(memberId, t, endpoints) {
      const m = text(memberId);
      await db
        .updateTable('portals')
        .set({
          access_token_enc: seal(t.accessToken, m),
          refresh_token_enc: seal(t.refreshToken, m),
          expires_at: ms(t.expiresAt),
          updated_at: iso(),
          client_endpoint: sql<string>`COALESCE(${text(endpoints?.clientEndpoint ?? null)}::text, client_endpoint)`,
          domain: sql<string>`COALESCE(${text(endpoints?.domain ?? null)}::text, domain)`,
        })
        .where('member_id', '=', m)
        .execute();
    },
    async saveEndpoint(memberId, e) {
      await db
        .updateTable('portals')
        .set({ client_endpoint: text(e.clientEndpoint), domain: text(e.domain), updated_at: iso() })
        .where('member_id', '=', text(memberId))
        .execute();
    },
    async setStatus(memberId, status, reason) {
      await db.updateTable('portals').set({ status, status_reason: text(reason), updated_at: iso() }).where('member_id', '=', text(memberId)).execute();
    },
    async markInstalled(memberId, at) {
      const r = await db
        .updateTable('portals')
        .set({ status: 'active', status_reason: null, installed_at: sql<string>`COALESCE(installed_at, ${at}::text)`, updated_at: iso() })
        .where('member_id', '=', text(memberId))
        .where('status', '<>', 'deleted')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async markDeleted(memberId) {
      await db
        .updateTable('portals')
        .set({ status: 'deleted', status_reason: 'uninstalled', access_token_enc: null, refresh_token_enc: null, expires_at: null, application_token_enc: null, updated_at: iso() })
        .where('member_id', '=', text(memberId))
        .execute();
    },
    async purge(memberId) {
      await db.transaction().execute(async (trx) => {
        for (const t of PURGED_WITHOUT_CASCADE) await trx.deleteFrom(t).where('member_id', '=', text(memberId)).execute();
        await trx.deleteFrom('portals').where('member_id', '=', text(memberId)).execute();
      });
    },
    async countByStatus() {
      const rows = await db.selectFrom('portals').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
}
