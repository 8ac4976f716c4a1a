import { connectorViewSchema, type ConnectorView } from '../../server/contracts/connector';
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
