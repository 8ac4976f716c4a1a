import { amoSettingsSchema, jivoSettingsSchema } from '../../contracts/chat-sources';
import { amoExtId } from '../../domain/chat-sources/amocrm';
import { RESOLVED_BY } from '../../domain/chat-sources/errors';
import { decideAmoTalk, decideJivoItem } from '../../domain/chat-sources/items';
import { jivoChatConversation, jivoChatVersion, jivoOfflineConversation } from '../../domain/chat-sources/jivo';
import { AppError, badRequest } from '../../domain/errors';
import { parseAmoHook } from '../../amocrm/webhook-schemas';
import { parseJivoEvent } from '../../jivo/webhook-schemas';
import type { ChatSourcesDeps } from './deps';

/**
 * The webhooks of the chat sources: answered at once, their work recorded as durable items that
 * the worker processes (no call to Jivo, amoCRM or UIS in the request: style.md rule 2). The
 * secret in the URL is checked first — a wrong one is refused and nothing is recorded — then the
 * body; a body that cannot be read is a 4xx, again with nothing recorded.
 */
const refused = () => new AppError('HOOK_REFUSED', 'Unknown webhook URL', 403);

/** Until the worker starts: a burst of webhooks shares one run and one upload. */
const GATHER_MS = 500;

export type HookOutcome = 'queued' | 'duplicate' | 'ignored';

/** Jivo: `chat_finished` and `offline_message` are queued; every other event is acknowledged only. */
export async function acceptJivoHook(deps: Pick<ChatSourcesDeps, 'sources' | 'clock' | 'wake'>, secret: string, body: unknown): Promise<HookOutcome> {
  const owner = await deps.sources.getByHookSecret('jivo', secret);
  if (!owner) throw refused();
  const parsed = parseJivoEvent(body);
  if (parsed.kind === 'invalid') throw badRequest('MALFORMED_EVENT', parsed.message.slice(0, 300));
  const settings = jivoSettingsSchema.safeParse(owner.settings).data;
  if (!settings?.enabled) return 'ignored';
  const now = deps.clock.now();
  const memberId = owner.memberId;
  if (parsed.kind === 'ignored') {
    await deps.sources.noteEvent(memberId, 'jivo', now, null);
    return 'ignored';
  }
  const conv = parsed.kind === 'chat' ? jivoChatConversation(parsed.event) : jivoOfflineConversation(parsed.event, now);
  const version = parsed.kind === 'chat' ? jivoChatVersion(parsed.event) : 1;
  const written = await deps.sources.applyItem(
    { memberId, source: 'jivo', extId: conv.extId },
    { kind: conv.kind, channel: conv.channel, payload: conv, dueAt: now + GATHER_MS },
    (row) => decideJivoItem(row, version),
  );
  await deps.sources.noteEvent(memberId, 'jivo', now, conv.channel);
  if (written) deps.wake();
  return written ? 'queued' : 'duplicate';
}

/**
 * amoCRM «Беседа изменена» (form-encoded, several talks per request): the account in the body must
 * be the connected one; each talk item is decided by its `updated_at` (duplicates, stale and
 * reordered copies change nothing; a closed talk is due once).
 */
export async function acceptAmoHook(deps: Pick<ChatSourcesDeps, 'sources' | 'amoAccounts' | 'clock' | 'wake'>, secret: string, body: unknown): Promise<HookOutcome> {
  const owner = await deps.sources.getByHookSecret('amocrm', secret);
  if (!owner) throw refused();
  const conn = await deps.amoAccounts.get(owner.memberId);
  if (!conn) throw refused();
  const parsed = parseAmoHook(body);
  if ('invalid' in parsed) throw badRequest('MALFORMED_EVENT', parsed.invalid);
  if (parsed.accountId !== conn.accountId) throw refused();
  const settings = amoSettingsSchema.safeParse(owner.settings).data;
  if (!settings?.enabled) return 'ignored';
  const now = deps.clock.now();
  let queued = false;
  for (const t of parsed.talks) {
    queued =
      (await deps.sources.applyItem(
        { memberId: owner.memberId, source: 'amocrm', extId: amoExtId(conn.accountId, t.talk_id) },
        { kind: 'request', channel: t.origin || null, payload: { talkId: t.talk_id }, dueAt: now + GATHER_MS },
        (row) => decideAmoTalk(row, { updatedAt: t.updated_at, inWork: t.is_in_work }),
      )) || queued;
    await deps.sources.noteEvent(owner.memberId, 'amocrm', now, t.origin || null);
  }
  if (!parsed.talks.length) await deps.sources.noteEvent(owner.memberId, 'amocrm', now, null);
  // a genuine hook arrived: whether made by hand or registered again, it works
  await deps.sources.resolveErrors(owner.memberId, 'amocrm', RESOLVED_BY.amoHook);
  if (queued) deps.wake();
  return queued ? 'queued' : parsed.talks.length ? 'duplicate' : 'ignored';
}
