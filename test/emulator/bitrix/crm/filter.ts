/**
 * Legacy CRM list filters and ordering (docs/facts/bitrix24.md#crm-lead), following main's CSQLWhere:
 * the key prefix picks the operation (`=` identical, none = LIKE without wildcards, `%` substring,
 * `!` not-LIKE, `!=`, `!%`, `>` `>=` `<` `<=`, `@`/`!@` IN, `><`/`!><` between, `=%`/`%=` LIKE
 * with the caller's wildcards); MySQL compares text case-insensitively. An array value with an
 * equality operation means IN. Unknown fields are ignored (CCrmLead::GetListEx drops them).
 * Multifields (PHONE, EMAIL, WEB, IM) match when any value matches; phones also by digits.
 */
import { isRecord, phpEntries, phpString } from '../php';
import { fieldDef, isDateType, isNumericType, type FieldType } from './fields';
import type { CrmEntity, EntityType, MultiFieldType } from './types';

const OPERATIONS: ReadonlyArray<readonly [string, string]> = [
  ['!><', 'NB'],
  ['!=%', 'NM'],
  ['!%=', 'NM'],
  ['!==', 'SN'],
  ['!=', 'NI'],
  ['!%', 'NS'],
  ['><', 'B'],
  ['>=', 'GE'],
  ['<=', 'LE'],
  ['=%', 'M'],
  ['%=', 'M'],
  ['!@', 'NIN'],
  ['==', 'SE'],
  ['=', 'I'],
  ['%', 'S'],
  ['>', 'G'],
  ['<', 'L'],
  ['!', 'N'],
  ['@', 'IN'],
];

export function splitOperation(key: string): { op: string; field: string } {
  for (const [prefix, op] of OPERATIONS) if (key.startsWith(prefix)) return { op, field: key.slice(prefix.length) };
  return { op: 'E', field: key };
}

const FM_FILTERS: readonly MultiFieldType[] = ['PHONE', 'EMAIL', 'WEB', 'IM'];

type Kind = 'number' | 'date' | 'text';

function kindOf(t: FieldType): Kind {
  if (isNumericType(t)) return 'number';
  if (isDateType(t)) return 'date';
  return 'text';
}

/** Dates arrive as ISO 8601 or as the portal's `dd.mm.yyyy[ hh:mm:ss]`. */
export function parseDate(v: string): number {
  const ru = /^(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v.trim());
  if (ru) {
    const [, d, m, y, hh = '00', mm = '00', ss = '00'] = ru;
    return Date.parse(`${y}-${m}-${d}T${hh}:${mm}:${ss}+03:00`);
  }
  return Date.parse(v);
}

const digits = (s: string): string => s.replace(/\D+/g, '');

function likeToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('%')
    .map((part) => part.split('_').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

function compare(kind: Kind, have: string, want: string): number {
  if (kind === 'number') return Number(have) - Number(want);
  if (kind === 'date') return parseDate(have) - parseDate(want);
  return have.toLowerCase().localeCompare(want.toLowerCase());
}

/** One value against one wanted scalar, for the positive operations. */
function matchOne(kind: Kind, op: string, have: string | null, want: string, phone: boolean): boolean {
  if (have === null || have === '') {
    if (['E', 'I', 'SE'].includes(op)) return want === '' || (kind === 'number' && want === '0');
    return false;
  }
  switch (op) {
    case 'E':
      if (kind !== 'text') return compare(kind, have, want) === 0;
      if (phone && digits(want) !== '' && digits(have) === digits(want)) return true;
      return want.includes('%') ? likeToRegExp(want).test(have) : have.toLowerCase() === want.toLowerCase();
    case 'I':
    case 'SE':
      if (kind !== 'text') return compare(kind, have, want) === 0;
      return have.toLowerCase() === want.toLowerCase() || (phone && digits(want) !== '' && digits(have) === digits(want));
    case 'S':
      return have.toLowerCase().includes(want.toLowerCase());
    case 'M':
      return likeToRegExp(want).test(have);
    case 'G':
      return compare(kind, have, want) > 0;
    case 'GE':
      return compare(kind, have, want) >= 0;
    case 'L':
      return compare(kind, have, want) < 0;
    case 'LE':
      return compare(kind, have, want) <= 0;
    default:
      return false;
  }
}

const NEGATIONS: Record<string, string> = { N: 'E', NI: 'I', NS: 'S', NM: 'M', NIN: 'IN', NB: 'B', SN: 'SE' };

function scalarValues(v: unknown): string[] {
  if (Array.isArray(v) || isRecord(v)) return phpEntries(v).map(([, x]) => phpString(x));
  return [phpString(v)];
}

/** Values of a field on an entity: one scalar, several for multifields and deal contacts. */
function valuesOf(e: CrmEntity, field: string): { values: Array<string | null>; kind: Kind; phone: boolean } | null {
  if ((FM_FILTERS as readonly string[]).includes(field)) {
    const values = e.fm.filter((m) => m.typeId === field).map((m) => m.value);
    return { values: values.length ? values : [null], kind: 'text', phone: field === 'PHONE' };
  }
  if (field.startsWith('UF_')) {
    const v = e.uf[field];
    const list = Array.isArray(v) ? v.map((x) => phpString(x)) : [v === undefined || v === null ? null : phpString(v)];
    return { values: list.length ? list : [null], kind: 'text', phone: false };
  }
  if (e.type === 'DEAL' && field === 'CONTACT_ID') {
    return { values: e.contactIds.length ? e.contactIds.map(String) : [null], kind: 'number', phone: false };
  }
  const def = fieldDef(e.type, field);
  if (!def) return null;
  return { values: [e.fields[field] ?? null], kind: kindOf(def.type), phone: false };
}

function positive(op: string, kind: Kind, have: Array<string | null>, want: unknown, phone: boolean): boolean {
  if (op === 'IN') {
    const list = Array.isArray(want) || isRecord(want) ? scalarValues(want) : phpString(want).split(',');
    return have.some((h) => list.some((w) => matchOne(kind, 'I', h, w.trim(), phone)));
  }
  if (op === 'B') {
    const [lo = '', hi = ''] = scalarValues(want);
    return have.some((h) => h !== null && h !== '' && compare(kind, h, lo) >= 0 && compare(kind, h, hi) <= 0);
  }
  if ((Array.isArray(want) || isRecord(want)) && ['E', 'I', 'SE', 'S'].includes(op)) {
    const list = scalarValues(want);
    return have.some((h) => list.some((w) => matchOne(kind, op, h, w, phone)));
  }
  const w = phpString(want);
  return have.some((h) => matchOne(kind, op, h, w, phone));
}

export type EntityPredicate = (e: CrmEntity) => boolean;

/** Compiles a `filter` parameter; nested numeric keys with LOGIC=OR are supported. */
export function compileFilter(type: EntityType, filter: unknown): EntityPredicate {
  if (!isRecord(filter) && !Array.isArray(filter)) return () => true;
  const entries = phpEntries(filter);
  const logic = entries.find(([k]) => k.toUpperCase() === 'LOGIC')?.[1];
  const tests: EntityPredicate[] = [];
  for (const [rawKey, want] of entries) {
    if (rawKey.toUpperCase() === 'LOGIC') continue;
    if (/^\d+$/.test(rawKey)) {
      tests.push(compileFilter(type, want));
      continue;
    }
    const { op, field: rawField } = splitOperation(rawKey);
    const field = rawField.toUpperCase();
    const base = NEGATIONS[op];
    tests.push((e) => {
      const got = valuesOf(e, field);
      if (!got) return true; // unknown field: ignored
      if (base) return !positive(base, got.kind, got.values, want, got.phone);
      return positive(op, got.kind, got.values, want, got.phone);
    });
  }
  if (phpString(logic).toUpperCase() === 'OR') return (e) => tests.length === 0 || tests.some((t) => t(e));
  return (e) => tests.every((t) => t(e));
}

/** `order: {FIELD: 'ASC'|'DESC'}`; NULLs first ascending (MySQL); ties by ID. */
export function sortEntities(rows: CrmEntity[], order: unknown): CrmEntity[] {
  const keys: Array<[string, number]> = [];
  if (isRecord(order)) {
    for (const [k, d] of Object.entries(order)) keys.push([k.toUpperCase(), phpString(d).toUpperCase() === 'DESC' ? -1 : 1]);
  }
  return [...rows].sort((a, b) => {
    for (const [field, dir] of keys) {
      const x = valuesOf(a, field);
      const y = valuesOf(b, field);
      if (!x || !y) continue;
      const hx = x.values[0] ?? null;
      const hy = y.values[0] ?? null;
      if (hx === hy) continue;
      if (hx === null || hx === '') return -dir;
      if (hy === null || hy === '') return dir;
      const c = compare(x.kind, hx, hy);
      if (c !== 0) return c * dir;
    }
    return a.id - b.id;
  });
}
