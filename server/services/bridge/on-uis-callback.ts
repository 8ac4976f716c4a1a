import type { UisLink } from '../../domain/uis-link';
import type { UisCallback } from '../../uis/callback-schemas';
import { runAsync, step, type MaybeAsync, type Step } from '../maybe-async';
import type { UisCallbackHandler } from '../ports';
import { textHash, visitorDisplayName } from './identity';
import type { BridgeRepository } from './ports';

/** An optional id or text of a parsed callback: absent and empty are both null. */
const opt = (v: string | null | undefined): string | null => (v === undefined || v === null || v === '' ? null : v);

export interface BridgeCallbackDeps {
  bridge: MaybeAsync<BridgeRepository>;
  now(): number;
  /** New work was queued. */
  wake(): void;
  /**
   * A `/chat` named its chat's visitor (called inside the callback's transaction). Where other work
   * can read the store before that transaction commits (PostgreSQL), the wiring makes the chat's
   * waiting jobs due once more after the commit (compose-store.ts `callbackChainOf`).
   */
  chatKnown?(memberId: string, uisChatId: string): void;
}

/**
 * The Open Lines bridge's side of verified UIS callbacks (docs/facts/uis.md#chat-callbacks): after the inner
 * handler recorded the callback durably, state is updated and relay work is queued — database
 * writes only (in the intake's transaction), so UIS gets its 204 fast and delivery happens in the worker.
 * Every callback may arrive twice or out of order (docs/facts/uis.md#rule-9): messages are queued under the
 * idempotency key of their UIS id; a `/message` whose `/chat` has not arrived yet waits in the
 * queue for it.
 */
export function bridgeUisCallbacks(inner: UisCallbackHandler, deps: BridgeCallbackDeps): UisCallbackHandler {
  return {
    *handle(link: UisLink, cb: UisCallback): Step<void> {
      yield* inner.handle(link, cb);
      if (yield* onCallback(deps, link, cb)) deps.wake();
    },
  };
}

/**
 * A chat we started through the runtime API (`POST /v1/adapter/chat`: «Написать новому клиенту»,
 * the CRM tab). UIS sends no `/chat` callback for it, only the `chat_started` system message
 * (docs/facts/uis.md#chat-callbacks), so the bridge learns its visitor here, from the runtime's answer; its open-line
 * chat is then made like for a chat started in the UIS workspace.
 */
export async function onChatStarted(
  deps: BridgeCallbackDeps,
  memberId: string,
  c: { uisChatId: string; channelId: string; visitorId: string; operatorId: number; phone?: string | null; email?: string | null },
): Promise<void> {
  const due = await runAsync(learnChat(deps.bridge, memberId, deps.now(), { ...c, initiator: 'operator', operatorId: String(c.operatorId) }));
  if (due) deps.wake();
}

/**
 * A chat and its visitor, as a `/chat` callback or the runtime's answer names them. Jobs of the
 * chat that waited for its visitor (messages that came first) are due now; true when there are any.
 */
function* learnChat(
  repo: MaybeAsync<BridgeRepository>,
  memberId: string,
  now: number,
  c: { uisChatId: string; channelId: string; visitorId: string | null; initiator: string | null; operatorId: string | null; phone?: string | null; email?: string | null },
): Step<boolean> {
  const waited = !(yield* step(repo.chat(memberId, c.uisChatId)))?.visitorId;
  yield* step(repo.upsertChat({ memberId, uisChatId: c.uisChatId, channelId: c.channelId, visitorId: c.visitorId, initiator: c.initiator, operatorId: c.operatorId }));
  if (!c.visitorId) return false;
  yield* step(repo.upsertVisitor({ memberId, visitorId: c.visitorId, phone: c.phone ?? null, email: c.email ?? null }));
  return waited && (yield* step(repo.dueNow(memberId, c.uisChatId, now))) > 0;
}

/**
 * The client's name came (or changed) in the visitor card. Their open-line chats were titled by
 * what the first message carried — the phone, when the card came after it (UIS sends /chat,
 * /message and /visitor/card in no set order): each open chat already in Bitrix24, or whose first
 * message is being sent right now, gets a `rename` job, ordered after the chat's pending messages.
 * A chat whose first message has not gone yet takes the name with it. True when jobs were queued.
 */
function* renameChats(repo: MaybeAsync<BridgeRepository>, memberId: string, visitorId: string, name: string, now: number): Step<boolean> {
  let queued = false;
  for (const chat of yield* step(repo.openChatsOfVisitor(memberId, visitorId))) {
    const sending = (yield* step(repo.pendingOfChat(memberId, chat.uisChatId))).some((j) => j.kind === 'in' && j.inflight);
    if (!chat.b24ChatId && !sending) continue;
    const idemKey = `rename:${chat.uisChatId}:${textHash(name)}`;
    queued = (yield* step(repo.enqueue({ memberId, kind: 'rename', chatKey: chat.uisChatId, idemKey, payload: { visitorId, name }, dueAt: now }))) || queued;
  }
  return queued;
}

/**
 * An edit of a client message the bridge relays → `imconnector.update.messages` (edits.ts), in
 * the order UIS sent them (one queue per chat). Every edit is its own job: a message edited back
 * to an earlier text (A → B → A) is edited again, not dropped as a repeat.
 */
function* onEdit(deps: BridgeCallbackDeps, memberId: string, chatId: string, messageId: string, text: string | null | undefined): Step<boolean> {
  const l = yield* step(deps.bridge.link(memberId, 'uis', messageId));
  if (!l || typeof text !== 'string' || !text) return false;
  const now = deps.now();
  return yield* step(deps.bridge.enqueue({
    memberId,
    kind: 'update',
    chatKey: `u:${chatId}`,
    idemKey: `upd:${messageId}:${now}:${textHash(text)}`,
    dueAt: now,
    payload: { uisChatId: chatId, messageId, text },
  }));
}

type Route<R extends UisCallback['route']> = Extract<UisCallback, { route: R }>;

/** true when jobs were queued (or made due). */
export function* onCallback(deps: BridgeCallbackDeps, link: UisLink, cb: UisCallback): Step<boolean> {
  const memberId = link.memberId;
  switch (cb.route) {
    case 'POST /chat':
    case 'PATCH /chat': {
      const b = cb.body;
      const due = yield* learnChat(deps.bridge, memberId, deps.now(), { uisChatId: b.chat_id, channelId: b.channel_id, visitorId: opt(b.visitor_id), initiator: opt(b.initiator), operatorId: opt(b.operator_id), phone: opt(b.visitor_phone) });
      if (opt(b.visitor_id)) deps.chatKnown?.(memberId, b.chat_id);
      return due;
    }
    case 'POST /visitor/card':
      return yield* onVisitorCard(deps, memberId, cb);
    case 'POST /message':
      if (cb.body.source === undefined || cb.body.source === null) {
        // v2 «Обновление сообщения» (docs/facts/uis.md#chat-callbacks): a POST with the same id and no source/status/
        // operator_id is an edit, not a repeat. An edit of a message the bridge never saw is left to the
        // reconcile, which reads the message as it is now from the Data API report.
        return yield* onEdit(deps, memberId, cb.body.chat_id, cb.body.id, cb.body.text);
      }
      return cb.body.channel_id ? yield* onNewMessage(deps, memberId, cb) : false;
    case 'POST /message/status':
      return yield* onMessageStatus(deps, memberId, cb);
    case 'PATCH /message':
      // an edit sent as PATCH (accepted too; the docs' v2 edit is the POST above)
      return yield* onEdit(deps, memberId, cb.body.chat_id, cb.body.id, cb.body.text);
    case 'POST /chat/close':
      return yield* onChatClose(deps, memberId, cb);
    default:
      return false;
  }
}

/** The visitor card: the visitor's name, phone and e-mail are kept; a new name renames their open chats. */
function* onVisitorCard(deps: BridgeCallbackDeps, memberId: string, cb: Route<'POST /visitor/card'>): Step<boolean> {
  const repo = deps.bridge;
  const b = cb.body;
  const card = b.visitor_card ?? {};
  const before = visitorDisplayName((yield* step(repo.visitor(memberId, b.visitor_id)))?.name);
  yield* step(repo.upsertVisitor({ memberId, visitorId: b.visitor_id, name: opt(card.name), phone: opt(card.phones?.[0]), email: opt(card.emails?.[0]) }));
  const name = visitorDisplayName(opt(card.name));
  return name !== null && name !== before && (yield* renameChats(repo, memberId, b.visitor_id, name, deps.now()));
}

/**
 * A new message of a channel: a visitor's or a workspace operator's message, or the `chat_started`
 * of an operator-initiated chat, becomes an inbound job keyed by its UIS id (once, whatever repeats).
 */
function* onNewMessage(deps: BridgeCallbackDeps, memberId: string, cb: Route<'POST /message'>): Step<boolean> {
  const repo = deps.bridge;
  const b = cb.body;
  const chatId = b.chat_id;
  const channelId = b.channel_id!;
  const messageId = b.id;
  // One read by the message's UIS id answers both (every link made for a UIS message keeps its id in
  // uisMessageId, ours included): a message we sent to UIS ourselves never comes back in (loop
  // prevention, docs/facts/uis.md#rule-10), and a message seen already is not queued again (also
  // after the job itself was pruned by the retention).
  if (yield* step(repo.linkByUisMessage(memberId, messageId))) return false;
  let source = b.source ?? '';
  if (source === 'system') {
    // An operator-initiated chat (UIS workspace, iframe or our runtime call) starts with
    // chat_started: the open line gets the chat (seed «Исходящая коммуникация» 1) with that
    // system text from the client side, so Bitrix24 starts a dialog and its CRM rules run; the
    // operator's own messages stay hidden until an operator accepts the dialog.
    yield* step(repo.upsertChat({ memberId, uisChatId: chatId, channelId }));
    if (b.system_message_mnemonic !== 'chat_started') return false;
    source = 'started';
  }
  if (source !== 'visitor' && source !== 'operator' && source !== 'started') return false;
  const resource = b.resource ?? null;
  const queued = yield* step(repo.enqueue({
    memberId,
    kind: 'in',
    chatKey: chatId,
    idemKey: `in:${messageId}`,
    dueAt: deps.now(),
    payload: {
      uisChatId: chatId,
      channelId,
      accountId: opt(b.account_id),
      messageId,
      source,
      operatorId: opt(b.operator_id),
      text: b.text ?? '',
      createdAt: b.created_at ?? null,
      resource: resource ? { id: resource.id, token: resource.token, type: resource.type, name: resource.name, size: resource.size } : null,
    },
  }));
  if (queued) yield* step(repo.addLink(memberId, { origin: 'uis', key: messageId, uisChatId: chatId, uisMessageId: messageId, b24ChatId: null, b24MessageId: null, state: 'queued', error: null }));
  return queued;
}

/** UIS's status of an operator message we relayed: sent/delivered/read → Bitrix24's delivery mark; error → a notice in the chat. */
function* onMessageStatus(deps: BridgeCallbackDeps, memberId: string, cb: Route<'POST /message/status'>): Step<boolean> {
  const repo = deps.bridge;
  const now = deps.now();
  const messageId = cb.body.message_id;
  const status = cb.body.status ?? '';
  const l = yield* step(repo.linkByUisMessage(memberId, messageId));
  if (!l || l.origin !== 'b24') return false;
  if (status === 'sent' || status === 'delivered' || status === 'read') {
    return yield* step(repo.enqueue({ memberId, kind: 'delivery', chatKey: `d:${l.b24ChatId}`, idemKey: `dlv:${l.b24MessageId}`, dueAt: now, payload: { b24MessageId: l.b24MessageId } }));
  }
  if (status === 'error') {
    return yield* step(repo.enqueue({
      memberId,
      kind: 'notice',
      chatKey: `n:${l.b24ChatId}`,
      idemKey: `err:${l.b24MessageId}`,
      dueAt: now,
      payload: { b24MessageId: l.b24MessageId, reason: 'UIS reported a delivery error for this message' },
    }));
  }
  return false;
}

/** A UIS chat closed: the chat is marked closed and the open line told, behind the chat's pending messages. */
function* onChatClose(deps: BridgeCallbackDeps, memberId: string, cb: Route<'POST /chat/close'>): Step<boolean> {
  const repo = deps.bridge;
  const chatId = cb.body.chat_id;
  const chat = yield* step(repo.chat(memberId, chatId));
  if (!chat) return false;
  yield* step(repo.upsertChat({ memberId, uisChatId: chatId, channelId: chat.channelId, status: 'closed' }));
  // The open line is told (a notice in its dialog); the client's next message comes in a new
  // UIS chat and so a new open-line chat (seed «Входящая коммуникация» 2). Queued behind the
  // chat's pending messages (same chat key).
  return yield* step(repo.enqueue({
    memberId,
    kind: 'in',
    chatKey: chatId,
    idemKey: `close:${chatId}`,
    dueAt: deps.now(),
    payload: { uisChatId: chatId, channelId: chat.channelId, messageId: `close-${chatId}`, source: 'closed', reason: opt(cb.body.reason), text: '', createdAt: null, resource: null },
  }));
}
