/**
 * The personal-manager map contract (issue #12 over issue #14's map), the same cases against the
 * SQLite repository (migrations 024, 028, 029) and the PostgreSQL store (migrations-pg): what a
 * caller's number finds, late and reordered reads never leaving it wrong, the misses, the read
 * queue, the first full read, retention, the asks counter and the employee numbers — and on
 * PostgreSQL instances racing on several pool connections: every answer counted once, the newest
 * read's numbers kept, one replacement of the employee numbers winning whole.
 */
import { beforeEach, expect, it } from 'vitest';
import { createSqlitePersonalManagerRepository } from '../../server/storage/personal-manager-repository';
import { createPgPersonalManagerStore } from '../../server/storage/pg/personal-manager-store';
import type { PersonalManagerRepository, PmEntity, PmRef } from '../../server/services/personal-manager/ports';
import { forEachStore, type TestStore } from '../support/stores';

const M = 'member-a';
const B = 'member-b';

function repository(store: TestStore): PersonalManagerRepository {
  return store.sqlite ? createSqlitePersonalManagerRepository(store.sqlite) : createPgPersonalManagerStore(store.pg!.db);
}

async function addPortals(store: TestStore, ids: string[]): Promise<void> {
  for (const id of ids) {
    const q = `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${id}', 'p.example', 'x', 'x', 'active', 'x', 'x')`;
    if (store.sqlite) store.sqlite.prepare(q).run();
    else await store.pg!.pool.query(q);
  }
}

async function rows<T>(store: TestStore, q: string): Promise<T[]> {
  return store.sqlite ? (store.sqlite.prepare(q).all() as T[]) : ((await store.pg!.pool.query(q)).rows as T[]);
}

const item = (type: PmEntity['type'], id: number, o: Partial<PmEntity> = {}): PmEntity => ({ type, id, responsibleId: 1, closed: false, createdAt: 0, contactId: null, companyId: null, leadId: null, phones: [], ...o });
const sorted = (xs: Array<number | null>) => [...xs].sort((a, b) => Number(a) - Number(b));

forEachStore('personal-manager map', (store) => {
  let map: PersonalManagerRepository;
  const owners = async (phone: string, m = M) => {
    const f = await map.clientOf(m, phone);
    return (
      f && {
        contacts: sorted(f.contacts.map((e) => e.responsibleId)),
        companies: sorted(f.companies.map((e) => e.responsibleId)),
        leads: sorted(f.leads.map((e) => e.responsibleId)),
        deals: sorted(f.deals.map((e) => e.responsibleId)),
      }
    );
  };
  beforeEach(async () => {
    await store.clear('portals', 'pm_entities', 'pm_phones', 'pm_dirty', 'pm_misses', 'pm_employee_phones', 'pm_warmup', 'pm_asks');
    await addPortals(store, [M, B]);
    map = repository(store);
  });

  it("a number finds its items and the leads and deals linked to them (searchClients' reach), each once; another portal sees nothing", async () => {
    await map.put(M, {
      readAt: 1,
      entities: [
        item('contact', 1, { phones: ['79161110001', '79161110009'], responsibleId: 5 }),
        item('company', 2, { phones: ['79161110001'], responsibleId: 6 }),
        item('deal', 3, { contactId: 1, companyId: 2, responsibleId: 7 }), // linked twice: listed once
        item('lead', 4, { companyId: 2, responsibleId: 8 }),
        item('lead', 5, { phones: ['79161110002'], responsibleId: 9, closed: true, createdAt: 1_700_000_000_000 }),
        item('deal', 6, { leadId: 5, responsibleId: 10 }),
        item('deal', 7, { contactId: 99, responsibleId: 11 }),
        item('deal', 8, { phones: ['79161110001'], contactId: 1, responsibleId: null }), // direct and linked: once
        item('contact', 9, { phones: ['79161110004'] }),
        item('company', 10, { contactId: 9 }), // a company is never "linked" to a contact
      ],
      gone: [],
    });
    expect(await owners('79161110001')).toEqual({ contacts: [5], companies: [6], leads: [8], deals: [null, 7] });
    expect(await owners('79161110002')).toEqual({ contacts: [], companies: [], leads: [9], deals: [10] });
    expect(await owners('79161110004')).toEqual({ contacts: [1], companies: [], leads: [], deals: [] });
    const f = await map.clientOf(M, '79161110002');
    expect(f?.leads).toEqual([{ id: 5, closed: true, createdAt: 1_700_000_000_000, responsibleId: 9 }]);
    expect(f?.deals).toEqual([{ id: 6, closed: false, createdAt: 0, responsibleId: 10 }]);
    expect(await owners('79161110003')).toBeNull();
    expect(await owners('79161110001', B)).toBeNull();
  });

  it('deleted items are found neither by their number nor as links', async () => {
    await map.put(M, { readAt: 1, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 5 }), item('deal', 2, { contactId: 1, responsibleId: 6 })], gone: [] });
    await map.put(M, { readAt: 2, entities: [], gone: [{ type: 'deal', id: 2 }] });
    expect(await owners('79161110001')).toEqual({ contacts: [5], companies: [], leads: [], deals: [] });
    await map.put(M, { readAt: 3, entities: [], gone: [{ type: 'contact', id: 1 }] });
    expect(await owners('79161110001')).toBeNull();
    expect(await rows(store, 'SELECT phone FROM pm_phones')).toEqual([]);
  });

  it('an older read arriving later never overwrites a newer one; a deletion stays deleted for older reads', async () => {
    await map.put(M, { readAt: 10, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 2 })], gone: [] });
    await map.put(M, { readAt: 5, entities: [item('contact', 1, { phones: ['79161110005'], responsibleId: 1 })], gone: [] });
    expect((await owners('79161110001'))?.contacts).toEqual([2]);
    expect(await owners('79161110005')).toBeNull(); // the older read's number was not stored either
    await map.put(M, { readAt: 20, entities: [], gone: [{ type: 'contact', id: 1 }] });
    expect(await owners('79161110001')).toBeNull();
    await map.put(M, { readAt: 15, entities: [item('contact', 1, { phones: ['79161110001'] })], gone: [] });
    expect(await owners('79161110001')).toBeNull();
    await map.put(M, { readAt: 25, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 3 })], gone: [] });
    expect((await owners('79161110001'))?.contacts).toEqual([3]);
    await map.put(M, { readAt: 25, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 4 })], gone: [] }); // as new: replaces
    expect((await owners('79161110001'))?.contacts).toEqual([4]);
  });

  it('one read listing an item twice keeps the last; an item both read and gone ends deleted, its numbers no longer misses', async () => {
    await map.saveMiss(M, '79161110002', 1000);
    await map.put(M, {
      readAt: 1,
      entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 1 }), item('contact', 1, { phones: ['79161110003', '79161110003'], responsibleId: 2 }), item('contact', 2, { phones: ['79161110002'] })],
      gone: [{ type: 'contact', id: 2 }],
    });
    expect(await owners('79161110001')).toBeNull();
    expect((await owners('79161110003'))?.contacts).toEqual([2]);
    expect(await owners('79161110002')).toBeNull();
    expect(await map.isMiss(M, '79161110002', 500)).toBe(false);
    expect(await map.known(M, [{ type: 'contact', id: 2 }])).toEqual([{ type: 'contact', id: 2 }]);
  });

  it('a number moved to another value leaves the old one; storing a number clears its miss (this portal only)', async () => {
    await map.saveMiss(M, '79161110002', 1000);
    await map.saveMiss(B, '79161110002', 1000);
    expect(await map.isMiss(M, '79161110002', 500)).toBe(true);
    expect(await map.isMiss(M, '79161110002', 1000)).toBe(false);
    expect(await map.isMiss(M, '79161110009', 0)).toBe(false);
    await map.saveMiss(M, '79161110002', 2000); // a later lookup extends it
    expect(await map.isMiss(M, '79161110002', 1500)).toBe(true);
    await map.put(M, { readAt: 1, entities: [item('contact', 1, { phones: ['79161110001'] })], gone: [] });
    await map.put(M, { readAt: 2, entities: [item('contact', 1, { phones: ['79161110002'] })], gone: [] });
    expect(await owners('79161110001')).toBeNull();
    expect(await owners('79161110002')).not.toBeNull();
    expect(await map.isMiss(M, '79161110002', 500)).toBe(false);
    expect(await map.isMiss(B, '79161110002', 500)).toBe(true);
  });

  it('known: which of the items the map holds, tombstones included, in the order asked', async () => {
    await map.put(M, { readAt: 1, entities: [item('contact', 1), item('deal', 1)], gone: [{ type: 'lead', id: 7 }] });
    const asked: PmRef[] = [{ type: 'lead', id: 7 }, { type: 'company', id: 1 }, { type: 'deal', id: 1 }, { type: 'contact', id: 1 }, { type: 'contact', id: 2 }];
    expect(await map.known(M, asked)).toEqual([{ type: 'lead', id: 7 }, { type: 'deal', id: 1 }, { type: 'contact', id: 1 }]);
    expect(await map.known(B, asked)).toEqual([]);
    expect(await map.known(M, [])).toEqual([]);
  });

  it('the first full read resumes where it stopped, per portal, and starts over once reset', async () => {
    expect(await map.warmup(M)).toEqual({});
    await map.saveWarmup(M, 'contact', { afterId: 2500, done: false, at: 1 });
    await map.saveWarmup(M, 'contact', { afterId: 4100, done: true, at: 2 });
    await map.saveWarmup(M, 'company', { afterId: 50, done: false, at: 2 });
    await map.saveWarmup(B, 'deal', { afterId: 1, done: false, at: 2 });
    expect(await map.warmup(M)).toEqual({ contact: { afterId: 4100, done: true }, company: { afterId: 50, done: false } });
    await map.resetWarmup(M);
    expect(await map.warmup(M)).toEqual({});
    expect(await map.warmup(B)).toEqual({ deal: { afterId: 1, done: false } });
  });

  it('retention: expired misses and old tombstones go; live items, fresh tombstones and other portals stay', async () => {
    await map.saveMiss(M, '79161110001', 100);
    await map.saveMiss(M, '79161110002', 900);
    await map.saveMiss(M, '79161110004', 500); // until_at <= now: expired
    await map.saveMiss(B, '79161110001', 100);
    await map.put(M, { readAt: 10, entities: [item('contact', 1, { phones: ['79161110003'] }), item('contact', 2)], gone: [{ type: 'contact', id: 3 }] });
    await map.put(M, { readAt: 600, entities: [], gone: [{ type: 'contact', id: 4 }] });
    await map.put(M, { readAt: 500, entities: [], gone: [{ type: 'contact', id: 5 }] }); // read_at < before: kept at the bound
    expect(await map.prune(M, 500, 500)).toEqual({ misses: 2, tombstones: 1 });
    expect(await map.isMiss(M, '79161110002', 500)).toBe(true);
    expect(await map.isMiss(B, '79161110001', 50)).toBe(true);
    expect(await owners('79161110003')).not.toBeNull();
    expect((await map.known(M, [{ type: 'contact', id: 3 }, { type: 'contact', id: 4 }, { type: 'contact', id: 5 }])).map((r) => r.id)).toEqual([4, 5]);
    expect(await map.prune(M, 500, 500)).toEqual({ misses: 0, tombstones: 0 });
  });

  it('the read queue: one row per item, the earlier time kept; due ones by time; a failing item is dropped after the last attempt', async () => {
    expect(await map.nextDirtyAt()).toBeNull();
    await map.markDirty(M, [], 10);
    await map.markDirty(M, [{ type: 'contact', id: 1 }], 100);
    await map.markDirty(M, [{ type: 'contact', id: 1 }, { type: 'deal', id: 2 }, { type: 'deal', id: 2 }], 50);
    await map.markDirty(M, [{ type: 'contact', id: 1 }], 200);
    await map.markDirty(M, [{ type: 'lead', id: 3 }], 70);
    await map.markDirty(B, [{ type: 'lead', id: 3 }], 300);
    expect(await map.dirty(M, 60, 10)).toEqual([{ type: 'contact', id: 1 }, { type: 'deal', id: 2 }]);
    expect(await map.dirty(M, 70, 10)).toEqual([{ type: 'contact', id: 1 }, { type: 'deal', id: 2 }, { type: 'lead', id: 3 }]);
    expect(await map.dirty(M, 70, 1)).toHaveLength(1);
    expect(await map.dirty(M, 49, 10)).toEqual([]);
    expect(await map.portalsWithDirty(60)).toEqual([M]);
    expect((await map.portalsWithDirty(300)).sort()).toEqual([M, B]);
    expect(await map.nextDirtyAt()).toBe(50);
    await map.clearDirty(M, [{ type: 'deal', id: 2 }, { type: 'company', id: 9 }]);
    await map.clearDirty(M, [{ type: 'lead', id: 3 }]);
    expect(await map.dirty(M, 1000, 10)).toEqual([{ type: 'contact', id: 1 }]);
    await map.retryDirty(M, [{ type: 'contact', id: 1 }], 1000, 3);
    expect(await map.dirty(M, 999, 10)).toEqual([]);
    expect(await map.nextDirtyAt()).toBe(300); // B's
    await map.markDirty(M, [{ type: 'contact', id: 1 }], 2000); // marked again: attempts start over, the earlier time kept
    for (let i = 0; i < 2; i++) await map.retryDirty(M, [{ type: 'contact', id: 1 }], 1000, 3);
    expect(await map.dirty(M, 1000, 10)).toEqual([{ type: 'contact', id: 1 }]);
    await map.retryDirty(M, [{ type: 'contact', id: 1 }], 1000, 3);
    expect(await map.dirty(M, 10_000, 10)).toEqual([]);
    expect(await map.dirty(B, 10_000, 10)).toEqual([{ type: 'lead', id: 3 }]);
  });

  it('stale: live items read before the bound, oldest first, tombstones left out', async () => {
    await map.put(M, { readAt: 30, entities: [item('contact', 1)], gone: [] });
    await map.put(M, { readAt: 10, entities: [item('deal', 2)], gone: [{ type: 'lead', id: 4 }] });
    await map.put(M, { readAt: 20, entities: [item('company', 3)], gone: [] });
    await map.put(B, { readAt: 1, entities: [item('contact', 1)], gone: [] });
    expect(await map.stale(M, 30, 10)).toEqual([{ type: 'deal', id: 2 }, { type: 'company', id: 3 }]);
    expect(await map.stale(M, 31, 2)).toEqual([{ type: 'deal', id: 2 }, { type: 'company', id: 3 }]);
    expect(await map.stale(M, 10, 10)).toEqual([]);
  });

  it('the asks counter: every answer counted, with a manager or not, the last one remembered', async () => {
    expect(await map.asks(M)).toBeNull();
    await map.noteAsk(M, { outcome: 'manager', withManager: true, at: 1000 });
    await map.noteAsk(M, { outcome: 'not-client', withManager: false, at: 2000 });
    await map.noteAsk(M, { outcome: 'manager', withManager: true, at: 3000 });
    await map.noteAsk(M, { outcome: 'timeout', withManager: false, at: 4000 });
    expect(await map.asks(M)).toEqual({ asked: 4, withManager: 2, lastAt: 4000, lastOutcome: 'timeout' });
    expect(await map.asks(B)).toBeNull();
  });

  it("the employee numbers: replaced whole by each read, per portal; null until read", async () => {
    expect(await map.employeePhones(M, 7)).toBeNull();
    expect(await map.employeePhonesReadAt(M)).toBeNull();
    await map.saveEmployeePhones(M, [{ uisEmployeeId: 7, phones: ['74951110001', '79161110001'] }, { uisEmployeeId: 8, phones: [] }], 1000);
    await map.saveEmployeePhones(B, [{ uisEmployeeId: 7, phones: ['70000000000'] }], 5000);
    expect(await map.employeePhones(M, 7)).toEqual(['74951110001', '79161110001']);
    expect(await map.employeePhones(M, 8)).toEqual([]);
    expect(await map.employeePhonesReadAt(M)).toBe(1000);
    await map.saveEmployeePhones(M, [{ uisEmployeeId: 9, phones: ['74951110009'] }], 2000);
    expect(await map.employeePhones(M, 7)).toBeNull();
    expect(await map.employeePhones(M, 9)).toEqual(['74951110009']);
    expect(await map.employeePhonesReadAt(M)).toBe(2000);
    expect(await map.employeePhones(B, 7)).toEqual(['70000000000']);
    await map.saveEmployeePhones(M, [], 3000); // nobody: nothing left, and no read time to show
    expect(await map.employeePhones(M, 9)).toBeNull();
    expect(await map.employeePhonesReadAt(M)).toBeNull();
    await expect(map.saveEmployeePhones(M, [{ uisEmployeeId: 1, phones: [] }, { uisEmployeeId: 1, phones: ['7'] }], 4000)).rejects.toThrow(); // one row per employee
    expect(await map.employeePhonesReadAt(M)).toBeNull(); // nothing of the failed replacement stays
  });

  it('a large read (more items than one PostgreSQL statement of the store carries: 500) is stored whole: items, numbers, cleared misses, the queue', async () => {
    const n = 1200;
    const many = Array.from({ length: n }, (_, i) => item('contact', i + 1, { responsibleId: i + 1, phones: [`7900${String(i).padStart(7, '0')}`] }));
    await map.saveMiss(M, '79000001199', 10_000);
    await map.put(M, { readAt: 5, entities: many, gone: [] });
    expect((await owners('79000000000'))?.contacts).toEqual([1]);
    expect((await owners('79000001199'))?.contacts).toEqual([1200]);
    expect(await map.isMiss(M, '79000001199', 0)).toBe(false);
    expect(await map.known(M, many)).toHaveLength(n);
    await map.markDirty(M, many, 100);
    expect(await map.dirty(M, 100, 5000)).toHaveLength(n);
    await map.clearDirty(M, many);
    expect(await map.nextDirtyAt()).toBeNull();
    await map.put(M, { readAt: 6, entities: [], gone: many });
    expect(await owners('79000000600')).toBeNull();
    expect(await rows(store, 'SELECT phone FROM pm_phones')).toEqual([]);
  });

  it('answers counted on several instances at once (several connections on PostgreSQL): every one once', async () => {
    const maps = [map, repository(store), repository(store)];
    await Promise.all(Array.from({ length: 40 }, (_, i) => maps[i % 3]!.noteAsk(M, { outcome: i % 4 === 0 ? 'manager' : 'busy', withManager: i % 4 === 0, at: 1000 + i })));
    const a = await map.asks(M);
    expect(a).toMatchObject({ asked: 40, withManager: 10 });
    expect(a!.lastAt).toBeGreaterThanOrEqual(1000);
  });

  it('reads of one item racing (several connections on PostgreSQL): the newest read is what stays, its numbers only', async () => {
    for (let round = 0; round < 5; round++) {
      const id = 100 + round;
      const reads = Array.from({ length: 8 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
      await Promise.all(
        reads.map((r) =>
          map.put(M, {
            readAt: r,
            entities: [item('contact', id, { responsibleId: r, phones: [`7916000${round}00${r}`, `7916000${round}999`] }), item('deal', id, { contactId: id, responsibleId: r })],
            gone: [],
          }),
        ),
      );
      expect(await owners(`7916000${round}999`)).toEqual({ contacts: [8], companies: [], leads: [], deals: [8] });
      const phones = await rows<{ phone: string }>(store, `SELECT phone FROM pm_phones WHERE entity_id = ${id} ORDER BY phone`);
      expect(phones.map((p) => p.phone)).toEqual([`7916000${round}008`, `7916000${round}999`]);
    }
  });

  it('items queued on several instances at once (several connections on PostgreSQL): one row each, the earliest time kept', async () => {
    const refs: PmRef[] = Array.from({ length: 20 }, (_, i) => ({ type: i % 2 ? 'deal' : 'contact', id: i }));
    await Promise.all(Array.from({ length: 8 }, (_, i) => map.markDirty(M, [...refs].reverse().slice(i), 1000 - i * 10)));
    const queued = await rows<{ entity_id: number; due_at: number }>(store, 'SELECT entity_id, due_at FROM pm_dirty ORDER BY entity_id');
    expect(queued).toHaveLength(20);
    for (const q of queued) {
      const lastMark = Math.min(7, 19 - Number(q.entity_id)); // reversed: entity i is in the marks 0…19-i
      expect(Number(q.due_at)).toBe(1000 - lastMark * 10);
    }
  });

  it('employee numbers replaced on several instances at once (several connections on PostgreSQL): one replacement stays whole', async () => {
    const reads = Array.from({ length: 6 }, (_, r) => Array.from({ length: 5 }, (_, i) => ({ uisEmployeeId: r * 10 + i + (i % 2 ? 0 : 1000), phones: [`7495${r}`] })));
    await Promise.all(reads.map((rs, r) => repository(store).saveEmployeePhones(M, rs, 1000 + r)));
    const stored = await rows<{ uis_employee_id: number; read_at: number }>(store, 'SELECT uis_employee_id, read_at FROM pm_employee_phones ORDER BY uis_employee_id');
    const winner = Number(stored[0]?.read_at) - 1000;
    expect(stored.map((s) => Number(s.uis_employee_id))).toEqual(reads[winner]!.map((r) => r.uisEmployeeId).sort((a, b) => a - b));
    expect(new Set(stored.map((s) => Number(s.read_at)))).toEqual(new Set([1000 + winner]));
  });
});
