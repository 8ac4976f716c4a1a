import { createHash } from 'node:crypto';
import type { Db } from '../../server/storage/db';
import type { Harness } from './harness';

/**
 * Bookkeeping of the process, not data a request writes: the portal's shared REST bucket (a request
 * that verifies its AUTH_ID with the portal spends a token of it, forged or not) and the work leases
 * the job loops renew while they run, the amoCRM hosts' shared pacing (issue #12).
 */
const BOOKKEEPING = new Set(['rest_buckets', 'leases', 'amocrm_pacing']);
/** PostgreSQL's own: the applied migrations */
const PG_BOOKKEEPING = new Set(['schema_migrations']);

/**
 * A digest of every row of every table but the bookkeeping ones (what "nothing was written" is
 * checked against), and the per-table row digests to say which table changed.
 */
export function dbSnapshot(db: Db): { digest: string; tables: Record<string, string> } {
  const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]).filter(
    (n) => !BOOKKEEPING.has(n),
  );
  const tables: Record<string, string> = {};
  const all = createHash('sha256');
  for (const name of names) {
    const h = createHash('sha256');
    for (const row of db.prepare(`SELECT * FROM "${name}"`).raw().iterate()) h.update(JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    tables[name] = h.digest('hex');
    all.update(`${name}:${tables[name]}\n`);
  }
  return { digest: all.digest('hex'), tables };
}

/**
 * dbSnapshot of a harness server's store, SQLite or PostgreSQL (the tables of its schema, the
 * migrations' bookkeeping left out too). PostgreSQL has no row order without ORDER BY: a table's
 * rows are digested sorted, so only a change of the rows changes it.
 */
export async function storeSnapshot(h: Pick<Harness, 'app' | 'sql'>): Promise<ReturnType<typeof dbSnapshot>> {
  if (h.app.storeKind === 'sqlite') return dbSnapshot(h.app.db);
  const names = (
    await h.sql.all(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name COLLATE "C"`)
  )
    .map((r) => String(r.name))
    .filter((n) => !BOOKKEEPING.has(n) && !PG_BOOKKEEPING.has(n));
  const tables: Record<string, string> = {};
  const all = createHash('sha256');
  for (const name of names) {
    const h256 = createHash('sha256');
    const rows = (await h.sql.all(`SELECT * FROM "${name}"`)).map((row) => JSON.stringify(Object.values(row), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    for (const row of rows.sort()) h256.update(row);
    tables[name] = h256.digest('hex');
    all.update(`${name}:${tables[name]}\n`);
  }
  return { digest: all.digest('hex'), tables };
}

/** The tables whose rows differ between two snapshots. */
export function changedTables(a: ReturnType<typeof dbSnapshot>, b: ReturnType<typeof dbSnapshot>): string[] {
  const names = new Set([...Object.keys(a.tables), ...Object.keys(b.tables)]);
  return [...names].filter((n) => a.tables[n] !== b.tables[n]);
}
