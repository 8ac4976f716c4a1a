import { portalViewSchema, type PortalView } from '../../server/contracts/portal';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

/** GET /api/portal: the caller's portal (domain, status, install date). */
export async function getPortal(ctx: ApiContext): Promise<PortalView> {
  const res = await apiRequest(ctx, '/api/portal', { headers: { Accept: 'application/json' } });
  const parsed = portalViewSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected portal description.', res.status);
  return parsed.data;
}
