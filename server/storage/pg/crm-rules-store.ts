import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';
import type { CrmRulesRepository } from '../../services/crm-rules/ports';
import type { AsyncPort } from '../../services/async-port';
import { crmRulesEnabled, crmRulesWithoutChannel, parseCrmDirectory, parseCrmRules } from '../crm-rules-rows';
import { pgText } from './nul';

/**
 * The «Чаты» / «Оффлайн заявки» rules and the CRM directory cache in PostgreSQL (migrations-pg/008),
 * the counterpart of ../crm-rules-repository.ts with the same behaviour; rows read by
 * ../crm-rules-rows.ts. Each save is one upsert (the last one wins, as in SQLite). `removeChannel`
 * reads and rewrites the settings with the row locked (SELECT … FOR UPDATE): the JSON is patched
 * here, not in SQL, for the reason below.
 *
 * The switch is read from the settings' JSON here, not in SQL: PostgreSQL's JSON functions refuse
 * a `\u0000` escape, which JSON.stringify writes for U+0000 in a template or a name (SQLite's
 * json_extract takes it). The directory's fetchedAt is the only free text outside JSON (./nul.ts).
 */
export function createPgCrmRulesStore(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<CrmRulesRepository> {
  const iso = () => new Date(now()).toISOString();
  return {
    async get(memberId, kind) {
      const r = await db.selectFrom('crm_rules_settings').select(['settings', 'updated_at']).where('member_id', '=', memberId).where('kind', '=', kind).executeTakeFirst();
      return r ? { settings: parseCrmRules(r.settings), updatedAt: r.updated_at } : null;
    },
    async save(memberId, kind, settings) {
      await db
        .insertInto('crm_rules_settings')
        .values({ member_id: memberId, kind, settings: JSON.stringify(settings), updated_at: iso() })
        .onConflict((oc) => oc.columns(['member_id', 'kind']).doUpdateSet({ settings: (eb) => eb.ref('excluded.settings'), updated_at: (eb) => eb.ref('excluded.updated_at') }))
        .execute();
    },
    async removeChannel(memberId, kind, channel) {
      // the row locked from the read to the write (FOR UPDATE): a save of another instance waits for it, or went before
      const change = async (trx: Kysely<PgSchema>) => {
        const r = await trx.selectFrom('crm_rules_settings').select('settings').where('member_id', '=', memberId).where('kind', '=', kind).forUpdate().executeTakeFirst();
        const next = r ? crmRulesWithoutChannel(r.settings, channel) : null;
        if (next === null) return false;
        await trx.updateTable('crm_rules_settings').set({ settings: next, updated_at: iso() }).where('member_id', '=', memberId).where('kind', '=', kind).execute();
        return true;
      };
      return db.isTransaction ? change(db) : db.transaction().execute(change);
    },
    async isEnabled(memberId, kind) {
      const r = await db.selectFrom('crm_rules_settings').select('settings').where('member_id', '=', memberId).where('kind', '=', kind).executeTakeFirst();
      return r ? crmRulesEnabled(r.settings) : false;
    },
    async enabledPortals(kind) {
      const rows = await db.selectFrom('crm_rules_settings').select(['member_id', 'settings']).where('kind', '=', kind).orderBy(sql`member_id COLLATE "C"`).execute();
      return rows.filter((r) => crmRulesEnabled(r.settings)).map((r) => r.member_id);
    },
    async getDirectory(memberId) {
      const r = await db.selectFrom('crm_directory').select('data').where('member_id', '=', memberId).executeTakeFirst();
      // a cache written by an older shape is simply refetched
      return r ? parseCrmDirectory(r.data) : null;
    },
    async saveDirectory(memberId, directory) {
      await db
        .insertInto('crm_directory')
        .values({ member_id: memberId, data: JSON.stringify(directory), fetched_at: pgText(directory.fetchedAt) })
        .onConflict((oc) => oc.column('member_id').doUpdateSet({ data: (eb) => eb.ref('excluded.data'), fetched_at: (eb) => eb.ref('excluded.fetched_at') }))
        .execute();
    },
  };
}
