import { createHash } from 'node:crypto';
import type { UisLink } from '../domain/uis-link';
import type { UisCallback } from '../uis/callback-schemas';
import type { UisCallbackHandler, UisInbox } from './ports';

/**
 * Verified callbacks are recorded durably before the 204, deduplicated by content (UIS may
 * deliver a callback twice — uis-api.md §6.2 rule 9). Relaying them is the bridge's job.
 */
export function createUisCallbackRecorder(inbox: UisInbox): UisCallbackHandler {
  return {
    handle(link: UisLink, cb: UisCallback) {
      const dedupeKey = createHash('sha256').update(`${cb.method} ${cb.path} ${JSON.stringify(cb.body)}`).digest('hex');
      inbox.record({ memberId: link.memberId, path: `${cb.method} ${cb.path}`, body: cb.body, dedupeKey });
    },
  };
}
