/**
 * The PostgreSQL dialect of the migrations (issue #12, server/storage/migrations-pg) against the
 * SQLite schema they translate: every table, column (compatible type, nullability, default),
 * primary key, unique key, index and foreign key that `openDb(':memory:')` ends up with exists in a
 * freshly migrated PostgreSQL schema, and nothing else — so a migration 031 written for one store
 * only fails here; server/storage/pg/schema.ts (the Kysely types) declares the same. The data migrations (004, 013, 022) turn the same rows into the same rows in
 * both. Then: instances starting together migrate once (the run's advisory lock).
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../server/storage/db';
import { migratePg, PG_MIGRATIONS_DIR } from '../../server/storage/pg/migrate';
import type { PgStore } from '../../server/storage/pg/connection';
import { dropPgSchema, openTestPg, randomSchema } from '../support/stores';

const SQLITE_MIGRATIONS_DIR = join(PG_MIGRATIONS_DIR, '..', 'migrations');
const sqlFiles = (dir: string) => readdirSync(dir).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();

interface Column {
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}
interface Schema {
  columns: Map<string, Map<string, Column>>;
  primaryKeys: Map<string, string>;
  uniques: Map<string, string[]>;
  /** named indexes (not those of PRIMARY KEY / UNIQUE): «table(cols)[ partial]» */
  indexes: Map<string, string>;
  foreignKeys: Map<string, string[]>;
}

function sqliteSchema(db: Db): Schema {
  const s: Schema = { columns: new Map(), primaryKeys: new Map(), uniques: new Map(), indexes: new Map(), foreignKeys: new Map() };
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const t of tables) {
    const info = db.prepare('SELECT name, type, "notnull" AS nn, dflt_value AS dflt, pk FROM pragma_table_info(?)').all(t) as Array<{ name: string; type: string; nn: number; dflt: string | null; pk: number }>;
    const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const rowidAlias = pk.length === 1 && /^INTEGER$/i.test(info.find((c) => c.pk)!.type);
    s.columns.set(t, new Map(info.map((c) => [c.name, { type: c.type, notNull: c.nn === 1 || c.pk > 0, hasDefault: c.dflt !== null || (rowidAlias && c.pk > 0) }])));
    s.primaryKeys.set(t, pk.join(','));
    const uniques: string[] = [];
    const list = db.prepare('SELECT name, "unique" AS u, origin, partial FROM pragma_index_list(?)').all(t) as Array<{ name: string; u: number; origin: string; partial: number }>;
    for (const ix of list) {
      const cols = (db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all(ix.name) as string[]).join(',');
      if (ix.origin === 'c') s.indexes.set(ix.name, `${t}(${cols})${ix.partial ? ' partial' : ''}${ix.u ? ' unique' : ''}`);
      else if (ix.origin === 'u') uniques.push(cols);
    }
    s.uniques.set(t, uniques.sort());
    const fks = db.prepare('SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)').all(t) as Array<{ from: string; table: string; to: string; on_delete: string }>;
    s.foreignKeys.set(t, fks.map((f) => `${f.from}->${f.table}.${f.to} ${f.on_delete}`).sort());
  }
  return s;
}

async function pgSchema(pg: PgStore): Promise<Schema> {
  const s: Schema = { columns: new Map(), primaryKeys: new Map(), uniques: new Map(), indexes: new Map(), foreignKeys: new Map() };
  const q = async <T>(text: string) => (await pg.pool.query(text, [pg.schema])).rows as T[];
  const cols = await q<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns
     WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
  );
  for (const c of cols) {
    if (!s.columns.has(c.table_name)) s.columns.set(c.table_name, new Map());
    s.columns.get(c.table_name)!.set(c.column_name, { type: c.data_type, notNull: c.is_nullable === 'NO', hasDefault: c.column_default !== null || c.is_identity === 'YES' });
  }
  const indexes = await q<{ table: string; name: string; cols: string[]; uniq: boolean; primary: boolean; partial: boolean; constraint: boolean }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS uniq, ix.indisprimary AS primary, ix.indpred IS NOT NULL AS partial,
            EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u')) AS constraint,
            array_agg(a.attname::text ORDER BY k.ord) AS cols
     FROM pg_index ix
     JOIN pg_class i ON i.oid = ix.indexrelid
     JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
     WHERE n.nspname = $1
     GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary, ix.indpred, ix.indexrelid`,
  );
  for (const t of s.columns.keys()) s.uniques.set(t, []);
  for (const ix of indexes) {
    const cols = ix.cols.join(',');
    if (ix.primary) s.primaryKeys.set(ix.table, cols);
    else if (ix.constraint) s.uniques.get(ix.table)!.push(cols);
    else s.indexes.set(ix.name, `${ix.table}(${cols})${ix.partial ? ' partial' : ''}${ix.uniq ? ' unique' : ''}`);
  }
  for (const u of s.uniques.values()) u.sort();
  for (const t of s.columns.keys()) s.foreignKeys.set(t, []);
  const fks = await q<{ table: string; from: string; ref: string; to: string; del: string }>(
    `SELECT t.relname AS table, a.attname AS from, r.relname AS ref, ra.attname AS to, c.confdeltype AS del
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     JOIN pg_class r ON r.oid = c.confrelid
     CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, refcol)
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.col
     JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.refcol
     WHERE c.contype = 'f' AND n.nspname = $1`,
  );
  const action: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
  for (const f of fks) s.foreignKeys.get(f.table)!.push(`${f.from}->${f.ref}.${f.to} ${action[f.del]}`);
  for (const f of s.foreignKeys.values()) f.sort();
  return s;
}

/** The PostgreSQL types a column of this SQLite declared type may have (SQLite's affinity rules). */
function compatible(sqliteType: string, column: string): string[] {
  const t = sqliteType.toUpperCase();
  if (t.includes('INT')) {
    // ids, times (ms) and cursors outgrow a 32-bit integer: BIGINT, as SQLite's INTEGER is 64-bit
    if (/(^id|_id|_at|_till|_until)$/.test(column)) return ['bigint'];
    return ['bigint', 'integer'];
  }
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return ['text'];
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return ['double precision'];
  return [`(no PostgreSQL type for SQLite's «${sqliteType}»)`];
}

describe('PostgreSQL migrations', () => {
  let pg: PgStore;
  let sqlite: Db;
  beforeAll(async () => {
    sqlite = openDb(':memory:');
    pg = await openTestPg();
  });
  afterAll(async () => {
    sqlite?.close();
    if (pg) await dropPgSchema(pg);
  });

  it('exist for every SQLite migration, under the same file name', () => {
    expect(sqlFiles(PG_MIGRATIONS_DIR)).toEqual(sqlFiles(SQLITE_MIGRATIONS_DIR));
  });

  it('are all recorded in schema_migrations, as in SQLite', async () => {
    const versions = (await pg.pool.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
    expect(versions).toEqual(sqlite.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all());
  });

  it('give every table and column of the SQLite schema, with a compatible type, nullability and default', async () => {
    const want = sqliteSchema(sqlite);
    const got = await pgSchema(pg);
    expect([...got.columns.keys()].sort()).toEqual([...want.columns.keys()].sort());
    const problems: string[] = [];
    for (const [table, columns] of want.columns) {
      const pgColumns = got.columns.get(table)!;
      expect([...pgColumns.keys()].sort(), `columns of ${table}`).toEqual([...columns.keys()].sort());
      for (const [name, c] of columns) {
        const p = pgColumns.get(name)!;
        const ok = compatible(c.type, name);
        if (!ok.includes(p.type)) problems.push(`${table}.${name}: SQLite ${c.type}, PostgreSQL ${p.type} (expected ${ok.join(' or ')})`);
        if (p.notNull !== c.notNull) problems.push(`${table}.${name}: NOT NULL in ${c.notNull ? 'SQLite' : 'PostgreSQL'} only`);
        if (p.hasDefault !== c.hasDefault) problems.push(`${table}.${name}: a default in ${c.hasDefault ? 'SQLite' : 'PostgreSQL'} only`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('give the same primary keys, unique keys (ON CONFLICT targets), indexes and foreign keys', async () => {
    const want = sqliteSchema(sqlite);
    const got = await pgSchema(pg);
    expect(Object.fromEntries(got.primaryKeys)).toEqual(Object.fromEntries(want.primaryKeys));
    expect(Object.fromEntries(got.uniques)).toEqual(Object.fromEntries(want.uniques));
    expect(Object.fromEntries(got.indexes)).toEqual(Object.fromEntries(want.indexes));
    expect(Object.fromEntries(got.foreignKeys)).toEqual(Object.fromEntries(want.foreignKeys));
  });

  it('are what server/storage/pg/schema.ts (the Kysely types) declares: every table and column, its JS type and nullability', () => {
    const source = readFileSync(join(PG_MIGRATIONS_DIR, '..', 'pg', 'schema.ts'), 'utf8');
    const interfaces = new Map<string, Map<string, string>>();
    for (const m of source.matchAll(/export interface (\w+) \{\n([\s\S]*?)\n\}/g)) {
      interfaces.set(m[1]!, new Map([...m[2]!.matchAll(/^ {2}(\w+): (.+);$/gm)].map((f) => [f[1]!, f[2]!])));
    }
    const declared = new Map([...interfaces.get('PgSchema')!].map(([table, iface]) => [table, interfaces.get(iface)!]));
    const want = sqliteSchema(sqlite);
    expect([...declared.keys()].sort()).toEqual([...want.columns.keys()].sort());
    const problems: string[] = [];
    for (const [table, columns] of want.columns) {
      const fields = declared.get(table)!;
      expect([...fields.keys()].sort(), `fields of ${table}`).toEqual([...columns.keys()].sort());
      for (const [name, c] of columns) {
        const js = /INT|REAL|FLOA|DOUB/i.test(c.type) ? 'number' : 'string';
        const base = `${js}${c.notNull ? '' : ' | null'}`;
        const expected = c.hasDefault ? `Generated<${base}>` : base;
        if (fields.get(name) !== expected) problems.push(`${table}.${name}: declared ${fields.get(name)}, expected ${expected}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('a second run applies nothing', async () => {
    expect(await migratePg(pg.pool)).toEqual([]);
  });
});

describe('PostgreSQL migrations: two instances starting together', () => {
  const schema = randomSchema();
  const opened: PgStore[] = [];
  afterAll(async () => {
    const [first, ...rest] = opened;
    for (const s of rest) await s.close();
    if (first) await dropPgSchema(first);
  });

  it('migrate once: each migration applied by exactly one of them', async () => {
    const a = await openTestPg({ schema, migrate: false });
    opened.push(a);
    const b = await openTestPg({ schema, migrate: false });
    opened.push(b);
    const [byA, byB] = await Promise.all([migratePg(a.pool), migratePg(b.pool)]);
    expect([...byA, ...byB].sort()).toEqual(sqlFiles(PG_MIGRATIONS_DIR));
    const rows = (await a.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]!;
    expect(rows.n).toBe(sqlFiles(PG_MIGRATIONS_DIR).length);
  });
});

/**
 * Rows written before a migration (plain SQL both dialects accept), keyed by the migration they
 * precede: what the data migrations work on.
 */
const FIXTURES: Record<string, string[]> = {
  '004_uis_channels.sql': [
    "INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('p1', 'a.bitrix24.ru', 'c', 's', 'active', 't', 't')",
    `INSERT INTO uis_inbox (id, member_id, path, body, dedupe_key, received_at) VALUES
      (1, 'p1', 'POST /channel', '{"id":11,"account_id":5,"type":"waba","name":"A","context":{"chat_channel_id":7,"message_templates":[{"name":"hi","text":"Hello"}]}}', 'd1', '2026-01-01T00:00:01Z'),
      (2, 'p1', 'POST /channel', 'not json', 'd2', '2026-01-01T00:00:02Z'),
      (3, 'p1', 'POST /channel', '{"id":"12","account_id":"5","name":"B"}', 'd3', '2026-01-01T00:00:03Z'),
      (4, 'p1', 'PATCH /channel/11', '{"id":11,"account_id":5,"type":"waba","name":"A2","status":"disabled"}', 'd4', '2026-01-01T00:00:04Z'),
      (5, 'p1', 'DELETE /channel/12', '', 'd5', '2026-01-01T00:00:05Z'),
      (6, 'p1', 'POST /channel', '{"name":"no id"}', 'd6', '2026-01-01T00:00:06Z'),
      (7, 'p1', 'POST /channel', '{"id":13,"account_id":5,"type":"tg","name":"C"}', 'd7', '2026-01-01T00:00:07Z'),
      (8, 'p1', 'DELETE /channel/13', '', 'd8', '2026-01-01T00:00:08Z'),
      (9, 'p1', 'PATCH /channel/13', '{"id":13,"account_id":5,"type":"tg","name":"C again"}', 'd9', '2026-01-01T00:00:09Z'),
      (10, 'p1', 'POST /channel', '5', 'd10', '2026-01-01T00:00:10Z')`,
  ],
  '013_crm_poll_cursor.sql': ["INSERT INTO crm_offline_cursor (member_id, seen_till, updated_at) VALUES ('p1', 1767225600123, 't')"],
  '022_employee_map_extension.sql': ["INSERT INTO employee_map (member_id, b24_user_id, uis_employee_id, matched_by, updated_at) VALUES ('p1', 1, 101, 'email', 't'), ('p1', 2, 102, 'created', 't')"],
};
const AFTER = [
  "INSERT INTO employee_map (member_id, b24_user_id, uis_employee_id, matched_by, updated_at) VALUES ('p1', 3, 103, 'extension', 't')",
];
const READ = {
  uis_channels: 'SELECT member_id, channel_id, account_id, chat_channel_id, type, name, status, templates, updated_at FROM uis_channels ORDER BY channel_id',
  crm_poll_cursor: 'SELECT member_id, report, seen_till, updated_at FROM crm_poll_cursor',
  employee_map: 'SELECT member_id, b24_user_id, uis_employee_id, matched_by FROM employee_map ORDER BY b24_user_id',
};

describe('PostgreSQL data migrations', () => {
  let pg: PgStore | undefined;
  let staged: string | undefined;
  afterAll(async () => {
    if (pg) await dropPgSchema(pg);
    if (staged) rmSync(staged, { recursive: true, force: true });
  });

  it('turn the rows they find into the same rows as in SQLite (004 replays the inbox, 013 moves the cursor, 022 keeps the map)', async () => {
    const files = sqlFiles(SQLITE_MIGRATIONS_DIR);
    // SQLite, as server/storage/db.ts applies them, the fixtures written in between
    const lite = new Database(':memory:');
    lite.pragma('foreign_keys = ON');
    for (const f of files) {
      for (const s of FIXTURES[f] ?? []) lite.exec(s);
      lite.exec(readFileSync(join(SQLITE_MIGRATIONS_DIR, f), 'utf8'));
    }
    for (const s of AFTER) lite.exec(s);
    // PostgreSQL: migratePg over a folder the migrations are copied into one by one
    staged = mkdtempSync(join(tmpdir(), 'pg-migrations-'));
    pg = await openTestPg({ migrate: false });
    for (const f of files) {
      if (FIXTURES[f]) {
        await migratePg(pg.pool, staged);
        for (const s of FIXTURES[f]) await pg.pool.query(s);
      }
      copyFileSync(join(PG_MIGRATIONS_DIR, f), join(staged, f));
    }
    await migratePg(pg.pool); // the rest, from the real folder
    expect((await pg.pool.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version)).toEqual(files);
    for (const s of AFTER) await pg.pool.query(s);

    for (const [table, query] of Object.entries(READ)) {
      const want = lite.prepare(query).all();
      expect(want.length, table).toBeGreaterThan(0);
      expect((await pg.pool.query(query)).rows, table).toEqual(want);
    }
    expect(lite.prepare(READ.uis_channels).all()).toMatchObject([
      { channel_id: '11', name: 'A2', status: 'disabled', templates: '[]', updated_at: '2026-01-01T00:00:04Z' },
      { channel_id: '12', status: 'removed' },
      { channel_id: '13', name: 'C again', status: 'active' },
    ]);
    const bad = "INSERT INTO employee_map (member_id, b24_user_id, uis_employee_id, matched_by, updated_at) VALUES ('p1', 4, 104, 'bogus', 't')";
    expect(() => lite.exec(bad)).toThrow(/CHECK/);
    await expect(pg.pool.query(bad)).rejects.toThrow(/check constraint/);
    lite.close();
  });
});
