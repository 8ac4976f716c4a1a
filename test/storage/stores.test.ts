/**
 * test/support/stores.ts itself: the postgres variant works in a schema of its own (files run in
 * parallel), dropped afterwards; an unreachable PostgreSQL is an error that says so (without the
 * URL's password), never a silent skip.
 */
import { describe, expect, it } from 'vitest';
import { dropPgSchema, forEachStore, openTestPg } from '../support/stores';

forEachStore('test stores', (store) => {
  it('are open, each in its own place', async () => {
    if (store.name === 'sqlite') {
      expect(store.sqlite!.prepare('SELECT count(*) FROM schema_migrations').pluck().get()).toBeGreaterThan(0);
      expect(store.pg).toBeUndefined();
      return;
    }
    expect(store.sqlite).toBeUndefined();
    const { rows } = await store.pg!.pool.query<{ s: string }>('SELECT current_schema() AS s');
    expect(rows[0]!.s).toBe(store.pg!.schema);
    expect(store.pg!.schema).toMatch(/^t_[0-9a-f]{12}$/);
  });

  it('clear empties the tables named', async () => {
    const insert = "INSERT INTO leases (member_id, area, owner, expires_at) VALUES ('p1', 'work', 'A', 1)";
    if (store.sqlite) store.sqlite.exec(insert);
    else await store.pg!.pool.query(insert);
    await store.clear('leases');
    const count = store.sqlite
      ? store.sqlite.prepare('SELECT count(*) FROM leases').pluck().get()
      : (await store.pg!.pool.query<{ n: number }>('SELECT count(*) AS n FROM leases')).rows[0]!.n;
    expect(count).toBe(0);
    await expect(store.clear('leases; DROP TABLE leases')).rejects.toThrow(/not a table name/);
  });
});

describe('openTestPg', () => {
  it('drops its schema with dropPgSchema', async () => {
    const pg = await openTestPg();
    const other = await openTestPg({ migrate: false, schema: 'public' }).catch(() => null);
    expect(other).not.toBeNull();
    await dropPgSchema(pg);
    const { rows } = await other!.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [pg.schema]);
    expect(rows).toEqual([]);
    await other!.close();
  });

  it('an unreachable PostgreSQL fails with a clear message, the password left out', async () => {
    const err = await openTestPg({ url: 'postgres://postgres:s3cret@127.0.0.1:1/test' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test did not answer .*ECONNREFUSED/);
    expect(err?.message).not.toContain('s3cret');
  });
});
