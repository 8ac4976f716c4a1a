import { randomBytes } from 'node:crypto';
import { DEFAULT_AMO_SETTINGS, DEFAULT_JIVO_SETTINGS, type ChatSource } from '../../contracts/chat-sources';
import type { ChatSourceRepository } from './ports';

/**
 * The secret of a source's «Webhook url» (`/hooks/<source>/<secret>`), made once per portal and
 * source (with the default settings when none were saved): the only proof a webhook is genuine —
 * neither Jivo nor amoCRM signs its deliveries (docs/facts/chat-sources.md#amocrm-talk-hook, docs/facts/chat-sources.md#jivo-events).
 */
export async function ensureHookSecret(deps: { sources: ChatSourceRepository }, memberId: string, source: ChatSource): Promise<string> {
  const r = await deps.sources.getSettings(memberId, source);
  if (r) return r.hookSecret;
  return deps.sources.initSettings(memberId, source, source === 'jivo' ? DEFAULT_JIVO_SETTINGS : DEFAULT_AMO_SETTINGS, randomBytes(24).toString('base64url'));
}
