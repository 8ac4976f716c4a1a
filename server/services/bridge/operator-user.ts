import type { UisLink } from '../../domain/uis-link';
import type { Clock } from '../../domain/clock';
import type { BitrixGateway } from '../ports';
import type { WorkspaceDataApi } from '../workspace-ports';
import type { AsyncPort } from '../async-port';
import type { EmployeeDirectory } from '../employee-sync/ports';
import { readLinkEmployees } from '../uis-employees';

type Row = Record<string, unknown>;

export interface OperatorUserDeps {
  dataApi: WorkspaceDataApi;
  gateway: BitrixGateway;
  clock: Clock;
  /** The employee sync's pairing (server/services/employee-sync), asked before the e-mail match. */
  employees?: Pick<AsyncPort<EmployeeDirectory>, 'b24UserFor'>;
}

const TTL_MS = 10 * 60_000;
const cache = new WeakMap<object, Map<string, { userId: number | null; until: number }>>();

/**
 * The Bitrix24 user a UIS employee writes as in the open line (operator messages written in the
 * UIS workspace, shown with `message.user_id`): the employee sync's pair if it has one (the same
 * answer the CRM rules use for the responsible), else UIS employee → e-mail (Data API `get.employees`)
 * → active Bitrix24 user with that e-mail (`user.get` with the portal's stored token). null when
 * the employee has no e-mail or no portal user has it. Cached 10 minutes per portal and employee;
 * portal / UIS failures throw (the job is retried).
 */
export async function bitrixUserOfEmployee(deps: OperatorUserDeps, link: UisLink, employeeId: string): Promise<number | null> {
  const paired = Number.isInteger(Number(employeeId)) ? await deps.employees?.b24UserFor(link.memberId, Number(employeeId)) : null;
  if (paired) return paired;
  let perDeps = cache.get(deps.gateway);
  if (!perDeps) cache.set(deps.gateway, (perDeps = new Map()));
  const key = `${link.memberId}:${link.accountId}:${employeeId}`;
  const hit = perDeps.get(key);
  if (hit && hit.until > deps.clock.now()) return hit.userId;
  if (perDeps.size > 10_000) perDeps.clear();
  const email = (await readLinkEmployees(deps.dataApi, link)).find((e) => String(e.id) === employeeId)?.email;
  let userId: number | null = null;
  if (typeof email === 'string' && email.trim()) {
    const users = (await deps.gateway.client(link.memberId).call<Row[]>('user.get', { FILTER: { EMAIL: email.trim(), ACTIVE: true } })).result;
    const u = Array.isArray(users) ? users.find((x) => String(x.EMAIL ?? '').trim().toLowerCase() === email.trim().toLowerCase()) : undefined;
    userId = u ? Number(u.ID) : null;
  }
  perDeps.set(key, { userId, until: deps.clock.now() + TTL_MS });
  return userId;
}
