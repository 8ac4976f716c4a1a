/**
 * The «Источники чатов» store contract (issues #15, #12): the same cases against the SQLite
 * repository (migration 019) and the PostgreSQL store (migrations-pg/019) — settings and the
 * webhook secret, the durable queue (applyItem's decisions, due items, retries, patches), the
 * admin's state. And on PostgreSQL two instances (two pools, their own connections) applying the
 * same webhook's item at once: one insert, every decision taken on the current row (a duplicate is
 * written once, the newest version wins). Time is a hand-moved number, never the wall clock.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { decideAmoTalk, decideJivoItem, type ItemDecision, type ItemState } from '../../server/domain/chat-sources/items';
import type { ChatSourceRepository } from '../../server/services/chat-sources/ports';
import { createSqliteChatSourceRepository } from '../../server/storage/chat-source-repository';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { createPgChatSourceStore } from '../../server/storage/pg/chat-source-store';
import { forEachStore, TEST_PG_URL, type TestStore } from '../support/stores';

const T0 = 1_700_000_000_000;
// the portals stay (emptying them would cascade to every table of the schema): added once, kept
const TABLES = ['chat_source_items', 'chat_source_state', 'chat_source_channels', 'chat_source_settings'];

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

async function addPortal(store: TestStore, memberId: string): Promise<void> {
  await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x') ON CONFLICT (member_id) DO NOTHING`, [memberId]);
}

const fresh = (over: Partial<{ kind: 'chat' | 'request'; channel: string | null; payload: unknown; dueAt: number }> = {}) => ({
  kind: 'chat' as const,
  channel: 'w1',
  payload: { n: 1 },
  dueAt: T0 + 500,
  ...over,
});
const key = (extId: string, memberId = 'p1', source: 'jivo' | 'amocrm' = 'jivo') => ({ memberId, source, extId });
const decision = (d: ItemDecision) => () => d;

forEachStore('chat source store', (store) => {
  let now = T0;
  let repo: ChatSourceRepository;
  let second: PgStore | undefined;
  /** another instance's store over the same database (on PostgreSQL: its own pool) */
  let other: ChatSourceRepository;

  beforeAll(async () => {
    if (store.pg) second = await openPg(TEST_PG_URL, { schema: store.pg.schema, migrate: false, max: 4 });
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear(...TABLES);
    await addPortal(store, 'p1');
    await addPortal(store, 'p2');
    const make = (which: 'a' | 'b') =>
      store.sqlite ? createSqliteChatSourceRepository(store.sqlite, () => now) : createPgChatSourceStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const item = async (extId: string, memberId = 'p1') => (await repo.recent(memberId, null, 1000)).find((i) => i.extId === extId);

  it('settings: initSettings keeps the first secret; saveSettings replaces the settings, never the secret; found by source and secret', async () => {
    expect(await repo.getSettings('p1', 'jivo')).toBeNull();
    expect(await repo.initSettings('p1', 'jivo', { a: 1 }, 'secret-1')).toBe('secret-1');
    expect(await repo.initSettings('p1', 'jivo', { a: 2 }, 'secret-2')).toBe('secret-1');
    expect(await repo.getSettings('p1', 'jivo')).toEqual({ settings: { a: 1 }, hookSecret: 'secret-1' });
    await repo.saveSettings('p1', 'jivo', { a: 3, list: ['x'] }, 'secret-3');
    expect(await repo.getSettings('p1', 'jivo')).toEqual({ settings: { a: 3, list: ['x'] }, hookSecret: 'secret-1' });
    await repo.saveSettings('p1', 'amocrm', { b: true }, 'secret-amo'); // a new row takes the secret given
    expect(await repo.getSettings('p1', 'amocrm')).toEqual({ settings: { b: true }, hookSecret: 'secret-amo' });
    expect(await repo.getByHookSecret('jivo', 'secret-1')).toEqual({ memberId: 'p1', settings: { a: 3, list: ['x'] } });
    expect(await repo.getByHookSecret('amocrm', 'secret-1')).toBeNull();
    expect(await repo.getByHookSecret('jivo', 'secret-3')).toBeNull();
    expect(await repo.getSettings('p2', 'jivo')).toBeNull();
  });

  it('applyItem inserts a new item with its first decision; no decision writes nothing', async () => {
    const seen: Array<ItemState | null> = [];
    expect(await repo.applyItem(key('c1'), fresh(), (row) => (seen.push(row), null))).toBe(false);
    expect(await repo.recent('p1', null, 10)).toEqual([]);
    expect(await repo.applyItem(key('c1'), fresh({ payload: { text: 'привет' } }), (row) => (seen.push(row), decideJivoItem(row, 5)))).toBe(true);
    expect(seen).toEqual([null, null]);
    const i = await item('c1');
    expect(i).toMatchObject({ memberId: 'p1', source: 'jivo', extId: 'c1', kind: 'chat', channel: 'w1', status: 'pending', version: 5, payload: { text: 'привет' }, attempts: 0, dueAt: T0 + 500, createdAt: T0 });
    expect(i).toMatchObject({ attribution: null, reason: null, uisId: null, updatedAt: new Date(T0).toISOString() });
    expect(typeof i!.id).toBe('number');
  });

  it('applyItem decides on the stored state; a payload replaced with its channel; a return to pending resets attempts and due time', async () => {
    await repo.applyItem(key('t1', 'p1', 'amocrm'), fresh({ kind: 'request', channel: 'o1', payload: { talkId: 1 } }), decision({ status: 'pending', version: 10, reopened: false, replacePayload: true }));
    const id = (await item('t1'))!.id;
    await repo.updateItem(id, { status: 'uploaded', attempts: 3, dueAt: T0 + 9000 });
    now += 1000;
    // a rating of the closed talk: reopened noted, status and payload kept
    const seen: Array<ItemState | null> = [];
    expect(await repo.applyItem(key('t1', 'p1', 'amocrm'), fresh({ channel: 'o2', payload: { talkId: 2 } }), (row) => (seen.push(row), { status: row!.status, version: 11, reopened: true, replacePayload: false }))).toBe(true);
    expect(seen).toEqual([{ status: 'uploaded', version: 10, reopened: false }]);
    expect(await item('t1')).toMatchObject({ status: 'uploaded', version: 11, channel: 'o1', payload: { talkId: 1 }, attempts: 3, dueAt: T0 + 9000, updatedAt: new Date(T0 + 1000).toISOString() });
    // closed again: back to pending with the new payload and channel, attempts from 0, due at the fresh time
    expect(await repo.applyItem(key('t1', 'p1', 'amocrm'), fresh({ channel: 'o3', payload: { talkId: 3 }, dueAt: T0 + 1500 }), (row) => (seen.push(row), decideAmoTalk(row, { updatedAt: 12, inWork: false })))).toBe(true);
    expect(seen[1]).toEqual({ status: 'uploaded', version: 11, reopened: true });
    expect(await item('t1')).toMatchObject({ id, status: 'pending', version: 12, channel: 'o3', payload: { talkId: 3 }, attempts: 0, dueAt: T0 + 1500, kind: 'request' });
    // already pending: a newer copy replaces the payload, the due time and attempts stay
    await repo.updateItem(id, { attempts: 2, dueAt: T0 + 7000 });
    expect(await repo.applyItem(key('t1', 'p1', 'amocrm'), fresh({ channel: null, payload: { talkId: 4 }, dueAt: T0 + 99 }), decision({ status: 'pending', version: 13, reopened: false, replacePayload: true }))).toBe(true);
    expect(await item('t1')).toMatchObject({ status: 'pending', version: 13, channel: null, payload: { talkId: 4 }, attempts: 2, dueAt: T0 + 7000 });
    // a stale copy: nothing
    expect(await repo.applyItem(key('t1', 'p1', 'amocrm'), fresh(), (row) => decideAmoTalk(row, { updatedAt: 12, inWork: false }))).toBe(false);
    expect(await item('t1')).toMatchObject({ version: 13, payload: { talkId: 4 } });
    // the same ext_id under another source or portal is another item
    expect(await repo.applyItem(key('t1', 'p1', 'jivo'), fresh(), (row) => decideJivoItem(row, 1))).toBe(true);
    expect(await repo.applyItem(key('t1', 'p2', 'amocrm'), fresh(), (row) => decideJivoItem(row, 1))).toBe(true);
    expect((await repo.recent('p1', null, 10)).map((i) => `${i.source}:${i.version}`)).toEqual(['jivo:1', 'amocrm:13']);
  });

  it('due: pending and waiting items of the portal due by then, oldest first, limited; the portals with due items; the next due time', async () => {
    expect(await repo.nextDueAt()).toBeNull();
    expect(await repo.portalsWithDue(T0)).toEqual([]);
    const add = async (extId: string, dueAt: number, memberId = 'p1') => {
      await repo.applyItem(key(extId, memberId), fresh({ dueAt }), (row) => decideJivoItem(row, 1));
      return (await item(extId, memberId))!.id;
    };
    const a = await add('a', T0 + 300);
    const b = await add('b', T0 + 100);
    const c = await add('c', T0 + 300);
    const d = await add('d', T0 + 200);
    const e = await add('e', T0 + 50);
    await add('f', T0 + 10, 'p2');
    await repo.updateItem(d, { status: 'waiting' });
    await repo.updateItem(e, { status: 'uploaded' });
    const late = await add('g', T0 + 301);
    await repo.updateItem(late, { status: 'open' });
    expect((await repo.due('p1', T0 + 300, 10)).map((i) => i.id)).toEqual([b, d, a, c]);
    expect((await repo.due('p1', T0 + 300, 2)).map((i) => i.id)).toEqual([b, d]);
    expect((await repo.due('p1', T0 + 299, 10)).map((i) => i.id)).toEqual([b, d]);
    expect((await repo.due('p1', T0 + 99.5, 10)).map((i) => i.id)).toEqual([]); // a fractional bound: due_at <= it
    expect((await repo.due('p1', T0 + 100.5, 10)).map((i) => i.id)).toEqual([b]);
    expect((await repo.due('p1', T0 + 300, 10))[0]).toMatchObject({ extId: 'b', payload: { n: 1 } });
    expect((await repo.portalsWithDue(T0 + 100)).sort()).toEqual(['p1', 'p2']);
    expect(await repo.portalsWithDue(T0 + 99)).toEqual(['p2']);
    expect(await repo.portalsWithDue(T0 + 9)).toEqual([]);
    expect(await repo.nextDueAt()).toBe(T0 + 10); // open and uploaded ones are not queued
    await repo.updateItem((await item('f', 'p2'))!.id, { status: 'skipped' });
    expect(await repo.nextDueAt()).toBe(T0 + 100);
  });

  it('updateItem writes the patched fields and the update time; an empty patch writes nothing', async () => {
    await repo.applyItem(key('x'), fresh(), (row) => decideJivoItem(row, 1));
    const id = (await item('x'))!.id;
    now += 5000;
    await repo.updateItem(id, {});
    expect((await item('x'))!.updatedAt).toBe(new Date(T0).toISOString());
    await repo.updateItem(id, { status: 'uploaded', attribution: 'by site', reason: null, uisId: 987654321012, payload: { changed: [1, 2] } });
    expect(await item('x')).toMatchObject({ status: 'uploaded', attribution: 'by site', reason: null, uisId: 987654321012, payload: { changed: [1, 2] }, attempts: 0, dueAt: T0 + 500, updatedAt: new Date(T0 + 5000).toISOString() });
    await repo.updateItem(id, { status: 'waiting', attempts: 4, dueAt: T0 + 60_000, reason: 'later', attribution: undefined });
    expect(await item('x')).toMatchObject({ status: 'waiting', attempts: 4, dueAt: T0 + 60_000, reason: 'later', attribution: null });
  });

  it('forgetPayloads: items uploaded, skipped or failed last updated before the bound lose their payload (null), the row stays a dedupe record; a pruned failed item is not retried', async () => {
    const statuses = ['pending', 'open', 'waiting', 'uploaded', 'skipped', 'failed'] as const;
    for (const status of statuses) {
      await repo.applyItem(key(status), fresh({ payload: { transcript: `текст ${status}` } }), (row) => decideJivoItem(row, 5));
      await repo.updateItem((await item(status))!.id, { status, reason: status === 'failed' ? 'UIS_REJECTED: bad phone' : null });
    }
    await repo.applyItem(key('u2', 'p2', 'amocrm'), fresh({ payload: { talkId: 1 } }), (row) => decideJivoItem(row, 5));
    await repo.updateItem((await item('u2', 'p2'))!.id, { status: 'uploaded' });
    now = T0 + 10_000;
    await repo.applyItem(key('fresh-upload'), fresh({ payload: { transcript: 'new' } }), (row) => decideJivoItem(row, 5));
    await repo.updateItem((await item('fresh-upload'))!.id, { status: 'uploaded' });
    expect(await repo.forgetPayloads(T0 + 5000)).toBe(4);
    for (const status of ['uploaded', 'skipped', 'failed']) expect(await item(status)).toMatchObject({ status, payload: null, version: 5, updatedAt: new Date(T0).toISOString() });
    expect((await item('u2', 'p2'))!.payload).toBeNull();
    for (const status of ['pending', 'open', 'waiting']) expect((await item(status))!.payload).toEqual({ transcript: `текст ${status}` });
    expect((await item('fresh-upload'))!.payload).toEqual({ transcript: 'new' });
    expect(await repo.forgetPayloads(T0 + 5000)).toBe(0);
    expect(await repo.counts('p1', 'jivo')).toEqual({ pending: 3, uploaded: 2, skipped: 1, failed: 1 });
    // a repeat of the same version is still a repeat; a failed item without its conversation stays failed
    expect(await repo.applyItem(key('uploaded'), fresh({ payload: { transcript: 'again' } }), (row) => decideJivoItem(row, 5))).toBe(false);
    expect((await item('uploaded'))!.payload).toBeNull();
    expect(await repo.retryFailed('p1', 'jivo', 'UIS_REJECTED', T0 + 20_000)).toBe(0);
    expect((await item('failed'))!.status).toBe('failed');
    // a newer copy brings its conversation back and goes again
    expect(await repo.applyItem(key('uploaded'), fresh({ payload: { transcript: 'longer' } }), (row) => decideJivoItem(row, 6))).toBe(true);
    expect(await item('uploaded')).toMatchObject({ status: 'pending', payload: { transcript: 'longer' } });
  });

  it('retryFailed: failed items of the portal and source whose reason starts with the prefix (taken literally) go again', async () => {
    const add = async (extId: string, reason: string, status: 'failed' | 'waiting' = 'failed', memberId = 'p1', source: 'jivo' | 'amocrm' = 'jivo') => {
      await repo.applyItem(key(extId, memberId, source), fresh(), (row) => decideJivoItem(row, 1));
      const id = (await repo.recent(memberId, source, 100)).find((i) => i.extId === extId)!.id;
      await repo.updateItem(id, { status, reason, attempts: 7, dueAt: T0 });
      return id;
    };
    const a = await add('a', 'UIS_REJECTED: bad phone');
    const b = await add('b', 'uis_rejected: lower case');
    await add('c', 'UISXREJECTED: not the prefix');
    await add('d', 'UIS_REJECTED but waiting', 'waiting');
    await add('e', 'UIS_REJECTED elsewhere', 'failed', 'p2');
    await add('f', 'UIS_REJECTED on amoCRM', 'failed', 'p1', 'amocrm');
    await add('g', 'AMO%FORBIDDEN');
    now += 1000;
    expect(await repo.retryFailed('p1', 'jivo', 'UIS_REJECTED', T0 + 2000)).toBe(2); // SQLite's LIKE ignores ASCII case
    for (const id of [a, b]) expect((await repo.recent('p1', 'jivo', 100)).find((i) => i.id === id)).toMatchObject({ status: 'pending', attempts: 0, dueAt: T0 + 2000, updatedAt: new Date(T0 + 1000).toISOString() });
    expect((await item('c'))!.status).toBe('failed');
    expect((await item('d'))!.status).toBe('waiting');
    expect((await item('e', 'p2'))!.status).toBe('failed');
    expect((await repo.recent('p1', 'amocrm', 10))[0]!.status).toBe('failed');
    expect(await repo.retryFailed('p1', 'jivo', 'AMO_', T0)).toBe(0);
    expect(await repo.retryFailed('p1', 'jivo', 'AMO%', T0)).toBe(1);
    expect(await repo.retryFailed('p1', 'jivo', 'UIS_REJECTED', T0)).toBe(0);
  });

  it('retryWaiting: waiting items of the portal and source become due then', async () => {
    for (const [extId, status, memberId, source] of [
      ['a', 'waiting', 'p1', 'amocrm'],
      ['b', 'waiting', 'p1', 'amocrm'],
      ['c', 'failed', 'p1', 'amocrm'],
      ['d', 'waiting', 'p1', 'jivo'],
      ['e', 'waiting', 'p2', 'amocrm'],
    ] as const) {
      await repo.applyItem(key(extId, memberId, source), fresh(), (row) => decideJivoItem(row, 1));
      const id = (await repo.recent(memberId, source, 100)).find((i) => i.extId === extId)!.id;
      await repo.updateItem(id, { status, attempts: 3, dueAt: T0 + 86_400_000 });
    }
    expect(await repo.retryWaiting('p1', 'amocrm', T0 + 1)).toBe(2);
    expect((await repo.recent('p1', 'amocrm', 10)).map((i) => [i.extId, i.status, i.dueAt, i.attempts])).toEqual([
      ['c', 'failed', T0 + 86_400_000, 3],
      ['b', 'waiting', T0 + 1, 3],
      ['a', 'waiting', T0 + 1, 3],
    ]);
    expect((await item('d'))!.dueAt).toBe(T0 + 86_400_000);
    expect((await item('e', 'p2'))!.dueAt).toBe(T0 + 86_400_000);
  });

  it('recent: newest first, of one source or all, limited; counts by status (open and waiting count as pending)', async () => {
    const statuses = ['pending', 'open', 'waiting', 'uploaded', 'uploaded', 'skipped', 'failed'] as const;
    for (const [n, status] of statuses.entries()) {
      await repo.applyItem(key(`j${n}`), fresh(), (row) => decideJivoItem(row, 1));
      await repo.updateItem((await item(`j${n}`))!.id, { status });
    }
    await repo.applyItem(key('a0', 'p1', 'amocrm'), fresh(), (row) => decideJivoItem(row, 1));
    await repo.applyItem(key('z0', 'p2'), fresh(), (row) => decideJivoItem(row, 1));
    expect((await repo.recent('p1', null, 3)).map((i) => i.extId)).toEqual(['a0', 'j6', 'j5']);
    expect((await repo.recent('p1', 'jivo', 2)).map((i) => i.extId)).toEqual(['j6', 'j5']);
    expect((await repo.recent('p1', 'amocrm', 10)).map((i) => i.extId)).toEqual(['a0']);
    expect(await repo.recent('p3', null, 10)).toEqual([]);
    expect(await repo.counts('p1', 'jivo')).toEqual({ pending: 3, uploaded: 2, skipped: 1, failed: 1 });
    expect(await repo.counts('p1', 'amocrm')).toEqual({ pending: 1, uploaded: 0, skipped: 0, failed: 0 });
    expect(await repo.counts('p2', 'amocrm')).toEqual({ pending: 0, uploaded: 0, skipped: 0, failed: 0 });
  });

  it("the source's state: last event, upload and error; errors resolved by code; the channels seen, latest first", async () => {
    expect(await repo.state('p1', 'jivo')).toEqual({ lastEventAt: null, lastUploadAt: null, lastError: null });
    expect(await repo.channels('p1', 'jivo')).toEqual([]);
    await repo.noteUpload('p1', 'jivo', T0 + 1);
    expect(await repo.state('p1', 'jivo')).toEqual({ lastEventAt: null, lastUploadAt: T0 + 1, lastError: null });
    await repo.noteEvent('p1', 'jivo', T0 + 2, null);
    await repo.noteEvent('p1', 'jivo', T0 + 3, 'widget-a');
    await repo.noteEvent('p1', 'jivo', T0 + 4, 'widget-b');
    await repo.noteEvent('p1', 'jivo', T0 + 5, 'widget-a');
    await repo.noteEvent('p1', 'jivo', T0 + 6, 'x'.repeat(150));
    expect(await repo.channels('p1', 'jivo')).toEqual([
      { key: 'x'.repeat(100), lastAt: T0 + 6 },
      { key: 'widget-a', lastAt: T0 + 5 },
      { key: 'widget-b', lastAt: T0 + 4 },
    ]);
    expect(await repo.channels('p1', 'amocrm')).toEqual([]);
    await repo.noteError('p1', 'jivo', { at: T0 + 7, code: 'UIS_UNAVAILABLE', message: 'м'.repeat(600) });
    expect(await repo.state('p1', 'jivo')).toEqual({ lastEventAt: T0 + 6, lastUploadAt: T0 + 1, lastError: { at: T0 + 7, code: 'UIS_UNAVAILABLE', message: 'м'.repeat(500) } });
    await repo.resolveErrors('p1', 'jivo', ['UIS_REJECTED', 'UIS_NOT_LINKED']);
    expect((await repo.state('p1', 'jivo')).lastError?.code).toBe('UIS_UNAVAILABLE');
    await repo.resolveErrors('p1', 'amocrm', ['UIS_UNAVAILABLE']);
    await repo.resolveErrors('p1', 'jivo', []);
    expect((await repo.state('p1', 'jivo')).lastError?.code).toBe('UIS_UNAVAILABLE');
    await repo.resolveErrors('p1', 'jivo', ['UIS_REJECTED', 'UIS_UNAVAILABLE']);
    expect(await repo.state('p1', 'jivo')).toEqual({ lastEventAt: T0 + 6, lastUploadAt: T0 + 1, lastError: null });
    await repo.noteError('p1', 'amocrm', { at: T0 + 8, code: 'AMO_REAUTH', message: '' }); // a first row made by an error
    expect(await repo.state('p1', 'amocrm')).toEqual({ lastEventAt: null, lastUploadAt: null, lastError: { at: T0 + 8, code: 'AMO_REAUTH', message: '' } });
    await repo.noteError('p1', 'amocrm', null);
    expect(await repo.state('p1', 'amocrm')).toEqual({ lastEventAt: null, lastUploadAt: null, lastError: null });
    await repo.noteError('p2', 'amocrm', null); // no row yet: one without an error
    expect(await repo.state('p2', 'amocrm')).toEqual({ lastEventAt: null, lastUploadAt: null, lastError: null });
    expect(await repo.state('p2', 'jivo')).toEqual({ lastEventAt: null, lastUploadAt: null, lastError: null });
  });

  it('at most 100 channels are listed, the latest', async () => {
    for (let n = 0; n < 105; n++) await repo.noteEvent('p1', 'jivo', T0 + n, `w${n}`);
    const list = await repo.channels('p1', 'jivo');
    expect(list).toHaveLength(100);
    expect(list[0]).toEqual({ key: 'w104', lastAt: T0 + 104 });
    expect(list[99]).toEqual({ key: 'w5', lastAt: T0 + 5 });
  });

  it('free text with U+0000 (an amoCRM talk origin is any string) is stored; PostgreSQL, whose text cannot hold it, keeps U+FFFD', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    await repo.applyItem(key('n1', 'p1', 'amocrm'), fresh({ channel: 'o\u0000rigin', payload: { s: 'a\u0000b' } }), (row) => decideJivoItem(row, 1));
    await repo.noteEvent('p1', 'amocrm', T0, 'o\u0000rigin');
    const id = (await item('n1'))!.id;
    expect(await item('n1')).toMatchObject({ channel: kept('o\u0000rigin'), payload: { s: 'a\u0000b' } });
    await repo.updateItem(id, { status: 'failed', reason: 'UIS_REJECTED: \u0000', attribution: '\u0000x' });
    expect(await item('n1')).toMatchObject({ reason: kept('UIS_REJECTED: \u0000'), attribution: kept('\u0000x') });
    expect(await repo.retryFailed('p1', 'amocrm', 'UIS_REJECTED', T0)).toBe(1);
    await repo.applyItem(key('n1', 'p1', 'amocrm'), fresh({ channel: '\u0000' }), (row) => decideJivoItem(row, 2));
    expect((await item('n1'))!.channel).toBe(kept('\u0000'));
    expect(await repo.channels('p1', 'amocrm')).toEqual([{ key: kept('o\u0000rigin'), lastAt: T0 }]);
    await repo.noteError('p1', 'amocrm', { at: T0, code: 'AMO_UNAVAILABLE', message: 'HTTP 500: \u0000' });
    expect((await repo.state('p1', 'amocrm')).lastError).toEqual({ at: T0, code: 'AMO_UNAVAILABLE', message: kept('HTTP 500: \u0000') });
  });

  it('one webhook delivered to two instances at once (two pools on PostgreSQL): the item is inserted once and written once', async () => {
    for (let round = 0; round < 10; round++) {
      const k = key(`dup${round}`);
      const written = await Promise.all(
        Array.from({ length: 8 }, (_, n) => (n % 2 ? other : repo).applyItem(k, fresh({ payload: { n } }), (row) => decideJivoItem(row, 1000))),
      );
      expect(written.filter(Boolean)).toHaveLength(1);
      expect((await repo.recent('p1', 'jivo', 100)).filter((i) => i.extId === k.extId)).toHaveLength(1);
    }
  });

  it('copies of one conversation racing from two instances: every decision is taken on the current row, the newest version wins', async () => {
    for (let round = 0; round < 10; round++) {
      const k = key(`race${round}`);
      const versions = [3, 7, 1, 8, 5, 2, 6, 4];
      const seen: Array<ItemState | null> = [];
      const written = await Promise.all(
        versions.map((v, n) => (n % 2 ? other : repo).applyItem(k, fresh({ payload: { v } }), (row) => (seen.push(row), decideJivoItem(row, v)))),
      );
      const got = await item(k.extId);
      expect(got).toMatchObject({ version: 8, payload: { v: 8 } });
      // serialized: the written versions grow, each decided on the one written before it
      const order = versions.filter((_, n) => written[n]);
      expect(order.length).toBeGreaterThanOrEqual(1);
      expect(seen.filter((r) => r === null).length).toBeGreaterThanOrEqual(1);
      const stored = seen.filter((r): r is ItemState => r !== null).map((r) => r.version);
      expect(new Set(stored).size).toBeLessThanOrEqual(order.length);
      expect(stored.every((v) => order.includes(v))).toBe(true);
    }
  });
});
