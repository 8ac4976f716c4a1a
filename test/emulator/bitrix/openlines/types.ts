/**
 * Open Lines as the portal keeps them (docs/facts/bitrix24.md#imconnector, docs/facts/bitrix24.md#openlines-chats): line configs, the chat users
 * imconnector creates for external people, one LINES chat per USER_CODE, sessions inside a chat,
 * messages and files.
 */

export interface LineConfig {
  id: number;
  name: string;
  active: 'Y' | 'N';
  crm: 'Y' | 'N';
  crmCreate: 'none' | 'lead' | 'deal';
  /** 'create' = the tracker's own `"<line>|<TYPE>"` source, else a SOURCE status id */
  crmSource: string;
  crmChatTracker: 'Y' | 'N';
  crmForward: 'Y' | 'N';
  queueType: 'evenly' | 'strictly' | 'all';
  queue: number[];
  welcomeMessage: 'Y' | 'N';
  welcomeMessageText: string;
  /** operator name in outgoing messages (imopenlines Config::isShowOperatorData) */
  showOperatorData: 'Y' | 'N';
  /** minutes until a session is fully closed (DialogFinish `close_term`) */
  fullCloseTime: number;
  dateCreate: number;
  modifyUserId: number;
}

/** A user imconnector created for an external person (EXTERNAL_AUTH_ID=imconnector). */
export interface ChatUser {
  id: number;
  connector: string;
  /** external `user.id` (XML_ID = `<connector>|<id>`); the widget hash for livechat */
  externalId: string;
  name: string;
  lastName: string;
  /** PERSONAL_MOBILE as sent (E.164 expected) */
  phone: string;
  email: string;
  url: string;
  gender: '' | 'M' | 'F';
  skipPhoneValidate: boolean;
  created: number;
}

export interface OlFile {
  id: number;
  name: string;
  mime: string;
  size: number;
  content: Buffer;
  /** false: the portal could not download it from `sourceUrl` — a broken 0-byte file */
  fetched: boolean;
  sourceUrl: string;
  error: string;
  /** secret part of the public links */
  hash: string;
  authorId: number;
  date: number;
  width?: number;
  height?: number;
}

export type Direction = 'in' | 'out' | 'system';

export interface OlMessage {
  id: number;
  chatId: number;
  sessionId: number;
  authorId: number;
  text: string;
  date: number;
  direction: Direction;
  /** CIMMessageParam values (CONNECTOR_MID, ATTACH, CLASS, SENDING, …) */
  params: Record<string, unknown>;
  fileIds: number[];
  /** inbound `message.id` of the connector */
  externalId: string;
  /** not shown in the chat: an operator message sent via the connector before the chat was accepted */
  hidden: boolean;
  deleted: boolean;
  /** outgoing messages of custom connectors: waiting for imconnector.send.status.delivery */
  delivery: 'sending' | 'delivered' | 'failed' | null;
  sendingTs: number;
}

export interface CrmBinding {
  LEAD: number;
  CONTACT: number;
  COMPANY: number;
  DEAL: number;
}

export interface OlSession {
  id: number;
  chatId: number;
  lineId: number;
  userCode: string;
  parentId: number;
  operatorId: number;
  accepted: boolean;
  closed: boolean;
  dateCreate: number;
  dateClose: number;
  crm: CrmBinding;
  /** the entity the session is primarily bound to (entity_data_1) */
  primary: { type: 'LEAD' | 'CONTACT' | 'COMPANY' | 'DEAL'; id: number } | null;
  activityId: number;
  /** `extra` of send.messages, e.g. disable_tracker */
  extra: Record<string, string>;
}

export interface OlChat {
  id: number;
  lineId: number;
  connector: string;
  externalChatId: string;
  userId: number;
  /** `<connector>|<line>|<external chat id>|<internal user id>` (entity_id, docs/facts/bitrix24.md#openlines-chats) */
  userCode: string;
  title: string;
  description: string;
  dateCreate: number;
  participants: Set<number>;
  messageIds: number[];
  sessionIds: number[];
}
