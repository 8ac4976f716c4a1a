import { createHash } from 'node:crypto';
import type { Db } from '../../server/storage/db';

/**
 * Bookkeeping of the process, not data a request writes: the portal's shared REST bucket (a request
 * that verifies its AUTH_ID with the portal spends a token of it, forged or not) and the work leases
 * the job loops renew while they run, the amoCRM hosts' shared pacing (issue #12).
 */
const BOOKKEEPING = new Set(['rest_buckets', 'leases', 'amocrm_pacing']);

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

/** The tables whose rows differ between two snapshots. */
export function changedTables(a: ReturnType<typeof dbSnapshot>, b: ReturnType<typeof dbSnapshot>): string[] {
  const names = new Set([...Object.keys(a.tables), ...Object.keys(b.tables)]);
  return [...names].filter((n) => a.tables[n] !== b.tables[n]);
}
