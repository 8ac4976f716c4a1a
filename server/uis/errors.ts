/**
 * Errors of the UIS adapter. Data API errors are branched on `data.mnemonic` (docs/facts/uis.md#data-api);
 * REST (Chat API) errors on the HTTP status and the body's code.
 */
export class UisApiError extends Error {
  override name = 'UisApiError';
  constructor(
    /** Mnemonic or code: `auth_error`, `access_token_invalid`, `limit_exceeded`, `HTTP_503`… */
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    readonly service: 'auth' | 'management' | 'runtime' | 'data-api' | 'call-api',
    /** Data API: the offending parameter, e.g. `chats.3.phone`. */
    readonly field?: string,
  ) {
    super(`${service}: ${code}${message ? ` (${message})` : ''}`);
  }

  /** The remote side is down or throttling: worth retrying later. */
  get transient(): boolean {
    return this.httpStatus === 0 || this.httpStatus >= 500 || this.code === 'limit_exceeded' || this.httpStatus === 429;
  }
}
