/**
 * PHP value semantics the portal's REST layer exposes on the wire. The real server is PHP, so
 * "truthy", "empty" and "array → JSON" follow PHP rules, not JavaScript ones
 * (docs/facts/bitrix24.md#rest-envelope: empty PHP arrays serialise as `[]`).
 */
import { createHash, randomBytes } from 'node:crypto';

export type Params = Record<string, unknown>;

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');
export const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** PHP `empty()`: '', '0', 0, null, false and empty arrays are empty. */
export function phpEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === '0' || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isRecord(v)) return Object.keys(v).length === 0;
  return false;
}

/** PHP truthiness (note: the string "false" is true in PHP, as on the real portal). */
export const phpTruthy = (v: unknown): boolean => !phpEmpty(v);

/** PHP `intval()` for scalars. */
export function phpInt(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const m = /^\s*[+-]?\d+/.exec(v);
    return m ? Number.parseInt(m[0], 10) : 0;
  }
  return 0;
}

/** PHP string cast for scalars ('' for null/arrays). */
export function phpString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v === true) return '1';
  return '';
}

/** `array_change_key_case($a, CASE_UPPER)` on a params object (non-objects become `{}`). */
export function upperKeys(v: unknown): Params {
  const out: Params = {};
  if (Array.isArray(v)) v.forEach((x, i) => (out[String(i)] = x));
  else if (isRecord(v)) for (const [k, x] of Object.entries(v)) out[k.toUpperCase()] = x;
  return out;
}

export function lowerKeys(v: unknown): Params {
  const out: Params = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) out[k.toLowerCase()] = x;
  return out;
}

/** Recursive upper-casing of keys (imconnector's Converter TO_UPPER|KEYS|RECURSIVE, docs/facts/bitrix24.md#imconnector-register). */
export function upperKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(upperKeysDeep);
  if (!isRecord(v)) return v;
  const out: Params = {};
  for (const [k, x] of Object.entries(v)) out[k.toUpperCase()] = upperKeysDeep(x);
  return out;
}

/**
 * An ordered PHP array as JSON: a list when its keys are exactly 0..n-1 in order, an object
 * otherwise, and `[]` when empty (docs/facts/bitrix24.md#rest-envelope, docs/facts/bitrix24.md#rest-batch "Empty sections are []").
 */
export function phpArray(entries: ReadonlyArray<readonly [string, unknown]>): unknown[] | Params {
  if (entries.every(([k], i) => k === String(i))) return entries.map(([, v]) => v);
  const out: Params = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** An object that PHP would have rendered as `[]` when empty. */
export const phpObject = (o: Params): Params | unknown[] => (Object.keys(o).length === 0 ? [] : o);

/** Entries of a PHP-style array given as a JS array or object, in order. */
export function phpEntries(v: unknown): Array<[string, unknown]> {
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  if (isRecord(v)) return Object.entries(v);
  return [];
}

/** The portal's time zone: a Russian cloud portal answers in Moscow time (+03:00). */
const PORTAL_OFFSET_MIN = 180;

/** PHP `date('c')` in the portal's time zone. */
export function isoDate(ms: number): string {
  const d = new Date(ms + PORTAL_OFFSET_MIN * 60_000);
  return `${d.toISOString().slice(0, 19)}+03:00`;
}
