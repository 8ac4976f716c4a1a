import { apiErrorSchema } from '../../server/contracts/portal';

/** What every call needs: our session token (from the boot block) and, in tests, a fetch stand-in. */
export interface ApiContext {
  session: string | null;
  baseUrl?: string;
  fetch?: typeof fetch;
}

/** A failed /api call; `message` is the server's apiErrorSchema message when it sent one. */
export class ApiRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
    /** The request field at fault and the remote side's reason (apiErrorSchema), when the server named them. */
    readonly field?: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

async function toApiError(res: Response): Promise<ApiRequestError> {
  const text = await res.text().catch(() => '');
  try {
    const body = apiErrorSchema.safeParse(JSON.parse(text));
    if (body.success) return new ApiRequestError(body.data.error, body.data.message, res.status, body.data.field, body.data.reason);
  } catch {
    // not JSON: fall through to the generic message
  }
  return new ApiRequestError(`HTTP_${res.status}`, `Server answered ${res.status} ${res.statusText}`.trim(), res.status);
}

/**
 * Calls our /api with `Authorization: Bearer <session>` (no cookies: third-party iframe,
 * docs/facts/bitrix24-frame.md#pitfall-18) and returns the Response once its status is 2xx.
 * @throws ApiRequestError for a missing session, a network failure or a non-2xx answer.
 */
export async function apiRequest(ctx: ApiContext, path: string, init: RequestInit = {}): Promise<Response> {
  if (!ctx.session) throw new ApiRequestError('NO_SESSION', 'This page has no session for the UIS OMNI server.');
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${ctx.session}`);
  const doFetch = ctx.fetch ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    res = await doFetch(`${ctx.baseUrl ?? ''}${path}`, { ...init, headers });
  } catch (error) {
    throw new ApiRequestError('NETWORK_ERROR', `Cannot reach the UIS OMNI server: ${(error as Error).message}`);
  }
  if (!res.ok) throw await toApiError(res);
  return res;
}
