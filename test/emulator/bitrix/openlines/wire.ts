/**
 * How open-line chats look on the wire (docs/facts/bitrix24.md#openlines-chats):
 * - imopenlines.dialog.get = Im\Chat::getById with JSON keys (lower snake case) + `dialog_id`;
 * - imopenlines.session.history.get = Rest::objectEncode of the operator's history: every key is
 *   lower-cased and then camel-cased at underscores, recursively — `CHAT_ID` → `chatId`, but the
 *   already camel-cased keys of CIMChat come out flat (`chatId` → `chatid`), and message params
 *   too (`CONNECTOR_MID` → `connectorMid`, `ATTACH` → `attach` with `blocks`, `grid`, `name`…);
 * - im.dialog.messages.get = Im\Chat::getMessages JSON: lower-case message keys, params as stored.
 */
import { isoDate, isRecord, type Params } from '../php';
import type { PortalCore } from '../types';
import { entityData1, entityData2, userFullName } from './chat';
import { fileDownloadLink, fileLink, isImage } from './files';
import type { OlChat, OlMessage, OlSession } from './types';

/** Rest::objectEncode key rule: `str_replace('_', '', lcfirst(ucwords(strtolower($key), '_')))`. */
export function encodeKey(key: string): string {
  const lower = key.toLowerCase();
  const words = lower.split('_').map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)));
  return words.join('');
}

export function objectEncode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(objectEncode);
  if (!isRecord(v)) return v;
  const out: Params = {};
  for (const [k, x] of Object.entries(v)) out[encodeKey(k)] = objectEncode(x);
  return out;
}

const COLORS = ['#df532d', '#4ba984', '#ab7761', '#29619b', '#728f7a', '#ba7bc9', '#e47b00'];
const colorOf = (id: number): string => COLORS[id % COLORS.length] ?? '#4ba984';

/** Im\Chat::formatChatData with JSON=Y (keys lower-cased). */
export function dialogData(portal: PortalCore, chat: OlChat, viewerId: number): Params {
  const visible = portal.ol.chatMessages(chat).filter((m) => !m.hidden);
  const last = visible[visible.length - 1];
  const s = portal.ol.lastSession(chat);
  return {
    id: chat.id,
    parent_chat_id: 0,
    parent_message_id: 0,
    name: chat.title,
    description: chat.description,
    owner: 0,
    extranet: false,
    avatar: '',
    color: colorOf(chat.id),
    type: 'lines',
    counter: 0,
    user_counter: chat.participants.size,
    message_count: visible.length,
    unread_id: 0,
    last_message_id: last?.id ?? 0,
    last_id: chat.participants.has(viewerId) ? (last?.id ?? 0) : 0,
    marked_id: 0,
    disk_folder_id: 0,
    entity_type: 'LINES',
    entity_id: chat.userCode,
    entity_data_1: entityData1(portal, chat),
    entity_data_2: entityData2(portal, chat),
    entity_data_3: '',
    mute_list: [],
    manager_list: s && s.accepted ? [s.operatorId] : [],
    date_create: isoDate(chat.dateCreate),
    message_type: 'L',
    public: '',
    role: chat.participants.has(viewerId) ? 'member' : 'guest',
    restrictions: { avatar: true, extend: true, leave: true, leave_owner: true, mute: true, rename: true, send: true, user_list: true },
  };
}

function fileInfo(portal: PortalCore, id: number, chatId: number): Params | null {
  const f = portal.ol.files.get(id);
  if (!f) return null;
  const ext = /\.([^.]+)$/.exec(f.name)?.[1]?.toLowerCase() ?? '';
  return {
    id: f.id,
    chatId,
    date: isoDate(f.date),
    type: isImage(f) ? 'image' : 'file',
    name: f.name,
    extension: ext,
    size: f.size,
    image: isImage(f) && f.width ? { width: f.width, height: f.height } : false,
    status: f.fetched ? 'done' : 'error',
    progress: f.fetched ? 100 : -1,
    authorId: f.authorId,
    authorName: userFullName(portal, f.authorId),
    urlPreview: isImage(f) ? fileLink(portal.origin, f) : '',
    urlShow: fileLink(portal.origin, f),
    urlDownload: fileDownloadLink(portal.origin, f),
  };
}

/** CIMContactList-style user data (snake keys: objectEncode turns them into `firstName`…). */
function historyUser(portal: PortalCore, id: number): Params {
  const chatUser = portal.ol.users.get(id);
  const name = userFullName(portal, id);
  return {
    id: String(id),
    name,
    active: true,
    first_name: chatUser?.name ?? name.split(' ')[0] ?? '',
    last_name: chatUser?.lastName ?? name.split(' ').slice(1).join(' '),
    work_position: null,
    color: colorOf(id),
    avatar: '/bitrix/js/im/images/blank.gif',
    gender: chatUser?.gender || 'M',
    phones: chatUser?.phone ? { personal_mobile: chatUser.phone } : false,
    extranet: !!chatUser,
    network: false,
    bot: false,
    connector: !!chatUser,
    profile: `/company/personal/user/${id}/`,
    external_auth_id: chatUser ? 'imconnector' : 'default',
    status: null,
    idle: false,
    departments: chatUser ? [] : [1],
    absent: false,
  };
}

/** Operator::getSessionHistory → the response of imopenlines.session.history.get. */
export function sessionHistory(portal: PortalCore, s: OlSession): unknown {
  const chat = portal.ol.chats.get(s.chatId);
  if (!chat) return null;
  const messages = portal.ol.chatMessages(chat).filter((m) => m.sessionId === s.id && !m.hidden);
  const message: Params = {};
  const users: Params = {};
  const files: Params = {};
  for (const m of [...messages].reverse()) {
    message[String(m.id)] = {
      id: String(m.id),
      chatId: String(chat.id),
      senderId: String(m.authorId),
      recipientId: `chat${chat.id}`,
      date: isoDate(m.date),
      text: m.deleted ? 'Сообщение удалено' : m.text,
      textLegacy: m.deleted ? 'Сообщение удалено' : m.text,
      params: Object.keys(m.params).length ? m.params : [],
    };
    if (m.authorId > 0) users[String(m.authorId)] = historyUser(portal, m.authorId);
    for (const id of m.fileIds) {
      const info = fileInfo(portal, id, chat.id);
      if (info) files[String(id)] = info;
    }
  }
  return objectEncode({
    CHAT_ID: chat.id,
    CAN_JOIN: 'Y',
    CAN_VOTE_HEAD: 'Y',
    SESSION_ID: s.id,
    SESSION_VOTE_HEAD: 0,
    SESSION_COMMENT_HEAD: null,
    USER_ID: `chat${chat.id}`,
    MESSAGE: Object.keys(message).length ? message : [],
    USERS_MESSAGE: { [`chat${chat.id}`]: messages.map((m) => String(m.id)).reverse() },
    USERS: Object.keys(users).length ? users : [],
    OPENLINES: { canVoteAsHead: { [String(s.lineId)]: true } },
    USER_IN_GROUP: [],
    WO_USER_IN_GROUP: [],
    CHAT: {
      [String(chat.id)]: {
        id: String(chat.id),
        name: chat.title,
        owner: '0',
        color: colorOf(chat.id),
        extranet: false,
        avatar: '/bitrix/js/im/images/blank.gif',
        entity_type: 'LINES',
        entity_id: chat.userCode,
        entity_data_1: entityData1(portal, chat),
        entity_data_2: entityData2(portal, chat),
        entity_data_3: '',
        mute_list: Object.fromEntries([...chat.participants].map((u) => [String(u), false])),
        manager_list: null,
        date_create: isoDate(chat.dateCreate),
        type: 'lines',
        message_type: 'L',
      },
    },
    USER_BLOCK_CHAT: { [String(chat.id)]: Object.fromEntries([...chat.participants].map((u) => [String(u), false])) },
    USER_IN_CHAT: { [String(chat.id)]: [...chat.participants] },
    FILES: Object.keys(files).length ? files : [],
  });
}

/** One message of im.dialog.messages.get. */
export function imMessage(m: OlMessage): Params {
  return {
    id: m.id,
    chat_id: m.chatId,
    author_id: m.direction === 'system' ? 0 : m.authorId,
    date: isoDate(m.date),
    text: m.deleted ? 'Сообщение удалено' : m.text,
    unread: false,
    uuid: null,
    replaces: [],
    params: Object.keys(m.params).length ? m.params : [],
    disappearing_date: null,
  };
}

export function imFiles(portal: PortalCore, chat: OlChat, ms: OlMessage[]): Params[] {
  return ms.flatMap((m) => m.fileIds.map((id) => fileInfo(portal, id, chat.id)).filter((x): x is Params => x !== null));
}

export function imUsers(portal: PortalCore, ids: number[]): Params[] {
  return [...new Set(ids)].filter((id) => id > 0).map((id) => historyUser(portal, id));
}
