import type { Found, FoundEntity, RequestFacts } from '../../domain/crm-rules/types';
import type { BatchCall, PortalRestClient } from '../../bitrix/rest-client';
import { AppError } from '../../domain/errors';

type Row = Record<string, unknown>;
const ids = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number).filter((n) => Number.isInteger(n) && n > 0) : []);
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);

function entity(r: Row, closed: boolean): FoundEntity {
  const t = Date.parse(String(r.DATE_CREATE ?? ''));
  const assigned = Number(r.ASSIGNED_BY_ID);
  return { id: Number(r.ID), closed, createdAt: Number.isNaN(t) ? 0 : t, responsibleId: Number.isInteger(assigned) && assigned > 0 ? assigned : null };
}

const list = (method: string, filter: Row, select: string[]): BatchCall => ({ method, params: { filter, select, order: { DATE_CREATE: 'DESC' } } });

/**
 * The client in the portal's CRM by the chat's phones and e-mails, in two `batch` requests:
 * `crm.duplicate.findbycomm` (leads, contacts, companies with that phone/e-mail, as Bitrix24's own
 * duplicate control compares them), then the details the rules need (open/closed, created, responsible)
 * of those entities plus the leads and deals of the found contacts/companies and the deals made
 * from the found leads. 50 newest per list are enough: the rules pick the newest.
 */
export async function searchClient(rest: PortalRestClient, f: RequestFacts): Promise<Found> {
  const found: Found = { leads: [], deals: [], contacts: [], companies: [] };
  const first: Record<string, BatchCall> = {};
  if (f.visitor.phones.length) first.phone = { method: 'crm.duplicate.findbycomm', params: { type: 'PHONE', values: f.visitor.phones.slice(0, 20) } };
  if (f.visitor.emails.length) first.email = { method: 'crm.duplicate.findbycomm', params: { type: 'EMAIL', values: f.visitor.emails.slice(0, 20) } };
  if (!Object.keys(first).length) return found;
  const a = await rest.batch(first);
  failOn(a.errors);
  const by = { LEAD: new Set<number>(), CONTACT: new Set<number>(), COMPANY: new Set<number>() };
  for (const r of Object.values(a.result)) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) continue;
    for (const t of ['LEAD', 'CONTACT', 'COMPANY'] as const) ids((r as Row)[t]).forEach((id) => by[t].add(id));
  }
  const [leads, contacts, companies] = [[...by.LEAD], [...by.CONTACT], [...by.COMPANY]];
  if (!leads.length && !contacts.length && !companies.length) return found;

  const second: Record<string, BatchCall> = {};
  const L = ['ID', 'STATUS_SEMANTIC_ID', 'DATE_CREATE', 'ASSIGNED_BY_ID'];
  const D = ['ID', 'CLOSED', 'DATE_CREATE', 'ASSIGNED_BY_ID'];
  const P = ['ID', 'DATE_CREATE', 'ASSIGNED_BY_ID'];
  if (leads.length) {
    second.leads = list('crm.lead.list', { '@ID': leads }, L);
    second.dealsOfLeads = list('crm.deal.list', { '@LEAD_ID': leads }, D);
  }
  if (contacts.length) {
    second.contacts = list('crm.contact.list', { '@ID': contacts }, P);
    second.leadsOfContacts = list('crm.lead.list', { '@CONTACT_ID': contacts }, L);
    second.dealsOfContacts = list('crm.deal.list', { '@CONTACT_ID': contacts }, D);
  }
  if (companies.length) {
    second.companies = list('crm.company.list', { '@ID': companies }, P);
    second.leadsOfCompanies = list('crm.lead.list', { '@COMPANY_ID': companies }, L);
    second.dealsOfCompanies = list('crm.deal.list', { '@COMPANY_ID': companies }, D);
  }
  const b = await rest.batch(second);
  failOn(b.errors);
  const add = (into: FoundEntity[], e: FoundEntity) => {
    if (e.id > 0 && !into.some((x) => x.id === e.id)) into.push(e);
  };
  // a lead is closed once converted or junked: STATUS_SEMANTIC_ID S / F (docs/facts/bitrix24.md#crm-events)
  for (const k of ['leads', 'leadsOfContacts', 'leadsOfCompanies']) for (const r of rows(b.result[k])) add(found.leads, entity(r, r.STATUS_SEMANTIC_ID === 'S' || r.STATUS_SEMANTIC_ID === 'F'));
  for (const k of ['dealsOfLeads', 'dealsOfContacts', 'dealsOfCompanies']) for (const r of rows(b.result[k])) add(found.deals, entity(r, r.CLOSED === 'Y'));
  for (const r of rows(b.result.contacts)) add(found.contacts, entity(r, false));
  for (const r of rows(b.result.companies)) add(found.companies, entity(r, false));
  return found;
}

function failOn(errors: Record<string, { error: string; error_description: string }>): void {
  const [key, e] = Object.entries(errors)[0] ?? [];
  if (key && e) throw new AppError('CRM_SEARCH_FAILED', `Bitrix24 refused the client search (${key}): ${e.error_description || e.error}`, 502);
}
