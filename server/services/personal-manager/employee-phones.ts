import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { dataApiAll, dataApiForLink } from '../../uis/data-api';
import type { UisEndpoints, UisLinkRepository } from '../ports';
import type { PersonalManagerRepository } from './ports';

type Row = Record<string, unknown>;

export interface EmployeePhonesDeps {
  map: PersonalManagerRepository;
  links: UisLinkRepository;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  fetch?: typeof fetch;
}

/**
 * The numbers UIS rings for an employee (Data API `get.employees`: `phone_numbers[]` — SIP lines
 * are listed there too — the active ones in their order; without any, the extension), as the
 * digit strings the interactive answer's `phones` takes. Read ahead of the calls (the refresh pass)
 * and kept in the map, so an answer needs no Data API request.
 */
export function employeeNumbers(r: Row): string[] {
  const active = (Array.isArray(r.phone_numbers) ? (r.phone_numbers as Row[]) : [])
    .filter((p) => p && (p.status === undefined || p.status === 'active'))
    .map((p) => String(p.phone_number ?? '').replace(/\D+/g, ''))
    .filter((p) => p.length > 0);
  if (active.length) return [...new Set(active)];
  const ext = r.extension && typeof r.extension === 'object' ? String((r.extension as Row).extension_phone_number ?? '').replace(/\D+/g, '') : '';
  return ext ? [ext] : [];
}

/** Reads every employee's numbers of the portal's UIS account into the map. */
export async function readEmployeePhones(deps: EmployeePhonesDeps, memberId: string): Promise<void> {
  const link = deps.links.get(memberId);
  if (!link) throw Object.assign(new Error('No UIS account is linked'), { code: 'UIS_NOT_LINKED' });
  const readAt = deps.clock.now();
  const rows = await dataApiAll<Row>(dataApiForLink(link, deps.uisEndpoints, deps.fetch), 'get.employees', { fields: ['id', 'phone_numbers', 'extension'] });
  const out = rows.flatMap((r) => (Number.isInteger(Number(r.id)) ? [{ uisEmployeeId: Number(r.id), phones: employeeNumbers(r) }] : []));
  await deps.map.saveEmployeePhones(memberId, out, readAt);
}
