import type { Portal } from '../domain/portal';
import type { Logger } from '../logging';
import type { AsyncPort } from './async-port';
import type { PortalRepository } from './ports';
import { requireAdmin, verifyInstallCredentials, type CredentialClaim, type VerifyDeps } from './verify-install-credentials';

export interface AcceptInstallDeps extends VerifyDeps {
  portals: AsyncPort<PortalRepository>;
  log: Logger;
}

/**
 * Install page POST or ONAPPINSTALL: verify the credentials with the OAuth server, require an
 * administrator, then create or refresh the portal. A forged request fails verification and
 * changes nothing. A reinstall may carry a new application_token (docs/facts/bitrix24.md#onappuninstall), which
 * an administrator's verified credentials are allowed to replace.
 */
export async function acceptInstall(
  deps: AcceptInstallDeps,
  claim: CredentialClaim & { applicationToken: string },
): Promise<{ portal: Portal; userId: number }> {
  const v = requireAdmin(await verifyInstallCredentials(deps, claim));
  const existing = await deps.portals.get(v.memberId);
  if (existing?.applicationToken && existing.applicationToken !== claim.applicationToken && existing.status !== 'deleted') {
    deps.log.warn({ memberId: v.memberId }, 'application_token replaced by a verified administrator (reinstall)');
  }
  // The store decides from the row as it is when written (one statement, several instances): an
  // active portal of the same installation stays active — a markInstalled that landed since the
  // read is kept — and a pair rotated meanwhile that expires later than the verified one stays.
  const portal = await deps.portals.saveInstall(
    {
      memberId: v.memberId,
      domain: v.domain,
      clientEndpoint: v.clientEndpoint,
      serverEndpoint: v.serverEndpoint,
      tokens: v.tokens,
      applicationToken: claim.applicationToken,
      scopes: v.scopes,
      installedBy: v.userId,
    },
    { sameInstall: !!existing && existing.applicationToken === claim.applicationToken },
  );
  deps.log.info({ memberId: v.memberId, domain: v.domain, status: portal.status }, 'install credentials accepted');
  return { portal, userId: v.userId };
}
