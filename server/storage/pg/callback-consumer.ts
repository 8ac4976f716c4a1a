import { sql, type Kysely } from 'kysely';
import type { PgSchema } from './schema';

/** One callback of the inbox, as it was acknowledged. */
export interface InboxRow {
  id: number;
  memberId: string;
  /** `METHOD /path` */
  path: string;
  /** the raw body, as verified */
  body: string;
}

export interface PgCallbackConsumerOptions {
  db: Kysely<PgSchema>;
  /**
   * Runs one callback's handlers over `trx` (its writes commit with the row's done mark, or not at
   * all). What must see those writes (waking a worker) goes to `afterCommit`: run once committed.
   */
  handle(trx: Kysely<PgSchema>, row: InboxRow, afterCommit: (fn: () => void) => void): Promise<void>;
  /** A callback whose handlers threw even alone: marked done with the reason (it was acknowledged; UIS will not send it again). */
  failed(row: InboxRow, err: unknown): void;
  /** A run's unexpected error (the database went away): the next wake or poll tries again. */
  error(err: unknown): void;
  now?: () => number;
  /** callbacks of one portal handled in one transaction (default 200) */
  batch?: number;
  /** portals handled at once by this instance (default 4) */
  parallel?: number;
  /** leftovers (another instance died, a run failed) are looked for this often (default 1 s) */
  pollMs?: number;
  /** done rows are kept this long as the record of repeats (default 30 days) */
  keepMs?: number;
}

export interface PgCallbackConsumer {
  /** New callbacks were acknowledged: run soon. */
  wake(): void;
  /** Poll for leftovers and prune old rows. */
  start(): void;
  stop(): void;
  /** Resolves when no run is in flight. */
  idle(): Promise<void>;
  /** One full pass now (tests): every portal's pending callbacks this instance can take. */
  drain(): Promise<number>;
  /** Callbacks acknowledged and not yet handled, by any instance. */
  pending(): Promise<number>;
}

/** `pg_try_advisory_xact_lock(key1, key2)`: key1 names this use, key2 the portal (hashtext). */
const LOCK_SPACE = 0x55_49_53_43; // "UISC"

/**
 * The handlers' side of the PostgreSQL callback inbox (issue #12; pg/callback-inbox.ts acknowledges).
 * A portal's pending callbacks are taken by one instance at a time — a transaction-scoped advisory
 * lock on the portal, tried, never waited for — in arrival order; their handlers run inside that
 * transaction and the rows are marked done in it, so a callback's effects and its done mark commit
 * together: an instance killed mid-batch leaves the rows pending for the next one, nothing handled
 * twice. When a handler throws, the batch is undone and its callbacks run again one transaction
 * each; one that still throws is marked done with its failure (it was acknowledged already).
 */
export function createPgCallbackConsumer(o: PgCallbackConsumerOptions): PgCallbackConsumer {
  const { db } = o;
  const now = () => Math.round((o.now ?? Date.now)());
  const batch = o.batch ?? 200;
  const parallel = o.parallel ?? 4;
  const keepMs = o.keepMs ?? 30 * 24 * 3600_000;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let poll: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  let scheduled = false;

  const pendingPortals = async (): Promise<string[]> => {
    const r = await sql<{ member_id: string }>`SELECT member_id FROM uis_callback_inbox WHERE done_at IS NULL GROUP BY member_id ORDER BY min(id) LIMIT 100`.execute(db);
    return r.rows.map((x) => x.member_id);
  };

  /**
   * The portal's lock, tried; in the same statement the transaction's commit is made asynchronous
   * (`synchronous_commit` off, for this transaction only). Its callbacks are durable already (their
   * rows were committed synchronously before the 204), and a crash that lost this commit loses it
   * whole — the handlers' writes with the rows' done marks — so the rows are pending again and handled
   * again. Nothing outside the database sees its effects before they are durable: PostgreSQL flushes
   * its WAL in order, so the next synchronous commit (the workers', before any call to Bitrix24 or
   * UIS) flushes this one first. It spares an fsync per batch, which the intake's group commits wait behind.
   */
  const locked = async (trx: Kysely<PgSchema>, memberId: string) =>
    (await sql<{ ok: boolean }>`SELECT set_config('synchronous_commit', 'off', true) AS c, pg_try_advisory_xact_lock(${LOCK_SPACE}::int, hashtext(${memberId})) AS ok`.execute(trx)).rows[0]?.ok === true;

  const pendingOf = async (trx: Kysely<PgSchema>, memberId: string, limit: number): Promise<InboxRow[]> => {
    const r = await sql<{ id: number; path: string; body: string }>`SELECT id, path, body FROM uis_callback_inbox WHERE member_id = ${memberId} AND done_at IS NULL ORDER BY id LIMIT ${limit}`.execute(trx);
    return r.rows.map((x) => ({ id: Number(x.id), memberId, path: x.path, body: x.body }));
  };

  const markDone = (trx: Kysely<PgSchema>, ids: number[], failure: string | null = null) =>
    sql`UPDATE uis_callback_inbox SET done_at = ${now()}, claimed_until = NULL, failure = ${failure} WHERE id = ANY(${ids}::bigint[]) AND done_at IS NULL`.execute(trx);

  class Busy extends Error {}

  /** A portal's next batch in one transaction; how many were handled (0: none, or another instance has it). */
  const runPortal = async (memberId: string): Promise<number> => {
    try {
      const after: Array<() => void> = [];
      const n = await db.transaction().execute(async (trx) => {
        if (!(await locked(trx, memberId))) return 0;
        const rows = await pendingOf(trx, memberId, batch);
        for (const row of rows) await o.handle(trx, row, (fn) => after.push(fn));
        if (rows.length) await markDone(trx, rows.map((r) => r.id));
        return rows.length;
      });
      for (const fn of after) fn();
      return n;
    } catch {
      // one of them threw (or the commit failed): each alone, so only the bad one is set aside
      let handled = 0;
      for (;;) {
        let current: InboxRow | undefined;
        const after: Array<() => void> = [];
        const n = await db
          .transaction()
          .execute(async (trx) => {
            if (!(await locked(trx, memberId))) throw new Busy();
            [current] = await pendingOf(trx, memberId, 1);
            if (!current) return 0;
            await o.handle(trx, current, (fn) => after.push(fn));
            await markDone(trx, [current.id]);
            return 1;
          })
          .then((k) => {
            for (const fn of after) fn();
            return k;
          })
          .catch(async (e: unknown) => {
            if (e instanceof Busy || !current) return 0;
            const row = current;
            // set aside only that row, and only if no one handled it meanwhile
            const r = await markDone(db, [row.id], String((e as Error)?.message ?? e).slice(0, 500));
            if (Number(r.numAffectedRows ?? 0) > 0) o.failed(row, e);
            return 1;
          });
        if (!n) return handled;
        handled += n;
        if (handled >= batch) return handled;
      }
    }
  };

  const prune = async () => {
    if (now() - lastPrune < 3600_000) return;
    lastPrune = now();
    await sql`DELETE FROM uis_callback_inbox WHERE done_at IS NOT NULL AND done_at < ${now() - keepMs}`.execute(db);
  };

  const pass = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const portals = await pendingPortals();
      let handled = 0;
      for (let i = 0; i < portals.length; i += parallel) {
        const counts = await Promise.all(portals.slice(i, i + parallel).map(runPortal));
        handled += counts.reduce((a, b) => a + b, 0);
      }
      total += handled;
      // nothing this instance could take (empty, or other instances hold them): the poll looks again
      if (!handled || stopped) return total;
    }
  };

  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
          await prune();
        } catch (e) {
          o.error(e);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  };

  return {
    wake() {
      if (stopped || scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        run();
      });
    },
    start() {
      stopped = false;
      clearInterval(poll);
      poll = setInterval(run, o.pollMs ?? 1000);
      poll.unref();
      run();
    },
    stop() {
      stopped = true;
      clearInterval(poll);
    },
    async idle() {
      while (running) await running;
    },
    drain: () => pass(),
    async pending() {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM uis_callback_inbox WHERE done_at IS NULL`.execute(db);
      return r.rows[0]?.n ?? 0;
    },
  };
}
