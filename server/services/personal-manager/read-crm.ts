import type { BatchCall, PortalRestClient } from '../../bitrix/rest-client';
import { phoneDigits } from '../../domain/phone';
import type { CrmEntityType } from '../../domain/crm-rules/types';
import { batchAll } from '../telephony/search';
import type { PmEntity, PmRef } from './ports';

type Row = Record<string, unknown>;
const TYPES: readonly CrmEntityType[] = ['contact', 'company', 'lead', 'deal'];

/** What the map needs of each item (crm.*.list `select`; PHONE is a multifield, listed only when named). */
const SELECT: Record<CrmEntityType, string[]> = {
  contact: ['ID', 'ASSIGNED_BY_ID', 'DATE_CREATE', 'COMPANY_ID', 'PHONE'],
  company: ['ID', 'ASSIGNED_BY_ID', 'DATE_CREATE', 'PHONE'],
  lead: ['ID', 'ASSIGNED_BY_ID', 'DATE_CREATE', 'STATUS_SEMANTIC_ID', 'CONTACT_ID', 'COMPANY_ID', 'PHONE'],
  deal: ['ID', 'ASSIGNED_BY_ID', 'DATE_CREATE', 'CLOSED', 'CONTACT_ID', 'COMPANY_ID', 'LEAD_ID'],
};
/** A list page holds 50 rows: a filter on ≤ 50 ids needs no paging. */
const PAGE = 50;

const id = (v: unknown): number | null => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : null;
};
const time = (v: unknown) => {
  const t = Date.parse(String(v ?? ''));
  return Number.isNaN(t) ? 0 : t;
};
const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** A crm.*.list row → the map's item. */
export function toPmEntity(type: CrmEntityType, r: Row): PmEntity | null {
  const entityId = id(r.ID);
  if (entityId === null) return null;
  const phones = (Array.isArray(r.PHONE) ? (r.PHONE as Row[]) : []).map((p) => phoneDigits(typeof p?.VALUE === 'string' ? p.VALUE : null)).filter((p): p is string => !!p);
  const closed = type === 'lead' ? r.STATUS_SEMANTIC_ID === 'S' || r.STATUS_SEMANTIC_ID === 'F' : type === 'deal' ? r.CLOSED === 'Y' : false;
  return {
    type,
    id: entityId,
    responsibleId: id(r.ASSIGNED_BY_ID),
    closed,
    createdAt: time(r.DATE_CREATE),
    contactId: type === 'lead' || type === 'deal' ? id(r.CONTACT_ID) : null,
    companyId: type === 'company' ? null : id(r.COMPANY_ID),
    leadId: type === 'deal' ? id(r.LEAD_ID) : null,
    phones: [...new Set(phones)],
  };
}

function listCall(type: CrmEntityType, filter: Row): BatchCall {
  return { method: `crm.${type}.list`, params: { filter, select: SELECT[type], order: { ID: 'ASC' } } };
}

function collect(result: Record<string, unknown>): PmEntity[] {
  const out = new Map<string, PmEntity>();
  for (const [key, v] of Object.entries(result)) {
    const type = TYPES.find((t) => key.startsWith(`${t}_`));
    if (!type || !Array.isArray(v)) continue;
    for (const r of v as Row[]) {
      const e = toPmEntity(type, r);
      if (e) out.set(`${type}:${e.id}`, e);
    }
  }
  return [...out.values()];
}

function failOn(errors: Record<string, { error: string; error_description: string }>): void {
  const [key, e] = Object.entries(errors)[0] ?? [];
  if (key && e) throw Object.assign(new Error(`Bitrix24 refused a CRM read (${key}): ${e.error_description || e.error}`), { code: 'CRM_READ_FAILED' });
}

/**
 * Reads these items as they are now (one `batch` of `crm.*.list` by id for up to 50 × 50 items):
 * what Bitrix24 lists is current; what it does not list is gone (deleted — or merged away).
 * Reading instead of trusting an event's order is what makes late, reordered or lost events harmless.
 */
export async function readItems(rest: PortalRestClient, refs: readonly PmRef[]): Promise<{ entities: PmEntity[]; gone: PmRef[] }> {
  const calls: Record<string, BatchCall> = {};
  let n = 0;
  for (const type of TYPES) {
    const ids = [...new Set(refs.filter((r) => r.type === type).map((r) => r.id))];
    for (const c of chunks(ids, PAGE)) calls[`${type}_${n++}`] = listCall(type, { '@ID': c });
  }
  if (!n) return { entities: [], gone: [] };
  const r = await batchAll(rest, calls);
  failOn(r.errors);
  const entities = collect(r.result);
  const seen = new Set(entities.map((e) => `${e.type}:${e.id}`));
  return { entities, gone: refs.filter((x) => !seen.has(`${x.type}:${x.id}`)) };
}

/**
 * The live lookup of one number, as `searchClients` reaches: `crm.duplicate.findbycomm`, then in
 * one `batch` the items found and the leads and deals of those contacts, companies and leads.
 */
export async function readClient(rest: PortalRestClient, phone: string): Promise<PmEntity[]> {
  const dup = await rest.call<Row | unknown[]>('crm.duplicate.findbycomm', { type: 'PHONE', values: [phone] });
  const d = Array.isArray(dup.result) ? {} : (dup.result ?? {});
  const ids = (v: unknown) => (Array.isArray(v) ? v.map(id).filter((x): x is number => x !== null) : []).slice(0, 20);
  const [leads, contacts, companies] = [ids(d.LEAD), ids(d.CONTACT), ids(d.COMPANY)];
  if (!leads.length && !contacts.length && !companies.length) return [];
  const calls: Record<string, BatchCall> = {};
  let n = 0;
  const add = (type: CrmEntityType, filter: Row) => (calls[`${type}_${n++}`] = listCall(type, filter));
  const plan: Array<[CrmEntityType, string, number[]]> = [
    ['contact', '@ID', contacts],
    ['lead', '@CONTACT_ID', contacts],
    ['deal', '@CONTACT_ID', contacts],
    ['company', '@ID', companies],
    ['lead', '@COMPANY_ID', companies],
    ['deal', '@COMPANY_ID', companies],
    ['lead', '@ID', leads],
    ['deal', '@LEAD_ID', leads],
  ];
  for (const [type, key, list] of plan) if (list.length) add(type, { [key]: list });
  const r = await rest.batch(calls);
  failOn(r.errors);
  return collect(r.result);
}

/**
 * One step of the first full read of a type: up to 50 list pages (2,500 items) after `afterId` in
 * ID order, in one `batch` (`start` pages within the same `>ID` filter). `done` when fewer came.
 */
export async function readPage(rest: PortalRestClient, type: CrmEntityType, afterId: number): Promise<{ entities: PmEntity[]; lastId: number; done: boolean }> {
  const calls: Record<string, BatchCall> = {};
  for (let k = 0; k < 50; k++) calls[`${type}_${k}`] = { method: `crm.${type}.list`, params: { filter: { '>ID': afterId }, select: SELECT[type], order: { ID: 'ASC' }, start: k * PAGE } };
  const r = await rest.batch(calls);
  failOn(r.errors);
  const entities = collect(r.result);
  const lastId = entities.reduce((m, e) => Math.max(m, e.id), afterId);
  return { entities, lastId, done: entities.length < 50 * PAGE };
}
