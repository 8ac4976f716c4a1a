/**
 * The built-in `livechat` connector (the site widget). A visitor is registered like
 * imopenlines.widget.user.register does it: a chat user keyed by the widget hash, the visitor's
 * own LIVECHAT chat (its id is the external chat id of the USER_CODE
 * `livechat|<line>|<livechat chat id>|<user id>`), and CUSTOM_DATA kept in the widget cache for
 * the next session start. Name/phone/e-mail given by the visitor act like the welcome form:
 * they go to the chat user and through the CRM tracker (livechat leads are created there, never
 * at session start; SOURCE_ID `"<line>|OPENLINE"`, IM VALUE_TYPE OPENLINE).
 */
import { isRecord, phpString, randomHex } from '../php';
import type { PortalCore } from '../types';
import { userFullName } from './chat';
import { BUILTIN_CONNECTORS } from '../catalog';
import { addInbound, upsertChatUser } from './inbound';
import { registerChanges } from './tracker';
import type { ChatUser, OlMessage } from './types';

export interface Visitor {
  /** any stable key; the widget uses a 32-hex hash kept in localStorage */
  id: string;
  name?: string;
  lastName?: string;
  email?: string;
  phone?: string;
}

export class LivechatError extends Error {}

/** CUSTOM_DATA as the widget sends it: the concatenated setCustomData() blocks as JSON. */
export function customDataJson(v: unknown): string {
  if (typeof v === 'string') return v === '' ? '' : JSON.stringify([{ MESSAGE: v }]);
  if (Array.isArray(v)) return JSON.stringify(v.filter(isRecord));
  return '';
}

export function livechatRegister(portal: PortalCore, lineId: number, v: Visitor, customData?: string): { user: ChatUser; guestChatId: number } {
  const ol = portal.ol;
  const line = ol.lines.get(lineId);
  if (!line || line.active !== 'Y') throw new LivechatError('Открытая линия не найдена или выключена');
  const key = v.id || randomHex(16);
  let user = ol.userByExternal('livechat', key);
  if (!user) {
    user = {
      id: ol.next('user'),
      connector: 'livechat',
      externalId: key,
      name: 'Гость',
      lastName: '',
      phone: '',
      email: '',
      url: '',
      gender: '',
      skipPhoneValidate: false,
      created: portal.shared.clock.now(),
    };
    ol.users.set(user.id, user);
  }
  if (v.name) user.name = v.name;
  if (v.lastName !== undefined) user.lastName = v.lastName;
  if (v.email) user.email = v.email;
  if (v.phone) user.phone = v.phone;
  let guestChatId = ol.widgetChats.get(user.id);
  if (guestChatId === undefined) {
    guestChatId = ol.next('chat');
    ol.widgetChats.set(user.id, guestChatId);
  }
  if (customData !== undefined) ol.widgetCache.set(user.id, customData); // Widget\Cache::set on every register
  return { user, guestChatId };
}

export function livechatWrite(
  portal: PortalCore,
  o: { lineId?: number; visitor: Visitor | string; text: string; customData?: unknown },
): { chatId: number; sessionId: number; userId: number; messageId: number } {
  const lineId = o.lineId ?? 1;
  const visitor: Visitor = typeof o.visitor === 'string' ? { id: o.visitor } : o.visitor;
  const custom = o.customData === undefined ? undefined : customDataJson(o.customData);
  const { user, guestChatId } = livechatRegister(portal, lineId, visitor, custom);
  const text = phpString(o.text);
  if (text.trim() === '') throw new LivechatError('Пустое сообщение');
  const done = addInbound(portal, {
    connector: 'livechat',
    lineId,
    user,
    externalChatId: String(guestChatId),
    text,
    fileIds: [],
    externalId: '',
    extra: {},
    operatorId: 0,
    causeUserId: 0,
  });
  if (!done?.session || !done.message) throw new LivechatError('Сообщение не принято');
  const form = [visitor.phone, visitor.email].filter((x): x is string => !!x);
  if (form.length) {
    registerChanges(portal, done.chat, done.session, visitor.phone ? [visitor.phone] : [], visitor.email ? [visitor.email] : [], true);
  }
  return { chatId: done.chat.id, sessionId: done.session.id, userId: user.id, messageId: done.message.id };
}

/**
 * A client writes through one of the portal's built-in messenger connectors (`telegrambot`,
 * `vkgroup`…): what that connector does inside Bitrix24 with an incoming message — the chat user
 * keyed by the messenger's id, the chat by the messenger's chat id, the session and the CRM
 * tracker as for any connector. No REST call is involved, so no app can fake it.
 */
export function messengerWrite(
  portal: PortalCore,
  o: { connector: string; lineId?: number; user: { id: string; name?: string; phone?: string; email?: string }; chatId: string; text: string },
): { chatId: number; sessionId: number; userId: number; messageId: number } {
  if (BUILTIN_CONNECTORS[o.connector] === undefined || o.connector === 'livechat') throw new LivechatError(`${o.connector} is not a built-in messenger connector`);
  const [user] = upsertChatUser(portal, o.connector, { ...o.user }, false);
  const done = addInbound(portal, {
    connector: o.connector,
    lineId: o.lineId ?? 1,
    user,
    externalChatId: o.chatId,
    text: phpString(o.text),
    fileIds: [],
    externalId: randomHex(8),
    extra: {},
    operatorId: 0,
    causeUserId: 0,
  });
  if (!done?.session || !done.message) throw new LivechatError('Сообщение не принято');
  return { chatId: done.chat.id, sessionId: done.session.id, userId: user.id, messageId: done.message.id };
}

/** What the widget shows: the dialog without system notes and hidden messages. */
export function widgetMessages(portal: PortalCore, userId: number): Array<{ id: number; from: 'client' | 'operator'; author: string; text: string; date: number }> {
  const chat = [...portal.ol.chats.values()].find((c) => c.connector === 'livechat' && c.userId === userId);
  if (!chat) return [];
  return portal.ol
    .chatMessages(chat)
    .filter((m: OlMessage) => m.direction !== 'system' && !m.hidden)
    .map((m) => ({
      id: m.id,
      from: m.direction === 'in' ? ('client' as const) : ('operator' as const),
      author: userFullName(portal, m.authorId),
      text: m.deleted ? 'Сообщение удалено' : m.text,
      date: m.date,
    }));
}
