import type { UisLink } from '../../domain/uis-link';
import { parseChatApiTime } from '../../domain/uis-time';
import type { UisCallback } from '../../uis/callback-schemas';
import { messageText } from './facts';
import { step, type MaybeAsync, type Step } from '../maybe-async';
import type { UisCallbackHandler } from '../ports';
import type { CrmRequestRepository, CrmRulesRepository } from './ports';

const time = (v: string | null | undefined, fallback: number): number => parseChatApiTime(v) ?? fallback;

export interface CrmCallbackDeps {
  requests: MaybeAsync<CrmRequestRepository>;
  crmRules: MaybeAsync<Pick<CrmRulesRepository, 'isEnabled'>>;
  now(): number;
  /** Events of one chat arriving within this window are decided together (fewer REST calls). */
  gatherMs: number;
  wake(delayMs: number): void;
}

/**
 * The «Чаты» rules' side of verified UIS callbacks (docs/facts/uis.md#chat-callbacks), after the inner handlers
 * recorded them: the chat's lifecycle point and its messages are stored, and the chat is due for
 * a decision shortly. Nothing is recorded for a portal whose Chats tab is off. Duplicates and
 * reordering are harmless: messages are keyed by their UIS id, the chat row keeps the furthest
 * lifecycle point.
 */
const FOLLOWED = new Set<UisCallback['route']>(['POST /chat', 'POST /chat/close', 'POST /visitor/card', 'POST /message']);

export function crmRulesUisCallbacks(inner: UisCallbackHandler, deps: CrmCallbackDeps): UisCallbackHandler {
  return {
    *handle(link: UisLink, cb: UisCallback): Step<void> {
      yield* inner.handle(link, cb);
      // only the callbacks the rules follow ask the database whether the tab is on (not /message/status…)
      if (!FOLLOWED.has(cb.route)) return;
      if (!(yield* step(deps.crmRules.isEnabled(link.memberId, 'chats')))) return;
      if (yield* onCallback(deps, link.memberId, cb)) deps.wake(deps.gatherMs);
    },
  };
}

export function* onCallback(deps: CrmCallbackDeps, memberId: string, cb: UisCallback): Step<boolean> {
  const now = deps.now();
  const dueAt = now + deps.gatherMs;
  const touch = (chatId: string, channelId: string | null | undefined, event: 'started' | 'message' | 'finished', extra: { visitorId?: string | null; startedAt?: number | null } = {}) =>
    step(deps.requests.touch({ memberId, kind: 'chat', requestId: chatId, event, channelId: channelId ?? null, dueAt, ...extra }));

  if (cb.route === 'POST /chat') {
    const b = cb.body;
    yield* touch(b.chat_id, b.channel_id, 'started', { visitorId: b.visitor_id ?? null, startedAt: time(b.created_at, now) });
    return true;
  }
  if (cb.route === 'POST /chat/close') {
    yield* touch(cb.body.chat_id, cb.body.channel_id, 'finished');
    return true;
  }
  if (cb.route === 'POST /visitor/card') {
    // a phone or e-mail may have just arrived for a chat that waited for contact data
    return (yield* step(deps.requests.touchVisitor(memberId, cb.body.visitor_id, dueAt))) > 0;
  }
  if (cb.route === 'POST /message') {
    const b = cb.body;
    if (b.source === undefined || b.source === null) {
      // v2 «Обновление сообщения» (docs/facts/uis.md#chat-callbacks): the same id, no source — an edit. The stored
      // transcript takes the new text (a decision made at the chat's end uses it); nothing is re-decided.
      yield* step(deps.requests.editMessage(memberId, b.chat_id, b.id, messageText(b.text, b.resource?.name)));
      return false;
    }
    const source = b.source;
    if (source === 'system') {
      // an operator-initiated chat starts with chat_started (docs/facts/uis.md#chat-callbacks)
      if (b.system_message_mnemonic !== 'chat_started') return false;
      yield* touch(b.chat_id, b.channel_id, 'started', { startedAt: time(b.created_at, now) });
      return true;
    }
    if (source !== 'visitor' && source !== 'operator') return false;
    const text = messageText(b.text, b.resource?.name);
    const operatorId = b.operator_id ?? null;
    const fresh = yield* step(
      deps.requests.addMessage(memberId, b.chat_id, {
        id: b.id,
        at: time(b.created_at, now),
        source,
        text,
        author: source === 'operator' && operatorId ? `employee:${operatorId}` : null,
      }),
    );
    if (fresh) yield* touch(b.chat_id, b.channel_id, 'message');
    return fresh;
  }
  return false;
}
