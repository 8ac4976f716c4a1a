import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { dataApiForLink } from '../../uis/data-api';
import type { AsyncPort } from '../async-port';
import type { UisEndpoints, UisLinkRepository } from '../ports';
import type { PersonalManagerRepository } from './ports';
import { readUisEmployees } from '../uis-employees';

export interface EmployeePhonesDeps {
  map: PersonalManagerRepository;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  fetch?: typeof fetch;
}

/**
 * Reads every employee's numbers of the portal's UIS account into the map (services/uis-employees.ts
 * `phones`: the numbers UIS rings for him), ahead of the calls (the refresh pass), so an answer
 * needs no Data API request.
 */
export async function readEmployeePhones(deps: EmployeePhonesDeps, memberId: string): Promise<void> {
  const link = await deps.links.get(memberId);
  if (!link) throw Object.assign(new Error('No UIS account is linked'), { code: 'UIS_NOT_LINKED' });
  const readAt = deps.clock.now();
  const rows = await readUisEmployees(dataApiForLink(link, deps.uisEndpoints, deps.fetch));
  const out = rows.flatMap((r) => (Number.isInteger(r.id) ? [{ uisEmployeeId: r.id, phones: r.phones }] : []));
  await deps.map.saveEmployeePhones(memberId, out, readAt);
}
