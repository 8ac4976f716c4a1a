import type pg from 'pg';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * server/storage/migrations-pg: the PostgreSQL dialect of every migration, under the SQLite file
 * names — beside the module when bundled (build/migrations-pg next to build/serve.js, as
 * build/migrations is for SQLite), else the source tree's.
 */
export const PG_MIGRATIONS_DIR = existsSync(join(HERE, 'migrations-pg')) ? join(HERE, 'migrations-pg') : join(HERE, '..', 'migrations-pg');

/** First key of the advisory lock the migration run holds (the second: the schema's hash). */
const LOCK_CLASS = 0x75_69_73_30; // 'uis0'

/**
 * Apply the pending migrations of `dir` to the pool's schema (its search_path), in file-name order,
 * each in its own transaction and recorded in schema_migrations — as server/storage/db.ts does for
 * SQLite. The whole run holds a session advisory lock keyed by the schema, so instances starting
 * together migrate once: the second waits, then finds everything applied. Returns the versions
 * this call applied.
 */
export async function migratePg(pool: pg.Pool, dir: string = PG_MIGRATIONS_DIR): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const schema = (await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s;
    if (!schema) throw new Error('PostgreSQL migrations: no schema of the search_path exists');
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
      const applied = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const done: string[] = [];
      for (const file of files) {
        if (applied.has(file)) continue;
        const sql = readFileSync(join(dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [file, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw new Error(`PostgreSQL migration ${file} failed: ${(err as Error).message}`, { cause: err });
        }
        done.push(file);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, schema]).catch((err: Error) => {
        broken = err; // the session is unusable: dropped below, which frees its lock
      });
    }
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    // a client whose run failed is not handed back to the pool: its session (and any lock) ends
    client.release(broken);
  }
}
