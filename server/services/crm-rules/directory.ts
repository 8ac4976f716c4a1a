import { EMPLOYEE_FILTER, isActiveEmployee } from '../../domain/employee-match';
import type { CrmDirectory, CrmTextField } from '../../contracts/crm-settings';
import { AppError } from '../../domain/errors';
import type { Clock } from '../../domain/clock';
import type { BitrixGateway } from '../ports';
import type { AsyncPort } from '../async-port';
import type { CrmRulesRepository } from './ports';

export interface CrmDirectoryDeps {
  crmRules: AsyncPort<CrmRulesRepository>;
  gateway: BitrixGateway;
  clock: Clock;
}

type Row = Record<string, unknown>;
type Semantics = 'process' | 'success' | 'failure';

const ENTITIES = ['lead', 'deal', 'contact', 'company'] as const;
/** crm.status.list pages asked for in the first batch (real portals answer the whole list at once; the pages are then deduplicated). */
const STATUS_PAGES = 4;
/** Text fields the templates or the contact data already own. */
const NOT_MAPPABLE = new Set(['TITLE']);

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function semanticsOf(r: Row): Semantics {
  const extra = (r.EXTRA ?? {}) as Row;
  const s = str(extra.SEMANTICS || r.SEMANTICS).toUpperCase();
  if (s === 'S' || s === 'SUCCESS') return 'success';
  if (s === 'F' || s === 'FAILURE' || s === 'APOLOGY') return 'failure';
  return 'process';
}

/** A user field's label comes as a string or per language (`{ru, en}`, when no LANG filter was given). */
function labelOf(v: unknown, fallback: string): string {
  if (typeof v === 'string' && v.trim()) return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const s = str(o.ru || o.en || Object.values(o).find((x) => typeof x === 'string' && x));
    if (s.trim()) return s;
  }
  return fallback;
}

/** `crm.<entity>.fields` → the writable single-value string fields, standard first, then user fields. */
export function textFields(fields: unknown): CrmTextField[] {
  if (!fields || typeof fields !== 'object') return [];
  const out: CrmTextField[] = [];
  for (const [id, raw] of Object.entries(fields as Record<string, Row>)) {
    if (!raw || raw.type !== 'string' || raw.isReadOnly === true || raw.isMultiple === true || NOT_MAPPABLE.has(id)) continue;
    const custom = id.startsWith('UF_');
    out.push({ id, name: custom ? labelOf(raw.formLabel ?? raw.listLabel, id) : labelOf(raw.title, id), custom });
  }
  return out.sort((a, b) => Number(a.custom) - Number(b.custom));
}

function batchFailure(what: string, e: { error: string; error_description: string }): AppError {
  return new AppError('CRM_DIRECTORY_FAILED', `Bitrix24 refused to list ${what}: ${e.error_description || e.error}`, 502);
}

/**
 * Reads the portal's CRM with the stored token in ONE `batch`: deal funnels, the status list (lead
 * statuses and every funnel's stages), active employees, and the fields of leads, deals, contacts
 * and companies. Only portals with more than 200 statuses or 50 employees need more batches (50 pages each) for
 * the remaining pages.
 */
export async function fetchCrmDirectory(deps: CrmDirectoryDeps, memberId: string): Promise<CrmDirectory> {
  const rest = deps.gateway.client(memberId);
  const calls: Record<string, { method: string; params?: Record<string, unknown> }> = {
    cats: { method: 'crm.category.list', params: { entityTypeId: 2 } },
    users: { method: 'user.get', params: { FILTER: EMPLOYEE_FILTER, SORT: 'LAST_NAME', ORDER: 'ASC' } },
  };
  for (let i = 0; i < STATUS_PAGES; i++) calls[`st${i}`] = { method: 'crm.status.list', params: { order: { SORT: 'ASC' }, start: i * 50 } };
  for (const e of ENTITIES) calls[`f_${e}`] = { method: `crm.${e}.fields` };
  const first = await rest.batch(calls);

  const need = (key: string, what: string): unknown => {
    const err = first.errors[key];
    if (err) throw batchFailure(what, err);
    return first.result[key];
  };
  const statusRows: Row[] = [];
  for (let i = 0; i < STATUS_PAGES; i++) statusRows.push(...((need(`st${i}`, 'the CRM statuses') as Row[] | undefined) ?? []));
  const userRows: Row[] = [...((need('users', 'the employees') as Row[] | undefined) ?? [])];

  // the rest of long lists (rare): their remaining pages, 50 to a batch, every page
  const more: Array<[string, { method: string; params?: Record<string, unknown> }]> = [];
  const lastStatusNext = first.next[`st${STATUS_PAGES - 1}`];
  if (lastStatusNext) {
    const total = first.total[`st${STATUS_PAGES - 1}`] ?? lastStatusNext;
    for (let s = lastStatusNext; s < total; s += 50) more.push([`st_more${s}`, { ...calls.st0!, params: { ...calls.st0!.params, start: s } }]);
  }
  if (first.next.users) {
    const total = first.total.users ?? first.next.users;
    for (let s = first.next.users; s < total; s += 50) more.push([`u_more${s}`, { ...calls.users!, params: { ...calls.users!.params, start: s } }]);
  }
  for (let i = 0; i < more.length; i += 50) {
    const next = await rest.batch(Object.fromEntries(more.slice(i, i + 50)));
    for (const [key, value] of Object.entries(next.result)) (key.startsWith('st_') ? statusRows : userRows).push(...((value as Row[]) ?? []));
  }

  const statuses = [...new Map(statusRows.map((r) => [str(r.ID) || `${str(r.ENTITY_ID)}:${str(r.STATUS_ID)}`, r])).values()].sort(
    (a, b) => Number(a.SORT) - Number(b.SORT),
  );
  const stagesOf = (entity: string) =>
    statuses.filter((r) => r.ENTITY_ID === entity).map((r) => ({ id: str(r.STATUS_ID), name: str(r.NAME), semantics: semanticsOf(r) }));
  const cats = ((need('cats', 'the deal funnels') as { categories?: Row[] } | undefined)?.categories ?? [])
    .map((c) => ({ id: Number(c.id), name: str(c.name), sort: Number(c.sort ?? 0) }))
    .sort((a, b) => (a.id === 0 ? -1 : b.id === 0 ? 1 : a.sort - b.sort));
  if (!cats.some((c) => c.id === 0)) cats.unshift({ id: 0, name: 'Общая', sort: 0 });
  const users = [...new Map(userRows.map((u) => [Number(u.ID), u])).values()]
    .filter(isActiveEmployee) // the same people the employee sync pairs and accepts
    .map((u) => ({ id: Number(u.ID), name: str(u.NAME).trim(), lastName: str(u.LAST_NAME).trim(), email: str(u.EMAIL).trim() || null }))
    .filter((u) => u.id > 0);

  const fields = Object.fromEntries(
    ENTITIES.map((e) => {
      const err = first.errors[`f_${e}`];
      // without the rights to one entity the others stay usable
      return [e, err ? [] : textFields(first.result[`f_${e}`])];
    }),
  ) as CrmDirectory['fields'];

  return {
    leadStatuses: stagesOf('STATUS'),
    dealCategories: cats.map((c) => ({ id: c.id, name: c.name, stages: stagesOf(c.id === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${c.id}`) })),
    users,
    fields,
    fetchedAt: new Date(deps.clock.now()).toISOString(),
  };
}

/** The cached directory, read from the portal the first time (or after «Обновить данные CRM»). */
export async function crmDirectory(deps: CrmDirectoryDeps, memberId: string, opts: { refresh?: boolean } = {}): Promise<CrmDirectory> {
  const cached = opts.refresh ? null : await deps.crmRules.getDirectory(memberId);
  if (cached) return cached;
  const fresh = await fetchCrmDirectory(deps, memberId);
  await deps.crmRules.saveDirectory(memberId, fresh);
  return fresh;
}
