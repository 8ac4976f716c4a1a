import { connectorEmployeesSchema, connectorViewSchema, type ConnectorEmployees, type ConnectorView } from '../../server/contracts/connector';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

async function readView(res: Response): Promise<ConnectorView> {
  const parsed = connectorViewSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected connector description.', res.status);
  return parsed.data;
}

/** GET /api/connector?line=: the line's binding, the UIS channels and what Bitrix24 reports. */
export async function getConnector(ctx: ApiContext, line: string): Promise<ConnectorView> {
  return readView(await apiRequest(ctx, `/api/connector?line=${encodeURIComponent(line)}`, { headers: { Accept: 'application/json' } }));
}

/** PUT /api/connector (admins): connect the channel to the line (moves it from another line). */
export async function bindConnector(ctx: ApiContext, line: string, channelId: string): Promise<ConnectorView> {
  const res = await apiRequest(ctx, '/api/connector', {
    method: 'PUT',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ line, channelId }),
  });
  return readView(res);
}

/** DELETE /api/connector?line= (admins): disconnect the line. */
export async function unbindConnector(ctx: ApiContext, line: string): Promise<ConnectorView> {
  return readView(await apiRequest(ctx, `/api/connector?line=${encodeURIComponent(line)}`, { method: 'DELETE', headers: { Accept: 'application/json' } }));
}

async function readEmployees(res: Response): Promise<ConnectorEmployees> {
  const parsed = connectorEmployeesSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected list of UIS employees.', res.status);
  return parsed.data;
}

/** GET /api/connector/employees (admins): UIS employees and the default operator. */
export async function getEmployees(ctx: ApiContext): Promise<ConnectorEmployees> {
  return readEmployees(await apiRequest(ctx, '/api/connector/employees', { headers: { Accept: 'application/json' } }));
}

/** PUT /api/connector/default-operator (admins): validated against UIS get.employees; null clears it. */
export async function putDefaultOperator(ctx: ApiContext, operatorId: number | null): Promise<ConnectorEmployees> {
  const res = await apiRequest(ctx, '/api/connector/default-operator', {
    method: 'PUT',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ operatorId }),
  });
  return readEmployees(res);
}
