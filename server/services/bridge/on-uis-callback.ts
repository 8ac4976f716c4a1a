import type { UisLink } from '../../domain/uis-link';
import type { UisCallbackHandler } from '../ports';
import type { BridgeRepository } from './ports';

type Row = Record<string, unknown>;
const obj = (v: unknown): Row => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Row) : {});
const id = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

export interface BridgeCallbackDeps {
  bridge: BridgeRepository;
  now(): number;
  /** New work was queued. */
  wake(): void;
}

/**
 * The Open Lines bridge's side of verified UIS callbacks (uis-api.md §2.3): after the inner
 * handler recorded the callback durably, state is updated and relay work is queued — all
 * synchronous SQLite writes, so UIS gets its 204 fast and delivery happens in the worker.
 * Every callback may arrive twice or out of order (§6.2 rule 9): messages are queued under the
 * idempotency key of their UIS id; a `/message` whose `/chat` has not arrived yet waits in the
 * queue for it.
 */
export function bridgeUisCallbacks(inner: UisCallbackHandler, deps: BridgeCallbackDeps): UisCallbackHandler {
  return {
    async handle(link: UisLink, path: string, method: string, body: unknown) {
      await inner.handle(link, path, method, body);
      if (onCallback(deps, link, path, method, obj(body))) deps.wake();
    },
  };
}

/** true when jobs were queued. */
export function onCallback(deps: BridgeCallbackDeps, link: UisLink, path: string, method: string, b: Row): boolean {
  const memberId = link.memberId;
  const repo = deps.bridge;
  const chatId = id(b.chat_id);
  const channelId = id(b.channel_id);
  const now = deps.now();

  if (path === '/chat' && (method === 'POST' || method === 'PATCH') && chatId && channelId) {
    const visitorId = id(b.visitor_id);
    repo.upsertChat({ memberId, uisChatId: chatId, channelId, visitorId, initiator: id(b.initiator), operatorId: id(b.operator_id) });
    if (visitorId) repo.upsertVisitor({ memberId, visitorId, phone: id(b.visitor_phone) });
    return false;
  }
  if (path === '/visitor/card' && method === 'POST') {
    const visitorId = id(b.visitor_id);
    if (!visitorId) return false;
    const card = obj(b.visitor_card);
    const phones = Array.isArray(card.phones) ? card.phones : [];
    const emails = Array.isArray(card.emails) ? card.emails : [];
    repo.upsertVisitor({ memberId, visitorId, name: id(card.name), phone: id(phones[0]), email: id(emails[0]) });
    return false;
  }
  if (path === '/message' && method === 'POST' && chatId && channelId) {
    const messageId = id(b.id);
    if (!messageId) return false;
    // Loop prevention (§6.2 rule 10): a message we sent to UIS ourselves never comes back in.
    if (repo.linkByUisMessage(memberId, messageId)?.origin === 'b24') return false;
    const source = String(b.source ?? '');
    if (source === 'system') {
      // An operator-initiated chat starts with chat_started; the chat is known from it.
      repo.upsertChat({ memberId, uisChatId: chatId, channelId });
      return false;
    }
    if (source !== 'visitor' && source !== 'operator') return false;
    const resource = b.resource && typeof b.resource === 'object' ? (b.resource as Row) : null;
    const queued = repo.enqueue({
      memberId,
      kind: 'in',
      chatKey: chatId,
      idemKey: `in:${messageId}`,
      dueAt: now,
      payload: {
        uisChatId: chatId,
        channelId,
        accountId: id(b.account_id),
        messageId,
        source,
        operatorId: id(b.operator_id),
        text: typeof b.text === 'string' ? b.text : '',
        createdAt: b.created_at ?? null,
        resource: resource ? { id: resource.id, token: resource.token, type: resource.type, name: resource.name, size: resource.size } : null,
      },
    });
    if (queued) repo.addLink(memberId, { origin: 'uis', key: messageId, uisChatId: chatId, uisMessageId: messageId, b24ChatId: null, b24MessageId: null, state: 'queued', error: null });
    return queued;
  }
  if (path === '/message/status' && method === 'POST' && chatId) {
    const messageId = id(b.message_id);
    const status = String(b.status ?? '');
    if (!messageId) return false;
    const l = repo.linkByUisMessage(memberId, messageId);
    if (!l || l.origin !== 'b24') return false;
    if (status === 'sent' || status === 'delivered' || status === 'read') {
      return repo.enqueue({ memberId, kind: 'delivery', chatKey: `d:${l.b24ChatId}`, idemKey: `dlv:${l.b24MessageId}`, dueAt: now, payload: { b24MessageId: l.b24MessageId } });
    }
    if (status === 'error') {
      return repo.enqueue({
        memberId,
        kind: 'notice',
        chatKey: `n:${l.b24ChatId}`,
        idemKey: `err:${l.b24MessageId}`,
        dueAt: now,
        payload: { b24MessageId: l.b24MessageId, reason: 'UIS reported a delivery error for this message' },
      });
    }
    return false;
  }
  if (path === '/chat/close' && method === 'POST' && chatId) {
    const chat = repo.chat(memberId, chatId);
    if (chat) repo.upsertChat({ memberId, uisChatId: chatId, channelId: chat.channelId, status: 'closed' });
    return false;
  }
  return false;
}
