/**
 * imopenlines.* (docs/facts/bitrix24.md#openlines-chats; imopenlines/lib/rest.php): line configs, finding the chat
 * behind a CRM item, dialog data, session history, and the operator's answer/finish.
 * Parameter names here are case-sensitive upper-case, as in Rest.php (`$arParams['CONFIG_ID']`);
 * only dialog.get upper-cases its keys.
 */
import { accessDenied, argumentNull, argumentType, RestError } from '../errors';
import { isoDate, isRecord, phpEmpty, phpEntries, phpInt, phpString, upperKeys, type Params } from '../php';
import { connectorTitle } from '../openlines/chat';
import { deleteLine, operatorAccept, operatorClose, OperatorError } from '../openlines/operator';
import type { LineConfig, OlChat } from '../openlines/types';
import { dialogData, sessionHistory } from '../openlines/wire';
import { ownerType } from './crm-misc';
import type { MethodDef, RestCtx } from './registry';

function configRow(l: LineConfig, withQueue: boolean): Params {
  const row: Params = {
    ID: String(l.id),
    ACTIVE: l.active,
    LINE_NAME: l.name,
    CRM: l.crm,
    CRM_CREATE: l.crmCreate,
    CRM_CREATE_SECOND: '',
    CRM_CREATE_THIRD: 'Y',
    CRM_FORWARD: l.crmForward,
    CRM_CHAT_TRACKER: l.crmChatTracker,
    CRM_TRANSFER_CHANGE: 'Y',
    CRM_SOURCE: l.crmSource,
    QUEUE_TIME: '60',
    NO_ANSWER_TIME: '60',
    QUEUE_TYPE: l.queueType,
    CHECK_AVAILABLE: 'N',
    WATCH_TYPING: 'Y',
    WELCOME_BOT_ENABLE: 'N',
    WELCOME_MESSAGE: l.welcomeMessage,
    WELCOME_MESSAGE_TEXT: l.welcomeMessageText,
    OPERATOR_DATA: l.showOperatorData === 'Y' ? 'profile' : 'hide',
    FULL_CLOSE_TIME: String(l.fullCloseTime),
    AGREEMENT_MESSAGE: 'N',
    LANGUAGE_ID: 'ru',
    DATE_CREATE: isoDate(l.dateCreate),
    DATE_MODIFY: isoDate(l.dateCreate),
    MODIFY_USER_ID: String(l.modifyUserId),
  };
  if (withQueue) row.QUEUE = l.queue.map(String);
  return row;
}

const YN = (v: unknown, fallback: 'Y' | 'N'): 'Y' | 'N' => (v === undefined ? fallback : v === 'Y' || v === true ? 'Y' : 'N');

/** Config::create/update fields from PARAMS (QUEUE as ids or {ENTITY_TYPE:'user', ENTITY_ID}). */
function lineFields(p: Params): Partial<LineConfig> {
  const out: Partial<LineConfig> = {};
  if (p.LINE_NAME !== undefined) out.name = phpString(p.LINE_NAME);
  if (p.ACTIVE !== undefined) out.active = YN(p.ACTIVE, 'Y');
  if (p.CRM !== undefined) out.crm = YN(p.CRM, 'Y');
  if (p.CRM_CHAT_TRACKER !== undefined) out.crmChatTracker = YN(p.CRM_CHAT_TRACKER, 'Y');
  if (p.CRM_FORWARD !== undefined) out.crmForward = YN(p.CRM_FORWARD, 'Y');
  if (p.WELCOME_MESSAGE !== undefined) out.welcomeMessage = YN(p.WELCOME_MESSAGE, 'N');
  if (p.WELCOME_MESSAGE_TEXT !== undefined) out.welcomeMessageText = phpString(p.WELCOME_MESSAGE_TEXT);
  const create = phpString(p.CRM_CREATE);
  if (['none', 'lead', 'deal'].includes(create)) out.crmCreate = create as LineConfig['crmCreate'];
  if (p.CRM_SOURCE !== undefined) out.crmSource = phpString(p.CRM_SOURCE) || 'create';
  const queueType = phpString(p.QUEUE_TYPE);
  if (['evenly', 'strictly', 'all'].includes(queueType)) out.queueType = queueType as LineConfig['queueType'];
  if (p.QUEUE !== undefined) {
    const ids = phpEntries(p.QUEUE)
      .map(([, q]) => (isRecord(q) ? (phpString(q.ENTITY_TYPE) === 'user' ? phpInt(q.ENTITY_ID) : 0) : phpInt(q)))
      .filter((n) => n > 0);
    if (ids.length) out.queue = ids;
  }
  if (phpString(p.OPERATOR_DATA) === 'hide') out.showOperatorData = 'N';
  return out;
}

function configListGet(p: Params, ctx: RestCtx): Params[] {
  const params = isRecord(p.PARAMS) ? p.PARAMS : {};
  const options = isRecord(p.OPTIONS) ? p.OPTIONS : {};
  for (const k of ['select', 'order', 'filter']) {
    if (params[k] !== undefined && !isRecord(params[k]) && !Array.isArray(params[k])) {
      throw new RestError('INVALID_FORMAT', `A wrong format for the PARAMS field '${k}' is passed`);
    }
  }
  const filter = isRecord(params.filter) ? params.filter : {};
  const select = phpEntries(params.select).map(([, v]) => phpString(v).toUpperCase());
  let rows = [...ctx.portal.ol.lines.values()].map((l) => configRow(l, options.QUEUE === 'Y'));
  rows = rows.filter((r) => Object.entries(filter).every(([k, v]) => phpString(r[k.replace(/^=/, '').toUpperCase()]) === phpString(v)));
  const offset = phpInt(params.offset);
  const limit = Math.min(phpInt(params.limit) || 200, 200);
  rows = rows.slice(offset, offset + limit);
  if (select.length && !select.includes('*')) rows = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => select.includes(k) || k === 'QUEUE')));
  return rows;
}

function configGet(p: Params, ctx: RestCtx): Params | false {
  const id = phpInt(p.CONFIG_ID);
  if (id <= 0) throw new RestError('CONFIG_ID_EMPTY', "Config ID can't be empty");
  const line = ctx.portal.ol.lines.get(id);
  return line ? configRow(line, p.WITH_QUEUE === undefined || p.WITH_QUEUE === 'Y') : false;
}

function configAdd(p: Params, ctx: RestCtx): number | false {
  if (!ctx.user.admin) return false; // Config::create checks the right to modify lines
  const params = isRecord(p.PARAMS) ? p.PARAMS : {};
  return ctx.portal.ol.addLine(lineFields(params), ctx.portal.shared.clock.now(), ctx.user.id).id;
}

function configUpdate(p: Params, ctx: RestCtx): boolean {
  const id = phpInt(p.CONFIG_ID);
  if (id <= 0) throw new RestError('CONFIG_ID_EMPTY', "Config ID can't be empty");
  if (!ctx.user.admin) throw new RestError('CONFIG_WRONG_USER_PERMISSION', 'Permission denied', 403);
  const line = ctx.portal.ol.lines.get(id);
  if (!line) return false;
  Object.assign(line, lineFields(isRecord(p.PARAMS) ? p.PARAMS : {}), { modifyUserId: ctx.user.id });
  return true;
}

function configDelete(p: Params, ctx: RestCtx): boolean {
  const id = phpInt(p.CONFIG_ID);
  if (id <= 0) throw new RestError('CONFIG_ID_EMPTY', "Config ID can't be empty");
  if (!ctx.user.admin) throw new RestError('CONFIG_WRONG_USER_PERMISSION', 'Permission denied', 403);
  return deleteLine(ctx.portal, id, ctx.user.id);
}

/** Chats whose sessions are bound to a CRM item (activity bindings: the lead, contact, company, deal). */
function chatsOfEntity(ctx: RestCtx, type: string, id: number, activeOnly: boolean): OlChat[] {
  const t = ownerType(type);
  if (!t) return [];
  return [...ctx.portal.ol.chats.values()].filter((chat) =>
    chat.sessionIds.some((sid) => {
      const s = ctx.portal.ol.sessions.get(sid);
      return !!s && s.crm[t] === id && (!activeOnly || !s.closed);
    }),
  );
}

function crmEntityParams(p: Params, ctx: RestCtx): [string, number] {
  if (phpEmpty(p.CRM_ENTITY_TYPE)) throw argumentNull('CRM_ENTITY_TYPE');
  if (phpEmpty(p.CRM_ENTITY)) throw argumentNull('CRM_ENTITY');
  if (!/^\d+$/.test(phpString(p.CRM_ENTITY)) || phpInt(p.CRM_ENTITY) <= 0) throw argumentType('CRM_ENTITY', 'integer');
  const type = ownerType(p.CRM_ENTITY_TYPE);
  const entity = type ? ctx.portal.crm.get(type, phpInt(p.CRM_ENTITY)) : undefined;
  if (!entity || !ctx.portal.crm.canAccess({ id: ctx.user.id, admin: ctx.user.admin }, entity)) {
    throw accessDenied('You dont have access to this action');
  }
  return [phpString(p.CRM_ENTITY_TYPE), phpInt(p.CRM_ENTITY)];
}

function crmChatGet(p: Params, ctx: RestCtx): Params[] {
  const [type, id] = crmEntityParams(p, ctx);
  return chatsOfEntity(ctx, type, id, p.ACTIVE_ONLY !== 'N').map((c) => ({
    CHAT_ID: String(c.id),
    CONNECTOR_ID: c.connector,
    CONNECTOR_TITLE: connectorTitle(ctx.portal, c.connector),
  }));
}

function crmChatLastId(p: Params, ctx: RestCtx): number {
  if (phpEmpty(p.CRM_ENTITY_TYPE) || phpEmpty(p.CRM_ENTITY)) throw new RestError('CRM_CHAT_EMPTY_CRM_DATA', 'Empty CRM data');
  if (!/^\d+$/.test(phpString(p.CRM_ENTITY)) || phpInt(p.CRM_ENTITY) <= 0) throw argumentType('CRM_ENTITY', 'integer');
  const chats = chatsOfEntity(ctx, phpString(p.CRM_ENTITY_TYPE), phpInt(p.CRM_ENTITY), false);
  const last = chats.sort((a, b) => b.id - a.id)[0];
  if (!last) throw new RestError('CRM_CHAT_EMPTY_CRM_DATA', 'Could not find CRM entity');
  return last.id;
}

/** Chat::hasAccess: a participant, an operator of the line's queue, or an admin. */
function hasAccess(ctx: RestCtx, chat: OlChat): boolean {
  const line = ctx.portal.ol.lines.get(chat.lineId);
  return ctx.user.admin || chat.participants.has(ctx.user.id) || !!line?.queue.includes(ctx.user.id);
}

function dialogGet(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  const ol = ctx.portal.ol;
  let chat: OlChat | undefined;
  if (p.CHAT_ID !== undefined) chat = ol.chats.get(phpInt(p.CHAT_ID));
  else if (p.DIALOG_ID !== undefined) {
    const m = /^chat(\d+)$/.exec(phpString(p.DIALOG_ID));
    chat = m ? ol.chats.get(Number(m[1])) : undefined;
  } else if (p.SESSION_ID !== undefined) {
    const s = ol.sessions.get(phpInt(p.SESSION_ID));
    chat = s ? ol.chats.get(s.chatId) : undefined;
  } else if (p.USER_CODE !== undefined) {
    chat = ol.chatByUserCode(phpString(p.USER_CODE).replace(/^imol\|/, ''));
  }
  if (!chat || !hasAccess(ctx, chat)) throw new RestError('ACCESS_ERROR', 'You do not have access to the specified dialog');
  return { ...dialogData(ctx.portal, chat, ctx.user.id), dialog_id: `chat${chat.id}` };
}

function sessionHistoryGet(p: Params, ctx: RestCtx): unknown {
  const ol = ctx.portal.ol;
  let sessionId = 0;
  if (phpEmpty(p.SESSION_ID)) {
    if (phpEmpty(p.CHAT_ID)) throw new RestError('MISSING_REQUIRED_PARAM', 'Session ID or Chat ID must be provided');
    const chat = ol.chats.get(phpInt(p.CHAT_ID));
    sessionId = chat ? (ol.lastSession(chat)?.id ?? 0) : 0;
  } else sessionId = phpInt(p.SESSION_ID);
  if (!sessionId) throw new RestError('INVALID_SESSION_ID', 'Unable to determine session ID from provided parameters');
  const s = ol.sessions.get(sessionId);
  const chat = s ? ol.chats.get(s.chatId) : undefined;
  if (!s || !chat || !hasAccess(ctx, chat)) {
    throw new RestError('ACCESS_DENIED', 'You cannot open this conversation because you do not have sufficient rights.');
  }
  return sessionHistory(ctx.portal, s);
}

function operatorAction(kind: 'answer' | 'finish') {
  return (params: Params, ctx: RestCtx): true => {
    const p = upperKeys(params);
    const chat = ctx.portal.ol.chats.get(phpInt(p.CHAT_ID));
    if (!chat) throw new RestError('CHAT_ID', 'Chat ID can\'t be empty');
    if (!hasAccess(ctx, chat)) throw new RestError('ACCESS_DENIED', 'You do not have access to the specified dialog');
    try {
      if (kind === 'answer') operatorAccept(ctx.portal, chat.id, ctx.user.id);
      else operatorClose(ctx.portal, chat.id, ctx.user.id);
    } catch (err) {
      if (err instanceof OperatorError) throw new RestError('ACCESS_DENIED', err.message.replace(/^bitrix emulator: /, ''));
      throw err;
    }
    return true;
  };
}

export const imopenlinesMethods: Record<string, MethodDef> = {
  'imopenlines.config.list.get': { scope: 'imopenlines', handler: configListGet },
  'imopenlines.config.get': { scope: 'imopenlines', handler: configGet },
  'imopenlines.config.add': { scope: 'imopenlines', handler: configAdd },
  'imopenlines.config.update': { scope: 'imopenlines', handler: configUpdate },
  'imopenlines.config.delete': { scope: 'imopenlines', handler: configDelete },
  'imopenlines.crm.chat.get': { scope: 'imopenlines', handler: crmChatGet },
  'imopenlines.crm.chat.getlastid': { scope: 'imopenlines', handler: crmChatLastId },
  'imopenlines.dialog.get': { scope: 'imopenlines', handler: dialogGet },
  'imopenlines.session.history.get': { scope: 'imopenlines', handler: sessionHistoryGet },
  'imopenlines.operator.answer': { scope: 'imopenlines', handler: operatorAction('answer') },
  'imopenlines.operator.finish': { scope: 'imopenlines', handler: operatorAction('finish') },
};
