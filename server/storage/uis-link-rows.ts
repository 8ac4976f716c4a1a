import type { SecretBox } from './secret-box';
import type { UisLink } from '../domain/uis-link';

/**
 * uis_links rows (migration 002) as both stores read and write them (SQLite: uis-link-repository.ts,
 * PostgreSQL: pg/uis-link-store.ts): pure mapping, no SQL. Every secret is sealed with the portal's
 * member_id as the secret box's context.
 */
export interface UisLinkRow {
  member_id: string;
  project: UisLink['project'];
  login: string;
  password_enc: string;
  data_api_token_enc: string;
  account_id: string;
  account_name: string | null;
  adapter_id: string | null;
  connection_id: string | null;
  adapter_login: string;
  adapter_password_enc: string;
  hook_id: string;
  webhook_secret_enc: string;
  linked_at: string;
  last_error: string | null;
}

export const toUisLink = (box: SecretBox, r: UisLinkRow): UisLink => ({
  memberId: r.member_id,
  project: r.project,
  login: r.login,
  password: box.open(r.password_enc, r.member_id),
  dataApiToken: box.open(r.data_api_token_enc, r.member_id),
  accountId: r.account_id,
  accountName: r.account_name,
  adapterId: r.adapter_id,
  connectionId: r.connection_id,
  adapterLogin: r.adapter_login,
  adapterPassword: box.open(r.adapter_password_enc, r.member_id),
  hookId: r.hook_id,
  webhookSecret: box.open(r.webhook_secret_enc, r.member_id),
  linkedAt: r.linked_at,
  lastError: r.last_error,
});

export function uisLinkRow(box: SecretBox, l: UisLink): UisLinkRow {
  const m = l.memberId;
  return {
    member_id: m,
    project: l.project,
    login: l.login,
    password_enc: box.seal(l.password, m),
    data_api_token_enc: box.seal(l.dataApiToken, m),
    account_id: l.accountId,
    account_name: l.accountName,
    adapter_id: l.adapterId,
    connection_id: l.connectionId,
    adapter_login: l.adapterLogin,
    adapter_password_enc: box.seal(l.adapterPassword, m),
    hook_id: l.hookId,
    webhook_secret_enc: box.seal(l.webhookSecret, m),
    linked_at: l.linkedAt,
    last_error: l.lastError,
  };
}
