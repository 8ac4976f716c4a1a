/**
 * How the portal finds the CRM items of a call (yuliai/bitrix-modules @ a3a2a579):
 * - crm/lib/integrity/actualentityselector.php `search()`: by phone, the "actual" company and
 *   contact (ranked: with open deals first, then the latest modified), a lead only when neither was
 *   found; the company's / contact's open deals, else their return-customer leads;
 *   `setEntity()` for a known item;
 * - crm/lib/activity/bindingselector.php `findBindings()`: company deals (or RC leads) + company;
 *   the contact (only without a company, or when it is the contact's company) with its open deals
 *   (or RC leads) — the call activity is bound to these; a lead only when nothing else;
 * - the entity order of getEntities() (PRIMARY_SORT): contact 10, lead 30, company 40 — the first is
 *   the call's primary entity (`CRM_ENTITY_TYPE/ID` of register and finish);
 * - crm/classes/general/sip_helper.php `findByPhoneNumber()`: at most one item per type, the lowest
 *   id, contacts then leads then companies (searchCrmEntities).
 */
import type { CrmStore } from '../crm/store';
import type { CrmEntity, EntityType } from '../crm/types';
import { OWNER_TYPE_ID } from '../crm/types';
import type { Binding } from './store';

export interface Selection {
  contactId: number | null;
  companyId: number | null;
  leadId: number | null;
  contactCompanyId: number | null;
  companyDeals: number[];
  contactDeals: number[];
  companyRcLeads: number[];
  contactRcLeads: number[];
  /** deals set through setEntity(DEAL) */
  deals: number[];
}

const empty = (): Selection => ({ contactId: null, companyId: null, leadId: null, contactCompanyId: null, companyDeals: [], contactDeals: [], companyRcLeads: [], contactRcLeads: [], deals: [] });

const modified = (e: CrmEntity): string => e.fields.DATE_MODIFY ?? '';
const byRecent = (a: CrmEntity, b: CrmEntity) => (modified(b) > modified(a) ? 1 : modified(b) < modified(a) ? -1 : b.id - a.id);

function openDealsOf(crm: CrmStore, type: 'CONTACT' | 'COMPANY', id: number): number[] {
  return crm
    .all('DEAL')
    .filter((d) => d.fields.STAGE_SEMANTIC_ID === 'P' && (type === 'CONTACT' ? d.contactIds.includes(id) : d.fields.COMPANY_ID === String(id)))
    .sort(byRecent)
    .map((d) => d.id);
}

function rcLeadsOf(crm: CrmStore, type: 'CONTACT' | 'COMPANY', id: number): number[] {
  const key = type === 'CONTACT' ? 'CONTACT_ID' : 'COMPANY_ID';
  return crm
    .all('LEAD')
    .filter((l) => l.fields.IS_RETURN_CUSTOMER === 'Y' && l.fields.STATUS_SEMANTIC_ID === 'P' && l.fields[key] === String(id))
    .sort(byRecent)
    .map((l) => l.id);
}

/** ActualRanking: the candidates with open deals first (latest deal activity), then the latest modified. */
function rank(crm: CrmStore, type: 'CONTACT' | 'COMPANY', ids: number[]): number | null {
  const items = ids.map((id) => crm.get(type, id)).filter((e): e is CrmEntity => !!e);
  const withDeals = items.filter((e) => openDealsOf(crm, type, e.id).length > 0).sort(byRecent);
  return (withDeals[0] ?? items.sort(byRecent)[0])?.id ?? null;
}

function fillFromContactAndCompany(crm: CrmStore, sel: Selection): void {
  if (sel.companyId !== null && sel.deals.length === 0) {
    sel.companyDeals = openDealsOf(crm, 'COMPANY', sel.companyId);
    sel.companyRcLeads = rcLeadsOf(crm, 'COMPANY', sel.companyId);
  }
  if (sel.contactId !== null) {
    if (sel.deals.length === 0) {
      sel.contactDeals = openDealsOf(crm, 'CONTACT', sel.contactId);
      sel.contactRcLeads = rcLeadsOf(crm, 'CONTACT', sel.contactId);
    }
    const c = crm.get('CONTACT', sel.contactId);
    const companyId = Number(c?.fields.COMPANY_ID ?? 0);
    sel.contactCompanyId = companyId > 0 ? companyId : null;
  }
}

/** ActualEntitySelector with a phone criterion. */
export function selectByPhone(crm: CrmStore, phone: string): Selection {
  const sel = empty();
  if (phone.replace(/\D+/g, '') === '') return sel;
  const found = crm.findByComm('PHONE', phone, ['CONTACT', 'COMPANY', 'LEAD']);
  const ids = (t: EntityType) => found.filter(([type]) => type === t).map(([, id]) => id);
  sel.companyId = rank(crm, 'COMPANY', ids('COMPANY'));
  sel.contactId = rank(crm, 'CONTACT', ids('CONTACT'));
  if (sel.companyId === null && sel.contactId === null) {
    const leads = ids('LEAD')
      .map((id) => crm.get('LEAD', id))
      .filter((l): l is CrmEntity => !!l && l.fields.STATUS_SEMANTIC_ID === 'P' && l.fields.IS_RETURN_CUSTOMER !== 'Y')
      .sort(byRecent);
    sel.leadId = leads[0]?.id ?? null;
  }
  fillFromContactAndCompany(crm, sel);
  return sel;
}

/** ActualEntitySelector::setEntity for a known item (CRM_ENTITY_TYPE / CRM_ENTITY_ID). */
export function selectByEntity(crm: CrmStore, type: string, id: number): Selection {
  const sel = empty();
  const t = type.toUpperCase();
  if (t === 'CONTACT' && crm.get('CONTACT', id)) sel.contactId = id;
  else if (t === 'COMPANY' && crm.get('COMPANY', id)) sel.companyId = id;
  else if (t === 'LEAD') {
    const lead = crm.get('LEAD', id);
    if (lead) {
      if (lead.fields.IS_RETURN_CUSTOMER === 'Y') {
        sel.contactId = Number(lead.fields.CONTACT_ID ?? 0) || null;
        sel.companyId = Number(lead.fields.COMPANY_ID ?? 0) || null;
        if (sel.contactId !== null) sel.contactRcLeads = [id];
        else sel.companyRcLeads = [id];
        sel.deals = [];
      } else sel.leadId = id;
    }
  } else if (t === 'DEAL') {
    const deal = crm.get('DEAL', id);
    if (deal) {
      sel.deals = [id];
      sel.contactId = deal.contactIds[0] ?? null;
      sel.companyId = Number(deal.fields.COMPANY_ID ?? 0) || null;
    }
  }
  fillFromContactAndCompany(crm, sel);
  return sel;
}

/** BindingSelector::findBindings */
export function findBindings(sel: Selection): Binding[] {
  const list: Binding[] = [];
  let dealAdded = false;
  let rcAdded = false;
  if (sel.companyId !== null) {
    if (sel.companyDeals.length > 0) {
      for (const d of sel.companyDeals) list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.DEAL, OWNER_ID: d });
      dealAdded = true;
    } else if (sel.companyRcLeads.length > 0) {
      for (const l of sel.companyRcLeads) list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.LEAD, OWNER_ID: l });
      rcAdded = true;
    }
    list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.COMPANY, OWNER_ID: sel.companyId });
  }
  const contactNeeded = sel.companyId === null || sel.companyId === sel.contactCompanyId;
  if (sel.contactId !== null && contactNeeded) {
    if (sel.contactDeals.length > 0 && !dealAdded) {
      for (const d of sel.contactDeals) list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.DEAL, OWNER_ID: d });
      dealAdded = true;
    }
    if (sel.contactRcLeads.length > 0 && !rcAdded && !dealAdded) {
      for (const l of sel.contactRcLeads) list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.LEAD, OWNER_ID: l });
      rcAdded = true;
    }
    list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.CONTACT, OWNER_ID: sel.contactId });
  }
  if (list.length === 0 && sel.leadId !== null) list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.LEAD, OWNER_ID: sel.leadId });
  if (!dealAdded) for (const d of sel.deals) list.push({ OWNER_TYPE_ID: OWNER_TYPE_ID.DEAL, OWNER_ID: d });
  return list;
}

/** getEntities() order by PRIMARY_SORT: contact, lead, company. */
export function selectionEntities(sel: Selection): Array<{ type: EntityType; id: number }> {
  const out: Array<{ type: EntityType; id: number }> = [];
  if (sel.contactId !== null) out.push({ type: 'CONTACT', id: sel.contactId });
  if (sel.leadId !== null) out.push({ type: 'LEAD', id: sel.leadId });
  if (sel.companyId !== null) out.push({ type: 'COMPANY', id: sel.companyId });
  return out;
}

export const OWNER_TYPE_NAME: Record<number, EntityType> = { 1: 'LEAD', 2: 'DEAL', 3: 'CONTACT', 4: 'COMPANY' };
