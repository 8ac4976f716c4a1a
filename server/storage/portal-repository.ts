import type { Db } from './db';
import type { SecretBox } from './secret-box';
import type { PortalTokens } from '../domain/portal';
import { portalColumns, PURGED_WITHOUT_CASCADE, sealPortalSecret, toPortal, type PortalRow } from './portal-rows';
import type { PortalRepository } from '../services/ports';

/** SQLite portal store; tokens and application_token sealed with the portal's member_id as context (rows: portal-rows.ts). */
export function createSqlitePortalRepository(db: Db, box: SecretBox, now: () => number = Date.now): PortalRepository {
  const iso = () => new Date(now()).toISOString();
  const seal = (v: string | null | undefined, memberId: string) => sealPortalSecret(box, v, memberId);

  const getStmt = db.prepare('SELECT * FROM portals WHERE member_id = ?');
  const upsertStmt = db.prepare(`
    INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, access_token_enc, refresh_token_enc,
      expires_at, application_token_enc, scopes, installed_by, status, status_reason, created_at, updated_at, installed_at)
    VALUES (@member_id, @domain, @client_endpoint, @server_endpoint, @access_token_enc, @refresh_token_enc,
      @expires_at, @application_token_enc, @scopes, @installed_by, @status, @status_reason, @now, @now, @installed_at)
    ON CONFLICT (member_id) DO UPDATE SET domain = excluded.domain, client_endpoint = excluded.client_endpoint,
      server_endpoint = excluded.server_endpoint, access_token_enc = excluded.access_token_enc,
      refresh_token_enc = excluded.refresh_token_enc, expires_at = excluded.expires_at,
      application_token_enc = excluded.application_token_enc, scopes = excluded.scopes,
      installed_by = excluded.installed_by, status = excluded.status, status_reason = excluded.status_reason,
      updated_at = excluded.updated_at, installed_at = excluded.installed_at`);

  // one statement: the CASEs read the row as it is when written (SET refers to the stored values)
  const keep = `@same = 1 AND portals.status = 'active'`;
  const keepPair = `@same = 1 AND portals.status IN ('active', 'installing') AND portals.access_token_enc IS NOT NULL
      AND portals.refresh_token_enc IS NOT NULL AND portals.expires_at > excluded.expires_at`;
  const installStmt = db.prepare(`
    INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, access_token_enc, refresh_token_enc,
      expires_at, application_token_enc, scopes, installed_by, status, status_reason, created_at, updated_at, installed_at)
    VALUES (@member_id, @domain, @client_endpoint, @server_endpoint, @access_token_enc, @refresh_token_enc,
      @expires_at, @application_token_enc, @scopes, @installed_by, 'installing', NULL, @now, @now, NULL)
    ON CONFLICT (member_id) DO UPDATE SET domain = excluded.domain, client_endpoint = excluded.client_endpoint,
      server_endpoint = excluded.server_endpoint,
      access_token_enc = CASE WHEN ${keepPair} THEN portals.access_token_enc ELSE excluded.access_token_enc END,
      refresh_token_enc = CASE WHEN ${keepPair} THEN portals.refresh_token_enc ELSE excluded.refresh_token_enc END,
      expires_at = CASE WHEN ${keepPair} THEN portals.expires_at ELSE excluded.expires_at END,
      application_token_enc = excluded.application_token_enc, scopes = excluded.scopes, installed_by = excluded.installed_by,
      status = CASE WHEN ${keep} THEN 'active' ELSE 'installing' END, status_reason = NULL,
      installed_at = CASE WHEN ${keep} THEN portals.installed_at ELSE NULL END, updated_at = excluded.updated_at
    RETURNING *`);

  return {
    get(memberId) {
      const row = getStmt.get(memberId) as PortalRow | undefined;
      return row ? toPortal(box, row) : null;
    },
    save(p) {
      upsertStmt.run({ ...portalColumns(box, p), now: iso() });
    },
    saveInstall(p, opts) {
      const c = portalColumns(box, { ...p, status: 'installing', statusReason: null, createdAt: '', updatedAt: '', installedAt: null });
      return toPortal(box, installStmt.get({ ...c, same: opts.sameInstall ? 1 : 0, now: iso() }) as PortalRow);
    },
    saveTokens(memberId, t: PortalTokens, endpoints) {
      db.prepare(
        `UPDATE portals SET access_token_enc = ?, refresh_token_enc = ?, expires_at = ?, updated_at = ?,
           client_endpoint = COALESCE(?, client_endpoint), domain = COALESCE(?, domain) WHERE member_id = ?`,
      ).run(seal(t.accessToken, memberId), seal(t.refreshToken, memberId), t.expiresAt, iso(),
        endpoints?.clientEndpoint ?? null, endpoints?.domain ?? null, memberId);
    },
    saveEndpoint(memberId, e) {
      db.prepare('UPDATE portals SET client_endpoint = ?, domain = ?, updated_at = ? WHERE member_id = ?').run(e.clientEndpoint, e.domain, iso(), memberId);
    },
    setStatus(memberId, status, reason) {
      db.prepare('UPDATE portals SET status = ?, status_reason = ?, updated_at = ? WHERE member_id = ?').run(status, reason, iso(), memberId);
    },
    markInstalled(memberId, at) {
      return db
        .prepare(
          `UPDATE portals SET status = 'active', status_reason = NULL, installed_at = COALESCE(installed_at, ?), updated_at = ?
             WHERE member_id = ? AND status <> 'deleted'`,
        )
        .run(at, iso(), memberId).changes > 0;
    },
    markDeleted(memberId) {
      db.prepare(
        `UPDATE portals SET status = 'deleted', status_reason = 'uninstalled', access_token_enc = NULL, refresh_token_enc = NULL,
           expires_at = NULL, application_token_enc = NULL, updated_at = ? WHERE member_id = ?`,
      ).run(iso(), memberId);
    },
    purge(memberId) {
      // the tables referencing portals go by ON DELETE CASCADE; these two hold the portal's rows
      // without that key (its REST bucket level, its callbacks waiting in the inbox); its leases
      // expire on their own (removing one under a running holder would let a second run start)
      db.transaction(() => {
        for (const t of PURGED_WITHOUT_CASCADE) db.prepare(`DELETE FROM ${t} WHERE member_id = ?`).run(memberId);
        db.prepare('DELETE FROM portals WHERE member_id = ?').run(memberId);
      })();
    },
    countByStatus() {
      const rows = db.prepare('SELECT status, COUNT(*) AS n FROM portals GROUP BY status').all() as Array<{ status: string; n: number }>;
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}
