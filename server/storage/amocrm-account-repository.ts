import type { AmoAccountRepository } from '../services/chat-sources/ports';
import { amoSecretContext as ctx, STATUS_REASON_MAX, toAmoConnection as toConnection, type AmoAccountRow as Row } from './amocrm-account-rows';
import type { Db } from './db';
import type { SecretBox } from './secret-box';

/**
 * The connected amoCRM account of a portal (migration 019): the OAuth pair sealed at rest with the
 * portal as context (secret-box.ts), saved compare-and-set on the refresh token it replaces, and a
 * refresh lease so that one process at a time uses the single-use refresh token. Rows are mapped by
 * amocrm-account-rows.ts, shared with the PostgreSQL store (pg/amocrm-account-store.ts).
 */
export function createSqliteAmoAccountRepository(db: Db, box: SecretBox, now: () => number = Date.now): AmoAccountRepository {
  const iso = () => new Date(now()).toISOString();
  const row = (memberId: string) => db.prepare('SELECT * FROM amocrm_accounts WHERE member_id = ?').get(memberId) as Row | undefined;

  return {
    async get(memberId) {
      const r = row(memberId);
      return r ? toConnection(r) : null;
    },
    async connect(c, tokens, at) {
      db.prepare(
        `INSERT INTO amocrm_accounts (member_id, name, origin, account_id, access_token, refresh_token, expires_at, refreshed_at, status, status_reason,
           refresh_lease_until, webhook_mode, webhook_disabled, webhook_detail, connected_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', NULL, NULL, ?, ?, ?, ?, ?)
         ON CONFLICT (member_id) DO UPDATE SET name = excluded.name, origin = excluded.origin, account_id = excluded.account_id,
           access_token = excluded.access_token, refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
           refreshed_at = excluded.refreshed_at, status = 'active', status_reason = NULL, refresh_lease_until = NULL,
           webhook_mode = excluded.webhook_mode, webhook_disabled = excluded.webhook_disabled, webhook_detail = excluded.webhook_detail,
           connected_at = excluded.connected_at, updated_at = excluded.updated_at`,
      ).run(
        c.memberId,
        c.name,
        c.origin,
        c.accountId,
        box.seal(tokens.accessToken, ctx(c.memberId)),
        box.seal(tokens.refreshToken, ctx(c.memberId)),
        tokens.expiresAt,
        at,
        c.webhook.mode,
        c.webhook.disabled ? 1 : 0,
        c.webhook.detail,
        c.connectedAt,
        iso(),
      );
    },
    async setWebhook(memberId, w) {
      db.prepare('UPDATE amocrm_accounts SET webhook_mode = ?, webhook_disabled = ?, webhook_detail = ?, updated_at = ? WHERE member_id = ?').run(w.mode, w.disabled ? 1 : 0, w.detail, iso(), memberId);
    },
    async remove(memberId) {
      db.prepare('DELETE FROM amocrm_accounts WHERE member_id = ?').run(memberId);
    },
    async connected() {
      return (db.prepare('SELECT * FROM amocrm_accounts ORDER BY member_id').all() as Row[]).map(toConnection);
    },
    async load(memberId) {
      const r = row(memberId);
      if (!r) return null;
      return {
        origin: r.origin,
        status: r.status,
        tokens: { accessToken: box.open(r.access_token, ctx(memberId)), refreshToken: box.open(r.refresh_token, ctx(memberId)), expiresAt: r.expires_at },
      };
    },
    async saveTokens(memberId, tokens, previousRefresh) {
      const r = row(memberId);
      if (!r || box.open(r.refresh_token, ctx(memberId)) !== previousRefresh) return false;
      const changed = db
        .prepare('UPDATE amocrm_accounts SET access_token = ?, refresh_token = ?, expires_at = ?, refreshed_at = ?, updated_at = ? WHERE member_id = ? AND refresh_token = ?')
        .run(box.seal(tokens.accessToken, ctx(memberId)), box.seal(tokens.refreshToken, ctx(memberId)), tokens.expiresAt, now(), iso(), memberId, r.refresh_token);
      return changed.changes === 1;
    },
    async leaseRefresh(memberId, until, at) {
      const r = db.prepare('UPDATE amocrm_accounts SET refresh_lease_until = ? WHERE member_id = ? AND (refresh_lease_until IS NULL OR refresh_lease_until < ?)').run(until, memberId, at);
      return r.changes === 1;
    },
    async releaseRefresh(memberId) {
      db.prepare('UPDATE amocrm_accounts SET refresh_lease_until = NULL WHERE member_id = ?').run(memberId);
    },
    async setStatus(memberId, status, reason) {
      db.prepare('UPDATE amocrm_accounts SET status = ?, status_reason = ?, updated_at = ? WHERE member_id = ?').run(status, reason?.slice(0, STATUS_REASON_MAX) ?? null, iso(), memberId);
    },
  };
}
