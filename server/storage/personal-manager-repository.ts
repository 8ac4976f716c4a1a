import type { Db } from './db';
import type { CrmEntityType, Found, FoundEntity } from '../domain/crm-rules/types';
import type { PersonalManagerRepository, PmEntity, PmRef } from '../services/personal-manager/ports';

/** A pm_entities row as clientOf reads it (shared with the PostgreSQL store, ./pg/personal-manager-store.ts). */
export interface PmEntityRow {
  entity_type: CrmEntityType;
  entity_id: number;
  responsible_id: number | null;
  closed: number;
  created_at: number;
}
type EntityRow = PmEntityRow;

const found = (e: EntityRow): FoundEntity => ({ id: Number(e.entity_id), closed: e.closed === 1, createdAt: Number(e.created_at), responsibleId: e.responsible_id === null ? null : Number(e.responsible_id) });

/** The client of a number: the items carrying it, then the ones linked to them, each item once, by type. */
export function pmFound(rows: readonly PmEntityRow[]): Found {
  const out: Found = { contacts: [], companies: [], leads: [], deals: [] };
  const lists = { contact: out.contacts, company: out.companies, lead: out.leads, deal: out.deals };
  const seen = new Set<string>();
  for (const r of rows) {
    const key = `${r.entity_type}:${r.entity_id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lists[r.entity_type].push(found(r));
  }
  return out;
}

/**
 * The personal-manager map over better-sqlite3 (migrations 024, 028, 029). Portable SQL (upserts with ON
 * CONFLICT … WHERE, no SQLite-only functions); the port is asynchronous.
 */
export function createSqlitePersonalManagerRepository(db: Db): PersonalManagerRepository {
  const q = {
    // the items with the number (the phone index first: CROSS JOIN fixes the order), then per item
    // the leads and deals linked to it, each by its own index — a few index lookups per call
    direct: db.prepare(
      `SELECT e.entity_type, e.entity_id, e.responsible_id, e.closed, e.created_at FROM pm_phones p CROSS JOIN pm_entities e
       WHERE p.member_id = ? AND p.phone = ? AND e.member_id = p.member_id AND e.entity_type = p.entity_type AND e.entity_id = p.entity_id AND e.deleted = 0`,
    ),
    byContact: db.prepare(
      `SELECT entity_type, entity_id, responsible_id, closed, created_at FROM pm_entities
       WHERE member_id = ? AND contact_id = ? AND deleted = 0 AND entity_type IN ('lead', 'deal')`,
    ),
    byCompany: db.prepare(
      `SELECT entity_type, entity_id, responsible_id, closed, created_at FROM pm_entities
       WHERE member_id = ? AND company_id = ? AND deleted = 0 AND entity_type IN ('lead', 'deal')`,
    ),
    byLead: db.prepare(
      `SELECT entity_type, entity_id, responsible_id, closed, created_at FROM pm_entities
       WHERE member_id = ? AND lead_id = ? AND deleted = 0 AND entity_type = 'deal'`,
    ),
    upsert: db.prepare(
      `INSERT INTO pm_entities (member_id, entity_type, entity_id, responsible_id, closed, created_at, contact_id, company_id, lead_id, deleted, read_at)
       VALUES (@m, @type, @id, @responsibleId, @closed, @createdAt, @contactId, @companyId, @leadId, @deleted, @readAt)
       ON CONFLICT (member_id, entity_type, entity_id) DO UPDATE SET
         responsible_id = excluded.responsible_id, closed = excluded.closed, created_at = excluded.created_at,
         contact_id = excluded.contact_id, company_id = excluded.company_id, lead_id = excluded.lead_id,
         deleted = excluded.deleted, read_at = excluded.read_at
       WHERE excluded.read_at >= pm_entities.read_at`,
    ),
    dropPhones: db.prepare('DELETE FROM pm_phones WHERE member_id = ? AND entity_type = ? AND entity_id = ?'),
    addPhone: db.prepare('INSERT INTO pm_phones (member_id, phone, entity_type, entity_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    dropMiss: db.prepare('DELETE FROM pm_misses WHERE member_id = ? AND phone = ?'),
    known: db.prepare('SELECT 1 FROM pm_entities WHERE member_id = ? AND entity_type = ? AND entity_id = ?').pluck(),
    saveMiss: db.prepare(
      `INSERT INTO pm_misses (member_id, phone, until_at) VALUES (?, ?, ?)
       ON CONFLICT (member_id, phone) DO UPDATE SET until_at = excluded.until_at`,
    ),
    miss: db.prepare('SELECT until_at FROM pm_misses WHERE member_id = ? AND phone = ?').pluck(),
    markDirty: db.prepare(
      `INSERT INTO pm_dirty (member_id, entity_type, entity_id, due_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id, entity_type, entity_id) DO UPDATE SET due_at = CASE WHEN pm_dirty.due_at < excluded.due_at THEN pm_dirty.due_at ELSE excluded.due_at END, attempts = 0`,
    ),
    dirty: db.prepare('SELECT entity_type, entity_id FROM pm_dirty WHERE member_id = ? AND due_at <= ? ORDER BY due_at LIMIT ?'),
    clearDirty: db.prepare('DELETE FROM pm_dirty WHERE member_id = ? AND entity_type = ? AND entity_id = ?'),
    retryDirty: db.prepare('UPDATE pm_dirty SET due_at = ?, attempts = attempts + 1 WHERE member_id = ? AND entity_type = ? AND entity_id = ?'),
    dropTired: db.prepare('DELETE FROM pm_dirty WHERE member_id = ? AND attempts >= ?'),
    portals: db.prepare('SELECT DISTINCT member_id FROM pm_dirty WHERE due_at <= ?').pluck(),
    next: db.prepare('SELECT MIN(due_at) FROM pm_dirty').pluck(),
    stale: db.prepare('SELECT entity_type, entity_id FROM pm_entities WHERE member_id = ? AND deleted = 0 AND read_at < ? ORDER BY read_at LIMIT ?'),
    warmup: db.prepare('SELECT entity_type, after_id, done FROM pm_warmup WHERE member_id = ?'),
    saveWarmup: db.prepare(
      `INSERT INTO pm_warmup (member_id, entity_type, after_id, done, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (member_id, entity_type) DO UPDATE SET after_id = excluded.after_id, done = excluded.done, updated_at = excluded.updated_at`,
    ),
    resetWarmup: db.prepare('DELETE FROM pm_warmup WHERE member_id = ?'),
    pruneMisses: db.prepare('DELETE FROM pm_misses WHERE member_id = ? AND until_at <= ?'),
    pruneTombstones: db.prepare('DELETE FROM pm_entities WHERE member_id = ? AND deleted = 1 AND read_at < ?'),
    noteAsk: db.prepare(
      `INSERT INTO pm_asks (member_id, asked, with_manager, last_at, last_outcome) VALUES (?, 1, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET asked = pm_asks.asked + 1, with_manager = pm_asks.with_manager + excluded.with_manager,
         last_at = excluded.last_at, last_outcome = excluded.last_outcome`,
    ),
    asks: db.prepare('SELECT asked, with_manager, last_at, last_outcome FROM pm_asks WHERE member_id = ?'),
    employee: db.prepare('SELECT phones FROM pm_employee_phones WHERE member_id = ? AND uis_employee_id = ?').pluck(),
    dropEmployees: db.prepare('DELETE FROM pm_employee_phones WHERE member_id = ?'),
    addEmployee: db.prepare('INSERT INTO pm_employee_phones (member_id, uis_employee_id, phones, read_at) VALUES (?, ?, ?, ?)'),
    employeesReadAt: db.prepare('SELECT MAX(read_at) FROM pm_employee_phones WHERE member_id = ?').pluck(),
  };

  const put = db.transaction((m: string, entities: readonly PmEntity[], gone: readonly PmRef[], readAt: number) => {
    for (const e of entities) {
      const row = { m, type: e.type, id: e.id, responsibleId: e.responsibleId, closed: e.closed ? 1 : 0, createdAt: e.createdAt, contactId: e.contactId, companyId: e.companyId, leadId: e.leadId, deleted: 0, readAt };
      if (q.upsert.run(row).changes === 0) continue; // a newer read is stored
      q.dropPhones.run(m, e.type, e.id);
      for (const p of e.phones) {
        q.addPhone.run(m, p, e.type, e.id);
        q.dropMiss.run(m, p);
      }
    }
    for (const g of gone) {
      const row = { m, type: g.type, id: g.id, responsibleId: null, closed: 0, createdAt: 0, contactId: null, companyId: null, leadId: null, deleted: 1, readAt };
      if (q.upsert.run(row).changes > 0) q.dropPhones.run(m, g.type, g.id);
    }
  });
  const markDirty = db.transaction((m: string, refs: readonly PmRef[], dueAt: number) => {
    for (const r of refs) q.markDirty.run(m, r.type, r.id, dueAt);
  });
  const clearDirty = db.transaction((m: string, refs: readonly PmRef[]) => {
    for (const r of refs) q.clearDirty.run(m, r.type, r.id);
  });
  const retryDirty = db.transaction((m: string, refs: readonly PmRef[], dueAt: number, maxAttempts: number) => {
    for (const r of refs) q.retryDirty.run(dueAt, m, r.type, r.id);
    q.dropTired.run(m, maxAttempts);
  });
  const saveEmployees = db.transaction((m: string, rows: ReadonlyArray<{ uisEmployeeId: number; phones: string[] }>, readAt: number) => {
    q.dropEmployees.run(m);
    for (const r of rows) q.addEmployee.run(m, r.uisEmployeeId, JSON.stringify(r.phones), readAt);
  });
  const refs = (rows: Array<{ entity_type: CrmEntityType; entity_id: number }>): PmRef[] => rows.map((r) => ({ type: r.entity_type, id: Number(r.entity_id) }));

  return {
    async clientOf(memberId, phone) {
      const direct = q.direct.all(memberId, phone) as EntityRow[];
      if (!direct.length) return null;
      const linked = direct.flatMap((d) => {
        const by = d.entity_type === 'contact' ? q.byContact : d.entity_type === 'company' ? q.byCompany : d.entity_type === 'lead' ? q.byLead : null;
        return by ? (by.all(memberId, d.entity_id) as EntityRow[]) : [];
      });
      return pmFound([...direct, ...linked]);
    },
    async put(memberId, p) {
      put(memberId, p.entities, p.gone, p.readAt);
    },
    async known(memberId, list) {
      return list.filter((r) => q.known.get(memberId, r.type, r.id) !== undefined);
    },
    async saveMiss(memberId, phone, untilAt) {
      q.saveMiss.run(memberId, phone, untilAt);
    },
    async isMiss(memberId, phone, now) {
      const until = q.miss.get(memberId, phone) as number | undefined;
      return until !== undefined && Number(until) > now;
    },
    async markDirty(memberId, list, dueAt) {
      if (list.length) markDirty(memberId, list, dueAt);
    },
    async dirty(memberId, now, limit) {
      return refs(q.dirty.all(memberId, now, limit) as Array<{ entity_type: CrmEntityType; entity_id: number }>);
    },
    async clearDirty(memberId, list) {
      clearDirty(memberId, list);
    },
    async retryDirty(memberId, list, dueAt, maxAttempts) {
      retryDirty(memberId, list, dueAt, maxAttempts);
    },
    async portalsWithDirty(now) {
      return q.portals.all(now) as string[];
    },
    async nextDirtyAt() {
      const v = q.next.get() as number | null;
      return v === null ? null : Number(v);
    },
    async stale(memberId, before, limit) {
      return refs(q.stale.all(memberId, before, limit) as Array<{ entity_type: CrmEntityType; entity_id: number }>);
    },
    async warmup(memberId) {
      const rows = q.warmup.all(memberId) as Array<{ entity_type: CrmEntityType; after_id: number; done: number }>;
      return Object.fromEntries(rows.map((r) => [r.entity_type, { afterId: Number(r.after_id), done: r.done === 1 }]));
    },
    async saveWarmup(memberId, type, p) {
      q.saveWarmup.run(memberId, type, p.afterId, p.done ? 1 : 0, p.at);
    },
    async resetWarmup(memberId) {
      q.resetWarmup.run(memberId);
    },
    async prune(memberId, now, tombstonesBefore) {
      return { misses: q.pruneMisses.run(memberId, now).changes, tombstones: q.pruneTombstones.run(memberId, tombstonesBefore).changes };
    },
    async noteAsk(memberId, p) {
      q.noteAsk.run(memberId, p.withManager ? 1 : 0, p.at, p.outcome);
    },
    async asks(memberId) {
      const r = q.asks.get(memberId) as { asked: number; with_manager: number; last_at: number; last_outcome: string } | undefined;
      return r ? { asked: Number(r.asked), withManager: Number(r.with_manager), lastAt: Number(r.last_at), lastOutcome: r.last_outcome } : null;
    },
    async employeePhones(memberId, uisEmployeeId) {
      const v = q.employee.get(memberId, uisEmployeeId) as string | undefined;
      return v === undefined ? null : (JSON.parse(v) as string[]);
    },
    async saveEmployeePhones(memberId, rows, readAt) {
      saveEmployees(memberId, rows, readAt);
    },
    async employeePhonesReadAt(memberId) {
      const v = q.employeesReadAt.get(memberId) as number | null;
      return v === null ? null : Number(v);
    },
  };
}
