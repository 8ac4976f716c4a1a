import type { GatewayDeps } from '../bitrix/rest-client';
import { fetchTokenUser, type TokenUser } from '../bitrix/profile';
import { OAuthError, BitrixApiError, BitrixNetworkError } from '../bitrix/errors';
import type { OAuthClient } from '../bitrix/oauth';
import type { Clock } from '../domain/clock';
import { AppError, forbidden, unauthorized } from '../domain/errors';
import type { PortalTokens } from '../domain/portal';

/** Credentials as a payload claims them (install page POST, ONAPPINSTALL, ONAPPUPDATE). */
export interface CredentialClaim {
  memberId: string;
  serverEndpoint: string;
  refreshToken: string;
  /** The portal host the request says it comes from (install page `DOMAIN`), checked when given. */
  domain?: string;
}

export interface VerifiedCredentials {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  tokens: PortalTokens;
  scopes: string[];
  userId: number;
  isAdmin: boolean;
}

export interface VerifyDeps {
  oauth: OAuthClient;
  clock: Clock;
  http?: Pick<GatewayDeps, 'fetch' | 'timeoutMs'>;
}

/**
 * Never trust credentials from a payload before a trusted OAuth server confirms them
 * (docs/facts/bitrix24.md#application-token): the refresh grant answers with the authoritative member_id and
 * client_endpoint. Only then is the portal itself asked who the user is (`profile`), on the
 * endpoint the OAuth server named — no request ever goes to a host taken from the payload.
 */
export async function verifyInstallCredentials(deps: VerifyDeps, claim: CredentialClaim): Promise<VerifiedCredentials> {
  const serverOrigin = deps.oauth.trustedOrigin(claim.serverEndpoint);
  if (!serverOrigin) throw unauthorized('UNTRUSTED_OAUTH_SERVER', 'The OAuth server in the request is not a trusted Bitrix24 OAuth server');
  let t;
  try {
    t = await deps.oauth.refresh(claim.serverEndpoint, claim.refreshToken);
  } catch (e) {
    if (e instanceof OAuthError && e.code === 'network_error') throw new AppError('OAUTH_UNREACHABLE', 'The Bitrix24 OAuth server could not be reached; try again', 503);
    throw unauthorized('CREDENTIALS_REFUSED', 'The Bitrix24 OAuth server did not confirm these credentials');
  }
  if (t.member_id !== claim.memberId) throw unauthorized('MEMBER_MISMATCH', 'The credentials belong to another portal');
  const domain = new URL(t.client_endpoint).host;
  if (claim.domain !== undefined && claim.domain.toLowerCase() !== domain.toLowerCase()) {
    throw unauthorized('DOMAIN_MISMATCH', 'The request names another portal domain than the OAuth server confirmed');
  }
  let user: TokenUser;
  try {
    user = await fetchTokenUser(deps.http ?? {}, t.client_endpoint, t.access_token);
  } catch (e) {
    if (e instanceof BitrixApiError || e instanceof BitrixNetworkError) throw new AppError('PORTAL_UNREACHABLE', `The portal did not answer: ${e.code}`, 502);
    throw e;
  }
  return {
    memberId: t.member_id,
    domain,
    clientEndpoint: t.client_endpoint,
    serverEndpoint: t.server_endpoint ?? `${serverOrigin}/rest/`,
    tokens: { accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: deps.clock.now() + t.expires_in * 1000 },
    scopes: t.scope.split(',').map((s) => s.trim()).filter(Boolean),
    userId: user.userId || Number(t.user_id ?? 0),
    isAdmin: user.isAdmin,
  };
}

export function requireAdmin(v: VerifiedCredentials): VerifiedCredentials {
  if (!v.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can install the app');
  return v;
}
