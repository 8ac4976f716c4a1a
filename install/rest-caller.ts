/**
 * The minimal REST surface the install plan needs. The server passes its per-portal client;
 * tests may pass anything that speaks it. Imports nothing.
 */
export interface RestCaller {
  call(method: string, params?: Record<string, unknown>): Promise<{ result: unknown }>;
  batch(
    calls: Record<string, { method: string; params?: Record<string, unknown> }>,
  ): Promise<{ result: Record<string, unknown>; errors: Record<string, { error: string; error_description: string }> }>;
}

/** What a failed REST call carries (BitrixApiError, BitrixNetworkError… all have these). */
export interface CodedError {
  code: string;
  message: string;
}

export function toCodedError(e: unknown): CodedError {
  if (e && typeof e === 'object') {
    const o = e as { code?: unknown; message?: unknown; description?: unknown };
    return {
      code: typeof o.code === 'string' ? o.code : 'ERROR',
      message: typeof o.description === 'string' && o.description ? o.description : String(o.message ?? e),
    };
  }
  return { code: 'ERROR', message: String(e) };
}
