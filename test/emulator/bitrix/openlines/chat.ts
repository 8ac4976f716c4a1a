/**
 * Shared pieces of the open-line chat engine: adding messages, system notes, the chat's CRM
 * descriptors (entity_data_1/2, docs/facts/bitrix24.md#openlines-chats) and the names connectors go by.
 */
import { BUILTIN_CONNECTORS } from '../catalog';
import type { PortalCore } from '../types';
import type { OlChat, OlMessage, OlSession } from './types';

/** CrmCommon::getCommunicationType: the IM multifield VALUE_TYPE of a connector. */
const COMMUNICATION: Record<string, string> = {
  livechat: 'OPENLINE',
  telegrambot: 'TELEGRAM',
  facebook: 'FACEBOOK',
  vkgroup: 'VK',
  viber: 'VIBER',
  instagram: 'INSTAGRAM',
  network: 'BITRIX24',
};

export const communicationType = (connector: string): string => COMMUNICATION[connector] ?? 'IMOL';
/** `getCommunicationType(code, true)`: the SOURCE_ID suffix (docs/facts/bitrix24.md#openlines-chats: upper-cased id for custom connectors). */
export const sourceType = (connector: string): string => COMMUNICATION[connector] ?? connector.toUpperCase();

export function connectorTitle(portal: PortalCore, connector: string): string {
  return BUILTIN_CONNECTORS[connector] ?? portal.connectors.get(connector)?.name ?? connector;
}

/** A connector registered through imconnector.register (its events go to our app, docs/facts/bitrix24.md#imconnector-events). */
export const isCustomConnector = (portal: PortalCore, connector: string): boolean => portal.connectors.has(connector);

/**
 * A register flag (docs/facts/bitrix24.md#imconnector-register). CustomConnectors::prepare only honours real booleans (JSON true/false);
 * the model stores 'Y'/'N', so those count too; anything else falls back to the default
 * (NEED_SIGNATURE true, CHAT_GROUP false, …).
 */
export function connectorFlag(portal: PortalCore, connector: string, key: string, fallback: boolean): boolean {
  const v = portal.connectors.get(connector)?.flags[key];
  if (v === true || v === 'Y') return true;
  if (v === false || v === 'N') return false;
  return fallback;
}

export function lineStatusActive(portal: PortalCore, connector: string, lineId: number): boolean {
  const s = portal.lines.get(`${connector}|${lineId}`);
  return !!s && s.active && s.connection && !s.error; // Status::isStatus
}

export function addMessage(
  portal: PortalCore,
  chat: OlChat,
  m: Partial<OlMessage> & Pick<OlMessage, 'direction' | 'authorId' | 'text'>,
): OlMessage {
  const ol = portal.ol;
  const msg: OlMessage = {
    id: ol.next('message'),
    chatId: chat.id,
    sessionId: ol.lastSession(chat)?.id ?? 0,
    date: portal.shared.clock.now(),
    params: {},
    fileIds: [],
    externalId: '',
    hidden: false,
    deleted: false,
    delivery: null,
    sendingTs: 0,
    ...m,
  };
  ol.messages.set(msg.id, msg);
  chat.messageIds.push(msg.id);
  return msg;
}

export function systemMessage(portal: PortalCore, chat: OlChat, text: string, params: Record<string, unknown> = {}): OlMessage {
  return addMessage(portal, chat, { direction: 'system', authorId: 0, text, params: { CLASS: 'bx-messenger-content-item-system', ...params } });
}

/** `Y|LEAD|1209|N|N|<session>|<ts>|0|0|0`: CRM flag, primary entity, pause, wait, session id, date. */
export function entityData1(portal: PortalCore, chat: OlChat): string {
  const s = portal.ol.lastSession(chat);
  const crm = s?.primary;
  const line = portal.ol.lines.get(chat.lineId);
  const ts = Math.floor((s?.dateCreate ?? chat.dateCreate) / 1000);
  return `${line?.crm === 'Y' && crm ? 'Y' : 'N'}|${crm?.type ?? 'NONE'}|${crm?.id ?? 0}|N|N|${s?.id ?? 0}|${ts}|0|0|0`;
}

/** `LEAD|1209|COMPANY|0|CONTACT|0|DEAL|0`, '' while the session has no CRM binding. */
export function entityData2(portal: PortalCore, chat: OlChat): string {
  const s = portal.ol.lastSession(chat);
  if (!s?.primary) return '';
  const b = s.crm;
  return `LEAD|${b.LEAD}|COMPANY|${b.COMPANY}|CONTACT|${b.CONTACT}|DEAL|${b.DEAL}`;
}

export function sessionEventData(portal: PortalCore, chat: OlChat, s: OlSession): Record<string, unknown> {
  const line = portal.ol.lines.get(s.lineId);
  return {
    connector: { connector_id: chat.connector, line_id: String(chat.lineId), chat_id: chat.externalChatId, user_id: String(chat.userId) },
    session: { id: String(s.id), closed: s.closed ? 'Y' : 'N', parent_id: String(s.parentId), close_term: String(line?.fullCloseTime ?? 10) },
    chat: { id: chat.externalChatId },
    user: { id: String(chat.userId) },
  };
}

/**
 * Session start/finish events: OnImConnectorDialogStart/Finish go only to the app owning a custom
 * connector (`data[DATA][n]`, docs/facts/bitrix24.md#imconnector-events); OnSessionStart/Finish (imopenlines REST) to anyone bound.
 */
export function emitSessionEvent(portal: PortalCore, chat: OlChat, s: OlSession, phase: 'START' | 'FINISH', userId: number): void {
  if (isCustomConnector(portal, chat.connector)) {
    portal.emit(`ONIMCONNECTORDIALOG${phase}`, { CONNECTOR: chat.connector, LINE: String(chat.lineId), DATA: [sessionEventData(portal, chat, s)] }, userId);
  }
  const line = portal.ol.lines.get(s.lineId);
  portal.emit(
    `ONSESSION${phase}`,
    {
      DATA: {
        connector: { connector_id: chat.connector, line_id: String(s.lineId), chat_id: String(chat.id), user_id: String(chat.userId) },
        chat: { chat_id: String(chat.id) },
        line: { id: String(s.lineId), name: line?.name ?? '' },
      },
    },
    userId,
  );
}

export function userFullName(portal: PortalCore, userId: number): string {
  const chatUser = portal.ol.users.get(userId);
  if (chatUser) return `${chatUser.name} ${chatUser.lastName}`.trim() || 'Гость';
  return portal.crm.directory.userName(userId);
}
