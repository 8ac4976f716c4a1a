/**
 * imconnector.send.messages / update.messages / delete.messages / send.status.delivery /
 * send.status.reading / chat.name.set / set.error (docs/facts/bitrix24.md#imconnector-send;
 * imconnector/lib/rest/customconnectors.php, provider/base/input.php):
 * - CONNECTOR, LINE, MESSAGES must be set (ArgumentNullException → ERROR_ARGUMENT + `argument`);
 *   message keys are lower-cased recursively; MESSAGES must be an array of {user, message, chat};
 * - the connector must be ours and active on the line, otherwise the whole call is 400
 *   IMCONNECTOR_NOT_SPECIFIED_CORRECT_CONNECTOR / NOT_ACTIVE_LINE;
 * - per-item outcome in `DATA.RESULT[n]` with SUCCESS (and ERRORS when false).
 */
import { argumentError, argumentNull, argumentType, RestError } from '../errors';
import { isRecord, lowerKeys, phpArray, phpEntries, phpEmpty, phpInt, phpString, upperKeys, type Params } from '../php';
import { connectorFlag, lineStatusActive, systemMessage } from '../openlines/chat';
import { receiveItem } from '../openlines/inbound';
import { markDelivered } from '../openlines/operator';
import type { PortalCore } from '../types';
import type { MethodDef, RestCtx } from './registry';

function lowerDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(lowerDeep);
  if (!isRecord(v)) return v;
  const out: Params = {};
  for (const [k, x] of Object.entries(v)) out[k.toLowerCase()] = lowerDeep(x);
  return out;
}

function required(p: Params, keys: string[]): void {
  for (const k of keys) if (p[k] === undefined || p[k] === null) throw argumentNull(k);
}

function checkConnector(portal: PortalCore, connector: string): void {
  if (!portal.connectors.has(connector)) {
    throw new RestError('IMCONNECTOR_NOT_SPECIFIED_CORRECT_CONNECTOR', 'Не указан корректный коннектор');
  }
}

function checkLine(portal: PortalCore, connector: string, line: number): void {
  checkConnector(portal, connector);
  if (!lineStatusActive(portal, connector, line)) {
    throw new RestError('NOT_ACTIVE_LINE', 'Линия не активна или не существует');
  }
}

function messagesParam(p: Params, strict: boolean): Array<[string, Params]> {
  const messages = lowerDeep(p.MESSAGES);
  if (!Array.isArray(messages) && !isRecord(messages)) throw argumentType('MESSAGES', 'array');
  const out: Array<[string, Params]> = [];
  for (const [k, m] of phpEntries(messages)) {
    if (!isRecord(m)) throw argumentError('The MESSAGES parameter must be an array of messages (arrays)', '');
    if (strict && (m.user === undefined || m.message === undefined || m.chat === undefined)) {
      throw argumentError('The incorrect structure of a message inside MESSAGES parameter.', '');
    }
    out.push([k, m]);
  }
  return out;
}

async function sendMessages(params: Params, ctx: RestCtx): Promise<Params> {
  const p = upperKeys(params);
  required(p, ['CONNECTOR', 'LINE', 'MESSAGES']);
  const items = messagesParam(p, true);
  const connector = phpString(p.CONNECTOR);
  const line = phpInt(p.LINE);
  checkLine(ctx.portal, connector, line);
  const result: Array<[string, unknown]> = [];
  for (const [k, item] of items) result.push([k, await receiveItem(ctx.portal, connector, line, item, ctx.user.id)]);
  return { SUCCESS: true, DATA: { RESULT: phpArray(result) } };
}

/** Finds the chat and message an update/delete item points at (user.id + chat.id + message.id). */
function locate(portal: PortalCore, connector: string, line: number, item: Params) {
  const user = portal.ol.userByExternal(connector, phpString(isRecord(item.user) ? item.user.id : ''));
  const chatId = phpString(isRecord(item.chat) ? item.chat.id : '');
  const chat = user ? portal.ol.chatByExternal(connector, line, chatId, user.id) : undefined;
  const rawId = isRecord(item.message) ? item.message.id : undefined;
  const ids = (Array.isArray(rawId) ? rawId : [rawId]).map((x) => phpString(x));
  const message = chat ? portal.ol.chatMessages(chat).find((m) => ids.includes(m.externalId) && m.direction === 'in') : undefined;
  return { user, chat, message };
}

function changeMessages(kind: 'update' | 'delete') {
  return (params: Params, ctx: RestCtx): Params => {
    const p = upperKeys(params);
    required(p, ['CONNECTOR', 'LINE', 'MESSAGES']);
    const connector = phpString(p.CONNECTOR);
    const line = phpInt(p.LINE);
    const items = messagesParam(p, false);
    checkLine(ctx.portal, connector, line);
    const result: Array<[string, unknown]> = [];
    for (const [k, item] of items) {
      const { user, chat, message } = locate(ctx.portal, connector, line, item);
      const out: Params = { ...item, user: user ? String(user.id) : item.user };
      if (!message || !chat) {
        result.push([k, { ...out, SUCCESS: false, ERRORS: ['Сообщение не найдено'] }]);
        continue;
      }
      if (kind === 'update') {
        const text = phpString(isRecord(item.message) ? item.message.text : '');
        if (text !== '') message.text = text;
        message.params.IS_EDITED = 'Y';
      } else {
        message.deleted = true;
        message.params.IS_DELETED = 'Y';
      }
      ctx.portal.emit(
        kind === 'update' ? 'ONOPENLINEMESSAGEUPDATE' : 'ONOPENLINEMESSAGEDELETE',
        { DATA: { connector: { connector_id: connector, line_id: String(line), chat_id: chat.externalChatId, user_id: String(chat.userId) }, message: { id: message.externalId, im_id: String(message.id), text: message.text } } },
        ctx.user.id,
      );
      result.push([k, { ...out, SUCCESS: true }]);
    }
    return { SUCCESS: true, DATA: { RESULT: phpArray(result) } };
  };
}

/** Delivery confirmation of outgoing messages: `im.message_id` from OnImConnectorMessageAdd. */
function statusDelivery(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  required(p, ['CONNECTOR', 'LINE', 'MESSAGES']);
  const connector = phpString(p.CONNECTOR);
  const items = messagesParam(p, false);
  checkConnector(ctx.portal, connector);
  for (const [, item] of items) {
    const im = isRecord(item.im) ? item.im : {};
    const rawIds = isRecord(item.message) ? item.message.id : undefined;
    const ids = rawIds === undefined ? [] : (Array.isArray(rawIds) || isRecord(rawIds) ? phpEntries(rawIds).map(([, x]) => x) : [rawIds]).map((x) => phpString(x));
    markDelivered(ctx.portal, connector, phpInt(im.message_id), ids.filter((x) => x !== ''));
  }
  return { SUCCESS: true, DATA: [] };
}

function statusReading(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  required(p, ['CONNECTOR', 'LINE', 'MESSAGES']);
  messagesParam(p, false);
  checkConnector(ctx.portal, phpString(p.CONNECTOR));
  return { SUCCESS: true, DATA: [] }; // Connector::onReceivedStatusReading does nothing
}

function chatNameSet(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  for (const k of ['CONNECTOR', 'LINE', 'CHAT_ID', 'NAME']) if (phpEmpty(p[k])) throw argumentNull(k);
  const connector = phpString(p.CONNECTOR);
  if (phpEmpty(p.USER_ID) && !connectorFlag(ctx.portal, connector, 'CHAT_GROUP', false)) throw argumentNull('USER_ID');
  const line = phpInt(p.LINE);
  checkLine(ctx.portal, connector, line);
  const q = lowerKeys(p);
  const user = ctx.portal.ol.userByExternal(connector, phpString(q.user_id));
  if (user || connectorFlag(ctx.portal, connector, 'CHAT_GROUP', false)) {
    const chat = ctx.portal.ol.chatByExternal(connector, line, phpString(q.chat_id), user?.id);
    if (!chat) throw new RestError('CHAT_RENAMING_FAILED', 'Chat renaming failed');
    chat.title = phpString(q.name);
    systemMessage(ctx.portal, chat, `Название диалога изменено на «${chat.title}»`);
  }
  return { SUCCESS: true, DATA: { RESULT: {} } };
}

/** imconnector.set.error: CC::deactivateConnectors raises ERROR_STATUS; sending stops (NOT_ACTIVE_LINE). */
function setError(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  required(p, ['CONNECTOR', 'LINE']);
  const s = ctx.portal.lines.get(`${phpString(p.CONNECTOR)}|${phpInt(p.LINE)}`);
  if (s) s.error = true;
  return { SUCCESS: true, DATA: [] };
}

export const imconnectorMessageMethods: Record<string, MethodDef> = {
  'imconnector.send.messages': { scope: 'imopenlines', handler: sendMessages },
  'imconnector.update.messages': { scope: 'imopenlines', handler: changeMessages('update') },
  'imconnector.delete.messages': { scope: 'imopenlines', handler: changeMessages('delete') },
  'imconnector.send.status.delivery': { scope: 'imopenlines', handler: statusDelivery },
  'imconnector.send.status.reading': { scope: 'imopenlines', handler: statusReading },
  'imconnector.chat.name.set': { scope: 'imopenlines', handler: chatNameSet },
  'imconnector.set.error': { scope: 'imopenlines', handler: setError },
};
