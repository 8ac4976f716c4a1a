/**
 * The operator's side of an open-line chat (imopenlines Connector::onMessageSend / sendMessage,
 * Operator answer/finish; docs/facts/bitrix24.md#imconnector-send, docs/facts/bitrix24.md#imconnector-events):
 * - a chat must be accepted (taken) before the operator can write in it;
 * - an operator message in a chat of a custom connector goes to the app as
 *   ONIMCONNECTORMESSAGEADD: `data[CONNECTOR]`, `data[LINE]`, `data[MESSAGES][0]` with
 *   `im{chat_id, message_id}`, `message{user_id, text, files, attachments, params}`,
 *   `chat{id}` (external); the text is BBCode, prefixed `[b]Name:[/b] [br]` when NEED_SIGNATURE;
 *   empty arrays vanish from the form body like PHP's http_build_query drops them;
 * - until imconnector.send.status.delivery arrives the message is "sending" (SENDING=Y); the
 *   operator sees "not delivered" once SENDING_TS is older than NOT_DELIVERED_AFTER_MS
 *   (the emulator's choice of timeout);
 * - closing the dialog finishes the session: OnImConnectorDialogFinish / OnSessionFinish.
 */
import { BUILTIN_CONNECTORS } from '../catalog';
import type { PortalCore } from '../types';
import { addMessage, connectorFlag, emitSessionEvent, isCustomConnector, lineStatusActive, systemMessage, userFullName } from './chat';
import { fileDownloadLink, fileLink, formatSize, isImage, makeFile, mimeByName } from './files';
import type { OlChat, OlMessage } from './types';

export const NOT_DELIVERED_AFTER_MS = 60_000;

export class OperatorError extends Error {}

function chatOf(portal: PortalCore, chatId: number): OlChat {
  const chat = portal.ol.chats.get(chatId);
  if (!chat) throw new OperatorError(`bitrix emulator: no open-line chat ${chatId}`);
  return chat;
}

/** What the operator sees on an outgoing message. */
export function deliveryMark(portal: PortalCore, m: OlMessage): 'sending' | 'delivered' | 'not-delivered' | null {
  if (m.delivery === 'delivered') return 'delivered';
  if (m.delivery === 'failed') return 'not-delivered';
  if (m.delivery === 'sending') return portal.shared.clock.now() - m.sendingTs >= NOT_DELIVERED_AFTER_MS ? 'not-delivered' : 'sending';
  return null;
}

function filesForEvent(portal: PortalCore, m: OlMessage): Array<Record<string, unknown>> {
  return m.fileIds.flatMap((id) => {
    const f = portal.ol.files.get(id);
    if (!f) return [];
    const out: Record<string, unknown> = {
      name: f.name,
      type: isImage(f) ? 'image' : 'file',
      mime: f.mime,
      link: fileLink(portal.origin, f),
      downloadLink: fileDownloadLink(portal.origin, f),
      size: f.size,
      sizef: formatSize(f.size),
    };
    if (isImage(f) && f.width !== undefined) Object.assign(out, { width: f.width, height: f.height });
    return [out];
  });
}

/** onMessageSend for a LINES chat: hand an operator message to the channel. */
export function relayToConnector(portal: PortalCore, chat: OlChat, m: OlMessage, operatorId: number): void {
  if (chat.connector === 'livechat') return; // the widget reads the chat itself
  if (BUILTIN_CONNECTORS[chat.connector] !== undefined) {
    m.delivery = 'delivered'; // built-in channels deliver on their own
    return;
  }
  if (!isCustomConnector(portal, chat.connector) || !lineStatusActive(portal, chat.connector, chat.lineId)) {
    m.delivery = 'failed';
    systemMessage(portal, chat, 'Сообщение не было доставлено клиенту: канал не подключён к открытой линии.');
    return;
  }
  const line = portal.ol.lines.get(chat.lineId);
  let text = m.text;
  if (connectorFlag(portal, chat.connector, 'NEED_SIGNATURE', true) && line?.showOperatorData === 'Y') {
    text = `[b]${userFullName(portal, operatorId)}:[/b] ${m.text !== '' ? `[br]${m.text}` : ''}`;
  }
  m.delivery = 'sending';
  m.sendingTs = portal.shared.clock.now();
  Object.assign(m.params, { SENDING: 'Y', SENDING_TS: Math.floor(m.sendingTs / 1000) });
  portal.emit(
    'ONIMCONNECTORMESSAGEADD',
    {
      CONNECTOR: chat.connector,
      LINE: String(chat.lineId),
      MESSAGES: [
        {
          im: { chat_id: String(chat.id), message_id: String(m.id) },
          message: { user_id: String(operatorId), text, files: filesForEvent(portal, m), attachments: [], params: [] },
          chat: { id: chat.externalChatId },
        },
      ],
    },
    operatorId,
  );
}

export interface OperatorFile {
  name: string;
  content: string | Buffer;
  mime?: string;
}

export function operatorReply(portal: PortalCore, o: { chatId: number; userId: number; text?: string; files?: OperatorFile[] }): OlMessage {
  const chat = chatOf(portal, o.chatId);
  const s = portal.ol.openSession(chat);
  if (!s) throw new OperatorError('bitrix emulator: the dialog is closed; the client has to write first');
  if (!s.accepted || s.operatorId !== o.userId) {
    throw new OperatorError(`bitrix emulator: user ${o.userId} has not accepted chat ${chat.id} (operatorAccept first)`);
  }
  const text = o.text ?? '';
  const now = portal.shared.clock.now();
  const fileIds = (o.files ?? []).map((f) => {
    const content = typeof f.content === 'string' ? Buffer.from(f.content) : f.content;
    const file = makeFile(portal.ol.next('file'), f.name, content, f.mime ?? mimeByName(f.name), o.userId, now);
    portal.ol.files.set(file.id, file);
    return file.id;
  });
  if (text === '' && fileIds.length === 0) throw new OperatorError('bitrix emulator: an empty message');
  const params: Record<string, unknown> = fileIds.length ? { FILE_ID: fileIds } : {};
  const m = addMessage(portal, chat, { sessionId: s.id, direction: 'out', authorId: o.userId, text, fileIds, params });
  relayToConnector(portal, chat, m, o.userId);
  portal.emit('ONOPENLINEMESSAGEADD', { CONNECTOR: chat.connector, LINE: String(chat.lineId), DATA: { message: { id: String(m.id), chat_id: String(chat.id), user_id: String(o.userId), text } } }, o.userId);
  return m;
}

/** imopenlines.operator.answer: the operator takes the chat and joins it. */
export function operatorAccept(portal: PortalCore, chatId: number, userId: number): void {
  const chat = chatOf(portal, chatId);
  const s = portal.ol.openSession(chat);
  if (!s) throw new OperatorError(`bitrix emulator: chat ${chatId} has no open dialog`);
  if (s.accepted && s.operatorId === userId) return;
  s.accepted = true;
  s.operatorId = userId;
  chat.participants.add(userId);
  systemMessage(portal, chat, `${userFullName(portal, userId)} принял(а) диалог`);
}

/** imopenlines.operator.finish: the session closes; the client's next message opens a new one. */
export function operatorClose(portal: PortalCore, chatId: number, userId: number): void {
  const chat = chatOf(portal, chatId);
  const s = portal.ol.openSession(chat);
  if (!s) return;
  s.closed = true;
  s.dateClose = portal.shared.clock.now();
  systemMessage(portal, chat, 'Диалог завершён', { CLASS: 'bx-messenger-content-item-ol-end' });
  const activity = portal.crm.activityRows.find((a) => a.id === s.activityId);
  if (activity) activity.completed = 'Y';
  emitSessionEvent(portal, chat, s, 'FINISH', userId);
}

/** imopenlines.config.delete: OnImConnectorLineDelete carries just the line id (docs/facts/bitrix24.md#imconnector-events). */
export function deleteLine(portal: PortalCore, lineId: number, userId: number): boolean {
  if (!portal.ol.lines.delete(lineId)) return false;
  for (const chat of portal.ol.chats.values()) {
    if (chat.lineId !== lineId) continue;
    const s = portal.ol.openSession(chat);
    if (s) {
      s.closed = true;
      s.dateClose = portal.shared.clock.now();
    }
  }
  for (const key of [...portal.lines.keys()]) if (key.endsWith(`|${lineId}`)) portal.lines.delete(key);
  portal.emit('ONIMCONNECTORLINEDELETE', String(lineId), userId);
  return true;
}

/** imconnector.send.status.delivery for one item: SENDING off, CONNECTOR_MID = the external ids. */
export function markDelivered(portal: PortalCore, connector: string, messageId: number, externalIds: string[]): boolean {
  const m = portal.ol.messages.get(messageId);
  const chat = m ? portal.ol.chats.get(m.chatId) : undefined;
  if (!m || !chat || chat.connector !== connector) return false;
  if (m.params.SENDING !== 'Y') return false;
  m.delivery = 'delivered';
  m.params.SENDING = false;
  m.params.SENDING_TS = 0;
  if (externalIds.length) m.params.CONNECTOR_MID = externalIds;
  return true;
}
