import type { Db } from './db';
import type { SecretBox } from './secret-box';
import { toUisLink, uisLinkRow, type UisLinkRow } from './uis-link-rows';
import type { UisLinkRepository } from '../services/ports';

/** SQLite store of UIS links; every secret sealed with the portal's member_id as context (rows: uis-link-rows.ts). */
export function createSqliteUisLinkRepository(db: Db, box: SecretBox): UisLinkRepository {
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
      const r = byMember.get(memberId) as UisLinkRow | undefined;
      return r ? toUisLink(box, r) : null;
    },
    getByHook(hookId) {
      const r = byHook.get(hookId) as UisLinkRow | undefined;
      return r ? toUisLink(box, r) : null;
    },
    save(l) {
      upsert.run(uisLinkRow(box, l));
    },
    delete(memberId) {
      db.prepare('DELETE FROM uis_links WHERE member_id = ?').run(memberId);
    },
  };
}
