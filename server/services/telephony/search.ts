import type { BatchCall, BatchResponse, PortalRestClient } from '../../bitrix/rest-client';
import { MAX_BATCH } from '../../bitrix/rest-client';
import type { CrmEntityType, Found, FoundEntity } from '../../domain/crm-rules/types';
import type { CrmMode } from '../../domain/crm-rules/call-types';

type Row = Record<string, unknown>;
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);
const ids = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number).filter((n) => Number.isInteger(n) && n > 0) : []);
const time = (v: unknown) => {
  const t = Date.parse(String(v ?? ''));
  return Number.isNaN(t) ? 0 : t;
};

/** What the search reads of each entity type besides the mapped «Доп. поля». */
const BASE: Record<CrmEntityType, string[]> = {
  lead: ['ID', 'STATUS_SEMANTIC_ID', 'DATE_CREATE', 'DATE_MODIFY', 'ASSIGNED_BY_ID', 'CONTACT_ID', 'COMPANY_ID'],
  deal: ['ID', 'CLOSED', 'DATE_CREATE', 'DATE_MODIFY', 'ASSIGNED_BY_ID', 'CONTACT_ID', 'COMPANY_ID', 'LEAD_ID'],
  contact: ['ID', 'DATE_CREATE', 'DATE_MODIFY', 'ASSIGNED_BY_ID', 'COMPANY_ID'],
  company: ['ID', 'DATE_CREATE', 'DATE_MODIFY', 'ASSIGNED_BY_ID'],
};

/** Runs commands in as few `batch` requests as they fit in (no halting: each answers for itself). */
export async function batchAll(rest: PortalRestClient, calls: Record<string, BatchCall>): Promise<BatchResponse> {
  const keys = Object.keys(calls);
  const out: BatchResponse = { result: {}, errors: {}, total: {}, next: {} };
  for (let i = 0; i < keys.length; i += MAX_BATCH) {
    const chunk = Object.fromEntries(keys.slice(i, i + MAX_BATCH).map((k) => [k, calls[k]!]));
    const r = await rest.batch(chunk);
    Object.assign(out.result, r.result);
    Object.assign(out.errors, r.errors);
  }
  return out;
}

const chunks = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * The clients of many calls in the portal's CRM at once, by phone: one `crm.duplicate.findbycomm`
 * per number, then the details the rules need of everything found — the items themselves, the
 * leads and deals of found contacts and companies, the deals made from found leads — as list
 * commands shared by all the numbers (each row names its contact/company/lead, so it goes back to
 * its number). Two `batch` requests for any number of calls up to the batch size. `fields`:
 * the mapped text fields to read per entity type («ID первой коммуникации», other telephony).
 */
export async function searchClients(rest: PortalRestClient, phones: readonly string[], fields: Partial<Record<CrmEntityType, string[]>> = {}): Promise<Map<string, Found>> {
  const out = new Map<string, Found>();
  const unique = [...new Set(phones)];
  for (const p of unique) out.set(p, { leads: [], deals: [], contacts: [], companies: [] });
  if (!unique.length) return out;
  const first: Record<string, BatchCall> = {};
  unique.forEach((p, i) => (first[`p${i}`] = { method: 'crm.duplicate.findbycomm', params: { type: 'PHONE', values: [p] } }));
  const a = await batchAll(rest, first);
  failOn(a);
  const direct = new Map<string, { LEAD: number[]; CONTACT: number[]; COMPANY: number[] }>();
  unique.forEach((p, i) => {
    const r = (a.result[`p${i}`] ?? {}) as Row;
    const x = Array.isArray(r) ? {} : r;
    direct.set(p, { LEAD: ids(x.LEAD), CONTACT: ids(x.CONTACT), COMPANY: ids(x.COMPANY) });
  });
  const all = (t: 'LEAD' | 'CONTACT' | 'COMPANY') => [...new Set([...direct.values()].flatMap((d) => d[t]))];
  const [leads, contacts, companies] = [all('LEAD'), all('CONTACT'), all('COMPANY')];
  if (!leads.length && !contacts.length && !companies.length) return out;

  const select = (t: CrmEntityType) => [...BASE[t], ...(fields[t] ?? [])];
  const second: Record<string, BatchCall> = {};
  let n = 0;
  const list = (t: CrmEntityType, filter: Row) => (second[`${t}${n++}`] = { method: `crm.${t}.list`, params: { filter, select: select(t), order: { DATE_CREATE: 'DESC' } } });
  for (const c of chunks(leads, 20)) {
    list('lead', { '@ID': c });
    list('deal', { '@LEAD_ID': c });
  }
  for (const c of chunks(contacts, 20)) {
    list('contact', { '@ID': c });
    list('lead', { '@CONTACT_ID': c });
    list('deal', { '@CONTACT_ID': c });
  }
  for (const c of chunks(companies, 20)) {
    list('company', { '@ID': c });
    list('lead', { '@COMPANY_ID': c });
    list('deal', { '@COMPANY_ID': c });
  }
  const b = await batchAll(rest, second);
  failOn(b);
  const found: Record<CrmEntityType, Row[]> = { lead: [], deal: [], contact: [], company: [] };
  for (const [key, v] of Object.entries(b.result)) {
    const type = (['lead', 'deal', 'contact', 'company'] as const).find((t) => key.startsWith(t) && /^\d+$/.test(key.slice(t.length)));
    if (type) found[type].push(...rows(v));
  }
  const entity = (t: CrmEntityType, r: Row): FoundEntity => {
    const assigned = Number(r.ASSIGNED_BY_ID);
    const closed = t === 'lead' ? r.STATUS_SEMANTIC_ID === 'S' || r.STATUS_SEMANTIC_ID === 'F' : t === 'deal' ? r.CLOSED === 'Y' : false;
    const mapped: Record<string, string | null> = {};
    for (const f of fields[t] ?? []) mapped[f] = r[f] === undefined || r[f] === null ? null : String(r[f]);
    return { id: Number(r.ID), closed, createdAt: time(r.DATE_CREATE), responsibleId: Number.isInteger(assigned) && assigned > 0 ? assigned : null, modifiedAt: time(r.DATE_MODIFY) || undefined, fields: mapped };
  };
  const add = (into: FoundEntity[], e: FoundEntity) => {
    if (e.id > 0 && !into.some((x) => x.id === e.id)) into.push(e);
  };
  for (const [phone, d] of direct) {
    const f = out.get(phone)!;
    const has = (v: unknown, list: number[]) => list.includes(Number(v));
    for (const r of found.contact) if (has(r.ID, d.CONTACT)) add(f.contacts, entity('contact', r));
    for (const r of found.company) if (has(r.ID, d.COMPANY)) add(f.companies, entity('company', r));
    for (const r of found.lead) if (has(r.ID, d.LEAD) || has(r.CONTACT_ID, d.CONTACT) || has(r.COMPANY_ID, d.COMPANY)) add(f.leads, entity('lead', r));
    for (const r of found.deal) if (has(r.LEAD_ID, d.LEAD) || has(r.CONTACT_ID, d.CONTACT) || has(r.COMPANY_ID, d.COMPANY)) add(f.deals, entity('deal', r));
  }
  return out;
}

/** `crm.settings.mode.get`: 1 classic (leads), 2 simple (deals + contacts only). */
export function crmModeOf(result: unknown): CrmMode {
  return Number(result) === 2 ? 'simple' : 'classic';
}

function failOn(r: BatchResponse): void {
  const [key, e] = Object.entries(r.errors)[0] ?? [];
  if (key && e) throw Object.assign(new Error(`Bitrix24 refused the client search (${key}): ${e.error_description || e.error}`), { code: 'CRM_SEARCH_FAILED' });
}
