/**
 * Which store the servers a test starts run on (issue #12): SQLite by default, PostgreSQL when
 * TEST_STORE=postgres (the vitest project `node-pg` sets it). A harness server gets a fresh random
 * schema, dropped when it closes; a child-process server (restarts, the cluster) gets a schema named
 * after its SQLite path, so every restart and every instance of one world shares it.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { randomSchema, TEST_PG_URL } from './stores';

export const TEST_STORE: 'sqlite' | 'postgres' = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** The environment of a child-process server whose SQLite file would be `databasePath`. */
export function childDatabaseEnv(databasePath: string, store: 'sqlite' | 'postgres' = TEST_STORE): Record<string, string> {
  if (store === 'sqlite') return { DATABASE_URL: `file:${databasePath}` };
  return { DATABASE_URL: TEST_PG_URL, DATABASE_SCHEMA: worldSchema(databasePath) };
}

/** The PostgreSQL schema of the child-process world whose SQLite file would be `databasePath`. */
export function worldSchema(databasePath: string): string {
  const hash = createHash('sha256').update(resolve(databasePath)).digest('hex').slice(0, 16);
  // a node-pg project run names its worlds (pg-project-teardown.ts), so its teardown drops only its own
  const run = process.env.OMNI_TEST_RUN;
  return run && /^[0-9a-f]{8}$/.test(run) ? `w_${run}_${hash}` : `w_${hash}`;
}

/** The environment of an in-process (harness) server, and how to drop what it leaves. */
export function harnessDatabaseEnv(): { env: Record<string, string>; drop(): Promise<void> } {
  if (TEST_STORE === 'sqlite') return { env: { DATABASE_URL: 'file::memory:' }, drop: async () => {} };
  const schema = randomSchema('h');
  return { env: { DATABASE_URL: TEST_PG_URL, DATABASE_SCHEMA: schema }, drop: () => dropSchemas([schema]) };
}

/** Drops these schemas (after the servers on them closed). */
export async function dropSchemas(schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The schemas child-process worlds left (pg project teardown). */
export async function dropWorldSchemas(run: string): Promise<number> {
  if (!/^[0-9a-f]{8}$/.test(run)) throw new Error(`not a test run id: ${run}`);
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    const r = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname ~ '^w_${run}_[0-9a-f]{16}$'`);
    for (const row of r.rows) await client.query(`DROP SCHEMA IF EXISTS "${row.nspname}" CASCADE`);
    return r.rows.length;
  } finally {
    await client.end();
  }
}

/** A read of a child-process world's PostgreSQL schema (the SQLite file's stand-in). */
export async function pgQuery(databasePath: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, options: `-c search_path=${worldSchema(databasePath)}` });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
