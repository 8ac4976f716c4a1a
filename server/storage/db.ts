import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

/** Pages in the WAL before a commit checkpoints it (see openDb). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Open the SQLite database (WAL, foreign keys) and apply pending numbered migrations. */
export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // The commit that finds the WAL past this many pages copies it into the database file and fsyncs
  // both, on the event loop. SQLite's 1,000 pages (4 MB) meant a checkpoint every ~200 UIS callbacks
  // under load (each writes ~5 pages: inbox, job, link, CRM rows and their indexes); 10,000 pages
  // (40 MB) cut the checkpoints' fsyncs 7× and their copying 3× (hot pages copied once, not every
  // time), docs/benchmarks.md. A WAL grown past 64 MB (a long reader held a checkpoint back) is cut back.
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  migrate(db);
  return db;
}

/** `fn` in one transaction: the storage side of the services' `Atomically` port (callback-intake.ts). */
export function atomically(db: Db): <T>(fn: () => T) => T {
  const run = db.transaction((fn: () => unknown) => fn());
  return <T>(fn: () => T): T => run(fn) as T;
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as string[]);
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  for (const file of files) {
    if (applied.has(file)) continue;
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(file, new Date().toISOString());
    })();
  }
}
