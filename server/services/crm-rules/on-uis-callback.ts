import type { UisLink } from '../../domain/uis-link';
import { parseChatApiTime } from '../../domain/uis-time';
import { messageText } from './facts';
import type { UisCallbackHandler } from '../ports';
import type { CrmRequestRepository, CrmRulesRepository } from './ports';

type Row = Record<string, unknown>;
const obj = (v: unknown): Row => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Row) : {});
const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));
const time = (v: unknown, fallback: number): number => parseChatApiTime(v) ?? fallback;

export interface CrmCallbackDeps {
  requests: CrmRequestRepository;
  crmRules: Pick<CrmRulesRepository, 'isEnabled'>;
  now(): number;
  /** Events of one chat arriving within this window are decided together (fewer REST calls). */
  gatherMs: number;
  wake(delayMs: number): void;
}

/**
 * The «Чаты» rules' side of verified UIS callbacks (uis-api.md §2.3), after the inner handlers
 * recorded them: the chat's lifecycle point and its messages are stored, and the chat is due for
 * a decision shortly. Nothing is recorded for a portal whose Chats tab is off. Duplicates and
 * reordering are harmless: messages are keyed by their UIS id, the chat row keeps the furthest
 * lifecycle point.
 */
const FOLLOWED = new Set(['/chat', '/chat/close', '/visitor/card', '/message']);

export function crmRulesUisCallbacks(inner: UisCallbackHandler, deps: CrmCallbackDeps): UisCallbackHandler {
  return {
    handle(link: UisLink, path: string, method: string, body: unknown) {
      inner.handle(link, path, method, body);
      // only the callbacks the rules follow ask the database whether the tab is on (not /message/status…)
      if (method !== 'POST' || !FOLLOWED.has(path)) return;
      if (!deps.crmRules.isEnabled(link.memberId, 'chats')) return;
      if (onCallback(deps, link.memberId, path, obj(body))) deps.wake(deps.gatherMs);
    },
  };
}

export function onCallback(deps: CrmCallbackDeps, memberId: string, path: string, b: Row): boolean {
  const now = deps.now();
  const dueAt = now + deps.gatherMs;
  const chatId = str(b.chat_id);
  const touch = (event: 'started' | 'message' | 'finished', extra: { visitorId?: string | null; startedAt?: number | null } = {}) =>
    deps.requests.touch({ memberId, kind: 'chat', requestId: chatId!, event, channelId: str(b.channel_id), dueAt, ...extra });

  if (path === '/chat' && chatId) {
    touch('started', { visitorId: str(b.visitor_id), startedAt: time(b.created_at, now) });
    return true;
  }
  if (path === '/chat/close' && chatId) {
    touch('finished');
    return true;
  }
  if (path === '/visitor/card') {
    const visitorId = str(b.visitor_id);
    // a phone or e-mail may have just arrived for a chat that waited for contact data
    return visitorId ? deps.requests.touchVisitor(memberId, visitorId, dueAt) > 0 : false;
  }
  if (path === '/message' && chatId) {
    const id = str(b.id);
    const source = String(b.source ?? '');
    if (!id) return false;
    if (source === 'system') {
      // an operator-initiated chat starts with chat_started (uis-api.md §2.3)
      if (b.system_message_mnemonic !== 'chat_started') return false;
      touch('started', { startedAt: time(b.created_at, now) });
      return true;
    }
    if (source !== 'visitor' && source !== 'operator') return false;
    const resource = obj(b.resource);
    const text = messageText(b.text, resource.name);
    const operatorId = str(b.operator_id);
    const fresh = deps.requests.addMessage(memberId, chatId, {
      id,
      at: time(b.created_at, now),
      source,
      text,
      author: source === 'operator' && operatorId ? `employee:${operatorId}` : null,
    });
    if (fresh) touch('message');
    return fresh;
  }
  return false;
}
