import type { Db } from './db';
import type { SecretBox } from './secret-box';
import type { Portal, PortalStatus, PortalTokens } from '../domain/portal';
import type { PortalRepository } from '../services/ports';

interface Row {
  member_id: string;
  domain: string;
  client_endpoint: string;
  server_endpoint: string;
  access_token_enc: string | null;
  refresh_token_enc: string | null;
  expires_at: number | null;
  application_token_enc: string | null;
  scopes: string;
  installed_by: number | null;
  status: PortalStatus;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  installed_at: string | null;
}

/** SQLite portal store; tokens and application_token sealed with the portal's member_id as context. */
export function createSqlitePortalRepository(db: Db, box: SecretBox, now: () => number = Date.now): PortalRepository {
  const iso = () => new Date(now()).toISOString();
  const seal = (v: string | null | undefined, memberId: string) => (v ? box.seal(v, memberId) : null);
  const open = (v: string | null, memberId: string) => (v ? box.open(v, memberId) : null);

  const toPortal = (r: Row): Portal => {
    const access = open(r.access_token_enc, r.member_id);
    const refresh = open(r.refresh_token_enc, r.member_id);
    return {
      memberId: r.member_id,
      domain: r.domain,
      clientEndpoint: r.client_endpoint,
      serverEndpoint: r.server_endpoint,
      tokens: access && refresh ? { accessToken: access, refreshToken: refresh, expiresAt: r.expires_at ?? 0 } : null,
      applicationToken: open(r.application_token_enc, r.member_id),
      scopes: r.scopes ? r.scopes.split(',') : [],
      installedBy: r.installed_by,
      status: r.status,
      statusReason: r.status_reason,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      installedAt: r.installed_at,
    };
  };

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

  return {
    get(memberId) {
      const row = getStmt.get(memberId) as Row | undefined;
      return row ? toPortal(row) : null;
    },
    save(p) {
      upsertStmt.run({
        member_id: p.memberId,
        domain: p.domain,
        client_endpoint: p.clientEndpoint,
        server_endpoint: p.serverEndpoint,
        access_token_enc: seal(p.tokens?.accessToken, p.memberId),
        refresh_token_enc: seal(p.tokens?.refreshToken, p.memberId),
        expires_at: p.tokens?.expiresAt ?? null,
        application_token_enc: seal(p.applicationToken, p.memberId),
        scopes: p.scopes.join(','),
        installed_by: p.installedBy,
        status: p.status,
        status_reason: p.statusReason,
        installed_at: p.installedAt,
        now: iso(),
      });
    },
    saveTokens(memberId, t: PortalTokens, endpoints) {
      db.prepare(
        `UPDATE portals SET access_token_enc = ?, refresh_token_enc = ?, expires_at = ?, updated_at = ?,
           client_endpoint = COALESCE(?, client_endpoint), domain = COALESCE(?, domain) WHERE member_id = ?`,
      ).run(seal(t.accessToken, memberId), seal(t.refreshToken, memberId), t.expiresAt, iso(),
        endpoints?.clientEndpoint ?? null, endpoints?.domain ?? null, memberId);
    },
    setStatus(memberId, status, reason) {
      db.prepare('UPDATE portals SET status = ?, status_reason = ?, updated_at = ? WHERE member_id = ?').run(status, reason, iso(), memberId);
    },
    markDeleted(memberId) {
      db.prepare(
        `UPDATE portals SET status = 'deleted', status_reason = 'uninstalled', access_token_enc = NULL, refresh_token_enc = NULL,
           expires_at = NULL, application_token_enc = NULL, updated_at = ? WHERE member_id = ?`,
      ).run(iso(), memberId);
    },
    purge(memberId) {
      db.prepare('DELETE FROM portals WHERE member_id = ?').run(memberId);
    },
    countByStatus() {
      const rows = db.prepare('SELECT status, COUNT(*) AS n FROM portals GROUP BY status').all() as Array<{ status: string; n: number }>;
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}
