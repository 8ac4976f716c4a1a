import { EMPLOYEE_FILTER, isActiveEmployee, type B24User, type UisEmployee } from '../../domain/employee-match';
import { dataApiAll, type DataApiClient } from '../../uis/data-api';
import type { BitrixGateway } from '../ports';
import { portalFailure, uisFailure } from '../workspace-errors';

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

const PAGE = 1000;

/** Every employee of the account (Data API `get.employees`, paged by `limit`/`offset`). */
export async function readUisEmployees(api: DataApiClient): Promise<UisEmployeeRow[]> {
  let rows: Row[];
  try {
    rows = await dataApiAll<Row>(api, 'get.employees', { fields: ['id', 'first_name', 'last_name', 'email', 'status', 'status_id', 'extension'] }, PAGE);
  } catch (e) {
    throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS refused to list the account employees');
  }
  return rows.map((r) => ({
    id: Number(r.id),
    firstName: str(r.first_name),
    lastName: str(r.last_name),
    email: r.email ? str(r.email) : null,
    extension: r.extension && typeof r.extension === 'object' ? str((r.extension as Row).extension_phone_number) || null : null,
    status: r.status ? str(r.status) : null,
    statusId: r.status_id === null || r.status_id === undefined ? null : Number(r.status_id),
  }));
}

export const fullName = (p: { firstName: string; lastName: string }): string => [p.lastName, p.firstName].filter((s) => s.trim()).join(' ') || '—';
