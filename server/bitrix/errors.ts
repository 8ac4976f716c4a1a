/**
 * Errors of the Bitrix24 REST adapter. Callers branch on `code` (the portal's `error` string),
 * never on the HTTP status alone (docs/facts/bitrix24.md#rest-errors, gotcha 7).
 */
export class BitrixApiError extends Error {
  override name = 'BitrixApiError';
  constructor(
    readonly code: string,
    readonly description: string,
    readonly httpStatus: number,
    readonly method: string,
  ) {
    super(`${method}: ${code}${description ? ` (${description})` : ''}`);
  }
}

/** The portal could not be reached (connection refused, reset, timeout) and the call was not retried or retries ran out. */
export class BitrixNetworkError extends Error {
  override name = 'BitrixNetworkError';
  readonly code = 'NETWORK_ERROR';
  constructor(
    readonly method: string,
    cause: unknown,
  ) {
    super(`${method}: network error (${cause instanceof Error ? cause.message : String(cause)})`);
  }
}

/** The refresh token was refused (invalid_grant): an admin must open the app again. Never retried. */
export class ReauthRequiredError extends Error {
  override name = 'ReauthRequiredError';
  readonly code = 'REAUTH_REQUIRED';
  constructor(readonly memberId: string) {
    super('The portal must be re-authorised: an administrator has to open the app in Bitrix24 again');
  }
}

/** The OAuth server refused a grant. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly code: string,
    readonly description: string,
    readonly httpStatus: number,
  ) {
    super(`OAuth: ${code}${description ? ` (${description})` : ''}`);
  }
}

/** Codes that say "the portal itself is gone or the app is not there any more". */
export const AUTH_CODES = new Set(['expired_token', 'invalid_token', 'NO_AUTH_FOUND']);
