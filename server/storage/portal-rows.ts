import type { SecretBox } from './secret-box';
import type { Portal, PortalStatus } from '../domain/portal';

/**
 * portals rows (migration 001) as both stores read and write them (SQLite: portal-repository.ts,
 * PostgreSQL: pg/portal-store.ts): pure mapping, no SQL. The OAuth pair and the application token
 * are sealed with the portal's member_id as the secret box's context; an empty one is stored as NULL.
 */
export interface PortalRow {
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

export const sealPortalSecret = (box: SecretBox, v: string | null | undefined, memberId: string): string | null => (v ? box.seal(v, memberId) : null);

export function toPortal(box: SecretBox, r: PortalRow): Portal {
  const open = (v: string | null) => (v ? box.open(v, r.member_id) : null);
  const access = open(r.access_token_enc);
  const refresh = open(r.refresh_token_enc);
  return {
    memberId: r.member_id,
    domain: r.domain,
    clientEndpoint: r.client_endpoint,
    serverEndpoint: r.server_endpoint,
    tokens: access && refresh ? { accessToken: access, refreshToken: refresh, expiresAt: r.expires_at ?? 0 } : null,
    applicationToken: open(r.application_token_enc),
    scopes: r.scopes ? r.scopes.split(',') : [],
    installedBy: r.installed_by,
    status: r.status,
    statusReason: r.status_reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    installedAt: r.installed_at,
  };
}

/** The row's columns for an insert or replace of every field but created_at/updated_at. */
export function portalColumns(box: SecretBox, p: Portal): Omit<PortalRow, 'created_at' | 'updated_at'> {
  return {
    member_id: p.memberId,
    domain: p.domain,
    client_endpoint: p.clientEndpoint,
    server_endpoint: p.serverEndpoint,
    access_token_enc: sealPortalSecret(box, p.tokens?.accessToken, p.memberId),
    refresh_token_enc: sealPortalSecret(box, p.tokens?.refreshToken, p.memberId),
    expires_at: p.tokens?.expiresAt ?? null,
    application_token_enc: sealPortalSecret(box, p.applicationToken, p.memberId),
    scopes: p.scopes.join(','),
    installed_by: p.installedBy,
    status: p.status,
    status_reason: p.statusReason,
    installed_at: p.installedAt,
  };
}

/** Tables holding a portal's rows without a foreign key to portals: purge deletes from them too (both stores). */
export const PURGED_WITHOUT_CASCADE = ['rest_buckets', 'uis_callback_inbox'] as const;
