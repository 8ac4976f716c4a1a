import { ReauthRequiredError } from '../../bitrix/errors';
import { AppError } from '../../domain/errors';
import { EMPLOYEE_FILTER, isActiveEmployee, type B24User, type UisEmployee } from '../../domain/employee-match';
import { dataApiAll, type DataApiClient } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';
import type { BitrixGateway } from '../ports';

type Row = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/** A failed Bitrix24 call, worded for the page. */
export function portalFailure(e: unknown, what: string): AppError {
  if (e instanceof ReauthRequiredError || (e as { code?: string }).code === 'REAUTH_REQUIRED') {
    return new AppError('REAUTH_REQUIRED', 'The portal must be re-authorised: an administrator has to open the app again', 409);
  }
  const code = (e as { code?: string }).code ?? (e as Error).message;
  return new AppError('PORTAL_ERROR', `Bitrix24 did not ${what} (${code})`, 502);
}

/** A failed Data API call, worded for the page; transient ones are 503. */
export function uisFailure(e: unknown, what: string): AppError {
  if (e instanceof UisApiError) {
    if (e.transient) return new AppError('UIS_UNAVAILABLE', `UIS is not reachable right now (${e.code}); try again in a minute`, 503);
    return new AppError('UIS_DATA_API_REFUSED', `UIS refused to ${what}: ${e.code}${e.field ? ` (${e.field})` : ''}`, 502);
  }
  return new AppError('UIS_DATA_API_REFUSED', `UIS refused to ${what}: ${(e as Error).message}`, 502);
}

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
    .map((r) => ({ id: Number(r.ID), firstName: str(r.NAME).trim(), lastName: str(r.LAST_NAME).trim(), email: str(r.EMAIL).trim() }));
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
    rows = await dataApiAll<Row>(api, 'get.employees', { fields: ['id', 'first_name', 'last_name', 'email', 'status', 'status_id'] }, PAGE);
  } catch (e) {
    throw uisFailure(e, 'list the account employees');
  }
  return rows.map((r) => ({
    id: Number(r.id),
    firstName: str(r.first_name),
    lastName: str(r.last_name),
    email: r.email ? str(r.email) : null,
    status: r.status ? str(r.status) : null,
    statusId: r.status_id === null || r.status_id === undefined ? null : Number(r.status_id),
  }));
}

export const fullName = (p: { firstName: string; lastName: string }): string => [p.lastName, p.firstName].filter((s) => s.trim()).join(' ') || '—';
