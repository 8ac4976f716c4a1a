import { sql } from 'kysely';
import type { Logger } from './logging';
import type { AsyncPort } from './services/async-port';
import type { MaybeAsync } from './services/maybe-async';
import { runAsync } from './services/maybe-async';
import type { CallbackIntake } from './services/callback-intake';
import type { UisCallbackHandler, UisInbox } from './services/ports';
import type { BridgeRecoveryRepository, BridgeRepository } from './services/bridge/ports';
import type { CrmRequestRepository, CrmRulesRepository } from './services/crm-rules/ports';
import type { UisChannelRepository } from './services/workspace-ports';
import { uisCallbackFanout } from './services/event-fanout';
import { callbackDedupeKey } from './services/record-uis-callback';
import { openDb, type Db } from './storage/db';
import { createPgCallbackConsumer, type PgCallbackConsumer } from './storage/pg/callback-consumer';
import { createPgCallbackInbox } from './storage/pg/callback-inbox';
import { openPg, type PgStore } from './storage/pg/connection';
import { pgStores } from './storage/pg/stores';
import type { SecretBox } from './storage/secret-box';
import { sqliteStores, type SqliteCallbackStores, type Stores } from './storage/stores';
import type { UisCallback } from './uis/callback-schemas';

/** The repositories the UIS callback chain writes: synchronous ones (SQLite) or a transaction's (PostgreSQL). */
export interface CallbackStores {
  uisInbox: MaybeAsync<UisInbox>;
  channels: MaybeAsync<UisChannelRepository>;
  bridge: MaybeAsync<BridgeRepository>;
  bridgeRecovery: MaybeAsync<BridgeRecoveryRepository>;
  crmRules: MaybeAsync<CrmRulesRepository>;
  crmRequests: MaybeAsync<CrmRequestRepository>;
}

/** What the UIS callback chain wakes, and (PostgreSQL) the bridge store it reaches after a commit. */
export interface CallbackChainHooks {
  now(): number;
  log: Logger;
  bridgeWake(): void;
  reconcileSoon(memberId: string): void;
  crmWake(delayMs: number): void;
  crmGatherMs: number;
  /**
   * PostgreSQL: the bridge store outside the consumer's transaction. A `/chat` naming its visitor
   * makes the chat's waiting jobs due inside the transaction, which only moves jobs not due yet. A
   * relay round on another instance (or between two awaits of this one) that read the chats before
   * the commit may meanwhile put off a job that was due — a row the transaction neither moved nor
   * locked — as «waiting for the /chat callback», and its look again at the chats came before the
   * commit too: the job would wait out its backoff (up to 30 s) while the chat is known. Once
   * committed, the chat's jobs are made due again here.
   */
  committedBridge?: AsyncPort<BridgeRepository>;
}

/**
 * The UIS callback chain over a set of its repositories. SQLite: the synchronous ones, inside the
 * intake's transaction (`later` runs at once: the workers run after the commit anyway).
 * PostgreSQL: those of the inbox consumer's transaction, `later` once it committed.
 */
export function callbackChainOf(h: CallbackChainHooks): (s: CallbackStores, later: (fn: () => void) => void) => UisCallbackHandler {
  const committed = h.committedBridge;
  const dueAgain = (memberId: string, uisChatId: string) =>
    committed!.dueNow(memberId, uisChatId, h.now()).then(
      (n) => void (n > 0 && h.bridgeWake()),
      (err: unknown) => h.log.warn({ err, memberId }, 'bridge: making a known chat\'s jobs due after the commit failed; the relay\'s backoff brings them'),
    );
  return (s, later) =>
    uisCallbackFanout({
      inbox: s.uisInbox,
      channels: s.channels,
      bridge: { bridge: s.bridge, now: h.now, wake: () => later(h.bridgeWake), chatKnown: committed ? (m, c) => later(() => void dueAgain(m, c)) : undefined },
      bridgeStatus: { bridge: s.bridge, recovery: s.bridgeRecovery, reconcileSoon: (m) => later(() => h.reconcileSoon(m)) },
      crmRules: { requests: s.crmRequests, crmRules: s.crmRules, now: h.now, gatherMs: h.crmGatherMs, wake: (d: number) => later(() => h.crmWake(d)) },
    });
}

interface OpenedStore {
  stores: Stores;
  /** Throws (rejects) when the database does not answer (/healthz, /readyz). */
  ping(): void | Promise<void>;
  close(): Promise<void>;
}

export interface SqliteStore extends OpenedStore {
  kind: 'sqlite';
  db: Db;
  sync: SqliteCallbackStores;
}

export interface PostgresStore extends OpenedStore {
  kind: 'postgres';
  pg: PgStore;
  box: SecretBox;
  now: () => number;
}

/** SQLite: the file (or `:memory:`), migrated. */
export function openSqliteStore(path: string, box: SecretBox, now: () => number): SqliteStore {
  const db = openDb(path);
  const { sync, ...stores } = sqliteStores(db, box, now);
  return {
    kind: 'sqlite',
    db,
    sync,
    stores,
    ping: () => void db.prepare('SELECT 1').get(),
    close: async () => void db.close(),
  };
}

/** PostgreSQL: a pool in the configured schema, migrated under the advisory lock (several instances start together). */
export async function openPostgresStore(cfg: { url: string; schema: string | undefined; poolSize: number }, box: SecretBox, now: () => number, log: Logger): Promise<PostgresStore> {
  const pg = await openPg(cfg.url, { schema: cfg.schema, max: cfg.poolSize, onError: (err) => log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'an idle PostgreSQL connection failed; the pool replaces it') });
  return {
    kind: 'postgres',
    pg,
    box,
    now,
    stores: pgStores(pg.db, box, now),
    ping: async () => void (await sql`SELECT 1`.execute(pg.db)),
    close: () => pg.close(),
  };
}

/**
 * The UIS callback intake on PostgreSQL (issue #12): a verified callback is acknowledged once its
 * row is committed in the callback inbox (group commit, pg/callback-inbox.ts); the chain runs after,
 * from the inbox, on whichever instance takes the portal (pg/callback-consumer.ts), inside a
 * transaction with the row's done mark. The row holds the parsed callback, validated at the door.
 */
export function createPgIntake(
  store: PostgresStore,
  chain: (s: CallbackStores, later: (fn: () => void) => void) => UisCallbackHandler,
  log: Logger,
): { uisCallbacks: CallbackIntake; consumer: PgCallbackConsumer; uisInbox: AsyncPort<UisInbox> } {
  const inbox = createPgCallbackInbox(store.pg);
  /**
   * The callback's row in the callback inbox, committed before the 204, is its durable record on
   * PostgreSQL (the same portal and dedupe key: a repeat is not stored twice): the chain's recorder
   * writes nothing more (on SQLite it writes uis_inbox inside the group commit, the record there).
   */
  const recordedAtTheDoor: AsyncPort<UisInbox> = { record: async () => true, count: (memberId) => inbox.count(memberId) };
  /**
   * One batch = one transaction = one portal (the consumer's run): its stores, its link and whether
   * its «Чаты» rules are on are read once for the batch, not once per callback — a round trip each
   * per callback was a fifth of the chain's queries. No callback changes either; a change committed
   * by another transaction meanwhile applies from the next batch, as if this one ran a moment earlier.
   */
  const batches = new WeakMap<object, { s: ReturnType<typeof pgStores>; link: ReturnType<PostgresStore['stores']['links']['get']> }>();
  const batchOf = (trx: object & Parameters<typeof pgStores>[0], memberId: string) => {
    let b = batches.get(trx);
    if (!b) {
      const s = pgStores(trx, store.box, store.now);
      const enabled = new Map<string, Promise<boolean>>();
      const isEnabled: typeof s.crmRules.isEnabled = (m, kind) => {
        const key = `${m}\u0000${kind}`;
        let v = enabled.get(key);
        if (!v) enabled.set(key, (v = s.crmRules.isEnabled(m, kind)));
        return v;
      };
      b = { s: { ...s, uisInbox: recordedAtTheDoor, crmRules: { ...s.crmRules, isEnabled } }, link: s.links.get(memberId) };
      batches.set(trx, b);
    }
    return b;
  };
  const consumer = createPgCallbackConsumer({
    db: store.pg.db,
    now: store.now,
    async handle(trx, row, afterCommit) {
      const { s, link: linkRead } = batchOf(trx, row.memberId);
      // the portal unlinked UIS since: nothing of it is handled any more
      const link = await linkRead;
      if (!link) return;
      await runAsync(chain(s, afterCommit).handle(link, JSON.parse(row.body) as UisCallback));
    },
    failed: (row, err) => log.error({ err, memberId: row.memberId, path: row.path }, 'UIS callback set aside: its handlers failed'),
    error: (err) => log.warn({ err }, 'UIS callback inbox run failed; it is tried again'),
  });
  return {
    consumer,
    uisInbox: recordedAtTheDoor,
    uisCallbacks: {
      async submit(link, cb) {
        await inbox.submit({ memberId: link.memberId, path: `${cb.method} ${cb.path}`, body: JSON.stringify(cb), dedupeKey: callbackDedupeKey(cb) });
        consumer.wake();
      },
    },
  };
}
