import type { Db } from './db';
import type { SecretBox } from './secret-box';
import type { UisLink } from '../domain/uis-link';
import type { UisLinkRepository } from '../services/ports';

interface Row {
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

/** SQLite store of UIS links; every secret sealed with the portal's member_id as context. */
export function createSqliteUisLinkRepository(db: Db, box: SecretBox): UisLinkRepository {
  const toLink = (r: Row): UisLink => ({
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
  const byMember = db.prepare('SELECT * FROM uis_links WHERE member_id = ?');
  const byHook = db.prepare('SELECT * FROM uis_links WHERE hook_id = ?');
  const upsert = db.prepare(`
    INSERT INTO uis_links (member_id, project, login, password_enc, data_api_token_enc, account_id, account_name, adapter_id,
      connection_id, adapter_login, adapter_password_enc, hook_id, webhook_secret_enc, linked_at, last_error)
    VALUES (@member_id, @project, @login, @password_enc, @data_api_token_enc, @account_id, @account_name, @adapter_id,
      @connection_id, @adapter_login, @adapter_password_enc, @hook_id, @webhook_secret_enc, @linked_at, @last_error)
    ON CONFLICT (member_id) DO UPDATE SET project = excluded.project, login = excluded.login, password_enc = excluded.password_enc,
      data_api_token_enc = excluded.data_api_token_enc, account_id = excluded.account_id, account_name = excluded.account_name,
      adapter_id = excluded.adapter_id, connection_id = excluded.connection_id, adapter_login = excluded.adapter_login,
      adapter_password_enc = excluded.adapter_password_enc, hook_id = excluded.hook_id,
      webhook_secret_enc = excluded.webhook_secret_enc, linked_at = excluded.linked_at, last_error = excluded.last_error`);
  return {
    get(memberId) {
      const r = byMember.get(memberId) as Row | undefined;
      return r ? toLink(r) : null;
    },
    getByHook(hookId) {
      const r = byHook.get(hookId) as Row | undefined;
      return r ? toLink(r) : null;
    },
    save(l) {
      const m = l.memberId;
      upsert.run({
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
      });
    },
    delete(memberId) {
      db.prepare('DELETE FROM uis_links WHERE member_id = ?').run(memberId);
    },
  };
}
