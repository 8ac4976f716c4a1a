/**
 * Callback bodies, v2 (Chat API §"Обратные вызовы"). Field sets follow the docs' schemas and the
 * worked example (§"Примеры"): chat-level callbacks carry `context` = `{app_id, chat_channel_id}`
 * (the example's `/message` and `/message/status` contexts), `/account` adds `app_id` to the
 * connection's own context, `/channel` carries `{app_id, chat_channel_id}` (+ `message_templates`
 * for WABA). Null fields are sent as null, not omitted (the example does so).
 */
import type { AccountImpl } from './account';
import { isoMicro } from './time';
import type { AdapterChannelRec, Chat, ChatChannel, ConnectionRec, UisMessage, Visitor } from './types';

export interface Route {
  connection: ConnectionRec;
  adapterChannel: AdapterChannelRec;
  chatChannel: ChatChannel;
}

function chatContext(account: AccountImpl, route: Route): Record<string, unknown> {
  return { app_id: account.appId, chat_channel_id: route.chatChannel.id };
}

export function accountPayload(c: ConnectionRec): Record<string, unknown> {
  return { id: c.id, name: c.name, adapter_id: c.adapterId, client_id: 1, context: { ...c.context, app_id: c.appId }, status: c.status };
}

export function channelPayload(c: ConnectionRec, ac: AdapterChannelRec, ch: ChatChannel): Record<string, unknown> {
  const context: Record<string, unknown> = { app_id: c.appId, chat_channel_id: ch.id };
  if (ch.type === 'waba') context.message_templates = ch.messageTemplates ?? [];
  // the channel is disabled for the adapter when UIS disabled it, or when it was detached from the connection
  const status = ac.status === 'active' && ch.status !== 'disabled' ? 'active' : 'disabled';
  return { id: ac.id, name: ch.name, type: ch.type, account_id: c.id, context, status };
}

/** POST /chat — "Новый чат". */
export function chatPayload(account: AccountImpl, route: Route, chat: Chat, visitor: Visitor): Record<string, unknown> {
  return {
    context: chatContext(account, route),
    account_id: route.connection.id,
    channel_id: route.adapterChannel.id,
    chat_id: chat.id,
    visitor_id: visitor.id,
    visitor_phone: visitor.phone,
    operator_id: chat.operatorId,
    initiator: chat.initiator,
    created_at: isoMicro(chat.createdAt),
  };
}

/** PATCH /chat (v2 "Обновление чата") and POST /chat/operator (v1 "Закрепление чата за оператором"). */
export function chatOperatorPayload(account: AccountImpl, route: Route, chat: Chat): Record<string, unknown> {
  return { context: chatContext(account, route), account_id: route.connection.id, channel_id: route.adapterChannel.id, chat_id: chat.id, operator_id: chat.operatorId };
}

/** POST /chat/close. */
export function chatClosePayload(account: AccountImpl, route: Route, chat: Chat): Record<string, unknown> {
  return {
    context: chatContext(account, route),
    account_id: route.connection.id,
    channel_id: route.adapterChannel.id,
    chat_id: chat.id,
    operator_id: chat.operatorId,
    reason: chat.closeReason,
  };
}

export function resourcePayload(m: UisMessage): Record<string, unknown> | null {
  if (!m.resource) return null;
  const { id, token, type, name, size } = m.resource;
  return { id, token, type, name, size };
}

/** POST /message — "Новое сообщение"; WABA adds `context.conversation_frame_ts` while the window is open. */
export function messagePayload(account: AccountImpl, route: Route, chat: Chat, m: UisMessage): Record<string, unknown> {
  const context = chatContext(account, route);
  if (chat.channelType === 'waba' && chat.conversationFrameTs !== null && chat.conversationFrameTs * 1000 > account.world.clock.now()) {
    context.conversation_frame_ts = chat.conversationFrameTs;
  }
  return {
    context,
    account_id: route.connection.id,
    channel_id: route.adapterChannel.id,
    id: m.id,
    chat_id: chat.id,
    source: m.source,
    operator_id: m.operatorId ?? null,
    reply_to_id: m.replyToId ?? null,
    text: m.text,
    created_at: m.createdAtRaw ?? isoMicro(m.createdAt),
    status: m.status,
    resource: resourcePayload(m),
    system_message_mnemonic: m.systemMnemonic ?? null,
  };
}

/**
 * v2 «Обновление сообщения»: POST /message with the message's `id` and its new `text` / `resource`,
 * without `source`, `status`, `operator_id`, `reply_to_id`, `created_at` or
 * `system_message_mnemonic` (the docs' schema lists only context, account_id, channel_id, id,
 * chat_id, text, resource). WABA adds `context.conversation_frame_ts` while the window is open
 * (§"Работа с каналом типа waba": "в обратных вызовах новое сообщение и обновление сообщения").
 */
export function messageEditPayload(account: AccountImpl, route: Route, chat: Chat, m: UisMessage): Record<string, unknown> {
  const context = chatContext(account, route);
  if (chat.channelType === 'waba' && chat.conversationFrameTs !== null && chat.conversationFrameTs * 1000 > account.world.clock.now()) {
    context.conversation_frame_ts = chat.conversationFrameTs;
  }
  return { context, account_id: route.connection.id, channel_id: route.adapterChannel.id, id: m.id, chat_id: chat.id, text: m.text, resource: resourcePayload(m) };
}

/** POST /message/status. */
export function statusPayload(account: AccountImpl, route: Route, chat: Chat, m: UisMessage): Record<string, unknown> {
  return { context: chatContext(account, route), account_id: route.connection.id, channel_id: route.adapterChannel.id, chat_id: chat.id, message_id: m.id, status: m.status };
}

/** POST /visitor/card — "Обновление информации о посетителе". */
export function visitorCardPayload(
  account: AccountImpl,
  route: Route,
  visitor: Visitor,
  card: { name: string | null; company: string | null; comment: string | null; phones: string[]; emails: string[] },
): Record<string, unknown> {
  return { context: chatContext(account, route), account_id: route.connection.id, channel_id: route.adapterChannel.id, visitor_id: visitor.id, visitor_card: card };
}
