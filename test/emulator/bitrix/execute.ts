/**
 * Runs one method and wraps its answer the way CRestServer::processResponse does
 * (docs/facts/bitrix24.md#rest-envelope): `{result, next?, total?, time}`; a method that returns its own
 * `{error, error_description}` goes out as-is with HTTP 200; RestError → its status and body.
 * Shared by the HTTP router and batch (whose sub-calls also get their own `time`).
 */
import { RestError, insufficientScope, operationTimeLimit } from './errors';
import { isRecord, isoDate, type Params } from './php';
import { scopeGranted } from './catalog';
import { ListResult, type MethodDef, type RestCtx } from './methods/registry';

export interface MethodOutcome {
  status: number;
  body: Params;
}

/** The `time` block (docs/facts/bitrix24.md#rest-envelope); `operating` / `operating_reset_at` come from the method's meter (operating.ts). */
function timeBlock(ctx: RestCtx, method: string, startMs: number, procStartMs: number, procEndMs: number, methodSec: number): Params {
  const finishMs = ctx.portal.shared.clock.now();
  const processing = Math.max(0, procEndMs - procStartMs) / 1000 + methodSec;
  return {
    start: startMs / 1000,
    finish: finishMs / 1000 + methodSec,
    duration: Math.max(0, finishMs - startMs) / 1000 + methodSec,
    processing,
    date_start: isoDate(startMs),
    date_finish: isoDate(finishMs + methodSec * 1000),
    ...ctx.portal.operating.timeFields(method, startMs),
  };
}

export function methodScopeGranted(def: MethodDef, scopes: readonly string[]): boolean {
  const list = typeof def.scope === 'string' ? [def.scope] : def.scope;
  return list.some((s) => scopeGranted(s, scopes));
}

export async function runMethod(
  def: MethodDef,
  method: string,
  params: Params,
  ctx: RestCtx,
  startMs: number,
  scopeErrorDescription = 'The request requires higher privileges than provided by the access token',
): Promise<MethodOutcome> {
  if (!methodScopeGranted(def, ctx.scopes)) {
    const e = insufficientScope(scopeErrorDescription);
    return { status: e.status, body: e.body() };
  }
  // LoadLimiter::is, in processCall: before the method runs, also for a batch's sub-calls (docs/facts/bitrix24.md#rest-limits)
  if (ctx.portal.operating.blocked(method)) {
    const e = operationTimeLimit();
    return { status: e.status, body: e.body() };
  }
  const clock = ctx.portal.shared.clock;
  const procStart = clock.now();
  let value: unknown;
  try {
    value = await def.handler(params, ctx);
  } catch (err) {
    if (err instanceof RestError) return { status: err.status, body: err.body() };
    // An emulator bug: fail loudly instead of pretending to be the portal.
    const message = err instanceof Error ? err.message : String(err);
    return { status: 500, body: { error: 'INTERNAL_SERVER_ERROR', error_description: `emulator: ${message}` } };
  }
  const procEnd = clock.now();
  const methodSec = ctx.portal.operating.methodTime(method);
  // the configured time only: how long the emulator itself took says nothing about a portal
  ctx.portal.operating.register(method, procStart, methodSec);
  if (isRecord(value) && value.error && value.error_description) return { status: 200, body: value };
  const body: Params = {};
  if (value instanceof ListResult) {
    body.result = value.items;
    if (value.next !== undefined) body.next = value.next;
    if (value.total !== undefined) body.total = value.total;
  } else {
    body.result = value === undefined ? null : value;
  }
  body.time = timeBlock(ctx, method, startMs, procStart, procEnd, methodSec);
  return { status: 200, body };
}
