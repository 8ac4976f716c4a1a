/** How the pages see a chat and its messages (JSON for the polling scripts). */
import type { AccountImpl } from '../account';
import { dataApiDateTime } from '../time';
import type { Chat, UisMessage } from '../types';
import { CHANNEL_LABELS, formatPhone, STATUS_LABELS } from './views';

export function messageJson(account: AccountImpl, m: UisMessage): Record<string, unknown> {
  const op = account.employee(m.operatorId ?? null);
  return {
    id: m.id,
    source: m.source,
    text: m.text,
    status: m.status,
    statusLabel: STATUS_LABELS[m.status],
    time: dataApiDateTime(m.createdAt).slice(11, 16),
    operator: op ? op.first_name : null,
    origin: m.origin,
    resource: m.resource ? { name: m.resource.name, size: m.resource.size, url: `/pages/resource/${account.appId}/${m.resource.id}/${m.resource.token}` } : null,
  };
}

export function chatJson(account: AccountImpl, chat: Chat, withMessages = true): Record<string, unknown> {
  const v = account.visitorOf(chat);
  const op = account.employee(chat.operatorId);
  const last = chat.messages[chat.messages.length - 1];
  return {
    id: chat.id,
    status: chat.status,
    channelType: chat.channelType,
    channelLabel: CHANNEL_LABELS[chat.channelType],
    closeReason: chat.closeReason,
    operator: op ? op.full_name : null,
    startedVia: chat.startedVia,
    visitor: { id: v.id, name: v.name, phone: v.phone, phoneText: formatPhone(v.phone), email: v.email, username: v.username ? `@${v.username}` : null },
    last: last ? { text: last.text || (last.resource ? `📎 ${last.resource.name}` : ''), time: dataApiDateTime(last.createdAt).slice(11, 16) } : null,
    ...(withMessages ? { messages: chat.messages.map((m) => messageJson(account, m)) } : {}),
  };
}
