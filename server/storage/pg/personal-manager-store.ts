import { sql, type Kysely, type Transaction } from 'kysely';
import type { PgSchema } from './schema';
import type { CrmEntityType } from '../../domain/crm-rules/types';
import type { PersonalManagerRepository, PmEntity, PmRef } from '../../services/personal-manager/ports';
import { pmFound, type PmEntityRow } from '../personal-manager-repository';

/**
 * The personal-manager map in PostgreSQL (migrations-pg/024, 028, 029), the counterpart of
 * ../personal-manager-repository.ts. What SQLite does in one transaction is one here too; a read
 * (`put`) is one upsert of all its rows (ON CONFLICT … WHERE excluded.read_at >= read_at …
 * RETURNING the rows it replaced, in key order so concurrent reads lock items in one order), and
 * only the replaced rows get their phones rewritten: an item's phones change only under its row's
 * lock, so reads racing on several instances leave the newest read's numbers. The asks counter is
 * one upsert (every answer counted once); the employee numbers of a portal are replaced under a
 * per-portal transaction lock. Times are BIGINT ms: a fractional one is rounded.
 */
export function createPgPersonalManagerStore(db: Kysely<PgSchema>): PersonalManagerRepository {
  const whole = (v: number) => Math.round(v);
  /** `col <= t` over whole ms: the same rows as with the fractional t */
  const upTo = (t: number) => Math.floor(t);
  const key = (r: PmRef) => `${r.type}:${r.id}`;
  /** each item once (a repeat in one statement would be an error in PostgreSQL), in key order */
  const distinct = <T extends PmRef>(list: readonly T[]): T[] => {
    const m = new Map<string, T>();
    for (const r of list) {
      m.delete(key(r)); // the last one wins, as SQLite's statements one after another
      m.set(key(r), r);
    }
    return [...m.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.id - b.id));
  };
  const refs = (rows: Array<{ entity_type: string; entity_id: number }>): PmRef[] => rows.map((r) => ({ type: r.entity_type as CrmEntityType, id: Number(r.entity_id) }));
  /** (entity_type, entity_id) IN ((…), …) */
  const inRefs = (list: readonly PmRef[]) => sql<boolean>`(entity_type, entity_id) IN (${sql.join(list.map((r) => sql`(${r.type}, ${r.id})`))})`;
  const CHUNK = 500;

  async function put(trx: Transaction<PgSchema>, m: string, entities: readonly PmEntity[], gone: readonly PmRef[], readAt: number): Promise<void> {
    type Row = { type: CrmEntityType; id: number; entity: PmEntity | null };
    // entities first, then the tombstones: an item in both ends deleted, as in SQLite's loop
    const numbersOf = new Map<string, string[]>();
    for (const e of entities) numbersOf.set(key(e), [...(numbersOf.get(key(e)) ?? []), ...e.phones]);
    const stored = new Set<string>();
    const rows = distinct<Row>([...entities.map((e) => ({ type: e.type, id: e.id, entity: e })), ...gone.map((g) => ({ type: g.type, id: g.id, entity: null }))]);
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const written = await trx
        .insertInto('pm_entities')
        .values(
          chunk.map(({ type, id, entity: e }) => ({
            member_id: m,
            entity_type: type,
            entity_id: id,
            responsible_id: e ? e.responsibleId : null,
            closed: e?.closed ? 1 : 0,
            created_at: e ? whole(e.createdAt) : 0,
            contact_id: e ? e.contactId : null,
            company_id: e ? e.companyId : null,
            lead_id: e ? e.leadId : null,
            deleted: e ? 0 : 1,
            read_at: whole(readAt),
          })),
        )
        .onConflict((oc) =>
          oc
            .columns(['member_id', 'entity_type', 'entity_id'])
            .doUpdateSet((eb) => ({
              responsible_id: eb.ref('excluded.responsible_id'),
              closed: eb.ref('excluded.closed'),
              created_at: eb.ref('excluded.created_at'),
              contact_id: eb.ref('excluded.contact_id'),
              company_id: eb.ref('excluded.company_id'),
              lead_id: eb.ref('excluded.lead_id'),
              deleted: eb.ref('excluded.deleted'),
              read_at: eb.ref('excluded.read_at'),
            }))
            .where((eb) => eb('excluded.read_at', '>=', eb.ref('pm_entities.read_at'))),
        )
        .returning(['entity_type', 'entity_id'])
        .execute();
      if (!written.length) continue; // newer reads are stored
      const replaced = new Set(written.map((r) => `${r.entity_type}:${Number(r.entity_id)}`));
      const mine = chunk.filter((r) => replaced.has(key(r)));
      await trx.deleteFrom('pm_phones').where('member_id', '=', m).where(inRefs(mine)).execute();
      const phones = mine.flatMap((r) => (r.entity ? [...new Set(r.entity.phones)].map((phone) => ({ member_id: m, phone, entity_type: r.type, entity_id: r.id })) : []));
      for (let j = 0; j < phones.length; j += CHUNK) {
        await trx.insertInto('pm_phones').values(phones.slice(j, j + CHUNK)).onConflict((oc) => oc.doNothing()).execute();
      }
      // the numbers of every stored item stop being misses (an item then listed as gone too included, as in SQLite)
      for (const r of mine) for (const phone of numbersOf.get(key(r)) ?? []) stored.add(phone);
    }
    // after every item's lock is held, in one order: reads racing never wait on each other crosswise
    const numbers = [...stored].sort();
    for (let j = 0; j < numbers.length; j += CHUNK) {
      await trx.deleteFrom('pm_misses').where('member_id', '=', m).where('phone', 'in', numbers.slice(j, j + CHUNK)).execute();
    }
  }

  return {
    async clientOf(memberId, phone) {
      // the items with the number, then the leads and deals linked to them (each branch by its index)
      const r = await sql<PmEntityRow & { src: number }>`
        WITH d AS (
          SELECT e.entity_type, e.entity_id, e.responsible_id, e.closed, e.created_at FROM pm_phones p
          JOIN pm_entities e ON e.member_id = p.member_id AND e.entity_type = p.entity_type AND e.entity_id = p.entity_id
          WHERE p.member_id = ${memberId} AND p.phone = ${phone} AND e.deleted = 0
        )
        SELECT 0 AS src, entity_type, entity_id, responsible_id, closed, created_at FROM d
        UNION ALL
        SELECT 1, e.entity_type, e.entity_id, e.responsible_id, e.closed, e.created_at FROM d JOIN pm_entities e
          ON e.member_id = ${memberId} AND e.contact_id = d.entity_id AND e.deleted = 0 AND e.entity_type IN ('lead', 'deal')
          WHERE d.entity_type = 'contact'
        UNION ALL
        SELECT 1, e.entity_type, e.entity_id, e.responsible_id, e.closed, e.created_at FROM d JOIN pm_entities e
          ON e.member_id = ${memberId} AND e.company_id = d.entity_id AND e.deleted = 0 AND e.entity_type IN ('lead', 'deal')
          WHERE d.entity_type = 'company'
        UNION ALL
        SELECT 1, e.entity_type, e.entity_id, e.responsible_id, e.closed, e.created_at FROM d JOIN pm_entities e
          ON e.member_id = ${memberId} AND e.lead_id = d.entity_id AND e.deleted = 0 AND e.entity_type = 'deal'
          WHERE d.entity_type = 'lead'
        ORDER BY src, entity_type, entity_id`.execute(db);
      return r.rows.some((x) => x.src === 0) ? pmFound(r.rows) : null;
    },
    async put(memberId, p) {
      if (!p.entities.length && !p.gone.length) return;
      await db.transaction().execute((trx) => put(trx, memberId, p.entities, p.gone, p.readAt));
    },
    async known(memberId, list) {
      if (!list.length) return [];
      const have = new Set<string>();
      const all = distinct(list);
      for (let i = 0; i < all.length; i += CHUNK) {
        const rows = await db.selectFrom('pm_entities').select(['entity_type', 'entity_id']).where('member_id', '=', memberId).where(inRefs(all.slice(i, i + CHUNK))).execute();
        for (const r of refs(rows)) have.add(key(r));
      }
      return list.filter((r) => have.has(key(r)));
    },
    async saveMiss(memberId, phone, untilAt) {
      await db
        .insertInto('pm_misses')
        .values({ member_id: memberId, phone, until_at: whole(untilAt) })
        .onConflict((oc) => oc.columns(['member_id', 'phone']).doUpdateSet({ until_at: (eb) => eb.ref('excluded.until_at') }))
        .execute();
    },
    async isMiss(memberId, phone, now) {
      const r = await db.selectFrom('pm_misses').select('until_at').where('member_id', '=', memberId).where('phone', '=', phone).executeTakeFirst();
      return r !== undefined && Number(r.until_at) > now;
    },
    async markDirty(memberId, list, dueAt) {
      const all = distinct(list);
      for (let i = 0; i < all.length; i += CHUNK) {
        await db
          .insertInto('pm_dirty')
          .values(all.slice(i, i + CHUNK).map((r) => ({ member_id: memberId, entity_type: r.type, entity_id: r.id, due_at: whole(dueAt) })))
          .onConflict((oc) =>
            oc.columns(['member_id', 'entity_type', 'entity_id']).doUpdateSet({
              // an item already waiting keeps the earlier time
              due_at: sql<number>`LEAST(pm_dirty.due_at, excluded.due_at)`,
              attempts: 0,
            }),
          )
          .execute();
      }
    },
    async dirty(memberId, now, limit) {
      const rows = await db
        .selectFrom('pm_dirty')
        .select(['entity_type', 'entity_id'])
        .where('member_id', '=', memberId)
        .where('due_at', '<=', upTo(now))
        .orderBy('due_at')
        .orderBy('entity_type')
        .orderBy('entity_id')
        .limit(limit)
        .execute();
      return refs(rows);
    },
    async clearDirty(memberId, list) {
      const all = distinct(list);
      if (!all.length) return;
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < all.length; i += CHUNK) await trx.deleteFrom('pm_dirty').where('member_id', '=', memberId).where(inRefs(all.slice(i, i + CHUNK))).execute();
      });
    },
    async retryDirty(memberId, list, dueAt, maxAttempts) {
      const all = distinct(list);
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < all.length; i += CHUNK) {
          await trx
            .updateTable('pm_dirty')
            .set((eb) => ({ due_at: whole(dueAt), attempts: eb('attempts', '+', 1) }))
            .where('member_id', '=', memberId)
            .where(inRefs(all.slice(i, i + CHUNK)))
            .execute();
        }
        await trx.deleteFrom('pm_dirty').where('member_id', '=', memberId).where('attempts', '>=', maxAttempts).execute();
      });
    },
    async portalsWithDirty(now) {
      const rows = await db.selectFrom('pm_dirty').select('member_id').distinct().where('due_at', '<=', upTo(now)).execute();
      return rows.map((r) => r.member_id);
    },
    async nextDirtyAt() {
      const r = await db.selectFrom('pm_dirty').select((eb) => eb.fn.min('due_at').as('at')).executeTakeFirst();
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
    async stale(memberId, before, limit) {
      const rows = await db
        .selectFrom('pm_entities')
        .select(['entity_type', 'entity_id'])
        .where('member_id', '=', memberId)
        .where('deleted', '=', 0)
        .where('read_at', '<', Math.ceil(before))
        .orderBy('read_at')
        .orderBy('entity_type')
        .orderBy('entity_id')
        .limit(limit)
        .execute();
      return refs(rows);
    },
    async warmup(memberId) {
      const rows = await db.selectFrom('pm_warmup').select(['entity_type', 'after_id', 'done']).where('member_id', '=', memberId).execute();
      return Object.fromEntries(rows.map((r) => [r.entity_type, { afterId: Number(r.after_id), done: r.done === 1 }]));
    },
    async saveWarmup(memberId, type, p) {
      await db
        .insertInto('pm_warmup')
        .values({ member_id: memberId, entity_type: type, after_id: p.afterId, done: p.done ? 1 : 0, updated_at: whole(p.at) })
        .onConflict((oc) =>
          oc.columns(['member_id', 'entity_type']).doUpdateSet((eb) => ({ after_id: eb.ref('excluded.after_id'), done: eb.ref('excluded.done'), updated_at: eb.ref('excluded.updated_at') })),
        )
        .execute();
    },
    async resetWarmup(memberId) {
      await db.deleteFrom('pm_warmup').where('member_id', '=', memberId).execute();
    },
    async prune(memberId, now, tombstonesBefore) {
      const misses = await db.deleteFrom('pm_misses').where('member_id', '=', memberId).where('until_at', '<=', upTo(now)).executeTakeFirst();
      const tombstones = await db.deleteFrom('pm_entities').where('member_id', '=', memberId).where('deleted', '=', 1).where('read_at', '<', Math.ceil(tombstonesBefore)).executeTakeFirst();
      return { misses: Number(misses.numDeletedRows), tombstones: Number(tombstones.numDeletedRows) };
    },
    async noteAsk(memberId, p) {
      await db
        .insertInto('pm_asks')
        .values({ member_id: memberId, asked: 1, with_manager: p.withManager ? 1 : 0, last_at: whole(p.at), last_outcome: p.outcome })
        .onConflict((oc) =>
          oc.column('member_id').doUpdateSet((eb) => ({
            asked: eb('pm_asks.asked', '+', 1),
            with_manager: eb('pm_asks.with_manager', '+', eb.ref('excluded.with_manager')),
            last_at: eb.ref('excluded.last_at'),
            last_outcome: eb.ref('excluded.last_outcome'),
          })),
        )
        .execute();
    },
    async asks(memberId) {
      const r = await db.selectFrom('pm_asks').select(['asked', 'with_manager', 'last_at', 'last_outcome']).where('member_id', '=', memberId).executeTakeFirst();
      return r ? { asked: Number(r.asked), withManager: Number(r.with_manager), lastAt: Number(r.last_at), lastOutcome: r.last_outcome } : null;
    },
    async employeePhones(memberId, uisEmployeeId) {
      const r = await db.selectFrom('pm_employee_phones').select('phones').where('member_id', '=', memberId).where('uis_employee_id', '=', uisEmployeeId).executeTakeFirst();
      return r === undefined ? null : (JSON.parse(r.phones) as string[]);
    },
    async saveEmployeePhones(memberId, rows, readAt) {
      await db.transaction().execute(async (trx) => {
        // one replacement of a portal's numbers at a time: two reads replacing them at once would mix
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`pm_employee_phones:${memberId}`}, 0))`.execute(trx);
        await trx.deleteFrom('pm_employee_phones').where('member_id', '=', memberId).execute();
        const values = rows.map((r) => ({
          member_id: memberId,
          uis_employee_id: r.uisEmployeeId,
          phones: JSON.stringify(r.phones),
          read_at: whole(readAt),
        }));
        for (let i = 0; i < values.length; i += CHUNK) await trx.insertInto('pm_employee_phones').values(values.slice(i, i + CHUNK)).execute();
      });
    },
    async employeePhonesReadAt(memberId) {
      const r = await db.selectFrom('pm_employee_phones').select((eb) => eb.fn.max('read_at').as('at')).where('member_id', '=', memberId).executeTakeFirst();
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
  };
}
