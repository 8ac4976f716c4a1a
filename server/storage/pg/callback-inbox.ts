import { randomBytes } from 'node:crypto';
import type pg from 'pg';

/** A verified UIS callback as it arrived: what the inbox keeps until a handler has run it. */
export interface InboxCallback {
  memberId: string;
  /** `METHOD /path` of the callback (e.g. `POST /message`) */
  path: string;
  /** the raw body, as verified */
  body: string;
  /** the callback's identity for its portal: a second submit of it is a 'repeat' */
  dedupeKey: string;
}

export interface ClaimedCallback extends InboxCallback {
  id: number;
  /** ms */
  receivedAt: number;
}

export interface PgCallbackInbox {
  /**
   * Resolves once the callback is committed in the inbox ('new'), or found there already
   * ('repeat': the same portal and dedupe key, by this or another instance); only then may the
   * route answer 204. Rejects when the database refuses it (then the route must not answer 2xx).
   */
  submit(cb: InboxCallback): Promise<'new' | 'repeat'>;
  /**
   * Up to `limit` pending callbacks, oldest first, claimed for this inbox's owner until
   * now + claimTtlMs: no other instance gets them meanwhile (one that gets no `done` in time is
   * handed out again).
   */
  claim(limit: number): Promise<ClaimedCallback[]>;
  /** Callbacks of the portal held (pending, handled or set aside): the durable record of what UIS sent. */
  count(memberId: string): Promise<number>;
  /** Marks claimed callbacks handled (kept, so a late repeat is still a repeat); how many were this owner's. */
  done(ids: readonly number[]): Promise<number>;
  /** Counters since creation: groups written, callbacks in them, callbacks retried alone after a group failed. */
  stats(): { groups: number; callbacks: number; largestGroup: number; retriedAlone: number };
  /** Resolves when nothing is queued or being written. */
  idle(): Promise<void>;
}

export interface PgCallbackInboxOptions {
  /** who claims (default: a random id); must differ between instances */
  owner?: string;
  /** most callbacks in one INSERT (default 500) */
  maxGroup?: number;
  /** groups written at once (default 1: one group in flight, the next one collects meanwhile) */
  maxInFlight?: number;
  /** how long a claim holds (default 60 s) */
  claimTtlMs?: number;
  clock?: () => number;
}

interface Pending {
  cb: InboxCallback;
  at: number;
  ok(r: 'new' | 'repeat'): void;
  fail(e: unknown): void;
}

// unnest keeps the arrays' order: rows are inserted (and their unique-index entries locked) in the
// order of the sorted group, the same order at every instance, so two groups sharing keys cannot deadlock
const INSERT = `INSERT INTO uis_callback_inbox (member_id, path, body, dedupe_key, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
ON CONFLICT (member_id, dedupe_key) DO NOTHING
RETURNING member_id, dedupe_key`;

// the ids are picked once (an InitPlan: ARRAY(SELECT …)), locked FOR UPDATE SKIP LOCKED so two
// claimers never wait on each other nor take the same row; a row claimed meanwhile by a committed
// claim is re-checked by FOR UPDATE against its new claimed_until and left out
const CLAIM = `UPDATE uis_callback_inbox SET claimed_by = $1, claimed_until = $2
WHERE id = ANY(ARRAY(
  SELECT id FROM uis_callback_inbox
  WHERE done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $3)
  ORDER BY id LIMIT $4
  FOR UPDATE SKIP LOCKED))
RETURNING id, member_id, path, body, dedupe_key, received_at`;

const DONE = `UPDATE uis_callback_inbox SET done_at = $1, claimed_until = NULL
WHERE id = ANY($2::bigint[]) AND claimed_by = $3 AND done_at IS NULL`;

const keyOf = (memberId: string, dedupeKey: string) => `${memberId.length}:${memberId}${dedupeKey}`;

/**
 * The durable inbox of verified UIS callbacks on PostgreSQL (issue #12, migrations-pg/031): the
 * acknowledgement of a callback is its row committed here; the handlers run afterwards from the
 * inbox (claim / done), on any instance.
 *
 * Group commit: callbacks submitted while a group is being written (and those of one event-loop
 * turn) are written together by ONE multi-row `INSERT … ON CONFLICT (member_id, dedupe_key) DO
 * NOTHING RETURNING` — one statement, its own transaction — and each promise is settled only
 * after that statement, so its commit, has returned. When the statement fails, every callback of
 * the group is written again alone: only the one the database refuses is rejected.
 */
export function createPgCallbackInbox(db: pg.Pool | { pool: pg.Pool }, opts: PgCallbackInboxOptions = {}): PgCallbackInbox {
  const pool = 'pool' in db ? db.pool : db;
  const owner = opts.owner ?? `inbox-${randomBytes(6).toString('hex')}`;
  const maxGroup = opts.maxGroup ?? 500;
  const maxInFlight = opts.maxInFlight ?? 1;
  const claimTtlMs = opts.claimTtlMs ?? 60_000;
  const now = () => Math.round((opts.clock ?? Date.now)());
  const stats = { groups: 0, callbacks: 0, largestGroup: 0, retriedAlone: 0 };
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];

  const insert = async (group: Pending[]): Promise<Set<string>> => {
    const sorted = group.length > 1 ? [...group].sort((a, b) => (a.cb.memberId < b.cb.memberId ? -1 : a.cb.memberId > b.cb.memberId ? 1 : a.cb.dedupeKey < b.cb.dedupeKey ? -1 : a.cb.dedupeKey > b.cb.dedupeKey ? 1 : 0)) : group;
    const r = await pool.query<{ member_id: string; dedupe_key: string }>({
      name: 'uis_callback_inbox_submit',
      text: INSERT,
      values: [sorted.map((p) => p.cb.memberId), sorted.map((p) => p.cb.path), sorted.map((p) => p.cb.body), sorted.map((p) => p.cb.dedupeKey), sorted.map((p) => p.at)],
    });
    return new Set(r.rows.map((row) => keyOf(row.member_id, row.dedupe_key)));
  };

  /** 'new' to the first of the group with an inserted key, 'repeat' to the others */
  const settle = (group: Pending[], inserted: Set<string>) => {
    for (const p of group) {
      const k = keyOf(p.cb.memberId, p.cb.dedupeKey);
      if (inserted.delete(k)) p.ok('new');
      else p.ok('repeat');
    }
  };

  const write = async (group: Pending[]) => {
    stats.groups++;
    stats.callbacks += group.length;
    stats.largestGroup = Math.max(stats.largestGroup, group.length);
    let inserted: Set<string>;
    try {
      inserted = await insert(group);
    } catch (groupError) {
      if (group.length === 1) return group[0]!.fail(groupError);
      // the statement wrote nothing: each callback again in its own statement, so only a refused one fails
      stats.retriedAlone += group.length;
      await Promise.all(
        group.map(async (p) => {
          try {
            settle([p], await insert([p]));
          } catch (e) {
            p.fail(e);
          }
        }),
      );
      return;
    }
    settle(group, inserted);
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length) {
      const group = queue.length <= maxGroup ? queue : queue.slice(0, maxGroup);
      queue = queue.length <= maxGroup ? [] : queue.slice(maxGroup);
      inFlight++;
      void write(group).finally(() => {
        inFlight--;
        if (queue.length) pump();
        else if (inFlight === 0) {
          const w = idleWaiters;
          idleWaiters = [];
          for (const f of w) f();
        }
      });
    }
  };

  return {
    submit(cb) {
      return new Promise((ok, fail) => {
        queue.push({ cb, at: now(), ok, fail });
        // the first of a turn waits for the turn's others (setImmediate); while a group is in
        // flight, its end starts the next one with everything queued meanwhile
        if (!scheduled && inFlight < maxInFlight) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
    async count(memberId) {
      const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM uis_callback_inbox WHERE member_id = $1', [memberId]);
      return r.rows[0]?.n ?? 0;
    },
    async claim(limit) {
      const t = now();
      const r = await pool.query<{ id: number; member_id: string; path: string; body: string; dedupe_key: string; received_at: number }>(CLAIM, [owner, t + claimTtlMs, t, limit]);
      return r.rows
        .map((row) => ({ id: Number(row.id), memberId: row.member_id, path: row.path, body: row.body, dedupeKey: row.dedupe_key, receivedAt: Number(row.received_at) }))
        .sort((a, b) => a.id - b.id);
    },
    async done(ids) {
      if (!ids.length) return 0;
      const r = await pool.query(DONE, [now(), ids, owner]);
      return r.rowCount ?? 0;
    },
    stats: () => ({ ...stats }),
    idle() {
      if (!queue.length && inFlight === 0) return Promise.resolve();
      return new Promise<void>((ok) => idleWaiters.push(ok));
    },
  };
}
