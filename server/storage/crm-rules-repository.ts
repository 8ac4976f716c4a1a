import type { Db } from './db';
import { crmRulesWithoutChannel, parseCrmDirectory, parseCrmRules } from './crm-rules-rows';
import type { CrmRulesRepository } from '../services/crm-rules/ports';

export function createSqliteCrmRulesRepository(db: Db, now: () => number = Date.now): CrmRulesRepository {
  const iso = () => new Date(now()).toISOString();
  const q = {
    get: db.prepare('SELECT settings, updated_at FROM crm_rules_settings WHERE member_id = ? AND kind = ?'),
    save: db.prepare(
      `INSERT INTO crm_rules_settings (member_id, kind, settings, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id, kind) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
    ),
    enabledPortals: db.prepare(`SELECT member_id FROM crm_rules_settings WHERE kind = ? AND json_extract(settings, '$.enabled') = 1`).pluck(),
    enabled: db.prepare(`SELECT json_extract(settings, '$.enabled') FROM crm_rules_settings WHERE member_id = ? AND kind = ?`).pluck(),
    getDirectory: db.prepare('SELECT data FROM crm_directory WHERE member_id = ?'),
    saveDirectory: db.prepare(
      `INSERT INTO crm_directory (member_id, data, fetched_at) VALUES (?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET data = excluded.data, fetched_at = excluded.fetched_at`,
    ),
  };
  return {
    get(memberId, kind) {
      const r = q.get.get(memberId, kind) as { settings: string; updated_at: string } | undefined;
      return r ? { settings: parseCrmRules(r.settings), updatedAt: r.updated_at } : null;
    },
    save(memberId, kind, settings) {
      q.save.run(memberId, kind, JSON.stringify(settings), iso());
    },
    removeChannel(memberId, kind, channel) {
      // synchronous, and IMMEDIATE: nothing of this process runs between the read and the write, and
      // another process on the same file waits for the write lock instead of failing the upgrade
      const change = db.transaction(() => {
        const r = q.get.get(memberId, kind) as { settings: string } | undefined;
        const next = r ? crmRulesWithoutChannel(r.settings, channel) : null;
        if (next === null) return false;
        q.save.run(memberId, kind, next, iso());
        return true;
      });
      return db.inTransaction ? change() : change.immediate();
    },
    isEnabled(memberId, kind) {
      return q.enabled.get(memberId, kind) === 1;
    },
    enabledPortals(kind) {
      return q.enabledPortals.all(kind) as string[];
    },
    getDirectory(memberId) {
      const r = q.getDirectory.get(memberId) as { data: string } | undefined;
      // a cache written by an older shape is simply refetched
      return r ? parseCrmDirectory(r.data) : null;
    },
    saveDirectory(memberId, directory) {
      q.saveDirectory.run(memberId, JSON.stringify(directory), directory.fetchedAt);
    },
  };
}
