/**
 * Inbound open-line traffic: one `imconnector.send.messages` item (imconnector Connectors\Base
 * processingInputNewMessage → imopenlines Connector::addMessage; docs/facts/bitrix24.md#imconnector-send) and livechat visitor
 * messages. The chat is found by USER_CODE `<connector>|<line>|<chat.id>|<internal user id>`
 * (with CHAT_GROUP the external chat alone); the chat's open session is reused, otherwise a new
 * session starts (not accepted by anyone yet) and runs the CRM tracker.
 *
 * Quirks kept from the source:
 * - the result item is the lower-cased input merged with what was processed: `user` becomes the
 *   internal user id — a number when the user was just created, a string when it already
 *   existed (CUser::Add vs the DB row); a given `message.date` becomes a PHP DateTime, i.e. `{}`
 *   in JSON, and is otherwise ignored (MESSAGE_DATE is commented out in addMessage);
 *   `message.files` becomes the saved file ids; `extra` collects skip_phone_validate /
 *   disable_tracker;
 * - `message.user_id` = a portal operator writes through the connector: the message is added
 *   only if that operator is a participant of the chat, i.e. has accepted it (the product
 *   documents: outgoing messages of an unaccepted chat are not shown). When it is added, the
 *   portal relays it back to the connector as ONIMCONNECTORMESSAGEADD, like any operator message;
 * - the item of a message that was not added has no `session`.
 */
import { isRecord, phpEntries, phpString, type Params } from '../php';
import type { PortalCore } from '../types';
import { addMessage, connectorFlag, emitSessionEvent, systemMessage, userFullName } from './chat';
import { attachFromJson } from './attach';
import { downloadFile } from './files';
import { relayToConnector } from './operator';
import { registerChanges, trackMessage } from './tracker';
import type { ChatUser, OlChat, OlMessage, OlSession } from './types';

export class ItemError extends Error {}

/** Connectors\Base::getFullName: "Иван Петров" with no last_name splits in two. */
function fullName(user: Params): { name: string; lastName: string } {
  const name = phpString(user.name).trim();
  const lastName = phpString(user.last_name).trim();
  if (lastName === '') {
    const parts = name.split(' ');
    if (parts.length === 2) return { name: parts[0] ?? '', lastName: parts[1] ?? '' };
  }
  return { name, lastName };
}

/** processingUser: find by XML_ID `<connector>|<id>` or create; returns [user, created]. */
export function upsertChatUser(portal: PortalCore, connector: string, raw: Params, skipPhoneValidate: boolean): [ChatUser, boolean] {
  const externalId = phpString(raw.id);
  if (externalId === '') throw new ItemError('Не передан ID пользователя мессенджера');
  const { name, lastName } = fullName(raw);
  const fields = {
    name: name === '' && lastName === '' ? 'Гость' : name,
    lastName,
    phone: phpString(raw.phone),
    email: phpString(raw.email),
    url: phpString(raw.url),
    gender: raw.gender === 'male' ? ('M' as const) : raw.gender === 'female' ? ('F' as const) : ('' as const),
  };
  const ol = portal.ol;
  const existing = ol.userByExternal(connector, externalId);
  if (existing) {
    if (raw.name !== undefined) Object.assign(existing, { name: fields.name, lastName: fields.lastName });
    if (fields.phone) existing.phone = fields.phone;
    if (fields.email) existing.email = fields.email;
    if (fields.url) existing.url = fields.url;
    if (skipPhoneValidate) existing.skipPhoneValidate = true;
    return [existing, false];
  }
  const user: ChatUser = { id: ol.next('user'), connector, externalId, ...fields, skipPhoneValidate, created: portal.shared.clock.now() };
  ol.users.set(user.id, user);
  return [user, true];
}

const isChatGroup = (portal: PortalCore, connector: string): boolean => connectorFlag(portal, connector, 'CHAT_GROUP', false);

function findOrCreateChat(portal: PortalCore, connector: string, lineId: number, externalChatId: string, user: ChatUser): OlChat {
  const ol = portal.ol;
  const found = isChatGroup(portal, connector) ? ol.chatByExternal(connector, lineId, externalChatId) : ol.chatByExternal(connector, lineId, externalChatId, user.id);
  if (found) return found;
  const line = ol.lines.get(lineId);
  const chat: OlChat = {
    id: ol.next('chat'),
    lineId,
    connector,
    externalChatId,
    userId: user.id,
    userCode: `${connector}|${lineId}|${externalChatId}|${user.id}`,
    title: `${userFullName(portal, user.id)} - ${line?.name ?? ''}`,
    description: '',
    dateCreate: portal.shared.clock.now(),
    participants: new Set([user.id]),
    messageIds: [],
    sessionIds: [],
  };
  ol.chats.set(chat.id, chat);
  return chat;
}

/** Session::load → createSession when the chat has no open session. */
function openOrStartSession(portal: PortalCore, chat: OlChat, extra: Record<string, string>, causeUserId: number): [OlSession, boolean] {
  const ol = portal.ol;
  const open = ol.openSession(chat);
  if (open) {
    Object.assign(open.extra, extra);
    return [open, false];
  }
  const line = ol.lines.get(chat.lineId);
  const previous = ol.lastSession(chat);
  const s: OlSession = {
    id: ol.next('session'),
    chatId: chat.id,
    lineId: chat.lineId,
    userCode: chat.userCode,
    parentId: previous?.id ?? 0,
    operatorId: line?.queue[0] ?? 1,
    accepted: false,
    closed: false,
    dateCreate: portal.shared.clock.now(),
    dateClose: 0,
    crm: { LEAD: 0, CONTACT: 0, COMPANY: 0, DEAL: 0 },
    primary: null,
    activityId: 0,
    extra: { ...extra },
  };
  ol.sessions.set(s.id, s);
  chat.sessionIds.push(s.id);
  systemMessage(portal, chat, `Начат новый диалог №${s.id}`, { CLASS: 'bx-messenger-content-item-ol-start' });
  const customData = ol.widgetCache.get(chat.userId);
  const attach = customData ? attachFromJson(customData, portal.shared.clock.now()) : null;
  if (attach) {
    systemMessage(portal, chat, '[B]Получены данные[/B]', { ATTACH: [attach], COMPONENT_ID: 'HiddenMessage' });
  }
  // CRM block of createSession: livechat only searches (setSkipCreate), CHAT_GROUP skips the tracker
  if (!isChatGroup(portal, chat.connector)) registerChanges(portal, chat, s, [], [], chat.connector !== 'livechat');
  emitSessionEvent(portal, chat, s, 'START', causeUserId);
  return [s, true];
}

export interface Delivered {
  chat: OlChat;
  session: OlSession | null;
  message: OlMessage | null;
}

/** Connector::addMessage for a message from the client (or an operator writing through the connector). */
export function addInbound(
  portal: PortalCore,
  a: {
    connector: string;
    lineId: number;
    user: ChatUser;
    externalChatId: string;
    chatName?: string;
    chatDescription?: string;
    text: string;
    fileIds: number[];
    externalId: string;
    extra: Record<string, string>;
    operatorId: number;
    causeUserId: number;
  },
): Delivered | null {
  const ol = portal.ol;
  if (!ol.lines.has(a.lineId)) return null; // Session::load fails: NO IMOL CONFIGURATION
  const chat = findOrCreateChat(portal, a.connector, a.lineId, a.externalChatId, a.user);
  if (a.chatDescription !== undefined) chat.description = a.chatDescription;
  const byOperator = a.operatorId > 0 && a.operatorId !== a.user.id;
  if (byOperator && !chat.participants.has(a.operatorId)) {
    // CIMChat::AddMessage refuses an author who is not in the chat: nothing is shown
    addMessage(portal, chat, { direction: 'out', authorId: a.operatorId, text: a.text, fileIds: a.fileIds, externalId: a.externalId, hidden: true });
    return { chat, session: null, message: null };
  }
  const [session] = openOrStartSession(portal, chat, a.extra, a.causeUserId);
  const params: Record<string, unknown> = {};
  if (a.externalId !== '') params.CONNECTOR_MID = [a.externalId];
  if (a.fileIds.length) params.FILE_ID = a.fileIds;
  const text = a.text === '' && a.fileIds.length ? '' : a.text;
  const message = addMessage(portal, chat, {
    sessionId: session.id,
    direction: byOperator ? 'out' : 'in',
    authorId: byOperator ? a.operatorId : a.user.id,
    text,
    fileIds: a.fileIds,
    externalId: a.externalId,
    params,
  });
  if (byOperator) relayToConnector(portal, chat, message, a.operatorId);
  else if (text !== '' && !isChatGroup(portal, a.connector)) trackMessage(portal, chat, session, text);
  portal.emit(
    'ONOPENLINEMESSAGEADD',
    {
      DATA: {
        connector: { connector_id: a.connector, line_id: String(a.lineId), chat_id: a.externalChatId, user_id: String(a.user.id) },
        chat: { id: a.externalChatId },
        message: { id: a.externalId, text, user_id: String(message.authorId), files: a.fileIds },
      },
    },
    a.causeUserId,
  );
  return { chat, session, message };
}

/** One MESSAGES item of imconnector.send.messages → its DATA.RESULT entry. */
export async function receiveItem(portal: PortalCore, connector: string, lineId: number, item: Params, causeUserId: number): Promise<Params> {
  const user = isRecord(item.user) ? { ...item.user } : {};
  const message = isRecord(item.message) ? { ...item.message } : {};
  const chat = isRecord(item.chat) ? { ...item.chat } : {};
  const extra: Record<string, string> = {};
  const out: Params = { ...item };
  try {
    if (user.skip_phone_validate === 'Y') {
      extra.skip_phone_validate = 'Y';
      delete user.skip_phone_validate;
    }
    const [chatUser, created] = upsertChatUser(portal, connector, user, extra.skip_phone_validate === 'Y');
    out.user = created ? chatUser.id : String(chatUser.id);
    if (phpString(chat.url) !== '') {
      chat.description = `Ссылка на оригинальный пост: ${phpString(chat.url)}`;
      delete chat.url;
    }
    if (message.date !== undefined && phpString(message.date) !== '') message.date = {};
    const fileIds: number[] = [];
    for (const [, f] of phpEntries(message.files)) {
      if (!isRecord(f) || phpString(f.url) === '') continue;
      const file = await downloadFile(portal.ol.next('file'), { url: phpString(f.url), name: phpString(f.name), type: phpString(f.type) }, chatUser.id, portal.shared.clock.now());
      portal.ol.files.set(file.id, file);
      fileIds.push(file.id);
    }
    if (message.files !== undefined) message.files = fileIds;
    if (message.disable_crm === 'Y') {
      extra.disable_tracker = 'Y';
      delete message.disable_crm;
    }
    const text = phpString(message.text);
    if (text.trim() === '' && fileIds.length === 0) throw new ItemError('Переданы не все обязательные данные');
    Object.assign(out, { user: out.user, message, chat });
    if (Object.keys(extra).length) out.extra = extra;
    const operatorId = Number.parseInt(phpString(message.user_id), 10) || 0;
    const done = addInbound(portal, {
      connector,
      lineId,
      user: chatUser,
      externalChatId: phpString(chat.id),
      chatDescription: typeof chat.description === 'string' ? chat.description : undefined,
      text,
      fileIds,
      externalId: phpString(message.id),
      extra,
      operatorId,
      causeUserId,
    });
    out.SUCCESS = true;
    if (done?.session && done.message) out.session = { ID: String(done.session.id), CHAT_ID: String(done.chat.id) };
  } catch (err) {
    if (!(err instanceof ItemError)) throw err;
    out.SUCCESS = false;
    out.ERRORS = [err.message];
  }
  return out;
}

