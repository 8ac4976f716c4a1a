import type { PortalStatus } from '../contracts/portal';

/**
 * A Bitrix24 portal that installed the app, keyed by member_id (stable across domain renames,
 * docs/facts/bitrix24.md#production-facts). Secrets are plain here; storage encrypts them.
 */
export interface PortalTokens {
  accessToken: string;
  refreshToken: string;
  /** Access token expiry, ms since epoch. */
  expiresAt: number;
}

export interface Portal {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  tokens: PortalTokens | null;
  applicationToken: string | null;
  scopes: string[];
  installedBy: number | null;
  status: PortalStatus;
  statusReason: string | null;
  createdAt: string;
  updatedAt: string;
  installedAt: string | null;
}

export type { PortalStatus };

/**
 * Allowed status changes. Fresh verified credentials revive any state; invalid_grant parks an
 * active portal until someone with admin rights opens the app again; uninstall is final until
 * the next verified install.
 */
const TRANSITIONS: Record<PortalStatus, readonly PortalStatus[]> = {
  installing: ['installing', 'active', 'reauth-required', 'deleted'],
  active: ['active', 'installing', 'reauth-required', 'deleted'],
  'reauth-required': ['reauth-required', 'installing', 'active', 'deleted'],
  deleted: ['deleted', 'installing'],
};

export function canTransition(from: PortalStatus, to: PortalStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Whether the backend may call the portal's REST API with the stored tokens. */
export function canCallRest(p: Pick<Portal, 'status' | 'tokens'>): boolean {
  return (p.status === 'active' || p.status === 'installing') && p.tokens !== null;
}
