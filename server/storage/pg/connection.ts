import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { PgSchema } from './schema';
import { migratePg } from './migrate';

export interface PgStore {
  db: Kysely<PgSchema>;
  pool: pg.Pool;
  /** the schema the pool works in (its search_path), or undefined: the server's default (public) */
  schema: string | undefined;
  /** Ends the pool (waits for the clients in use to be returned). */
  close(): Promise<void>;
}

export interface OpenPgOptions {
  /** work in this schema (created when missing): search_path of every connection */
  schema?: string;
  /** the pool's size (default 10) */
  max?: number;
  /** apply the pending migrations (default true), as openDb does for SQLite */
  migrate?: boolean;
  /** an idle connection failed (the server restarted, the network dropped): the pool replaces it */
  onError?: (err: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

/**
 * BIGINT (int8) columns hold what the SQLite code stores as INTEGER — ids, counts, times in ms — and
 * the repositories map rows as numbers: parsed to number (exact up to 2^53, far above any of them)
 * instead of pg's default string. NUMERIC (e.g. SUM over BIGINT) stays a string: cast it in SQL.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Open a PostgreSQL store (issue #12: `DATABASE_URL=postgres://…`): a pg Pool, the Kysely query
 * builder over it, the schema created when missing and set as every connection's search_path, and
 * the migrations of server/storage/migrations-pg applied (under an advisory lock: see migratePg).
 */
export async function openPg(url: string, opts: OpenPgOptions = {}): Promise<PgStore> {
  const { schema } = opts;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`PostgreSQL schema name must match ${SCHEMA_NAME}: ${JSON.stringify(schema)}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on('error', (err) => opts.onError?.(err));
  const db = new Kysely<PgSchema>({ dialect: new PostgresDialect({ pool }) });
  const close = () => db.destroy();
  try {
    if (schema) await createSchema(pool, schema);
    if (opts.migrate ?? true) await migratePg(pool);
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { db, pool, schema, close };
}

async function createSchema(pool: pg.Pool, schema: string): Promise<void> {
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (err) {
    // two instances creating it at once: the loser's IF NOT EXISTS can still hit the catalog's unique index
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw err;
  }
}
