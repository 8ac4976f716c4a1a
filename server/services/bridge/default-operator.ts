import type { ConnectorEmployees } from '../../contracts/connector';
import { AppError } from '../../domain/errors';
import type { UisLinkRepository } from '../ports';
import { uisFailure } from '../workspace-errors';
import type { WorkspaceDataApi } from '../workspace-ports';
import type { AsyncPort } from '../async-port';
import type { BridgeRepository } from './ports';
import { readLinkEmployees, type UisEmployeeRecord } from '../uis-employees';

export interface DefaultOperatorDeps {
  bridge: AsyncPort<BridgeRepository>;
  links: AsyncPort<UisLinkRepository>;
  dataApi: WorkspaceDataApi;
}

async function employees(deps: DefaultOperatorDeps, memberId: string): Promise<ConnectorEmployees['employees']> {
  const link = await deps.links.get(memberId);
  if (!link?.connectionId) throw new AppError('UIS_NOT_LINKED', 'Link a UIS account on the app main page first', 409);
  let rows: UisEmployeeRecord[];
  try {
    rows = await readLinkEmployees(deps.dataApi, link);
  } catch (e) {
    throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS did not list the account employees');
  }
  return rows.map((r) => ({ id: r.id, name: r.fullName ?? r.email ?? String(r.id), email: r.email || null, chatEnabled: r.chatEnabled }));
}

/** The UIS employees (Data API `get.employees`) and the portal's default operator. */
export async function listEmployees(deps: DefaultOperatorDeps, memberId: string): Promise<ConnectorEmployees> {
  return { employees: await employees(deps, memberId), defaultOperatorId: await deps.bridge.defaultOperator(memberId) };
}

/**
 * The UIS employee operator messages go out as when the Bitrix24 operator's e-mail matches no
 * employee. Validated against `get.employees`: it must exist and be allowed to chat. null clears it.
 */
export async function setDefaultOperator(deps: DefaultOperatorDeps, memberId: string, operatorId: number | null): Promise<ConnectorEmployees> {
  const list = await employees(deps, memberId);
  if (operatorId !== null) {
    const e = list.find((x) => x.id === operatorId);
    if (!e) throw new AppError('OPERATOR_NOT_FOUND', `UIS lists no employee with id ${operatorId}`, 404);
    if (!e.chatEnabled) throw new AppError('OPERATOR_NOT_ALLOWED', `The UIS employee ${e.name} may not take part in chats; enable chats for them in UIS first`, 409);
  }
  await deps.bridge.setDefaultOperator(memberId, operatorId);
  return { employees: list, defaultOperatorId: operatorId };
}
