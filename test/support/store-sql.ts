/**
 * SQL straight on a harness server's store (issue #12), for the tests that set up or check a state
 * no port offers (a retry made due now, a row as it lies at rest): the SQLite database, or the
 * server's PostgreSQL schema through a small pool of its own. `?` placeholders on both; BIGINT comes
 * back as a number, as the server reads it.
 */
import type { RunningServer } from '../../server/compose';
import { openPg, type PgStore } from '../../server/storage/pg/connection';
import { TEST_PG_URL } from './stores';

export interface StoreSql {
  /** The rows a query returns. */
  all(query: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** A write; the number of rows it changed. */
  run(query: string, ...params: unknown[]): Promise<number>;
  /** The server's PostgreSQL schema as a store of its own (e.g. a second instance's lease store); throws on SQLite. */
  pg(): Promise<PgStore>;
  close(): Promise<void>;
}

/** `?` → `$1, $2…` (no `?` in the tests' string literals). */
const numbered = (query: string) => {
  let n = 0;
  return query.replace(/\?/g, () => `$${++n}`);
};

export function storeSql(app: RunningServer, schema: string | undefined): StoreSql {
  let opened: Promise<PgStore> | null = null;
  const pg = () => {
    if (app.storeKind !== 'postgres') throw new Error('this server runs on SQLite');
    // migrations are the server's: this pool only works in its schema
    opened ??= openPg(TEST_PG_URL, { schema, max: 2, migrate: false });
    return opened;
  };
  return {
    async all(query, ...params) {
      if (app.storeKind === 'sqlite') return app.db.prepare(query).all(...params) as Array<Record<string, unknown>>;
      return (await (await pg()).pool.query(numbered(query), params)).rows as Array<Record<string, unknown>>;
    },
    async run(query, ...params) {
      if (app.storeKind === 'sqlite') return app.db.prepare(query).run(...params).changes;
      return (await (await pg()).pool.query(numbered(query), params)).rowCount ?? 0;
    },
    pg,
    async close() {
      if (opened) await (await opened).close();
    },
  };
}
