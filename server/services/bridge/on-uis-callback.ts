import type { UisLink } from '../../domain/uis-link';
import type { UisCallbackHandler } from '../ports';
import { textHash } from './identity';
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
    handle(link: UisLink, path: string, method: string, body: unknown) {
      inner.handle(link, path, method, body);
      if (onCallback(deps, link, path, method, obj(body))) deps.wake();
    },
  };
}

/**
 * A chat we started through the runtime API (`POST /v1/adapter/chat`: «Написать новому клиенту»,
 * the CRM tab). UIS sends no `/chat` callback for it, only the `chat_started` system message
 * (uis-api.md §2.3), so the bridge learns its visitor here, from the runtime's answer; its open-line
 * chat is then made like for a chat started in the UIS workspace.
 */
export function onChatStarted(
  deps: BridgeCallbackDeps,
  memberId: string,
  c: { uisChatId: string; channelId: string; visitorId: string; operatorId: number; phone?: string | null; email?: string | null },
): void {
  const due = learnChat(deps.bridge, memberId, deps.now(), { ...c, initiator: 'operator', operatorId: String(c.operatorId) });
  if (due) deps.wake();
}

/**
 * A chat and its visitor, as a `/chat` callback or the runtime's answer names them. Jobs of the
 * chat that waited for its visitor (messages that came first) are due now; true when there are any.
 */
function learnChat(
  repo: BridgeRepository,
  memberId: string,
  now: number,
  c: { uisChatId: string; channelId: string; visitorId: string | null; initiator: string | null; operatorId: string | null; phone?: string | null; email?: string | null },
): boolean {
  const waited = !repo.chat(memberId, c.uisChatId)?.visitorId;
  repo.upsertChat({ memberId, uisChatId: c.uisChatId, channelId: c.channelId, visitorId: c.visitorId, initiator: c.initiator, operatorId: c.operatorId });
  if (!c.visitorId) return false;
  repo.upsertVisitor({ memberId, visitorId: c.visitorId, phone: c.phone ?? null, email: c.email ?? null });
  return waited && repo.dueNow(memberId, c.uisChatId, now) > 0;
}

/** true when jobs were queued (or made due). */
export function onCallback(deps: BridgeCallbackDeps, link: UisLink, path: string, method: string, b: Row): boolean {
  const memberId = link.memberId;
  const repo = deps.bridge;
  const chatId = id(b.chat_id);
  const channelId = id(b.channel_id);
  const now = deps.now();

  if (path === '/chat' && (method === 'POST' || method === 'PATCH') && chatId && channelId) {
    return learnChat(repo, memberId, now, { uisChatId: chatId, channelId, visitorId: id(b.visitor_id), initiator: id(b.initiator), operatorId: id(b.operator_id), phone: id(b.visitor_phone) });
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
    // Seen already (also after the job itself was pruned by the retention).
    if (repo.link(memberId, 'uis', messageId)) return false;
    let source = String(b.source ?? '');
    if (source === 'system') {
      // An operator-initiated chat (UIS workspace, iframe or our runtime call) starts with
      // chat_started: the open line gets the chat (seed «Исходящая коммуникация» 1) with that
      // system text from the client side, so Bitrix24 starts a dialog and its CRM rules run; the
      // operator's own messages stay hidden until an operator accepts the dialog.
      repo.upsertChat({ memberId, uisChatId: chatId, channelId });
      if (b.system_message_mnemonic !== 'chat_started') return false;
      source = 'started';
    }
    if (source !== 'visitor' && source !== 'operator' && source !== 'started') return false;
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
  if (path === '/message' && method === 'PATCH' && chatId) {
    // v2 message update (uis-api.md §2.3): an edit of a message already in the open line.
    const messageId = id(b.id);
    const l = messageId ? repo.link(memberId, 'uis', messageId) : null;
    if (!messageId || !l || typeof b.text !== 'string' || !b.text) return false;
    return repo.enqueue({
      memberId,
      kind: 'update',
      chatKey: `u:${chatId}`,
      idemKey: `upd:${messageId}:${textHash(b.text)}`,
      dueAt: now,
      payload: { uisChatId: chatId, messageId, text: b.text },
    });
  }
  if (path === '/chat/close' && method === 'POST' && chatId) {
    const chat = repo.chat(memberId, chatId);
    if (!chat) return false;
    repo.upsertChat({ memberId, uisChatId: chatId, channelId: chat.channelId, status: 'closed' });
    // The open line is told (a notice in its dialog); the client's next message comes in a new
    // UIS chat and so a new open-line chat (seed «Входящая коммуникация» 2). Queued behind the
    // chat's pending messages (same chat key).
    return repo.enqueue({
      memberId,
      kind: 'in',
      chatKey: chatId,
      idemKey: `close:${chatId}`,
      dueAt: now,
      payload: { uisChatId: chatId, channelId: chat.channelId, messageId: `close-${chatId}`, source: 'closed', reason: id(b.reason), text: '', createdAt: null, resource: null },
    });
  }
  return false;
}
