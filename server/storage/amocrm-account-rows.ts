import type { AmoConnectionRow } from '../services/chat-sources/ports';

/**
 * amocrm_accounts rows (migration 019) as both stores read them (SQLite:
 * amocrm-account-repository.ts, PostgreSQL: pg/amocrm-account-store.ts): pure mapping, no SQL.
 */
export interface AmoAccountRow {
  member_id: string;
  name: string;
  origin: string;
  account_id: number;
  access_token: string;
  refresh_token: string;
  expires_at: number;
  refreshed_at: number;
  status: 'active' | 'reauth';
  status_reason: string | null;
  webhook_mode: 'api' | 'manual';
  webhook_disabled: number;
  webhook_detail: string | null;
  connected_at: number;
}

export const toAmoConnection = (r: AmoAccountRow): AmoConnectionRow => ({
  memberId: r.member_id,
  name: r.name,
  origin: r.origin,
  accountId: r.account_id,
  expiresAt: r.expires_at,
  refreshedAt: r.refreshed_at,
  status: r.status,
  statusReason: r.status_reason,
  webhook: { mode: r.webhook_mode, disabled: r.webhook_disabled === 1, detail: r.webhook_detail },
  connectedAt: r.connected_at,
});

/** The secret box's context of a portal's amoCRM tokens: a sealed pair copied to another portal's row fails to open. */
export const amoSecretContext = (memberId: string): string => `amocrm:${memberId}`;

/** The longest status reason kept. */
export const STATUS_REASON_MAX = 300;
