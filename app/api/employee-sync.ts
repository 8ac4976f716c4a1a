import type { z } from 'zod';
import { employeeSyncViewSchema, type EmployeeSyncSettings, type EmployeeSyncView } from '../../server/contracts/employee-sync';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const PATH = '/api/employee-sync';
const JSON_HEADERS = { Accept: 'application/json' };

async function readView(res: Response, schema: z.ZodType<EmployeeSyncView> = employeeSyncViewSchema): Promise<EmployeeSyncView> {
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected employee sync description.', res.status);
  return parsed.data;
}

/** GET /api/employee-sync: settings, the latest run (polled while running), the last result. */
export async function getEmployeeSync(ctx: ApiContext): Promise<EmployeeSyncView> {
  return readView(await apiRequest(ctx, PATH, { headers: JSON_HEADERS }));
}

/** PUT /api/employee-sync/settings (admins only). @throws ApiRequestError VALIDATION_FAILED, NOT_ADMIN, … */
export async function saveEmployeeSyncSettings(ctx: ApiContext, settings: EmployeeSyncSettings): Promise<EmployeeSyncView> {
  const res = await apiRequest(ctx, `${PATH}/settings`, { method: 'PUT', headers: { ...JSON_HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify(settings) });
  return readView(res);
}

/** POST /api/employee-sync/run (admins only): starts a sync. @throws ApiRequestError SYNC_RUNNING, UIS_NOT_LINKED, … */
export async function runEmployeeSync(ctx: ApiContext): Promise<EmployeeSyncView> {
  return readView(await apiRequest(ctx, `${PATH}/run`, { method: 'POST', headers: JSON_HEADERS }));
}
