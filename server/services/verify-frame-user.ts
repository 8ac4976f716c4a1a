import { createHash } from 'node:crypto';
import { fetchTokenUser, type TokenUser } from '../bitrix/profile';
import type { Clock } from '../domain/clock';
import { AppError, unauthorized } from '../domain/errors';
import type { Portal } from '../domain/portal';
import type { AsyncPort } from './async-port';
import type { BitrixGateway, PortalRepository } from './ports';

export interface FrameUser {
  portal: Portal;
  userId: number;
  isAdmin: boolean;
}

export interface VerifyFrameDeps {
  portals: AsyncPort<PortalRepository>;
  gateway: BitrixGateway;
  clock: Clock;
  fetch?: typeof fetch;
}

const CACHE_MS = 5 * 60_000;
const cache = new WeakMap<VerifyFrameDeps, Map<string, { user: Omit<FrameUser, 'portal'>; until: number }>>();

/**
 * A page opened by the portal carries the *viewing user's* token (docs/facts/bitrix24.md#placements, gotcha 10).
 * It is checked by asking the portal — at the endpoint we stored for that member_id, never a
 * host from the request — who the token belongs to. Results are cached briefly per token hash.
 */
export async function verifyFrameUser(
  deps: VerifyFrameDeps,
  claim: { memberId: string; domain?: string; authId: string },
): Promise<FrameUser> {
  const portal = await deps.portals.get(claim.memberId);
  if (!portal || portal.status === 'deleted') throw unauthorized('UNKNOWN_PORTAL', 'The app is not installed on this portal');
  if (claim.domain !== undefined && claim.domain.toLowerCase() !== portal.domain.toLowerCase()) {
    throw unauthorized('DOMAIN_MISMATCH', 'The request names another domain than the one this portal is registered with');
  }
  let perDeps = cache.get(deps);
  if (!perDeps) cache.set(deps, (perDeps = new Map()));
  const key = `${portal.memberId}:${createHash('sha256').update(claim.authId).digest('hex')}`;
  const hit = perDeps.get(key);
  if (hit && hit.until > deps.clock.now()) return { portal, ...hit.user };
  let user: TokenUser;
  try {
    user = await fetchTokenUser({ fetch: deps.fetch, limiter: deps.gateway.limiter(portal.memberId) }, portal.clientEndpoint, claim.authId);
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'ERROR';
    if (code === 'NETWORK_ERROR' || code.startsWith('HTTP_5')) throw new AppError('PORTAL_UNREACHABLE', 'The portal did not answer', 502);
    throw unauthorized('FRAME_TOKEN_REFUSED', 'The portal did not confirm the page token');
  }
  if (!user.userId) throw unauthorized('FRAME_TOKEN_REFUSED', 'The portal did not name the user of the page token');
  if (perDeps.size > 10_000) perDeps.clear();
  perDeps.set(key, { user, until: deps.clock.now() + CACHE_MS });
  return { portal, ...user };
}
