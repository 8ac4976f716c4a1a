/**
 * Always-available basics (docs/facts/bitrix24.md#production-facts; rest_provider.php): app.info, profile,
 * user.current, scope, methods, method.get, server.time, feature.get, app/user options.
 */
import { ALL_SCOPES } from '../catalog';
import { accessDenied, argumentNull, RestError } from '../errors';
import { methodScopeGranted } from '../execute';
import { isoDate, isRecord, phpEmpty, phpObject, phpTruthy, upperKeys, type Params } from '../php';
import type { MethodDef, RestCtx } from './registry';

function profile(_p: Params, ctx: RestCtx): Params {
  const u = ctx.user;
  // rest_provider.php getProfile: ID comes straight from the DB row, i.e. a string.
  return { ID: String(u.id), ADMIN: u.admin, NAME: u.name, LAST_NAME: u.lastName, PERSONAL_GENDER: '', TIME_ZONE: '' };
}

function userCurrent(_p: Params, ctx: RestCtx): Params {
  const u = ctx.user;
  const registered = isoDate(Date.UTC(2024, 0, 10, 6, 0, 0));
  const now = isoDate(ctx.portal.shared.clock.now());
  return {
    ID: String(u.id),
    XML_ID: '',
    ACTIVE: true,
    NAME: u.name,
    LAST_NAME: u.lastName,
    SECOND_NAME: '',
    EMAIL: u.email,
    LAST_LOGIN: now,
    DATE_REGISTER: registered,
    TIME_ZONE: '',
    IS_ONLINE: 'Y',
    TIMESTAMP_X: registered,
    LAST_ACTIVITY_DATE: now,
    PERSONAL_GENDER: '',
    PERSONAL_BIRTHDAY: '',
    UF_DEPARTMENT: [1],
    USER_TYPE: 'employee',
  };
}

function listScope(p: Params, ctx: RestCtx): string[] {
  return phpTruthy(upperKeys(p).FULL) ? [...ALL_SCOPES] : [...ctx.scopes];
}

function listMethods(p: Params, ctx: RestCtx): string[] {
  const q = upperKeys(p);
  const out: string[] = [];
  for (const [name, def] of ctx.methods) {
    const scopes = typeof def.scope === 'string' ? [def.scope] : def.scope;
    if (q.SCOPE !== undefined && q.SCOPE !== '') {
      if (scopes.includes(String(q.SCOPE))) out.push(name);
    } else if (phpTruthy(q.FULL) || methodScopeGranted(def, ctx.scopes)) out.push(name);
  }
  return out;
}

function methodGet(p: Params, ctx: RestCtx): Params {
  const name = typeof p.name === 'string' ? p.name.toLowerCase() : '';
  const def = name ? ctx.methods.get(name) : undefined;
  return { isExisting: !!def, isAvailable: !!def && methodScopeGranted(def, ctx.scopes) };
}

function requireInstall(ctx: RestCtx) {
  const install = ctx.portal.install;
  if (!install) throw accessDenied('Application context required');
  return install;
}

function appOptionGet(p: Params, ctx: RestCtx): unknown {
  const options = requireInstall(ctx).appOptions;
  if (p.option !== undefined) return options[String(p.option)] ?? null;
  return phpObject(options);
}

/** `options{key:value}` or the keys at top level; admin only (docs/facts/bitrix24.md#production-facts). */
function optionsParam(p: Params): Params {
  const raw = p.options !== undefined ? p.options : p;
  if (!isRecord(raw) || Object.keys(raw).length === 0) throw argumentNull('options');
  return raw;
}

function appOptionSet(p: Params, ctx: RestCtx): true {
  const install = requireInstall(ctx);
  const options = optionsParam(p);
  if (!ctx.user.admin) throw accessDenied('Administrator authorization required');
  Object.assign(install.appOptions, options);
  return true;
}

function userOptionGet(p: Params, ctx: RestCtx): unknown {
  const options = requireInstall(ctx).userOptions.get(ctx.user.id) ?? {};
  if (p.option !== undefined) return options[String(p.option)] ?? null;
  return phpObject(options);
}

function userOptionSet(p: Params, ctx: RestCtx): true {
  const install = requireInstall(ctx);
  const options = optionsParam(p);
  install.userOptions.set(ctx.user.id, { ...(install.userOptions.get(ctx.user.id) ?? {}), ...options });
  return true;
}

function featureGet(p: Params): Params {
  const code = upperKeys(p).CODE;
  if (phpEmpty(code)) throw new RestError('CODE_EMPTY', "CODE can't be empty");
  // A Professional-plan portal: offline reserve/confirm mode is available (docs/facts/bitrix24.md#event-delivery).
  return { value: ['rest_offline_extended', 'rest_auth_connector'].includes(String(code)) ? 'Y' : 'N' };
}

export const systemMethods: Record<string, MethodDef> = {
  'app.info': { scope: '', handler: (_p, ctx) => ctx.portal.appInfo() },
  profile: { scope: '', handler: profile },
  'user.current': { scope: ['user', 'user_brief', 'user_basic'], handler: userCurrent },
  'user.admin': { scope: '', handler: (_p, ctx) => ctx.user.admin },
  scope: { scope: '', handler: listScope },
  methods: { scope: '', handler: listMethods },
  'method.get': { scope: '', handler: methodGet },
  'server.time': { scope: '', handler: (_p, ctx) => isoDate(ctx.portal.shared.clock.now()) },
  'feature.get': { scope: '', handler: featureGet },
  'app.option.get': { scope: '', handler: appOptionGet },
  'app.option.set': { scope: '', handler: appOptionSet },
  'user.option.get': { scope: '', handler: userOptionGet },
  'user.option.set': { scope: '', handler: userOptionSet },
};
