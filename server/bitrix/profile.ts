import { callWithToken, type GatewayDeps } from './rest-client';
import type { PortalLimiter } from './limiter';

/** Who a token belongs to, read from `profile` (ADMIN arrives as true, "Y" or 1 depending on the portal's version). */
export interface TokenUser {
  userId: number;
  isAdmin: boolean;
}

/** Ask the portal at a verified endpoint who owns `token` (never an endpoint taken from a request). */
export async function fetchTokenUser(
  http: Pick<GatewayDeps, 'fetch' | 'timeoutMs'> & { limiter?: PortalLimiter },
  clientEndpoint: string,
  token: string,
): Promise<TokenUser> {
  const p = (await callWithToken<{ ID?: unknown; ADMIN?: unknown }>(http, clientEndpoint, token, 'profile')).result;
  return { userId: Number(p.ID ?? 0), isAdmin: p.ADMIN === true || p.ADMIN === 'Y' || p.ADMIN === 1 || p.ADMIN === '1' };
}
