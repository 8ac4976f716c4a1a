import { createHash, randomUUID } from 'node:crypto';
import type { UisLink } from '../domain/uis-link';
import type { UisCallback } from '../uis/callback-schemas';
import { step, type MaybeAsync, type Step } from './maybe-async';
import type { UisCallbackHandler, UisInbox } from './ports';

/**
 * Verified callbacks are recorded durably before the 204. A callback that announces something
 * new (a chat, a message, a status step) is deduplicated by content: the same body twice is one
 * delivery made twice (docs/facts/uis.md#rule-9). A change can repeat with the same body and still be
 * new — a message edited back to an earlier text (v2 edits are POST /message without `source`), a
 * channel disabled, enabled and disabled again, an operator reassigned back, a visitor card
 * restored — so those are each recorded. Relaying them is the bridge's job.
 */
export function createUisCallbackRecorder(inbox: MaybeAsync<UisInbox>): UisCallbackHandler {
  return {
    *handle(link: UisLink, cb: UisCallback): Step<void> {
      yield* step(inbox.record({ memberId: link.memberId, path: `${cb.method} ${cb.path}`, body: cb.body, dedupeKey: callbackDedupeKey(cb) }));
    },
  };
}

/** A callback's identity for its portal: its content, or (a change) unique to this delivery. */
export function callbackDedupeKey(cb: UisCallback): string {
  const content = `${cb.method} ${cb.path} ${JSON.stringify(cb.body)}`;
  return createHash('sha256')
    .update(isChange(cb) ? `${content} ${randomUUID()}` : content)
    .digest('hex');
}

function isChange(cb: UisCallback): boolean {
  if (cb.route === 'POST /message') return cb.body.source === undefined || cb.body.source === null;
  return cb.method === 'PATCH' || cb.route === 'POST /visitor/card' || cb.route === 'POST /chat/operator';
}
