/**
 * placement.bind / unbind / get / list, in the order of checks of rest/lib/api/placement.php
 * (docs/facts/bitrix24.md#placements): admin → PLACEMENT type → empty/DEFAULT → HANDLER → URL check →
 * code known in the token's scopes → user mode → max count → duplicate (ERROR_CORE).
 * Bindings exist at once but stay invisible until installFinish (docs/facts/bitrix24.md#install-finish) — the host page and
 * openApp() enforce that, not these methods.
 */
import { PLACEMENTS, scopeGranted } from '../catalog';
import { accessDenied, argumentNull, argumentType, checkHandlerUrl, RestError } from '../errors';
import { isRecord, phpEntries, phpInt, phpString, phpTruthy, upperKeys, type Params } from '../php';
import type { LangItem, PlacementRow } from '../types';
import type { MethodDef, RestCtx } from './registry';

function requireAdmin(ctx: RestCtx): void {
  if (!ctx.user.admin) throw accessDenied();
}

function available(ctx: RestCtx, scopes: readonly string[] | null): string[] {
  return Object.entries(PLACEMENTS)
    .filter(([, info]) => scopes === null || scopeGranted(info.scope, scopes))
    .map(([code]) => code);
}

/** The portal's language list starts with its own language: a Russian portal. */
const DEFAULT_LANG = 'ru';

export function titleOf(row: Pick<PlacementRow, 'langAll' | 'title'>, lang: string): string {
  return row.langAll[lang]?.TITLE || row.langAll[DEFAULT_LANG]?.TITLE || row.title;
}

function bind(params: Params, ctx: RestCtx): true {
  requireAdmin(ctx);
  const p = upperKeys(params);
  if (typeof p.PLACEMENT !== 'string') throw argumentType('PLACEMENT', 'string');
  const placement = p.PLACEMENT.toUpperCase();
  const handler = phpString(p.HANDLER);
  // [SRC] these three pass a sentence as the "parameter" name; the wire shows it verbatim
  if (placement === '') throw argumentNull('The placement code is not specified');
  if (placement === 'DEFAULT') throw argumentNull('The placement code has an incorrect value');
  if (handler === '') throw argumentNull('The URL of the placement handler is not specified');
  checkHandlerUrl(handler);
  const info = PLACEMENTS[placement];
  if (!info || !available(ctx, ctx.scopes).includes(placement)) {
    throw new RestError('ERROR_PLACEMENT_NOT_FOUND', 'Placement not found');
  }
  const userId = phpInt(p.USER_ID) > 0 ? phpInt(p.USER_ID) : 0;
  if (userId !== 0 && info.userMode !== true) {
    throw new RestError('ERROR_PLACEMENT_USER_MODE', 'User mode is not available.');
  }
  const langAll: Record<string, LangItem> = {};
  if (!phpTruthy(p.LANG_ALL)) {
    const item: Partial<LangItem> = {};
    if (phpTruthy(p.TITLE)) item.TITLE = phpString(p.TITLE).trim();
    if (phpTruthy(p.DESCRIPTION)) item.DESCRIPTION = phpString(p.DESCRIPTION).trim();
    if (phpTruthy(p.GROUP_NAME)) item.GROUP_NAME = phpString(p.GROUP_NAME).trim();
    if (Object.keys(item).length > 0) {
      langAll[DEFAULT_LANG] = { TITLE: item.TITLE ?? '', DESCRIPTION: item.DESCRIPTION ?? '', GROUP_NAME: item.GROUP_NAME ?? '' };
    }
  } else {
    for (const [lang, raw] of phpEntries(p.LANG_ALL)) {
      const v = isRecord(raw) ? raw : {};
      langAll[lang] = {
        TITLE: phpString(v.TITLE).trim(),
        DESCRIPTION: phpString(v.DESCRIPTION).trim(),
        GROUP_NAME: phpString(v.GROUP_NAME).trim(),
      };
    }
  }
  const rows = ctx.portal.placements;
  if (info.maxCount !== undefined && rows.filter((r) => r.placement === placement).length >= info.maxCount) {
    throw new RestError('ERROR_PLACEMENT_MAX_COUNT', `Placement max count: ${info.maxCount}`);
  }
  // PlacementTable uniqueness: app + placement + handler (+ user)
  if (rows.some((r) => r.placement === placement && r.handler === handler && r.userId === userId)) {
    throw new RestError('ERROR_CORE', 'Unable to set placement handler: Handler already binded');
  }
  // no TITLE and no LANG_ALL → the app name is shown (docs/facts/bitrix24.md#placements)
  if (Object.keys(langAll).length === 0) {
    langAll[DEFAULT_LANG] = { TITLE: ctx.portal.shared.app.name, DESCRIPTION: '', GROUP_NAME: '' };
  }
  const row: PlacementRow = {
    id: ctx.portal.nextId(),
    placement,
    handler,
    userId,
    options: [], // OPTIONS are ignored for LEFT_MENU, CRM tabs, CONTACT_CENTER (docs/facts/bitrix24.md#placements)
    title: '',
    description: '',
    langAll,
  };
  row.title = titleOf(row, DEFAULT_LANG);
  row.description = langAll[DEFAULT_LANG]?.DESCRIPTION ?? '';
  rows.push(row);
  return true;
}

function unbind(params: Params, ctx: RestCtx): Params {
  requireAdmin(ctx);
  const p = upperKeys(params);
  if (typeof p.PLACEMENT !== 'string') throw argumentType('PLACEMENT', 'string');
  const placement = p.PLACEMENT.toUpperCase();
  if (placement === '') throw argumentNull('PLACEMENT');
  const handler = phpString(p.HANDLER);
  let count = 0;
  if (PLACEMENTS[placement]) {
    const keep: PlacementRow[] = [];
    for (const r of ctx.portal.placements) {
      const hit =
        r.placement === placement &&
        (handler === '' || r.handler === handler) &&
        (p.USER_ID === undefined || r.userId === phpInt(p.USER_ID));
      if (hit) count++;
      else keep.push(r);
    }
    ctx.portal.placements = keep;
  }
  return { count };
}

function get(_params: Params, ctx: RestCtx): unknown[] {
  requireAdmin(ctx);
  return ctx.portal.placements.map((r) => ({
    id: r.id,
    placement: r.placement,
    userId: r.userId,
    handler: r.handler,
    options: r.options,
    title: r.title,
    description: r.description,
    langAll: r.langAll,
  }));
}

function list(params: Params, ctx: RestCtx): string[] {
  const p = upperKeys(params);
  if (p.SCOPE !== undefined) {
    const scope = phpString(p.SCOPE);
    if (scope !== '') return Object.entries(PLACEMENTS).filter(([, i]) => i.scope === scope).map(([c]) => c);
    return Object.entries(PLACEMENTS).filter(([, i]) => i.scope === '').map(([c]) => c);
  }
  if (phpTruthy(p.FULL)) return available(ctx, null);
  return available(ctx, ctx.scopes);
}

export const placementMethods: Record<string, MethodDef> = {
  'placement.bind': { scope: 'placement', handler: bind },
  'placement.unbind': { scope: 'placement', handler: unbind },
  'placement.get': { scope: 'placement', handler: get },
  'placement.list': { scope: 'placement', handler: list },
};
