/**
 * The telephony starts store contract (issue #14's calls started from Bitrix24, issue #12's shared
 * store), the same cases against the SQLite repository (migration 023) and the PostgreSQL store
 * (migrations-pg/023): a start saved and updated under its correlation id (kind, number and creation
 * time kept from the first save), found by a list of ids, failures newest first, retention — and on
 * PostgreSQL two instances (two pools) saving one start at once: one row, no error.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createSqliteTelephonyStartRepository } from '../../server/storage/telephony-starts-repository';
import { createPgTelephonyStartStore } from '../../server/storage/pg/telephony-starts-store';
import type { PgStore } from '../../server/storage/pg/connection';
import type { TelephonyStart, TelephonyStartRepository } from '../../server/services/telephony/start-ports';
import { forEachStore, openTestPg, type TestStore } from '../support/stores';

function startStore(store: TestStore, pg?: PgStore): TelephonyStartRepository {
  return store.sqlite ? createSqliteTelephonyStartRepository(store.sqlite) : createPgTelephonyStartStore((pg ?? store.pg!).db);
}

async function seedPortals(store: TestStore, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    const q = `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${id}', '${id}.bitrix24.ru', 'c', 's', 'active', 't', 't')`;
    if (store.sqlite) store.sqlite.prepare(q).run();
    else await store.pg!.pool.query(q);
  }
}

async function rowCount(store: TestStore): Promise<number> {
  const q = 'SELECT COUNT(*) AS n FROM telephony_starts';
  return Number(store.sqlite ? (store.sqlite.prepare(q).get() as { n: number }).n : (await store.pg!.pool.query(q)).rows[0].n);
}

const start = (over: Partial<TelephonyStart> = {}): TelephonyStart => ({
  memberId: 'p1',
  correlationId: 'omni-a',
  kind: 'click',
  callId: 'CALL-1',
  userId: 7,
  phone: '79161112233',
  sessionId: null,
  status: 'started',
  errorCode: null,
  error: null,
  createdAt: 1_000_000,
  ...over,
});

forEachStore('telephony starts store', (store) => {
  let starts: TelephonyStartRepository;
  beforeEach(async () => {
    await store.clear('telephony_starts', 'portals');
    await seedPortals(store, 'p1', 'p2');
    starts = startStore(store);
  });

  it('a start is saved, then updated under its correlation id: call, user, session, status and error change; kind, number and creation time stay', async () => {
    expect(await starts.get('p1', ['omni-a'])).toEqual(new Map());
    await starts.save(start());
    expect(await starts.get('p1', ['omni-a'])).toEqual(new Map([['omni-a', start()]]));
    await starts.save(start({ sessionId: 4_000_000_001 }));
    await starts.save(
      start({ kind: 'callback', phone: '70000000000', createdAt: 2_000_000, callId: 'CALL-2', userId: null, status: 'failed', errorCode: 'contact_in_blacklist', error: 'Номер заблокирован' }),
    );
    expect((await starts.get('p1', ['omni-a'])).get('omni-a')).toEqual(
      start({ callId: 'CALL-2', userId: null, sessionId: null, status: 'failed', errorCode: 'contact_in_blacklist', error: 'Номер заблокирован' }),
    );
    expect(await rowCount(store)).toBe(1);
  });

  it('get finds the starts a list names, in this portal only; unknown and repeated ids are no trouble; long lists are read whole', async () => {
    await starts.save(start({ correlationId: 'omni-a', sessionId: 11 }));
    await starts.save(start({ correlationId: 'omni-b', kind: 'callback', callId: null, userId: null }));
    await starts.save(start({ memberId: 'p2', correlationId: 'omni-c' }));
    const found = await starts.get('p1', ['omni-a', 'omni-b', 'omni-a', 'omni-c', 'not-ours']);
    expect([...found.keys()].sort()).toEqual(['omni-a', 'omni-b']);
    expect(found.get('omni-a')).toEqual(start({ correlationId: 'omni-a', sessionId: 11 }));
    expect(found.get('omni-b')).toEqual(start({ correlationId: 'omni-b', kind: 'callback', callId: null, userId: null }));
    expect(await starts.get('p1', [])).toEqual(new Map());
    expect((await starts.get('p2', ['omni-a', 'omni-c'])).size).toBe(1);

    const ids = Array.from({ length: 450 }, (_, i) => `bulk-${i}`);
    for (const id of ids) await starts.save(start({ correlationId: id }));
    const bulk = await starts.get('p1', [...ids, 'omni-a']);
    expect(bulk.size).toBe(451);
    expect(bulk.get('bulk-449')?.correlationId).toBe('bulk-449');
  });

  it('failures: the failed starts of a portal, newest first, at most `limit`', async () => {
    await starts.save(start({ correlationId: 'ok', createdAt: 5000 }));
    for (const [i, code] of ['A', 'B', 'C', 'D'].entries()) {
      await starts.save(start({ correlationId: `f-${code}`, createdAt: 1000 * (i + 1) }));
      await starts.save(start({ correlationId: `f-${code}`, createdAt: 1000 * (i + 1), status: 'failed', errorCode: code, error: `reason ${code}` }));
    }
    await starts.save(start({ memberId: 'p2', correlationId: 'other', status: 'failed', errorCode: 'X', createdAt: 9000 }));
    expect((await starts.failures('p1', 10)).map((f) => f.errorCode)).toEqual(['D', 'C', 'B', 'A']);
    expect((await starts.failures('p1', 2)).map((f) => [f.errorCode, f.error, f.createdAt])).toEqual([
      ['D', 'reason D', 4000],
      ['C', 'reason C', 3000],
    ]);
    expect((await starts.failures('p2', 10)).map((f) => f.correlationId)).toEqual(['other']);
    expect(await starts.failures('p3', 10)).toEqual([]);
  });

  it('prune removes the starts made before the bound, whatever their status, and counts them', async () => {
    await starts.save(start({ correlationId: 'old', createdAt: 1000 }));
    await starts.save(start({ correlationId: 'old-failed', createdAt: 1999, status: 'failed', errorCode: 'X' }));
    await starts.save(start({ correlationId: 'edge', createdAt: 2000 }));
    await starts.save(start({ memberId: 'p2', correlationId: 'other-old', createdAt: 10 }));
    expect(await starts.prune(2000)).toBe(3);
    expect([...(await starts.get('p1', ['old', 'old-failed', 'edge'])).keys()]).toEqual(['edge']);
    expect(await starts.prune(2000)).toBe(0);
  });

  if (store.name === 'postgres') {
    let other: PgStore;
    beforeAll(async () => {
      other = await openTestPg({ schema: store.pg!.schema, migrate: false });
    });
    afterAll(async () => {
      await other?.close();
    });

    it('two instances (two pools) saving the same starts at once: one row each, no error', async () => {
      const a = starts;
      const b = startStore(store, other);
      for (let round = 0; round < 10; round++) {
        const id = `race-${round}`;
        await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? b : a).save(start({ correlationId: id, status: i === 5 ? 'failed' : 'started', errorCode: i === 5 ? 'X' : null }))),
        );
      }
      expect(await rowCount(store)).toBe(10);
      const ids = Array.from({ length: 10 }, (_, r) => `race-${r}`);
      expect((await b.get('p1', ids)).size).toBe(10);
    });
  }
});
