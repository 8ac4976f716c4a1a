/**
 * Errors of the amoCRM adapter. API errors are `application/problem+json` {title, type, status,
 * detail} (amoCRM API v4); the status decides what to do.
 */
export class AmoApiError extends Error {
  override name = 'AmoApiError';
  constructor(
    /** HTTP status; 0 when amoCRM could not be reached */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`amoCRM ${status || 'unreachable'} ${code}: ${message}`);
  }

  /** Worth retrying later: unreachable, throttled, blocked for a while, or amoCRM's own trouble. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 403 && this.code === 'IP_BLOCKED' || this.status >= 500;
  }
}

/** The grant is gone (revoked, expired, disconnected): an administrator must connect the account again. */
export class AmoReauthError extends Error {
  override name = 'AmoReauthError';
  constructor(readonly reason: string) {
    super(`amoCRM access lost: ${reason}`);
  }
}
