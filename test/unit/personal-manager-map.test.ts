import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../server/storage/db';
import { createSqlitePersonalManagerRepository } from '../../server/storage/personal-manager-repository';
import type { PersonalManagerRepository, PmEntity } from '../../server/services/personal-manager/ports';

/**
 * The personal-manager map (migration 024): what a caller's number finds, and why late,
 * reordered and repeated reads cannot leave it wrong — a row is replaced only by a newer read,
 * a deletion is a tombstone, a number moving to another item moves with it.
 */
let db: Db;
let map: PersonalManagerRepository;
const M = 'member-a';
beforeEach(() => {
  db = openDb(':memory:');
  for (const m of [M, 'member-b']) {
    db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x')`).run(m);
  }
  map = createSqlitePersonalManagerRepository(db);
});
afterEach(() => db.close());

const item = (type: PmEntity['type'], id: number, o: Partial<PmEntity> = {}): PmEntity => ({ type, id, responsibleId: 1, closed: false, createdAt: 0, contactId: null, companyId: null, leadId: null, phones: [], ...o });
const owners = async (phone: string, m = M) => {
  const f = await map.clientOf(m, phone);
  return f && { contacts: f.contacts.map((e) => e.responsibleId), companies: f.companies.map((e) => e.responsibleId), leads: f.leads.map((e) => e.responsibleId), deals: f.deals.map((e) => e.responsibleId) };
};

describe('personal-manager map', () => {
  it('a number finds its items and the leads and deals linked to them (searchClients\' reach); another portal sees nothing', async () => {
    await map.put(M, {
      readAt: 1,
      entities: [
        item('contact', 1, { phones: ['79161110001'], responsibleId: 5 }),
        item('company', 2, { phones: ['79161110001'], responsibleId: 6 }),
        item('deal', 3, { contactId: 1, responsibleId: 7 }),
        item('lead', 4, { companyId: 2, responsibleId: 8 }),
        item('lead', 5, { phones: ['79161110002'], responsibleId: 9, closed: true }),
        item('deal', 6, { leadId: 5, responsibleId: 10 }),
        item('deal', 7, { contactId: 99, responsibleId: 11 }),
      ],
      gone: [],
    });
    expect(await owners('79161110001')).toEqual({ contacts: [5], companies: [6], leads: [8], deals: [7] });
    expect(await owners('79161110002')).toEqual({ contacts: [], companies: [], leads: [9], deals: [10] });
    expect(await owners('79161110003')).toBeNull();
    expect(await owners('79161110001', 'member-b')).toBeNull();
  });

  it('an older read arriving later never overwrites a newer one; a deletion stays deleted for older reads', async () => {
    await map.put(M, { readAt: 10, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 2 })], gone: [] });
    await map.put(M, { readAt: 5, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 1 })], gone: [] });
    expect((await owners('79161110001'))?.contacts).toEqual([2]);
    await map.put(M, { readAt: 20, entities: [], gone: [{ type: 'contact', id: 1 }] });
    expect(await owners('79161110001')).toBeNull();
    await map.put(M, { readAt: 15, entities: [item('contact', 1, { phones: ['79161110001'] })], gone: [] });
    expect(await owners('79161110001')).toBeNull();
    await map.put(M, { readAt: 25, entities: [item('contact', 1, { phones: ['79161110001'], responsibleId: 3 })], gone: [] });
    expect((await owners('79161110001'))?.contacts).toEqual([3]);
  });

  it('a number moved to another value leaves the old one; storing a number clears its miss', async () => {
    await map.saveMiss(M, '79161110002', 1000);
    expect(await map.isMiss(M, '79161110002', 500)).toBe(true);
    expect(await map.isMiss(M, '79161110002', 1000)).toBe(false);
    await map.put(M, { readAt: 1, entities: [item('contact', 1, { phones: ['79161110001'] })], gone: [] });
    await map.put(M, { readAt: 2, entities: [item('contact', 1, { phones: ['79161110002'] })], gone: [] });
    expect(await owners('79161110001')).toBeNull();
    expect(await owners('79161110002')).not.toBeNull();
    expect(await map.isMiss(M, '79161110002', 500)).toBe(false);
  });

  it('the first full read resumes where it stopped, per portal, and starts over once reset', async () => {
    expect(await map.warmup(M)).toEqual({});
    await map.saveWarmup(M, 'contact', { afterId: 2500, done: false, at: 1 });
    await map.saveWarmup(M, 'contact', { afterId: 4100, done: true, at: 2 });
    await map.saveWarmup(M, 'company', { afterId: 50, done: false, at: 2 });
    expect(await map.warmup(M)).toEqual({ contact: { afterId: 4100, done: true }, company: { afterId: 50, done: false } });
    expect(await map.warmup('member-b')).toEqual({});
    await map.resetWarmup(M);
    expect(await map.warmup(M)).toEqual({});
  });

  it('retention: expired misses and month-old tombstones go; live items and fresh tombstones stay', async () => {
    await map.saveMiss(M, '79161110001', 100);
    await map.saveMiss(M, '79161110002', 900);
    await map.put(M, { readAt: 10, entities: [item('contact', 1, { phones: ['79161110003'] }), item('contact', 2)], gone: [{ type: 'contact', id: 3 }] });
    await map.put(M, { readAt: 600, entities: [], gone: [{ type: 'contact', id: 4 }] });
    expect(await map.prune(M, 500, 500)).toEqual({ misses: 1, tombstones: 1 });
    expect(await map.isMiss(M, '79161110002', 500)).toBe(true);
    expect(await owners('79161110003')).not.toBeNull();
    expect((await map.known(M, [{ type: 'contact', id: 3 }, { type: 'contact', id: 4 }])).map((r) => r.id)).toEqual([4]);
  });

  it('the read queue: one row per item, the earlier time kept; a failing item is dropped after the last attempt', async () => {
    await map.markDirty(M, [{ type: 'contact', id: 1 }], 100);
    await map.markDirty(M, [{ type: 'contact', id: 1 }, { type: 'deal', id: 2 }], 50);
    await map.markDirty(M, [{ type: 'contact', id: 1 }], 200);
    expect(await map.dirty(M, 60, 10)).toEqual([{ type: 'contact', id: 1 }, { type: 'deal', id: 2 }]);
    expect(await map.portalsWithDirty(60)).toEqual([M]);
    await map.clearDirty(M, [{ type: 'deal', id: 2 }]);
    for (let i = 0; i < 3; i++) await map.retryDirty(M, [{ type: 'contact', id: 1 }], 1000, 3);
    expect(await map.nextDirtyAt()).toBeNull();
  });
});
