/**
 * Storage tests run against both stores (issue #12): SQLite (an in-memory openDb) and PostgreSQL
 * (openPg in a fresh random schema, created before the file's tests and dropped after them, so
 * files run in parallel). PostgreSQL is not optional: when it does not answer, the postgres variant
 * FAILS with the reason (CI has it) — never skipped. TEST_DATABASE_URL picks the server
 * (default postgres://postgres@127.0.0.1:5432/test).
 *
 *   forEachStore('lease store', (store) => {
 *     beforeEach(() => store.clear('leases'));
 *     it('…', async () => { const leases = store.sqlite ? createSqliteLeaseStore(store.sqlite) : createPgLeaseStore(store.pg!.db); … });
 *   });
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe } from 'vitest';
import pg from 'pg';
import { openDb, type Db } from '../../server/storage/db';
import { openPg, type PgStore } from '../../server/storage/pg/connection';

export type StoreName = 'sqlite' | 'postgres';
export const STORE_NAMES: readonly StoreName[] = ['sqlite', 'postgres'];

export const TEST_PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** The store of one variant; `sqlite` or `pg` is set (from beforeAll on) as `name` says. */
export interface TestStore {
  readonly name: StoreName;
  readonly sqlite: Db | undefined;
  readonly pg: PgStore | undefined;
  /** Empty these tables (e.g. in beforeEach: the variant's store is shared by the describe's tests). */
  clear(...tables: string[]): Promise<void>;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable TEST_DATABASE_URL)';
  }
}

/** A fresh random schema name (lower case, a valid identifier). */
export function randomSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * openPg in a fresh random schema (migrated unless `migrate: false`); throws a clear error when
 * PostgreSQL does not answer. Drop it with dropPgSchema.
 */
export async function openTestPg(opts: { schema?: string; max?: number; migrate?: boolean; url?: string } = {}): Promise<PgStore> {
  const schema = opts.schema ?? randomSchema();
  const url = opts.url ?? TEST_PG_URL;
  const open = () => openPg(url, { schema, max: opts.max ?? 5, migrate: opts.migrate ?? true });
  try {
    try {
      return await open();
    } catch (err) {
      if ((err as { code?: string }).code !== '3D000') throw err; // the test database does not exist yet: create it
      await createDatabase(url);
      return await open();
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.message.startsWith('PostgreSQL migration')) throw err;
    throw new Error(
      `PostgreSQL at ${redactUrl(url)} did not answer (${e.code ?? ''} ${e.message}): the postgres variant of the storage tests ` +
        'needs it — CI runs one; locally start PostgreSQL or point TEST_DATABASE_URL at one',
      { cause: err },
    );
  }
}

async function createDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a database name to create: ${name}`);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // another file created it meanwhile
  } finally {
    await client.end();
  }
}

/** DROP SCHEMA … CASCADE, then close the pool. */
export async function dropPgSchema(store: PgStore): Promise<void> {
  try {
    if (store.schema) await store.pool.query(`DROP SCHEMA IF EXISTS "${store.schema}" CASCADE`);
  } finally {
    await store.close();
  }
}

// One PostgreSQL schema per test file (module state is per file: vitest isolates files), shared by
// the postgres describes open at a time and dropped when the last of them is done.
let shared: Promise<PgStore> | undefined;
let users = 0;

async function acquirePg(): Promise<PgStore> {
  users++;
  shared ??= openTestPg();
  try {
    return await shared;
  } catch (err) {
    if (--users === 0) shared = undefined;
    throw err;
  }
}

async function releasePg(): Promise<void> {
  if (--users > 0 || !shared) return;
  const s = shared;
  shared = undefined;
  const store = await s.catch(() => undefined);
  if (store) await dropPgSchema(store);
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function variant(name: StoreName): TestStore & { open(): Promise<void>; check(): void; dispose(): Promise<void> } {
  let sqlite: Db | undefined;
  let pg: PgStore | undefined;
  let failed: unknown;
  return {
    name,
    get sqlite() {
      return sqlite;
    },
    get pg() {
      return pg;
    },
    async clear(...tables) {
      for (const t of tables) if (!IDENT.test(t)) throw new Error(`not a table name: ${t}`);
      if (sqlite) for (const t of tables) sqlite.prepare(`DELETE FROM ${t}`).run();
      if (pg && tables.length) await pg.pool.query(`TRUNCATE ${tables.join(', ')} CASCADE`);
    },
    async open() {
      try {
        if (name === 'sqlite') sqlite = openDb(':memory:');
        else pg = await acquirePg();
      } catch (err) {
        failed = err; // each test of the variant fails with it (a failed beforeAll would only skip them)
      }
    },
    check() {
      if (failed) throw failed;
    },
    async dispose() {
      if (sqlite) sqlite.close();
      sqlite = undefined;
      if (pg) {
        pg = undefined;
        await releasePg();
      }
    },
  };
}

/** `body` once per store, in a describe «title [sqlite]» / «title [postgres]» with the store open. */
export function forEachStore(title: string, body: (store: TestStore) => void): void {
  for (const name of STORE_NAMES) {
    describe(`${title} [${name}]`, () => {
      const v = variant(name);
      beforeAll(() => v.open());
      beforeEach(() => v.check());
      afterAll(() => v.dispose());
      body(v);
    });
  }
}
