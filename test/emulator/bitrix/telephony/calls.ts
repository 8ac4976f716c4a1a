/**
 * External calls as the voximplant module runs them (yuliai/bitrix-modules @ a3a2a579:
 * voximplant/classes/general/vi_rest.php, voximplant/lib/rest/helper.php,
 * voximplant/classes/general/vi_crm_helper.php); the REST docs are bitrix-tools/b24-rest-docs
 * api-reference/telephony/*. Errors are `RestException(message)`: an EMPTY `error` code with HTTP
 * 400 (rest/lib/restexception.php), except "CALL_ID must be a string" (INVALID_ARGUMENT).
 */
import { RestError } from '../errors';
import type { CrmActivity, DirectoryUser, EntityType } from '../crm/types';
import { isoDate, isRecord, md5, phpEmpty, phpInt, phpString, phpTruthy, randomHex, type Params } from '../php';
import type { PortalCore } from '../types';
import { findBindings, OWNER_TYPE_NAME, selectByEntity, selectByPhone, selectionEntities } from './crm-search';
import { telephonyOf, type Binding, type LiveCall, type StatisticRow, type StoredFile, type TelephonyStore } from './store';

export const fail = (message: string): RestError => new RestError('', message, 400);

const WINDOW_MS = 30 * 60_000;

export const TYPE_NAMES: Record<number, string> = { 1: 'исходящий', 2: 'входящий', 3: 'входящий с перенаправлением', 4: 'обратный звонок', 5: 'информационный' };

/** CVoxImplantPhone::stripLetters: keeps digits, #, *, +, comma and semicolon. */
export const stripLetters = (v: string): string => v.replace(/[^0-9#*+,;]/g, '');

/** Bitrix\Main\PhoneNumber formatting for the subjects and titles: +7 916 123-45-67. */
export function formatPhone(v: string): string {
  const d = v.replace(/\D+/g, '');
  let n = d;
  if (n.length === 11 && n.startsWith('8')) n = `7${n.slice(1)}`;
  if (n.length === 11 && n.startsWith('7')) return `+7 ${n.slice(1, 4)} ${n.slice(4, 7)}-${n.slice(7, 9)}-${n.slice(9)}`;
  return d ? `+${d}` : v;
}

/** E.164 the way the phone parser gives it for PHONE_NUMBER_INTERNATIONAL (Russia by default). */
export function e164(v: string): string {
  let d = v.replace(/\D+/g, '');
  if (d.length === 11 && d.startsWith('8')) d = `7${d.slice(1)}`;
  if (d.length === 10) d = `7${d}`;
  return d ? `+${d}` : '';
}

/** A real, active user (UserTable ACTIVE=Y, IS_REAL_USER=Y). */
export function activeUser(portal: PortalCore, id: number): DirectoryUser | undefined {
  return portal.crm.directory.users.find((u) => u.id === id && u.active && u.externalAuthId === '');
}

/** Helper::getUserByPhone: the active real user whose UF_PHONE_INNER equals the value. */
export function userByInner(portal: PortalCore, inner: unknown): number {
  const v = phpString(inner);
  if (v === '') return 0;
  return portal.crm.directory.users.find((u) => u.phoneInner === v && u.active && u.externalAuthId === '')?.id ?? 0;
}

/** strtotime-style parsing of CALL_START_DATE: ISO 8601 with or without an offset; a time without one is the portal's (+03:00). */
export function parseStartDate(v: string): number | null {
  const s = v.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(`${s}T00:00:00+03:00`);
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return null;
  const tz = m[3] ? (m[3] === 'Z' ? 'Z' : m[3].includes(':') ? m[3] : `${m[3].slice(0, 3)}:${m[3].slice(3)}`) : '+03:00';
  const ms = Date.parse(`${m[1]}T${m[2]}${tz}`);
  return Number.isNaN(ms) ? null : ms;
}

const now = (portal: PortalCore) => portal.shared.clock.now();

// --------------------------------------------------------------------------------------- register

export interface RegisterInput {
  USER_ID?: unknown;
  USER_PHONE_INNER?: unknown;
  PHONE_NUMBER?: unknown;
  TYPE?: unknown;
  CALL_START_DATE?: unknown;
  CRM_CREATE?: unknown;
  CRM_SOURCE?: unknown;
  CRM_ENTITY_TYPE?: unknown;
  CRM_ENTITY_ID?: unknown;
  SHOW?: unknown;
  CALL_LIST_ID?: unknown;
  LINE_NUMBER?: unknown;
  EXTERNAL_CALL_ID?: unknown;
}

/** `in_array($TYPE, [1,2,3,4,5])` with PHP 8 loose comparison. */
function callType(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= 5 ? v : null;
  if (typeof v === 'string' && /^\s*[+-]?\d+(\.0*)?\s*$/.test(v)) {
    const n = Number(v);
    return n >= 1 && n <= 5 ? n : null;
  }
  if (v === true) return 1;
  return null;
}

/** vi_rest.php registerExternalCall (parameter checks) → Helper::registerExternalCall. */
export function registerFromRest(portal: PortalCore, p: Params): Params {
  let userId = phpInt(p.USER_ID);
  if (userId === 0) userId = userByInner(portal, p.USER_PHONE_INNER);
  if (!userId) throw fail('USER_ID or USER_PHONE_INNER should be set');
  const type = callType(p.TYPE);
  if (type === null) throw fail('Unknown TYPE');
  let startDate: number | null = null;
  if (p.CALL_START_DATE !== undefined && p.CALL_START_DATE !== null && p.CALL_START_DATE !== '') {
    startDate = typeof p.CALL_START_DATE === 'string' ? parseStartDate(p.CALL_START_DATE) : null;
    if (startDate === null) throw fail('CALL_START_DATE should be in the ISO-8601 format');
  }
  return registerCall(portal, {
    userId,
    phone: phpString(p.PHONE_NUMBER),
    lineNumber: p.LINE_NUMBER,
    externalCallId: p.EXTERNAL_CALL_ID === undefined || p.EXTERNAL_CALL_ID === null ? null : phpString(p.EXTERNAL_CALL_ID),
    type,
    startDate,
    crmCreate: phpTruthy(p.CRM_CREATE),
    crmSource: phpString(p.CRM_SOURCE),
    crmEntityType: p.CRM_ENTITY_TYPE === undefined || p.CRM_ENTITY_TYPE === null ? null : phpString(p.CRM_ENTITY_TYPE),
    crmEntityId: p.CRM_ENTITY_ID === undefined || p.CRM_ENTITY_ID === null ? null : phpInt(p.CRM_ENTITY_ID),
    // vi_rest: isset(SHOW) ? (bool)SHOW : true
    show: p.SHOW === undefined || p.SHOW === null ? true : phpTruthy(p.SHOW),
    callListId: phpInt(p.CALL_LIST_ID),
  });
}

export interface RegisterArgs {
  userId: number;
  phone: string;
  lineNumber: unknown;
  externalCallId: string | null;
  type: number;
  startDate: number | null;
  crmCreate: boolean;
  crmSource: string;
  crmEntityType: string | null;
  crmEntityId: number | null;
  show: boolean;
  callListId: number;
}

/** Helper::registerExternalCall */
export function registerCall(portal: PortalCore, a: RegisterArgs): Params {
  const t = telephonyOf(portal);
  const appId = t.appId();
  const at = now(portal);
  const callId = `externalCall.${md5(`${appId}${a.userId}${a.phone}${randomHex(8)}`)}.${Math.floor(at / 1000)}`;
  const phone = stripLetters(a.phone);
  if (!phone) throw fail('Unsupported phone number format');
  if (!activeUser(portal, a.userId)) throw fail('User is not found or is not active');

  let lineId: number | null = null;
  let lineNumber = '';
  if (a.lineNumber !== undefined && a.lineNumber !== null) {
    const n = phpString(a.lineNumber).trim();
    if (n !== '') {
      lineNumber = n.slice(0, 50); // field length in db
      let line = t.line(appId, lineNumber);
      if (!line) {
        line = { id: t.nextLineId(), appId, number: lineNumber, name: null, crmAutoCreate: 'Y' };
        t.lines.push(line);
      }
      lineId = line.id;
    }
  }

  // an internal call: the number is some active user's UF_PHONE_INNER
  const inner = portal.crm.directory.users.find((u) => u.active && u.phoneInner !== undefined && u.phoneInner === phone);
  const portalCall = inner !== undefined;

  // the 30-minute window among calls not finished yet (finish deletes the row)
  const duplicate = [...t.calls.values()].find(
    (c) =>
      c.userId === a.userId &&
      c.phone === phone &&
      c.type === a.type &&
      c.dateCreate > at - WINDOW_MS &&
      c.appId === appId &&
      (lineId === null || c.lineId === lineId) &&
      (a.externalCallId === null || c.externalCallId === a.externalCallId),
  );
  if (duplicate) {
    if (a.show) showCall(portal, duplicate.callId, undefined);
    const primary = duplicate.crmEntities.find((e) => e.primary);
    return {
      CALL_ID: duplicate.callId,
      CRM_CREATED_LEAD: duplicate.createdLeadId || null,
      CRM_CREATED_ENTITIES: duplicate.crmEntities.filter((e) => e.created).map((e) => ({ ENTITY_TYPE: e.type, ENTITY_ID: e.id })),
      CRM_ENTITY_TYPE: primary?.type ?? null,
      CRM_ENTITY_ID: primary?.id || null,
    };
  }

  const call: LiveCall = {
    callId,
    externalCallId: a.externalCallId,
    appId,
    userId: a.userId,
    phone,
    type: a.type,
    dateCreate: a.startDate ?? at,
    lineId,
    portalNumber: lineNumber || `REST_APP:${appId}`,
    portalCall,
    portalUserId: inner?.id ?? null,
    crmEnabled: !portalCall,
    callListId: a.callListId,
    crmEntities: [],
    bindings: [],
    createdLeadId: null,
  };
  const crm = portal.crm;
  if (a.crmEntityType !== null && a.crmEntityId !== null) {
    // bound to the given item, no check that it exists; bindings from that item
    call.crmEntities.push({ type: a.crmEntityType, id: a.crmEntityId, primary: true, created: false });
    call.bindings = findBindings(selectByEntity(crm, a.crmEntityType, a.crmEntityId));
  } else {
    const sel = selectByPhone(crm, phone);
    call.crmEntities = selectionEntities(sel).map((e, i) => ({ type: e.type, id: e.id, primary: i === 0, created: false }));
    call.bindings = findBindings(sel);
  }
  t.calls.set(callId, call);

  let leadCreationError: string | undefined;
  if (a.crmCreate && !portalCall) {
    const err = registerInCrm(portal, t, call, a.crmSource);
    if (err !== null) leadCreationError = err;
  }
  if (a.show) showCall(portal, callId, undefined);

  const primary = call.crmEntities.find((e) => e.primary);
  const out: Params = {
    CALL_ID: callId,
    CRM_CREATED_LEAD: call.createdLeadId || null,
    CRM_CREATED_ENTITIES: call.crmEntities.filter((e) => e.created).map((e) => ({ ENTITY_TYPE: e.type, ENTITY_ID: e.id })),
    CRM_ENTITY_TYPE: primary?.type ?? '',
    CRM_ENTITY_ID: primary?.id || null,
  };
  if (leadCreationError !== undefined) out.LEAD_CREATION_ERROR = leadCreationError;
  return out;
}

/**
 * CVoxImplantCrmHelper::registerCallInCrm with CRM_CREATE=lead for all call types: nothing when the
 * primary item is a lead or something was created already; "Lead creation is disabled for local
 * users" when the number is some user's phone (getLeadFields); an outgoing call that has bindings
 * only updates; otherwise a lead (classic CRM) or contact + deal (simple CRM) when the client is
 * unknown. Returns the error text, or null.
 */
function registerInCrm(portal: PortalCore, t: TelephonyStore, call: LiveCall, crmSource: string): string | null {
  const primary = call.crmEntities.find((e) => e.primary);
  if (primary?.type === 'LEAD' && primary.id > 0) return null;
  if (t.settings.leadCreationError !== null) return t.settings.leadCreationError;
  const digits = (v: string | undefined) => (v ?? '').replace(/\D+/g, '');
  const localUser = portal.crm.directory.users.find(
    (u) => u.active && u.externalAuthId === '' && [u.phoneInner, u.personalMobile, u.workPhone].some((x) => x !== undefined && digits(x) !== '' && digits(x) === digits(call.phone)),
  );
  if (localUser) return 'Lead creation is disabled for local users';
  if (call.type === 1 && call.bindings.length > 0) return null; // REGISTER_MODE_ONLY_UPDATE
  if (call.crmEntities.length > 0) return null; // a known client: no new primary item
  const title = call.type === 1 ? 'Исходящий звонок' : call.type === 4 ? 'Обратный звонок' : 'Входящий звонок';
  const sources = portal.crm.directory.statuses.filter((s) => s.ENTITY_ID === 'SOURCE').map((s) => s.STATUS_ID);
  const source = sources.includes(crmSource) ? crmSource : sources.includes('CALL') ? 'CALL' : 'OTHER';
  const line = call.lineId !== null ? t.lines.find((l) => l.id === call.lineId) : undefined;
  const fields: Params = {
    TITLE: `${formatPhone(call.phone)} - ${title}`,
    PHONE: [{ VALUE: call.phone, VALUE_TYPE: 'WORK' }],
    SOURCE_ID: source,
    ASSIGNED_BY_ID: call.userId,
    OPENED: 'Y',
  };
  if (line) fields.SOURCE_DESCRIPTION = `Звонок на номер ${formatPhone(line.number)}`;
  const actor = { id: call.userId, admin: true };
  const created: Array<{ type: EntityType; id: number; primary: boolean }> = [];
  if (t.settings.crmMode === 'classic') {
    const lead = portal.crm.add('LEAD', fields, actor, call.userId);
    created.push({ type: 'LEAD', id: lead.id, primary: true });
    call.createdLeadId = lead.id;
  } else {
    const contact = portal.crm.add('CONTACT', { NAME: formatPhone(call.phone), PHONE: fields.PHONE, SOURCE_ID: source, ASSIGNED_BY_ID: call.userId, OPENED: 'Y' }, actor, call.userId);
    const deal = portal.crm.add('DEAL', { TITLE: fields.TITLE, CONTACT_ID: contact.id, SOURCE_ID: source, ASSIGNED_BY_ID: call.userId, OPENED: 'Y' }, actor, call.userId);
    created.push({ type: 'CONTACT', id: contact.id, primary: true }, { type: 'DEAL', id: deal.id, primary: false });
  }
  for (const e of call.crmEntities) e.primary = false;
  call.crmEntities.push(...created.map((c) => ({ type: c.type, id: c.id, primary: c.primary, created: true })));
  const p = created.find((c) => c.primary)!;
  call.bindings = findBindings(selectByEntity(portal.crm, p.type, p.id));
  return null;
}

// --------------------------------------------------------------------------------------- show / hide

function userList(v: unknown, fallback: number): number[] {
  if (v === undefined || v === null) return [fallback];
  if (Array.isArray(v) || isRecord(v)) return Object.values(v).map((x) => phpInt(x));
  return [phpInt(v)];
}

/** Helper::showExternalCall: false for an unknown call; the card goes to USER_ID (int or array, default the call's user). */
export function showCall(portal: PortalCore, callId: string, users: unknown): boolean {
  const t = telephonyOf(portal);
  const call = t.calls.get(callId);
  if (!call) return false;
  const line = call.lineId !== null ? t.lines.find((l) => l.id === call.lineId) : undefined;
  const primary = call.crmEntities.find((e) => e.primary);
  t.show(userList(users, call.userId), {
    callId,
    phone: call.phone,
    lineNumber: line?.number ?? null,
    lineName: line ? (line.name || line.number) : null,
    incoming: call.type,
    crmEntityType: primary?.type ?? '',
    crmEntityId: primary?.id ?? null,
  }, now(portal));
  return true;
}

/** Helper::hideExternalCall: false for an unknown (or finished) call. */
export function hideCall(portal: PortalCore, callId: string, users: unknown): boolean {
  const t = telephonyOf(portal);
  const call = t.calls.get(callId);
  if (!call) return false;
  t.hide(userList(users, call.userId), callId, now(portal));
  return true;
}

// --------------------------------------------------------------------------------------- finish

/** vi_rest.php finishExternalCall → Helper::finishExternalCall */
export function finishFromRest(portal: PortalCore, p: Params): Params {
  let userId = phpInt(p.USER_ID);
  if (userId === 0) userId = userByInner(portal, p.USER_PHONE_INNER);
  if (!userId) throw fail('USER_ID or USER_PHONE_INNER should be set');
  if (typeof p.CALL_ID !== 'string') throw new RestError('INVALID_ARGUMENT', 'CALL_ID must be a string', 400);
  return finishCall(portal, {
    callId: p.CALL_ID,
    userId,
    duration: phpInt(p.DURATION),
    cost: Number.parseFloat(phpString(p.COST)) || 0,
    costCurrency: phpString(p.COST_CURRENCY),
    statusCode: phpString(p.STATUS_CODE),
    failedReason: phpString(p.FAILED_REASON),
    recordUrl: phpString(p.RECORD_URL),
    vote: phpInt(p.VOTE),
    // vi_rest passes `ADD_TO_CHAT != false`: a missing ADD_TO_CHAT (null) is false — no chat message
    addToChat: !phpEmpty(p.ADD_TO_CHAT),
  });
}

export interface FinishArgs {
  callId: string;
  userId: number;
  duration: number;
  cost: number;
  costCurrency: string;
  statusCode: string;
  failedReason: string;
  recordUrl: string;
  vote: number;
  addToChat: boolean;
}

export function finishCall(portal: PortalCore, a: FinishArgs): Params {
  const t = telephonyOf(portal);
  const call = t.calls.get(a.callId);
  if (!call) throw fail('Call is not found (call should be registered prior to finishing');
  if (!activeUser(portal, a.userId)) throw fail('User is not found or is not active');
  hideCall(portal, call.callId, a.userId);
  const statusCode = a.statusCode !== '' && a.statusCode !== '0' ? a.statusCode : a.duration > 0 ? '200' : '304';
  const appRow = portal.appInfo();
  const record: Params = {
    CALL_ID: call.callId,
    EXTERNAL_CALL_ID: call.externalCallId,
    PORTAL_USER_ID: a.userId,
    PHONE_NUMBER: call.phone,
    PORTAL_NUMBER: call.portalNumber,
    INCOMING: String(call.type),
    CALL_DURATION: a.duration,
    CALL_START_DATE: {}, // a PHP DateTime object goes out as {}
    CALL_STATUS: a.duration > 0 ? 1 : 0,
    CALL_VOTE: a.vote,
    COST: a.cost,
    COST_CURRENCY: a.costCurrency,
    CALL_FAILED_CODE: statusCode,
    CALL_FAILED_REASON: a.failedReason,
    REST_APP_ID: String(appRow.ID),
    REST_APP_NAME: portal.shared.app.name,
    CRM_ACTIVITY_ID: null,
    COMMENT: null,
  };
  if (a.recordUrl !== '') record.CALL_RECORD_URL = a.recordUrl;
  // entities Bitrix24 created for this call now belong to the finishing user; existing ones stay
  for (const e of call.crmEntities.filter((x) => x.created)) {
    const type = e.type as EntityType;
    if (portal.crm.get(type, e.id)) portal.crm.update(type, e.id, { ASSIGNED_BY_ID: a.userId }, null, a.userId);
  }
  const primary = call.crmEntities.find((e) => e.primary);
  if (primary && primary.id > 0) {
    record.CRM_ENTITY_TYPE = primary.type;
    record.CRM_ENTITY_ID = primary.id;
  }
  let activityError: string | undefined;
  const added = addCallActivity(portal, call, record, a, statusCode);
  if (typeof added === 'number') record.CRM_ACTIVITY_ID = added;
  else {
    record.CRM_ACTIVITY_ID = false;
    activityError = added.error;
  }
  const id = t.nextStatId();
  record.ID = id;
  const row: StatisticRow = {
    record,
    id,
    callId: call.callId,
    userId: a.userId,
    type: call.type,
    phone: call.phone,
    startedAt: call.dateCreate,
    duration: a.duration,
    statusCode,
    activityId: typeof added === 'number' ? added : null,
    fileId: null,
    transcriptId: null,
  };
  t.statistics.push(row);
  const incoming = call.type === 2 || call.type === 3;
  if (statusCode === '304' && incoming) t.missed.push({ id, phone: call.phone, userId: a.userId, callbackId: null });
  else if (statusCode === '200' && call.type === 1) for (const m of t.missed) if (m.phone === call.phone && m.callbackId === null) m.callbackId = id;
  if (a.addToChat) t.chat.push({ at: now(portal), userId: a.userId, phone: call.phone, incoming: call.type, text: chatText(call.type, statusCode, call.phone) });
  t.calls.delete(call.callId);
  const out: Params = { ...record };
  if (activityError !== undefined) out.ERRORS = { ACTIVITY_CREATION: activityError };
  return out;
}

function chatText(type: number, code: string, phone: string): string {
  const n = formatPhone(phone);
  if (type === 1) {
    if (code === '603-S') return `Вы отменили звонок на номер ${n}`;
    if (code === '486') return `Номер ${n} занят`;
    if (code === '480') return `Номер ${n} недоступен`;
    return `Исходящий звонок на номер ${n} завершён`;
  }
  if (type === 4) return code === '200' ? `Обратный звонок на номер ${n} завершён` : `Обратный звонок на номер ${n} не состоялся`;
  return code === '304' ? `Пропущенный звонок с номера ${n}` : `Входящий звонок с номера ${n} завершён`;
}

/**
 * CVoxImplantCrmHelper::AddCall (classic scenario): bindings = the call's, else a phone search
 * now, else the primary item; none → "Could not find associated crm entity for the current call".
 * COMPLETED: TYPE 2 / 4 → STATUS_CODE != 304 (304 also sets SETTINGS.MISSED_CALL); TYPE 1, 3, 5 → Y.
 */
function addCallActivity(portal: PortalCore, call: LiveCall, record: Params, a: FinishArgs, statusCode: string): number | { error: string } {
  const crm = portal.crm;
  if (call.phone === '') return { error: 'Can not create activity for call without caller id' };
  let bindings: Binding[] = call.bindings;
  if (bindings.length === 0) bindings = findBindings(selectByPhone(crm, call.phone));
  if (bindings.length === 0 && typeof record.CRM_ENTITY_TYPE === 'string' && typeof record.CRM_ENTITY_ID === 'number') {
    bindings = findBindings(selectByEntity(crm, record.CRM_ENTITY_TYPE, record.CRM_ENTITY_ID));
  }
  const resolved = bindings
    .map((b) => ({ ownerType: OWNER_TYPE_NAME[b.OWNER_TYPE_ID], ownerId: b.OWNER_ID }))
    .filter((b): b is { ownerType: EntityType; ownerId: number } => b.ownerType !== undefined && crm.get(b.ownerType, b.ownerId) !== undefined);
  if (resolved.length === 0) return { error: 'Could not find associated crm entity for the current call' };
  const incoming = call.type === 2 || call.type === 3;
  const callbackOrIn = call.type === 2 || call.type === 4;
  const completed = callbackOrIn ? statusCode !== '304' : true;
  const start = call.dateCreate;
  const end = start + Math.max(0, a.duration) * 1000;
  const n = formatPhone(call.phone);
  const subject = call.type === 1 ? `Исходящий звонок ${n}` : incoming ? `Входящий звонок ${n}` : call.type === 4 ? `Обратный звонок ${n}` : 'Звонок';
  const mins = Math.floor(a.duration / 60);
  const secs = a.duration % 60;
  const first = resolved[0]!;
  const row: Omit<CrmActivity, 'id' | 'created'> = {
    ownerType: first.ownerType,
    ownerId: first.ownerId,
    providerId: 'VOXIMPLANT_CALL',
    subject,
    description: a.duration > 0 ? `Длительность звонка: ${mins > 0 ? `${mins} мин ` : ''}${secs} сек` : '',
    deadline: isoDate(end),
    responsibleId: a.userId,
    authorId: a.userId,
    completed: completed ? 'Y' : 'N',
    originId: `VI_${call.callId}`,
    associatedEntityId: 0,
    call: {
      bindings: resolved,
      direction: incoming ? 1 : 2,
      providerTypeId: call.type === 4 ? 'CALLBACK' : 'CALL',
      startTime: isoDate(start),
      endTime: isoDate(end),
      duration: a.duration,
      statusCode,
      missed: callbackOrIn && statusCode === '304',
      phone: call.phone,
      callId: call.callId,
      fileIds: [],
    },
  };
  return crm.addActivity(row, a.userId).id;
}

// --------------------------------------------------------------------------------------- records

/** Security\RecordFile: MIME must start with audio/ (detected from the content), extension mp3/flac/wav. */
export function sniffAudio(bytes: Buffer): string | null {
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WAVE') return 'audio/x-wav';
  if (bytes.length >= 3 && bytes.subarray(0, 3).toString('latin1') === 'ID3') return 'audio/mpeg';
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0) return 'audio/mpeg';
  if (bytes.length >= 4 && bytes.subarray(0, 4).toString('latin1') === 'fLaC') return 'audio/flac';
  return null;
}

export const FILE_BAD_TYPE = 'Неверный тип файла';

const extOf = (name: string): string => {
  const base = name.split(/[\\/]/).pop() ?? '';
  const i = base.lastIndexOf('.');
  return i >= 0 ? base.slice(i + 1) : '';
};

function checkRecordFile(name: string, bytes: Buffer): string | null {
  const ext = extOf(name).toLowerCase();
  if (ext === '') return FILE_BAD_TYPE;
  if (!sniffAudio(bytes)) return FILE_BAD_TYPE;
  if (!['mp3', 'flac', 'wav'].includes(ext)) return FILE_BAD_TYPE;
  return null;
}

export function statisticOf(t: TelephonyStore, callId: unknown): StatisticRow {
  const row = t.statistics.find((s) => s.callId === phpString(callId));
  if (!row) throw fail('Call is not found in the statistic table. Looks like it is not finished yet.');
  return row;
}

/** Stores the file, replaces an earlier record of the call, attaches it to the call activity. */
export function attachFile(portal: PortalCore, row: StatisticRow, f: Omit<StoredFile, 'id' | 'callId'>): number {
  const t = telephonyOf(portal);
  const file: StoredFile = { ...f, id: t.nextFileId(), callId: row.callId };
  t.files.push(file);
  row.fileId = file.id;
  row.record.CALL_RECORD_ID = file.id;
  if (row.activityId !== null) {
    const act = portal.crm.activityRows.find((x) => x.id === row.activityId);
    if (act?.call) act.call.fileIds = [file.id];
  }
  return file.id;
}

/** Helper::attachRecord (FILENAME + FILE_CONTENT, or FILENAME alone → uploadUrl). */
export function attachRecordContent(portal: PortalCore, callId: unknown, fileName: string, content: unknown, uploadUrl: () => string): Params {
  const t = telephonyOf(portal);
  const row = statisticOf(t, callId);
  if (content === undefined || content === null) return { uploadUrl: uploadUrl(), fieldName: 'file' };
  if (fileName === '') throw fail('File name is empty');
  if (!['wav', 'mp3'].includes(extOf(fileName))) throw fail('Wrong file extension. Only wav and mp3 are allowed');
  const text = phpString(content);
  if (text === '' || text === 'false') throw fail('File content is empty.');
  const bytes = Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (bytes.length === 0) throw fail('File content is not properly encoded. Base64 encoding is expected.');
  const bad = checkRecordFile(fileName, bytes);
  if (bad) throw fail(bad);
  return { FILE_ID: attachFile(portal, row, { name: fileName, size: bytes.length, mime: sniffAudio(bytes)!, bytes, via: 'content', url: null }) };
}

/** Helper::attachRecordWithUrl: the portal GETs the URL itself (SSL verification off); non-200 → error. */
export async function attachRecordUrl(portal: PortalCore, callId: unknown, url: string, fileName: string): Promise<Params> {
  const t = telephonyOf(portal);
  const row = statisticOf(t, callId);
  let path = '';
  try {
    path = new URL(url).pathname;
  } catch {
    path = '';
  }
  const base = (s: string) => s.split('/').filter(Boolean).pop() ?? '';
  const name = fileName !== '' ? base(fileName) : path !== '' ? base(path) : base(url);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? 'NETWORK_ERROR';
    throw fail(`${cause}: Socket connection error.`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw fail(`Server returns HTTP error code ${res.status}`);
  const bad = checkRecordFile(name, bytes);
  if (bad) throw fail(bad);
  return { FILE_ID: attachFile(portal, row, { name, size: bytes.length, mime: sniffAudio(bytes)!, bytes, via: 'url', url }) };
}

// --------------------------------------------------------------------------------------- search

/** Helper::searchCrmEntities: CCrmSipHelper::findByPhoneNumber — one item per type (lowest id), contacts, leads, companies. */
export function searchCrmEntities(portal: PortalCore, phone: string): Params[] {
  const crm = portal.crm;
  const out: Params[] = [];
  for (const type of ['CONTACT', 'LEAD', 'COMPANY'] as const) {
    const ids = crm.findByComm('PHONE', phone, [type]).map(([, id]) => id).sort((x, y) => x - y);
    const id = ids[0];
    if (id === undefined) continue;
    const e = crm.get(type, id)!;
    const assigned = Number(e.fields.ASSIGNED_BY_ID ?? 0);
    const person = `${e.fields.NAME ?? ''} ${e.fields.LAST_NAME ?? ''}`.trim();
    const name = type === 'COMPANY' ? (e.fields.TITLE ?? '') : person || (e.fields.TITLE ?? '');
    const u = portal.crm.directory.users.find((x) => x.id === assigned);
    out.push({
      CRM_ENTITY_TYPE: type,
      CRM_ENTITY_ID: id,
      ASSIGNED_BY_ID: assigned,
      NAME: name,
      ASSIGNED_BY: {
        ID: String(assigned),
        TIMEMAN_STATUS: u?.timeman ?? 'UNAVAILABLE',
        USER_PHONE_INNER: u?.phoneInner ?? null,
        WORK_PHONE: u?.workPhone ?? null,
        PERSONAL_PHONE: null,
        PERSONAL_MOBILE: u?.personalMobile ?? null,
      },
    });
  }
  return out;
}

