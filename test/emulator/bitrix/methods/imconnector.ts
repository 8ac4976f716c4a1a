/**
 * imconnector.register / unregister / list / activate / status / connector.data.set
 * (docs/facts/bitrix24.md#imconnector-register; imconnector/lib/rest/{customconnectors,status,common}.php).
 *
 * Wire quirk kept on purpose: register/unregister report failures by *returning*
 * `{result:false, error, error_description}`; CRestServer::processResponse passes a returned
 * array with non-empty `error` + `error_description` through unchanged, so the HTTP 200 body is
 * exactly that object at top level (no `time`). Success is `{"result":{"result":true}}`.
 */
import { BUILTIN_CONNECTORS } from '../catalog';
import { argumentNull, RestError } from '../errors';
import { isRecord, phpInt, phpString, phpTruthy, upperKeys, upperKeysDeep, type Params } from '../php';
import type { ConnectorRow, LineStatus } from '../types';
import type { MethodDef, RestCtx } from './registry';

const FLAG_KEYS = [
  'DEL_EXTERNAL_MESSAGES',
  'EDIT_INTERNAL_MESSAGES',
  'DEL_INTERNAL_MESSAGES',
  'NEWSLETTER',
  'NEED_SYSTEM_MESSAGES',
  'NEED_SIGNATURE',
  'CHAT_GROUP',
  'COMMENT',
];

const fail = (error: string, description: string): Params => ({ result: false, error, error_description: description });

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && phpTruthy(v);
}

/** Finds or creates the SETTING_CONNECTOR placement row for a handler (Helper::registerPlacement). */
function settingPlacement(ctx: RestCtx, handler: string, name: string): number {
  const existing = ctx.portal.placements.find((r) => r.placement === 'SETTING_CONNECTOR' && r.handler === handler);
  if (existing) return existing.id;
  const id = ctx.portal.nextId();
  ctx.portal.placements.push({
    id,
    placement: 'SETTING_CONNECTOR',
    handler,
    userId: 0,
    options: [],
    title: name,
    description: '',
    langAll: { ru: { TITLE: name, DESCRIPTION: '', GROUP_NAME: '' } },
  });
  return id;
}

function dropPlacementIfUnused(ctx: RestCtx, placementId: number): void {
  const used = [...ctx.portal.connectors.values()].some((c) => c.placementId === placementId);
  if (!used) ctx.portal.placements = ctx.portal.placements.filter((r) => r.id !== placementId);
}

function register(params: Params, ctx: RestCtx): Params {
  const p = upperKeysDeep(params) as Params;
  const icon = isRecord(p.ICON) ? p.ICON : {};
  if (typeof p.ID === 'string' && p.ID.includes('.')) {
    return fail('APPLICATION_REGISTRATION_ERROR_POINT', 'The connector ID must not contain a dot.');
  }
  if (!nonEmptyString(p.ID)) return fail('CONNECTOR_ID_REQUIRED', 'The connector ID is required.');
  if (!nonEmptyString(p.NAME)) return fail('NAME_REQUIRED', 'The connector name is required.');
  if (!nonEmptyString(icon.DATA_IMAGE)) return fail('ICON_REQUIRED', 'The connector icon is required.');
  if (!nonEmptyString(p.PLACEMENT_HANDLER)) {
    return fail('NO_PLACEMENT_HANDLER', 'The connector settings page (PLACEMENT_HANDLER) is required.');
  }
  const id = p.ID.toLowerCase();
  const flags: Params = {};
  for (const k of FLAG_KEYS) if (p[k] !== undefined) flags[k] = p[k];
  const previous = ctx.portal.connectors.get(id);
  const placementId = settingPlacement(ctx, p.PLACEMENT_HANDLER, p.NAME);
  const row: ConnectorRow = {
    id,
    name: p.NAME,
    icon,
    iconDisabled: isRecord(p.ICON_DISABLED) ? p.ICON_DISABLED : (previous?.iconDisabled ?? null),
    placementHandler: p.PLACEMENT_HANDLER,
    placementId,
    flags: { ...(previous?.flags ?? {}), ...flags },
  };
  ctx.portal.connectors.set(id, row); // same ID again = update (docs/facts/bitrix24.md#imconnector-register)
  if (previous && previous.placementId !== placementId) dropPlacementIfUnused(ctx, previous.placementId);
  return { result: true };
}

function unregister(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  const id = phpString(p.ID).toLowerCase();
  const row = id ? ctx.portal.connectors.get(id) : undefined;
  if (!row) return fail('APPLICATION_UNREGISTRATION_ERROR', 'Failed to unregister the connector.');
  ctx.portal.connectors.delete(id);
  dropPlacementIfUnused(ctx, row.placementId);
  for (const key of [...ctx.portal.lines.keys()]) if (key.startsWith(`${id}|`)) ctx.portal.lines.delete(key);
  return { result: true };
}

function list(_params: Params, ctx: RestCtx): Params {
  // needs the right to modify connectors; the portal answers 400, not 403
  if (!ctx.user.admin) throw new RestError('ACCESS_DENIED', 'You dont have access to this action', 400);
  const out: Params = { ...BUILTIN_CONNECTORS };
  for (const c of ctx.portal.connectors.values()) out[c.id] = c.name;
  return out;
}

const lineKey = (connector: string, line: number): string => `${connector}|${line}`;

function activate(params: Params, ctx: RestCtx): boolean {
  const p = upperKeys(params);
  if (p.CONNECTOR === undefined || p.CONNECTOR === null) throw argumentNull('CONNECTOR');
  if (p.LINE === undefined || p.LINE === null) throw argumentNull('LINE');
  if (p.ACTIVE === undefined || p.ACTIVE === null) throw argumentNull('ACTIVE');
  const connector = phpString(p.CONNECTOR);
  const line = phpInt(p.LINE);
  const key = lineKey(connector, line);
  if (phpTruthy(p.ACTIVE)) {
    const status: LineStatus = ctx.portal.lines.get(key) ?? { active: false, connection: false, register: false, error: false, data: {} };
    Object.assign(status, { active: true, connection: true, register: true, error: false });
    ctx.portal.lines.set(key, status);
  } else {
    const existed = ctx.portal.lines.delete(key);
    // [SRC] deleting the status fires OnImConnectorStatusDelete (lower-case keys, docs/facts/bitrix24.md#imconnector-events)
    if (existed) ctx.portal.emit('ONIMCONNECTORSTATUSDELETE', { connector, line: String(line) }, ctx.user.id);
  }
  return true;
}

function status(params: Params, ctx: RestCtx): Params {
  const p = upperKeys(params);
  if (p.CONNECTOR === undefined || p.CONNECTOR === null) throw argumentNull('CONNECTOR');
  const connector = phpString(p.CONNECTOR);
  const line = phpInt(p.LINE);
  const s = ctx.portal.lines.get(lineKey(connector, line));
  const configured = !!s && s.active && s.connection;
  return {
    LINE: line,
    CONNECTOR: connector,
    ERROR: s?.error ?? false,
    CONFIGURED: configured,
    STATUS: configured && !!s && s.register && !s.error,
  };
}

function dataSet(params: Params, ctx: RestCtx): true {
  const p = upperKeys(params);
  if (p.CONNECTOR === undefined) throw argumentNull('CONNECTOR');
  if (p.LINE === undefined) throw argumentNull('LINE');
  if (p.DATA === undefined) throw argumentNull('DATA');
  const connector = phpString(p.CONNECTOR);
  const key = lineKey(connector, phpInt(p.LINE));
  const d = upperKeys(p.DATA);
  const data: Params = { connector_id: connector };
  for (const [from, to] of [['ID', 'id'], ['URL', 'url'], ['URL_IM', 'url_im'], ['NAME', 'name']] as const) {
    if (phpTruthy(d[from])) data[to] = d[from];
  }
  const s = ctx.portal.lines.get(key) ?? { active: false, connection: false, register: false, error: false, data: {} };
  s.data = { ...s.data, ...data }; // [SRC] merges into the stored data
  ctx.portal.lines.set(key, s);
  return true;
}

export const imconnectorMethods: Record<string, MethodDef> = {
  'imconnector.register': { scope: 'imopenlines', handler: register },
  'imconnector.unregister': { scope: 'imopenlines', handler: unregister },
  'imconnector.list': { scope: 'imopenlines', handler: list },
  'imconnector.activate': { scope: 'imopenlines', handler: activate },
  'imconnector.status': { scope: 'imopenlines', handler: status },
  'imconnector.connector.data.set': { scope: 'imopenlines', handler: dataSet },
};

/** The line flags as SETTING_CONNECTOR's PLACEMENT_OPTIONS reports them (docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#connector-settings-page). */
export function connectorPlacementOptions(lines: ReadonlyMap<string, LineStatus>, connector: string, line: number): Params {
  const s = lines.get(lineKey(connector, line));
  const active = !!s?.active;
  const connection = !!s?.connection;
  const registered = !!s?.register;
  const error = !!s?.error;
  return {
    CONNECTOR: connector,
    LINE: String(line),
    STATUS: active && connection && registered && !error,
    ACTIVE_STATUS: active,
    CONNECTION_STATUS: connection,
    REGISTER_STATUS: registered,
    ERROR_STATUS: error,
    URI: `/contact_center/connector/?ID=${connector}&LINE=${line}&IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`,
  };
}
