/**
 * event.* and event.offline.* in the order of checks of rest/lib/api/event.php
 * (docs/facts/bitrix24.md#event-delivery). Names are stored upper-case; uniqueness is
 * app + event + handler + auth_type user + connector; duplicates → ERROR_CORE.
 */
import { EVENTS, scopeGranted } from '../catalog';
import { accessDenied, argumentError, argumentNull, checkHandlerUrl, RestError } from '../errors';
import { isoDate, isRecord, phpEntries, phpInt, phpString, phpTruthy, randomHex, upperKeys, lowerKeys, type Params } from '../php';
import type { EventRow, OfflineRow } from '../types';
import { page, type MethodDef, type RestCtx } from './registry';

const TYPES = ['online', 'offline'];

function eventType(q: Params): 'online' | 'offline' {
  const t = phpString(q.EVENT_TYPE).toLowerCase();
  if (t === '') return 'online';
  if (!TYPES.includes(t)) throw argumentError('Value must be one of {online|offline}', 'EVENT_TYPE');
  return t as 'online' | 'offline';
}

function eventsList(params: Params, ctx: RestCtx): string[] {
  const q = upperKeys(params);
  const names = Object.entries(EVENTS);
  if (q.SCOPE !== undefined && q.SCOPE !== '') return names.filter(([, i]) => i.scope === q.SCOPE).map(([n]) => n);
  if (phpTruthy(q.FULL)) return names.map(([n]) => n);
  return names.filter(([, i]) => scopeGranted(i.scope, ctx.scopes)).map(([n]) => n);
}

function bind(params: Params, ctx: RestCtx): true {
  const q = upperKeys(params);
  const admin = ctx.user.admin;
  const name = phpString(q.EVENT).toUpperCase();
  let handler = phpString(q.HANDLER);
  let userId = phpInt(q.AUTH_TYPE);
  if (userId > 0) {
    if (!admin && userId !== ctx.user.id) {
      throw accessDenied('Event binding with AUTH_TYPE requires administrator access rights');
    }
  } else if (!admin) userId = ctx.user.id;
  if (name === '') throw argumentNull('EVENT');
  const type = eventType(q);
  if (type === 'offline') {
    if (!admin) throw accessDenied('Offline events binding requires administrator access rights');
    handler = '';
    userId = 0;
  } else if (handler === '') throw argumentNull('HANDLER');
  if (handler !== '') checkHandlerUrl(handler);
  const info = EVENTS[name];
  if (!info || !scopeGranted(info.scope, ctx.scopes)) throw new RestError('ERROR_EVENT_NOT_FOUND', 'Event not found');
  if (handler === '' && info.disableOffline) {
    throw new RestError('ERROR_ARGUMENT', 'Offline event cannot be registered for this event.');
  }
  const options: Params = {};
  if (isRecord(q.OPTIONS) && info.allowOptions) {
    for (const [code, t] of Object.entries(info.allowOptions)) {
      const v = q.OPTIONS[code];
      if (v === undefined) continue;
      if (t === 'int') options[code] = phpInt(v);
      else if (typeof v === 'string') options[code] = v;
    }
  }
  const rows = ctx.portal.events;
  if (rows.some((r) => r.event === name && r.handler === handler && r.userId === userId && r.connectorId === '')) {
    throw new RestError('ERROR_CORE', 'Unable to set event handler: Handler already binded');
  }
  const row: EventRow = { id: ctx.portal.nextId(), event: name, handler, userId, connectorId: '', offline: handler === '', options };
  rows.push(row);
  return true;
}

function unbind(params: Params, ctx: RestCtx): Params {
  const q = upperKeys(params);
  const admin = ctx.user.admin;
  const name = phpString(q.EVENT).toUpperCase();
  if (name === '') throw argumentNull('EVENT');
  const type = eventType(q);
  let handler = phpString(q.HANDLER);
  let userFilter: number | null = null;
  if (type === 'offline') {
    if (!admin) throw accessDenied('Offline events unbinding requires administrator access rights');
    handler = '';
  } else {
    if (handler === '') throw argumentNull('HANDLER');
    if (q.AUTH_TYPE !== undefined) {
      // [SRC] compares the raw query value with an int using !==, so a non-admin passing
      // AUTH_TYPE as a string is always refused
      if (!admin && q.AUTH_TYPE !== ctx.user.id) {
        throw accessDenied('Event unbinding with AUTH_TYPE requires administrator access rights');
      }
      userFilter = phpInt(q.AUTH_TYPE);
    } else if (!admin) userFilter = ctx.user.id;
  }
  let count = 0;
  ctx.portal.events = ctx.portal.events.filter((r) => {
    const hit =
      r.event === name &&
      r.handler === handler &&
      (type === 'offline' ? r.connectorId === '' : userFilter === null || r.userId === userFilter);
    if (hit) count++;
    return !hit;
  });
  return { count };
}

function get(_params: Params, ctx: RestCtx): unknown[] {
  const rows = ctx.user.admin ? ctx.portal.events : ctx.portal.events.filter((r) => r.userId === ctx.user.id);
  return rows.map((r) =>
    r.handler !== ''
      ? { event: r.event, handler: r.handler, auth_type: String(r.userId), offline: 0 }
      : { event: r.event, connector_id: r.connectorId, offline: 1 },
  );
}

function test(_params: Params, ctx: RestCtx): number {
  ctx.portal.emit('ONAPPTEST', { QUERY: [] }, ctx.user.id);
  return 1;
}

// ---- offline queue (docs/facts/bitrix24.md#event-delivery) ----

function requireAdmin(ctx: RestCtx): void {
  if (!ctx.user.admin) throw accessDenied();
}

const FILTER_FIELDS = ['ID', 'TIMESTAMP_X', 'EVENT_NAME', 'MESSAGE_ID'];

function fieldValue(r: OfflineRow, field: string): string | number {
  switch (field) {
    case 'ID':
      return r.id;
    case 'TIMESTAMP_X':
      return r.ts;
    case 'EVENT_NAME':
      return r.event;
    case 'MESSAGE_ID':
      return r.messageId;
    case 'PROCESS_ID':
      return r.processId;
    default:
      return r.error;
  }
}

/** sanitizeFilter: `[op]FIELD` with = ! > >= < <=; unknown fields are refused. */
function compileFilter(filter: unknown, fields: readonly string[]): (r: OfflineRow) => boolean {
  if (filter === undefined || filter === '') return () => true;
  if (!isRecord(filter) && !Array.isArray(filter)) {
    throw new RestError('ERROR_ARGUMENT', 'The filter is not an array.');
  }
  const tests: Array<(r: OfflineRow) => boolean> = [];
  for (const [key, raw] of phpEntries(filter)) {
    const m = /^(=|!=|!|>=|<=|>|<)?(.+)$/.exec(key);
    const op = m?.[1] ?? '=';
    const field = (m?.[2] ?? '').toUpperCase();
    if (!fields.includes(field)) throw new RestError('ERROR_ARGUMENT', `Filter field not allowed: ${field}`);
    const want = field === 'TIMESTAMP_X' ? Date.parse(phpString(raw)) : field === 'ID' ? phpInt(raw) : phpString(raw);
    tests.push((r) => {
      const have = fieldValue(r, field);
      switch (op) {
        case '!':
        case '!=':
          return have !== want;
        case '>':
          return have > want;
        case '<':
          return have < want;
        case '>=':
          return have >= want;
        case '<=':
          return have <= want;
        default:
          return have === want;
      }
    });
  }
  return (r) => tests.every((t) => t(r));
}

function sortRows(rows: OfflineRow[], order: unknown, fallback: Params): OfflineRow[] {
  const o = isRecord(order) ? order : fallback;
  const keys = Object.entries(o).map(([k, d]) => [k.toUpperCase(), phpString(d).toUpperCase() === 'DESC' ? -1 : 1] as const);
  return [...rows].sort((a, b) => {
    for (const [k, dir] of keys) {
      const x = fieldValue(a, k);
      const y = fieldValue(b, k);
      if (x !== y) return (x < y ? -1 : 1) * dir;
    }
    return a.id - b.id;
  });
}

function offlineView(r: OfflineRow, withProcess: boolean): Params {
  const view: Params = {
    ID: r.id,
    TIMESTAMP_X: isoDate(r.ts),
    EVENT_NAME: r.event,
    EVENT_DATA: r.data,
    EVENT_ADDITIONAL: r.additional,
    MESSAGE_ID: r.messageId,
  };
  if (withProcess) {
    view.PROCESS_ID = r.processId;
    view.ERROR = r.error;
  }
  return view;
}

function offlineGet(params: Params, ctx: RestCtx): Params {
  requireAdmin(ctx);
  const q = lowerKeys(params);
  const clear = q.clear === undefined ? 1 : phpInt(q.clear);
  const limit = q.limit === undefined ? 50 : phpInt(q.limit);
  if (limit <= 0) throw argumentError('Value must be positive integer', 'LIMIT');
  const wantErrors = phpInt(q.error) === 1 ? 1 : 0;
  const match = compileFilter(q.filter, FILTER_FIELDS);
  let processId = q.process_id === undefined ? null : phpString(q.process_id).trim();
  let returnProcessId = !clear;
  const portal = ctx.portal;
  if (processId === null) {
    // markEvents: reserve up to `limit` free rows for a new process (parallel callers get disjoint rows)
    processId = randomHex(16);
    const free = sortRows(
      portal.offline.filter((r) => r.processId === '' && r.error === wantErrors && match(r)),
      q.order,
      { TIMESTAMP_X: 'ASC' },
    ).slice(0, limit);
    for (const r of free) r.processId = processId;
  } else returnProcessId = true;
  const pid = processId;
  const rows = sortRows(
    portal.offline.filter((r) => r.processId === pid && r.error === wantErrors && match(r)),
    q.order,
    { TIMESTAMP_X: 'ASC' },
  ).slice(0, limit);
  const events = rows.map((r) => offlineView(r, false));
  if (clear && rows.length > 0) portal.offline = portal.offline.filter((r) => r.processId !== pid);
  return { process_id: returnProcessId ? processId : null, events };
}

function offlineClear(params: Params, ctx: RestCtx): true {
  requireAdmin(ctx);
  const q = lowerKeys(params);
  if (q.process_id === undefined) throw argumentNull('PROCESS_ID');
  const pid = phpString(q.process_id).trim();
  let pick: (r: OfflineRow) => boolean = () => true;
  if (q.message_id !== undefined) {
    if (!Array.isArray(q.message_id) && !isRecord(q.message_id)) {
      throw argumentError('Value must be array of MESSAGE_ID values', 'message_id');
    }
    const ids = phpEntries(q.message_id).map(([, v]) => phpString(v).trim());
    if (ids.some((id) => id.length !== 32)) throw argumentError('Value must be array of MESSAGE_ID values', 'messsage_id');
    pick = (r) => ids.includes(r.messageId);
  } else if (q.id !== undefined) {
    if (!Array.isArray(q.id) && !isRecord(q.id)) throw argumentError('Value must be array of integers', 'id');
    const ids = phpEntries(q.id).map(([, v]) => phpInt(v));
    if (ids.some((id) => id <= 0)) throw argumentError('Value must be array of integers', 'id');
    pick = (r) => ids.includes(r.id);
  }
  ctx.portal.offline = ctx.portal.offline.filter((r) => !(r.processId === pid && pick(r)));
  return true;
}

function offlineError(params: Params, ctx: RestCtx): true {
  requireAdmin(ctx);
  const q = lowerKeys(params);
  if (q.process_id === undefined) throw argumentNull('PROCESS_ID');
  if (!Array.isArray(q.message_id) && !isRecord(q.message_id)) {
    throw argumentError('Value must be array of MESSAGE_ID values', 'message_id');
  }
  const pid = phpString(q.process_id).trim();
  const ids = phpEntries(q.message_id).map(([, v]) => phpString(v));
  for (const r of ctx.portal.offline) if (r.processId === pid && ids.includes(r.messageId)) r.error = 1;
  return true;
}

function offlineList(params: Params, ctx: RestCtx) {
  requireAdmin(ctx);
  const q = lowerKeys(params);
  const fields = [...FILTER_FIELDS, 'PROCESS_ID', 'ERROR'];
  const match = compileFilter(q.filter, fields);
  const rows = sortRows(ctx.portal.offline.filter(match), q.order, { ID: 'ASC' });
  return page(rows, Math.max(0, ctx.start), (r) => offlineView(r, true));
}

export const eventMethods: Record<string, MethodDef> = {
  events: { scope: '', handler: eventsList },
  'event.bind': { scope: '', handler: bind },
  'event.unbind': { scope: '', handler: unbind },
  'event.get': { scope: '', handler: get },
  'event.test': { scope: '', handler: test },
  'event.offline.get': { scope: '', handler: offlineGet },
  'event.offline.clear': { scope: '', handler: offlineClear },
  'event.offline.error': { scope: '', handler: offlineError },
  'event.offline.list': { scope: '', handler: offlineList },
};
