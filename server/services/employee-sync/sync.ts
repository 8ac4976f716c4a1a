import type { EmployeeSyncResult, EmployeeSyncRun } from '../../contracts/employee-sync';
import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { employeeUpdates, matchEmployees, type B24User } from '../../domain/employee-match';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../logging';
import { dataApiForLink } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { AsyncPort } from '../async-port';
import type { EmployeeMapping, EmployeeSyncRepository } from './ports';
import { fullName, readB24Users, readUisEmployees } from './read';
import { uisFailure } from '../workspace-errors';

export interface EmployeeSyncDeps {
  employeeSync: AsyncPort<EmployeeSyncRepository>;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

const refusal = (e: unknown): string => (e instanceof UisApiError ? `${e.code}${e.field ? ` (${e.field})` : ''}` : (e as Error).message);

/**
 * One sync of a portal (Data API employees, docs data_api/employee/*): read the Bitrix24 employees
 * (the chosen ones, or all) and the UIS employees; pair them (e-mail, then name); write Bitrix24's
 * names — and the e-mail where UIS has none — into each paired UIS employee (`update.employees`,
 * `last_name` always sent: the docs mark it required); create the missing ones
 * (`create.employees {first_name, last_name, email}`; UIS requires `last_name`, so users without
 * «Фамилия» are only reported); store the mapping. A transient UIS failure stops the run (the
 * previous mapping stays); a refusal of one write is recorded and the run goes on.
 */
export async function runEmployeeSync(deps: EmployeeSyncDeps, memberId: string, run: EmployeeSyncRun): Promise<EmployeeSyncResult> {
  const repo = deps.employeeSync;
  const link = await deps.links.get(memberId);
  if (!link) throw new AppError('UIS_NOT_LINKED', 'Link a UIS account on the «Главная» tab first', 409);
  const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
  const settings = (await repo.getSettings(memberId))?.settings;
  let total = 2;
  let done = 0;
  const step = () => repo.progress(run.id, ++done, total);
  await repo.progress(run.id, 0, total);

  let users = await readB24Users(deps.gateway, memberId);
  await step();
  if (settings?.userIds.length) {
    const chosen = new Set(settings.userIds);
    users = users.filter((u) => chosen.has(u.id));
  }
  const employees = await readUisEmployees(api);
  await step();

  const m = matchEmployees(users, employees);
  const updates = m.pairs.map((p) => ({ p, upd: employeeUpdates(p) })).filter((x) => Object.keys(x.upd).length > 0);
  total += updates.length + m.unmatched.length;
  await repo.progress(run.id, done, total);

  const person = (u: B24User) => ({ b24UserId: u.id, name: fullName(u), email: u.email || null });
  const result: EmployeeSyncResult = { pairs: [], unmatchedB24: [], unmatchedUis: [], noLastName: m.noLastName.map(person), problems: [] };
  const written = new Map<number, string[]>();
  for (const { p, upd } of updates) {
    try {
      await api.call('update.employees', { id: p.uis.id, last_name: upd.last_name ?? p.uis.lastName, ...upd });
      written.set(p.b24.id, Object.keys(upd));
    } catch (e) {
      if (e instanceof UisApiError && e.transient) throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS refused to update employees');
      result.problems.push(`UIS employee ${p.uis.id} (${fullName(p.uis)}): update refused — ${refusal(e)}`);
    }
    await step();
  }
  for (const p of m.pairs) {
    result.pairs.push({ b24UserId: p.b24.id, b24Name: fullName(p.b24), uisEmployeeId: p.uis.id, uisName: fullName(p.uis), matchedBy: p.by, updated: written.get(p.b24.id) ?? [] });
  }
  for (const u of m.unmatched) {
    try {
      const params: Record<string, unknown> = { first_name: u.firstName, last_name: u.lastName };
      if (u.email) params.email = u.email;
      const created = await api.call<{ id: number }>('create.employees', params);
      const id = Number(created.data?.id);
      if (!Number.isFinite(id) || id <= 0) throw new Error('create.employees answered no id');
      result.pairs.push({ b24UserId: u.id, b24Name: fullName(u), uisEmployeeId: id, uisName: fullName(u), matchedBy: 'created', updated: [] });
    } catch (e) {
      if (e instanceof UisApiError && e.transient) throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS refused to create employees');
      result.unmatchedB24.push({ ...person(u), reason: `uis_refused: ${refusal(e)}` });
    }
    await step();
  }
  for (const u of m.ambiguous) result.unmatchedB24.push({ ...person(u), reason: 'ambiguous_name' });
  const paired = new Set(result.pairs.map((p) => p.b24UserId));
  for (const u of m.noLastName) if (!paired.has(u.id)) result.unmatchedB24.push({ ...person(u), reason: 'no_last_name' });
  result.unmatchedUis = m.unmatchedUis.map((e) => ({ uisEmployeeId: e.id, name: fullName(e), email: e.email }));
  result.pairs.sort((a, b) => a.b24UserId - b.b24UserId);
  result.unmatchedB24.sort((a, b) => a.b24UserId - b.b24UserId);

  const mapping: EmployeeMapping[] = result.pairs.map((p) => ({ b24UserId: p.b24UserId, uisEmployeeId: p.uisEmployeeId, matchedBy: p.matchedBy }));
  await repo.replaceMappings(memberId, mapping);
  return result;
}
