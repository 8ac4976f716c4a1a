/**
 * The UIS channel store contract (issue #12): the same cases against the SQLite repository (wrapped
 * by asyncPort) and the PostgreSQL store — a channel as UIS last announced it (upsert), removed,
 * listed per connection (active ones, in the numeric order of their ids as SQLite's CAST gives it,
 * ids that are not numbers included), templates (ours and UIS's backfilled MessageTemplate) and
 * U+0000. On PostgreSQL, announcements of one channel reaching two instances (two pools) at once
 * leave one row, one of them whole. Store time is a hand-moved number.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { asyncPort, type AsyncPort } from '../../server/services/async-port';
import type { UisChannel, UisChannelRepository } from '../../server/services/workspace-ports';
import { createSqliteUisChannelRepository } from '../../server/storage/uis-channel-repository';
import { createPgUisChannelStore } from '../../server/storage/pg/uis-channel-store';
import type { PgStore } from '../../server/storage/pg/connection';
import { forEachStore, openTestPg, type TestStore } from '../support/stores';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const iso = (t: number) => new Date(t).toISOString();

async function run(store: TestStore, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (store.sqlite) {
    const st = store.sqlite.prepare(text);
    return st.reader ? (st.all(...params) as Array<Record<string, unknown>>) : (st.run(...params), []);
  }
  let i = 0;
  return (await store.pg!.pool.query(text.replace(/\?/g, () => `$${++i}`), params)).rows;
}

const channel = (channelId: string, over: Partial<UisChannel> = {}): UisChannel => ({
  memberId: 'p1',
  channelId,
  accountId: 'acc-1',
  chatChannelId: `chat-${channelId}`,
  type: 'whatsapp',
  name: `Канал ${channelId}`,
  status: 'active',
  templates: [],
  ...over,
});
const template = (id: number, text: string) => ({ id, name: `t${id}`, text, content: { text, header: { type: 'text' } } });

forEachStore('UIS channel store', (store) => {
  let now = T0;
  let repo: AsyncPort<UisChannelRepository>;
  let second: PgStore | undefined;
  let other: AsyncPort<UisChannelRepository>;

  beforeAll(async () => {
    if (store.pg) second = await openTestPg({ schema: store.pg.schema, migrate: false, max: 4 });
    for (const m of ['p1', 'p2'])
      await run(store, `INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'x', 'x', 'active', 'x', 'x')`, [m]);
  });
  afterAll(async () => {
    await second?.close();
  });
  beforeEach(async () => {
    now = T0;
    await store.clear('uis_channels'); // the portals stay (emptying them would cascade to every table)
    const make = (which: 'a' | 'b') =>
      store.sqlite ? asyncPort(createSqliteUisChannelRepository(store.sqlite, () => now)) : createPgUisChannelStore(which === 'a' ? store.pg!.db : second!.db, () => now);
    repo = make('a');
    other = make('b');
  });

  const updatedAt = async (channelId: string) => (await run(store, 'SELECT updated_at FROM uis_channels WHERE member_id = ? AND channel_id = ?', ['p1', channelId]))[0]?.updated_at;

  it('upsert and get: the channel as announced, with its templates; again replaces it; unknown is null', async () => {
    expect(await repo.get('p1', '1')).toBeNull();
    const c = channel('1', { templates: [template(5, 'Здравствуйте, {{1}}'), template(6, '')] });
    await repo.upsert(c);
    expect(await repo.get('p1', '1')).toEqual(c);
    expect(await updatedAt('1')).toBe(iso(T0));
    now += 1000;
    const next = channel('1', { accountId: 'acc-2', chatChannelId: null, type: 'telegram', name: 'Новый', status: 'disabled', templates: [] });
    await repo.upsert(next);
    expect(await repo.get('p1', '1')).toEqual(next);
    expect(await updatedAt('1')).toBe(iso(T0 + 1000));
    expect(await repo.get('p2', '1')).toBeNull();
  });

  it('list: the connection\'s active channels, in the numeric order of their ids (as SQLite\'s CAST: leading integer, else 0; past BIGINT, its largest)', async () => {
    for (const id of ['10', '99999999999999999999', '9', '2', ' 7', '-1', 'x5', '1e3', '12.5']) await repo.upsert(channel(id));
    await repo.upsert(channel('3', { accountId: 'acc-2' }));
    await repo.upsert(channel('4', { status: 'disabled' }));
    await repo.upsert(channel('5', { memberId: 'p2' }));
    expect((await repo.list('p1', 'acc-1')).map((c) => c.channelId)).toEqual(['-1', 'x5', '1e3', '2', ' 7', '9', '10', '12.5', '99999999999999999999']);
    expect(await repo.list('p1', 'acc-2')).toEqual([channel('3', { accountId: 'acc-2' })]);
    expect(await repo.list('p2', 'acc-1')).toEqual([channel('5', { memberId: 'p2' })]);
    expect(await repo.list('p1', 'acc-9')).toEqual([]);
  });

  it('markRemoved: removed (kept for get, gone from the list), updated now; a new announcement brings it back; unknown untouched', async () => {
    await repo.upsert(channel('1'));
    await repo.upsert(channel('2'));
    now += 1000;
    await repo.markRemoved('p1', '1');
    expect(await repo.get('p1', '1')).toEqual(channel('1', { status: 'removed' }));
    expect(await updatedAt('1')).toBe(iso(T0 + 1000));
    expect((await repo.list('p1', 'acc-1')).map((c) => c.channelId)).toEqual(['2']);
    await repo.upsert(channel('1'));
    expect((await repo.list('p1', 'acc-1')).map((c) => c.channelId)).toEqual(['1', '2']);
    await repo.markRemoved('p1', '9');
    await repo.markRemoved('p2', '2');
    expect(await repo.get('p1', '9')).toBeNull();
    expect(await repo.get('p1', '2')).toEqual(channel('2'));
  });

  it("templates as stored: UIS's MessageTemplate (backfilled rows) read as ours; not JSON or not a list reads as none", async () => {
    await run(
      store,
      `INSERT INTO uis_channels (member_id, channel_id, account_id, type, name, status, templates, updated_at) VALUES
        ('p1', '1', 'acc-1', 'waba', 'n', 'active', ?, 'x'), ('p1', '2', 'acc-1', 'waba', 'n', 'active', 'not json', 'x'), ('p1', '3', 'acc-1', 'waba', 'n', 'active', '{"id":1}', 'x')`,
      [JSON.stringify([{ id: '7', name: 'hello', content: { text: 'Привет' } }, { id: 'x' }, { id: 8 }])],
    );
    expect((await repo.get('p1', '1'))!.templates).toEqual([
      { id: 7, name: 'hello', text: 'Привет', content: { text: 'Привет' } },
      { id: 8, name: '8', text: '', content: {} },
    ]);
    expect((await repo.get('p1', '2'))!.templates).toEqual([]);
    expect((await repo.get('p1', '3'))!.templates).toEqual([]);
  });

  it('U+0000: templates (JSON) keep it exactly; other text is stored (PostgreSQL keeps U+FFFD); a lookup with it answers', async () => {
    const kept = (s: string) => (store.sqlite ? s : s.replaceAll('\u0000', '\uFFFD'));
    const c = channel('1\u0000', { name: 'n\u0000', type: 't\u0000', chatChannelId: '\u0000', templates: [template(1, 'a\u0000b')] });
    await repo.upsert(c);
    const got = await repo.get('p1', '1\u0000');
    expect(got).toEqual({ ...c, channelId: kept('1\u0000'), name: kept('n\u0000'), type: kept('t\u0000'), chatChannelId: kept('\u0000') });
    expect(await repo.list('p1', 'acc-1')).toEqual([got]);
    await repo.markRemoved('p1', '1\u0000');
    expect((await repo.get('p1', '1\u0000'))!.status).toBe('removed');
    expect(await repo.list('p1\u0000', 'acc\u0000')).toEqual([]);
  });

  it('announcements of one channel reaching two instances (two pools on PostgreSQL) at once: one row, one of them whole', async () => {
    for (let round = 0; round < 8; round++) {
      const cs = Array.from({ length: 8 }, (_, n) => channel('1', { name: `n-${round}-${n}`, type: `t-${round}-${n}`, templates: [template(n, `x-${round}-${n}`)] }));
      await Promise.all(cs.map((c, n) => (n % 2 ? other : repo).upsert(c)));
      const got = (await repo.get('p1', '1'))!;
      expect(got).toEqual(cs.find((c) => c.name === got.name));
      expect(await run(store, 'SELECT channel_id FROM uis_channels')).toHaveLength(1);
    }
  });
});
