import type { Conversation } from '../analytics-pipeline';

/**
 * Jivo as a source of the analytics pipeline (seed 004; docs/facts/chat-sources.md#jivo). `chat_finished`
 * carries everything — visitor contacts, every message, the `user_token` our site script set with
 * `jivo_api.setUserToken` (the UIS session) — so it becomes a chat with its transcript;
 * `offline_message` becomes a request. The messenger mapping is keyed by `widget_id`: the payload
 * names no channel type, and each Jivo channel (site, Telegram, WhatsApp…) has its own id.
 */
export interface JivoVisitor {
  name: string | null;
  phone: string | null;
  email: string | null;
}

export interface JivoChatFinished {
  widgetId: string;
  chatId: number;
  userToken: string | null;
  visitor: JivoVisitor;
  /** `timestamp` in unix seconds; `type` visitor / agent (others are not documented) */
  messages: Array<{ text: string; timestamp: number; type: string }>;
  blacklisted: boolean;
  invitation: string | null;
}

export interface JivoOfflineMessage {
  widgetId: string;
  offlineMessageId: string;
  userToken: string | null;
  visitor: JivoVisitor;
  message: string;
}

export function jivoChatExtId(widgetId: string, chatId: number): string {
  return `jivo:${widgetId}:${chatId}`;
}

export function jivoOfflineExtId(widgetId: string, offlineMessageId: string): string {
  return `jivo-offline:${widgetId}:${offlineMessageId}`;
}

/** Grows with the transcript: a later, longer copy of the same chat wins over an earlier one. */
export function jivoChatVersion(e: JivoChatFinished): number {
  const last = e.messages.reduce((m, x) => Math.max(m, x.timestamp), 0);
  return last * 1000 + Math.min(e.messages.length, 999);
}

const ROLE: Record<string, 'visitor' | 'operator'> = { visitor: 'visitor', agent: 'operator' };

export function jivoChatConversation(e: JivoChatFinished): Conversation {
  const messages = e.messages.map((m) => ({ at: m.timestamp * 1000, role: ROLE[m.type] ?? ('system' as const), text: m.text }));
  const first = messages.find((m) => m.text.trim() !== '');
  return {
    extId: jivoChatExtId(e.widgetId, e.chatId),
    kind: 'chat',
    channel: e.widgetId,
    startedAt: messages.length ? Math.min(...messages.map((m) => m.at)) : 0,
    client: e.visitor,
    sessionId: e.userToken,
    messages,
    refused: e.blacklisted,
    initiator: e.invitation ? 'autoinvite' : first?.role === 'operator' ? 'operator' : 'visitor',
  };
}

/** An offline-form message: a request, dated when we received it (the payload has no time). */
export function jivoOfflineConversation(e: JivoOfflineMessage, receivedAt: number): Conversation {
  return {
    extId: jivoOfflineExtId(e.widgetId, e.offlineMessageId),
    kind: 'request',
    channel: e.widgetId,
    startedAt: receivedAt,
    client: e.visitor,
    sessionId: e.userToken,
    text: e.message,
    formName: 'Jivo: офлайн-сообщение',
  };
}
