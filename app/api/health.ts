import { healthViewSchema, type HealthView } from '../../server/contracts/health';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

/** GET /api/health (administrators): «Состояние» of the caller's portal. */
export async function getHealth(ctx: ApiContext): Promise<HealthView> {
  const res = await apiRequest(ctx, '/api/health', { headers: { Accept: 'application/json' } });
  const parsed = healthViewSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected status description.', res.status);
  return parsed.data;
}
