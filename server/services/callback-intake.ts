import type { UisLink } from '../domain/uis-link';
import type { UisCallback } from '../uis/callback-schemas';
import { runSync } from './maybe-async';
import type { UisCallbackHandler } from './ports';

/** Runs `fn` in one database transaction: all of its writes or none. */
export type Atomically = <T>(fn: () => T) => T;

export interface CallbackIntake {
  /** Resolves once the callback's effects are committed (then the route answers 204); rejects if they are not. */
  submit(link: UisLink, cb: UisCallback): Promise<void>;
}

interface Pending {
  link: UisLink;
  cb: UisCallback;
  ok(): void;
  fail(e: unknown): void;
}

/**
 * Group commit for verified UIS callbacks. Every callback must be durable before UIS gets its 204
 * (docs/facts/uis.md#rule-18, "ack fast, work after"); one commit per callback made the commit, not
 * the request, the ceiling. Callbacks that arrive while the event loop is busy are handled together
 * at the next turn in one transaction. If one throws, the group is undone and each callback is handled
 * again in its own transaction: only the failing one is answered with an error (UIS retries it).
 * Nothing is answered before its commit. The handlers run to their end inside the transaction
 * (`runSync`: on SQLite every port answers at once; one that waits is refused as a defect).
 */
export function createCallbackIntake(handler: UisCallbackHandler, atomically: Atomically): CallbackIntake {
  let queue: Pending[] = [];
  const flush = () => {
    const group = queue;
    queue = [];
    try {
      atomically(() => {
        for (const p of group) runSync(handler.handle(p.link, p.cb));
      });
    } catch {
      // Rare: one of them threw (or the commit failed) and the whole group was undone. Each
      // callback again in its own transaction, so only the failing one is refused.
      for (const p of group) {
        try {
          atomically(() => runSync(handler.handle(p.link, p.cb)));
        } catch (e) {
          p.fail(e);
          continue;
        }
        p.ok();
      }
      return;
    }
    for (const p of group) p.ok();
  };
  return {
    submit(link, cb) {
      return new Promise<void>((ok, fail) => {
        if (!queue.length) setImmediate(flush);
        queue.push({ link, cb, ok, fail });
      });
    },
  };
}
