/**
 * The shape of a REST method as the portal dispatches it: a scope (the token must hold it, docs/facts/bitrix24.md#production-facts)
 * and a handler of (params, context). Handlers throw RestError for failures.
 */
import type { Params } from '../php';
import type { PortalCore, User } from '../types';

export interface RestCtx {
  portal: PortalCore;
  user: User;
  scopes: readonly string[];
  /** the `start` paging parameter, removed from params like the portal does (docs/facts/bitrix24.md#rest-paging) */
  start: number;
  methods: ReadonlyMap<string, MethodDef>;
}

export interface MethodDef {
  /** '' = global (always available); several = any of them */
  scope: string | readonly string[];
  handler: (params: Params, ctx: RestCtx) => unknown;
}

/** A list page: `total` always, `next` only when more rows exist (docs/facts/bitrix24.md#rest-paging). */
export class ListResult {
  constructor(
    readonly items: unknown,
    /** absent with start=-1 (no counting, docs/facts/bitrix24.md#rest-paging) */
    readonly total?: number,
    readonly next?: number,
  ) {}
}

export const PAGE_SIZE = 50;

/** IRestService::setNavData for an in-memory list. */
export function page<T>(rows: readonly T[], start: number, map: (row: T) => unknown = (r) => r): ListResult {
  if (start < 0) return new ListResult(rows.slice(0, PAGE_SIZE).map(map));
  const slice = rows.slice(start, start + PAGE_SIZE).map(map);
  const next = start + slice.length < rows.length ? start + slice.length : undefined;
  return new ListResult(slice, rows.length, next);
}
