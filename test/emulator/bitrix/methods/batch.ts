/**
 * `batch` as CRestProvider::methodsBatch runs it (docs/facts/bitrix24.md#rest-batch):
 * - `cmd` is a map or list of "method?query" strings (non-strings are skipped but still counted);
 * - at most 50 sub-calls, every extra one gets ERROR_BATCH_LENGTH_EXCEEDED in result_error;
 * - nested batch → ERROR_BATCH_METHOD_NOT_ALLOWED; sub-calls run in order with the outer auth;
 * - `$result[key][...]` (also $next/$total/$time/$error) is substituted into later queries;
 * - `halt` stops after the first failing sub-call; empty sections are `[]`.
 */
import qs from 'qs';
import { runMethod } from '../execute';
import { isRecord, phpArray, phpEntries, phpTruthy, upperKeys, type Params } from '../php';
import type { MethodDef, RestCtx } from './registry';

const BATCH_MAX_LENGTH = 50;

type Section = 'result' | 'next' | 'total' | 'time' | 'error';
type Collected = Record<Section, Array<[string, unknown]>>;

/** A value of `$arResult[section]`, walked along `[k1][k2]…` the way processBatchElement does. */
function resolveReference(collected: Collected, section: string, path: string[]): unknown {
  const entries = (collected as Record<string, Array<[string, unknown]>>)[section];
  let r: unknown = entries ? Object.fromEntries(entries) : null;
  for (const key of path) {
    // PHP isset(): stop at the last level that exists (a quirk apps sometimes trip over)
    if ((isRecord(r) || Array.isArray(r)) && (r as Record<string, unknown>)[key] != null) {
      r = (r as Record<string, unknown>)[key];
    } else break;
  }
  return r;
}

function substitute(value: string, collected: Collected): unknown {
  const re = /\$(result|next|total|time|error)([^\s]*)/gi;
  let out: unknown = value;
  for (const m of value.matchAll(re)) {
    const path = [...(m[2] ?? '').matchAll(/\[([^\]]+)\]/g)].map((x) => x[1] ?? '');
    if (path.length === 0) continue;
    const r = resolveReference(collected, m[1] ?? '', path);
    if (m[0] === value) return r;
    if (typeof out !== 'string') continue;
    // embedded: numbers become strings, anything else that is not a string is left as written
    const text = typeof r === 'number' ? String(r) : r;
    if (typeof text !== 'string') continue;
    out = out.replace(m[0], text);
  }
  return out;
}

function substituteDeep(v: unknown, collected: Collected): unknown {
  if (typeof v === 'string') return substitute(v, collected);
  if (Array.isArray(v)) return v.map((x) => substituteDeep(x, collected));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteDeep(x, collected)]));
  return v;
}

async function batch(params: Params, ctx: RestCtx): Promise<Params> {
  const q = upperKeys(params);
  const halt = phpTruthy(q.HALT);
  const collected: Collected = { result: [], next: [], total: [], time: [], error: [] };
  let count = 0;
  for (const [key, call] of phpEntries(q.CMD)) {
    let res: Params;
    if (count++ < BATCH_MAX_LENGTH) {
      if (typeof call !== 'string') continue;
      const qPos = call.indexOf('?');
      const method = qPos < 0 ? call : call.slice(0, qPos);
      const query = qPos < 0 ? '' : call.slice(qPos + 1);
      const parsed = query ? (qs.parse(query, { depth: 20, arrayLimit: 1000, parameterLimit: 10000 }) as Params) : {};
      const subParams = substituteDeep(parsed, collected) as Params;
      if (method.toLowerCase() === 'batch' || method === 'download' || method === 'upload') {
        res = { error: 'ERROR_BATCH_METHOD_NOT_ALLOWED', error_description: 'Method is not allowed for batch usage' };
      } else {
        const name = method.toLowerCase();
        const def = ctx.methods.get(name);
        if (!def) {
          res = { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' };
        } else {
          const start = subParams.start !== undefined ? Number.parseInt(String(subParams.start), 10) || 0 : 0;
          delete subParams.start;
          delete subParams.auth;
          delete subParams.access_token;
          const outcome = await runMethod(def, name, subParams, { ...ctx, start }, ctx.portal.shared.clock.now(), '');
          res = outcome.body;
        }
      }
    } else {
      res = { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' };
    }
    // `$res['error'] = $res;` then every key of $res lands in its section
    if (res.error !== undefined) res = { ...res, error: { ...res } };
    for (const [k, v] of Object.entries(res)) {
      if (k in collected) collected[k as Section].push([key, v]);
    }
    if (phpTruthy(res.error) && halt) break;
  }
  return {
    result: phpArray(collected.result),
    result_error: phpArray(collected.error),
    result_total: phpArray(collected.total),
    result_next: phpArray(collected.next),
    result_time: phpArray(collected.time),
  };
}

export const batchMethods: Record<string, MethodDef> = {
  batch: { scope: '', handler: batch },
};
