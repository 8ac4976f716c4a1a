import { EMPLOYEE_FILTER, isActiveEmployee, type B24User, type UisEmployee } from '../../domain/employee-match';
import type { DataApiClient } from '../../uis/data-api';
import type { BitrixGateway } from '../ports';
import { portalFailure, uisFailure } from '../workspace-errors';
import { readUisEmployees as readEmployees, type UisEmployeeRecord } from '../uis-employees';

type Row = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/**
 * The portal's employees: `user.get` (scope `user`) with `FILTER {ACTIVE: true, USER_TYPE:
 * "employee"}`, every page, keeping users that belong to a department (extranet and invited
 * guests have none).
 */
export async function readB24Users(gateway: BitrixGateway, memberId: string): Promise<B24User[]> {
  let rows: Row[];
  try {
    rows = await gateway.client(memberId).list<Row>('user.get', { FILTER: EMPLOYEE_FILTER, SORT: 'ID', ORDER: 'ASC' });
  } catch (e) {
    throw portalFailure(e, 'list the portal users');
  }
  return rows
    .filter(isActiveEmployee)
    .map((r) => ({ id: Number(r.ID), firstName: str(r.NAME).trim(), lastName: str(r.LAST_NAME).trim(), email: str(r.EMAIL).trim(), inner: str(r.UF_PHONE_INNER).trim() || null }));
}

export interface UisEmployeeRow extends UisEmployee {
  status: string | null;
  statusId: number | null;
}

/** Every employee of the account (services/uis-employees.ts), as the sync pairs them. */
export async function readUisEmployees(api: DataApiClient): Promise<UisEmployeeRow[]> {
  let rows: UisEmployeeRecord[];
  try {
    rows = await readEmployees(api);
  } catch (e) {
    throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS refused to list the account employees');
  }
  return rows.map((r) => ({ id: r.id, firstName: r.firstName, lastName: r.lastName, email: r.email || null, extension: r.extension, status: r.status, statusId: r.statusId }));
}

export const fullName = (p: { firstName: string; lastName: string }): string => [p.lastName, p.firstName].filter((s) => s.trim()).join(' ') || '—';
