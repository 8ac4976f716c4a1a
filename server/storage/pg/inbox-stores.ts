import { sql, type Kysely } from 'kysely';
import type { EventInbox, UisInbox } from '../../services/ports';
import type { AsyncPort } from '../../services/async-port';
import { EVENT_DEDUPE_WINDOW_MS } from '../event-inbox';
import { pgText as text } from './nul';
import type { PgSchema } from './schema';

/**
 * The Bitrix24 event inbox and the UIS callback record in PostgreSQL (migrations-pg/001, 003), the
 * counterparts of ../event-inbox.ts and ../uis-inbox.ts with the same behaviour. A delivery reaching
 * several instances at once is recorded once: `record` is one INSERT … ON CONFLICT (member_id,
 * dedupe_key) … RETURNING, and only the statement that wrote a row answers true — a concurrent
 * repeat waits for the winner's commit and then sees its row (DO NOTHING; for the event inbox, the
 * DO UPDATE's «older than the window» condition is checked again on the winner's fresh row: false).
 *
 * The data and the body are stored as SQLite stores them: JSON.stringify's text in a TEXT column,
 * which never holds a raw U+0000 (JSON escapes it as `\u0000`), so they are kept exactly, and a
 * body with U+0000 cannot fail the statement. PostgreSQL's text cannot hold U+0000: in the other
 * text (event name, path, member id, dedupe key) it is written and looked up as U+FFFD (./nul.ts).
 * Times are ISO-8601 text, compared in byte order (COLLATE "C") like the instants they name.
 */
const PRUNE_EVERY_MS = 3600_000;
const ms = (t: number | null) => (t === null ? null : Math.round(t));

/** Event inbox (a key seen again within the window is a repeat; an older row is taken over; rows older than the window pruned at most once an hour per instance). */
export function createPgEventInbox(db: Kysely<PgSchema>, now: () => number = Date.now, o: { windowMs?: number } = {}): AsyncPort<EventInbox> {
  const windowMs = o.windowMs ?? EVENT_DEDUPE_WINDOW_MS;
  let prunedAt = 0;
  return {
    async record(e) {
      const t = now();
      const cutoff = new Date(t - windowMs).toISOString();
      if (t - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = t;
        await db.deleteFrom('event_inbox').where(sql`received_at COLLATE "C"`, '<', cutoff).execute();
      }
      const r = await db
        .insertInto('event_inbox')
        .values({
          member_id: text(e.memberId),
          event: text(e.event),
          data: JSON.stringify(e.data ?? null),
          ts: ms(e.ts),
          dedupe_key: text(e.dedupeKey),
          received_at: new Date(t).toISOString(),
        })
        .onConflict((oc) =>
          oc
            .columns(['member_id', 'dedupe_key'])
            .doUpdateSet((eb) => ({
              event: eb.ref('excluded.event'),
              data: eb.ref('excluded.data'),
              ts: eb.ref('excluded.ts'),
              received_at: eb.ref('excluded.received_at'),
              status: 'new',
            }))
            .where(sql`event_inbox.received_at COLLATE "C"`, '<', cutoff),
        )
        .returning('id')
        .executeTakeFirst();
      return r !== undefined;
    },
    async count(memberId) {
      const r = await db.selectFrom('event_inbox').select((eb) => eb.fn.countAll<number>().as('n')).where('member_id', '=', text(memberId)).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

/** Durable record of verified UIS callbacks (one row per distinct callback per portal). */
export function createPgUisInbox(db: Kysely<PgSchema>, now: () => number = Date.now): AsyncPort<UisInbox> {
  return {
    async record(e) {
      const r = await db
        .insertInto('uis_inbox')
        .values({
          member_id: text(e.memberId),
          path: text(e.path),
          body: JSON.stringify(e.body ?? null),
          dedupe_key: text(e.dedupeKey),
          received_at: new Date(now()).toISOString(),
        })
        .onConflict((oc) => oc.columns(['member_id', 'dedupe_key']).doNothing())
        .returning('id')
        .executeTakeFirst();
      return r !== undefined;
    },
    async count(memberId) {
      const r = await db.selectFrom('uis_inbox').select((eb) => eb.fn.countAll<number>().as('n')).where('member_id', '=', text(memberId)).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
