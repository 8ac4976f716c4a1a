/**
 * The `get` verb's common parameters (Data API §"Критерии фильтрации", §"Сортировка данных",
 * §"Постраничный вывод", §"Представление возвращаемых данных"): filter (simple or nested trees),
 * sort, limit (default 1000, max 10 000), offset (max 100 000), fields; `total_items` counts the
 * filtered rows before paging.
 */
import { rpc } from './errors';

type Row = Record<string, unknown>;

export interface QuerySpec {
  /** every field a row may have (and `fields` may name) */
  known: readonly string[];
  /** what a row shows when `fields` is absent; default: all known */
  defaults?: readonly string[];
  filterable: readonly string[];
  sortable: readonly string[];
}

const OPERATORS = ['=', '!=', '<', '>', '<=', '>=', 'like', 'ilike', 'not_like', 'not_ilike', 'regexp', 'in', 'not_in', 'is_null', 'is_not_null', 'overlap', 'not_overlap'];

const isRecord = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

function likeRe(pattern: string, ci: boolean): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, ci ? 'is' : 's');
}

function checkFilter(f: unknown, spec: QuerySpec, depth = 0): void {
  if (!isRecord(f)) throw rpc.invalidValue('filter', f);
  if ('filters' in f) {
    if (!Array.isArray(f.filters) || depth > 5) throw rpc.invalidValue('filter.filters', f.filters);
    if (f.condition !== undefined && f.condition !== 'and' && f.condition !== 'or') throw rpc.invalidValue('filter.condition', f.condition);
    for (const sub of f.filters) checkFilter(sub, spec, depth + 1);
    return;
  }
  if (typeof f.field !== 'string') throw rpc.required('filter.field');
  if (!spec.known.includes(f.field)) throw rpc.unexpected('filter.field');
  if (!spec.filterable.includes(f.field)) throw rpc.filterProhibited(f.field);
  if (typeof f.operator !== 'string' || !OPERATORS.includes(f.operator)) throw rpc.invalidValue('filter.operator', f.operator);
  if ((f.operator === 'in' || f.operator === 'not_in') && !Array.isArray(f.value)) throw rpc.invalidValue('filter.value', f.value);
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

function matches(row: Row, f: Row): boolean {
  if ('filters' in f) {
    const subs = f.filters as Row[];
    return f.condition === 'or' ? subs.some((s) => matches(row, s)) : subs.every((s) => matches(row, s));
  }
  const v = row[f.field as string];
  const x = f.value;
  switch (f.operator) {
    case '=':
      return x === null ? v === null : v === x || (typeof v === 'number' && Number(x) === v && x !== '');
    case '!=':
      return x === null ? v !== null : !(v === x || (typeof v === 'number' && Number(x) === v));
    case '<':
      return compare(v, x) < 0;
    case '>':
      return compare(v, x) > 0;
    case '<=':
      return compare(v, x) <= 0;
    case '>=':
      return compare(v, x) >= 0;
    case 'like':
    case 'ilike':
      return typeof v === 'string' && likeRe(String(x), f.operator === 'ilike').test(v);
    case 'not_like':
    case 'not_ilike':
      return !(typeof v === 'string' && likeRe(String(x), f.operator === 'not_ilike').test(v));
    case 'regexp':
      return typeof v === 'string' && new RegExp(String(x)).test(v);
    case 'in':
      return (x as unknown[]).includes(v);
    case 'not_in':
      return !(x as unknown[]).includes(v);
    case 'is_null':
      return v === null || v === undefined;
    case 'is_not_null':
      return v !== null && v !== undefined;
    case 'overlap':
      return Array.isArray(v) && v.includes(x);
    case 'not_overlap':
      return !(Array.isArray(v) && v.includes(x));
    default:
      return false;
  }
}

function intParam(params: Row, key: string, min: number, max: number, dflt: number): number {
  const v = params[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw rpc.dataType(key, v);
  if (v < min || v > max) throw rpc.invalidValue(key, v, { min, max });
  return v;
}

/** Applies filter/sort/paging/fields; returns the page and the filtered total. */
export function runQuery(rows: Row[], params: Row, spec: QuerySpec): { data: Row[]; total: number } {
  const limit = intParam(params, 'limit', 1, 10_000, 1000);
  const offset = intParam(params, 'offset', 0, 100_000, 0);
  let fields = spec.defaults ?? spec.known;
  if (params.fields !== undefined && params.fields !== null) {
    if (!Array.isArray(params.fields) || params.fields.some((f) => typeof f !== 'string')) throw rpc.dataType('fields', params.fields);
    for (const f of params.fields as string[]) if (!spec.known.includes(f)) throw rpc.unexpected(`fields.${f}`);
    fields = params.fields as string[];
  }
  let out = rows;
  if (params.filter !== undefined && params.filter !== null) {
    checkFilter(params.filter, spec);
    out = out.filter((r) => matches(r, params.filter as Row));
  }
  if (params.sort !== undefined && params.sort !== null) {
    if (!Array.isArray(params.sort)) throw rpc.dataType('sort', params.sort);
    const sorts = params.sort.map((s, i) => {
      if (!isRecord(s) || typeof s.field !== 'string') throw rpc.invalidValue(`sort.${i}.field`, s);
      if (!spec.known.includes(s.field)) throw rpc.unexpected(`sort.${i}.field`);
      if (!spec.sortable.includes(s.field)) throw rpc.sortProhibited(s.field);
      if (s.order !== undefined && s.order !== 'asc' && s.order !== 'desc') throw rpc.invalidValue(`sort.${i}.order`, s.order);
      return { field: s.field, dir: s.order === 'desc' ? -1 : 1 };
    });
    out = [...out].sort((a, b) => {
      for (const s of sorts) {
        const c = compare(a[s.field], b[s.field]) * s.dir;
        if (c) return c;
      }
      return 0;
    });
  }
  const total = out.length;
  const page = out.slice(offset, offset + limit).map((r) => Object.fromEntries(fields.map((f) => [f, r[f] ?? null])));
  return { data: page, total };
}
