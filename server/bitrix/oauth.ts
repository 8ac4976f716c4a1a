import { z } from 'zod';
import { OAuthError } from './errors';

/**
 * The refresh grant against a trusted Bitrix24 OAuth server (docs/facts/bitrix24.md#oauth).
 * The server endpoint comes from a payload, so it is checked against the configured list
 * *before* any request: the app never sends a secret to a host it does not trust.
 */
export const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
  expires: z.coerce.number().optional(),
  scope: z.string().default(''),
  server_endpoint: z.string().optional(),
  client_endpoint: z.url(),
  member_id: z.string().min(1),
  user_id: z.coerce.number().optional(),
  status: z.string().optional(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export interface OAuthClient {
  /** The OAuth origin behind a server endpoint, if it is trusted; null otherwise. */
  trustedOrigin(serverEndpoint: string): string | null;
  refresh(serverEndpoint: string, refreshToken: string): Promise<TokenResponse>;
}

export interface OAuthClientOptions {
  clientId: string;
  clientSecret: string;
  trustedOrigins: string[];
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function createOAuthClient(o: OAuthClientOptions): OAuthClient {
  const doFetch = o.fetch ?? fetch;
  const trusted = new Set(o.trustedOrigins.map((u) => new URL(u).origin));

  const trustedOrigin = (serverEndpoint: string): string | null => {
    try {
      const origin = new URL(serverEndpoint).origin;
      return trusted.has(origin) ? origin : null;
    } catch {
      return null;
    }
  };

  return {
    trustedOrigin,
    async refresh(serverEndpoint, refreshToken) {
      const origin = trustedOrigin(serverEndpoint);
      if (!origin) throw new OAuthError('untrusted_server', 'the OAuth server is not in B24_OAUTH_SERVERS', 400);
      // The documented form (docs/facts/bitrix24.md#oauth; every public client does the same): a GET with the
      // grant in the query. That URL holds client_secret and the refresh token, so it never leaves
      // this function — not in an error message, not in a log line.
      const url = new URL('/oauth/token/', origin);
      url.search = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: o.clientId,
        client_secret: o.clientSecret,
        refresh_token: refreshToken,
      }).toString();
      let res: Response;
      try {
        res = await doFetch(url.href, {
          method: 'GET',
          headers: { accept: 'application/json' },
          redirect: 'error',
          signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
        });
      } catch (e) {
        throw new OAuthError('network_error', networkFailure(e), 0);
      }
      const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
      if (!res.ok || !json || typeof json.error === 'string') {
        throw new OAuthError(String(json?.error ?? `http_${res.status}`), String(json?.error_description ?? ''), res.status);
      }
      const parsed = tokenResponseSchema.safeParse(json);
      if (!parsed.success) throw new OAuthError('bad_response', 'the OAuth server answered an unexpected shape', res.status);
      return parsed.data;
    },
  };
}

/**
 * What went wrong with the request, without its URL: fetch implementations put the URL into some
 * messages ("Failed to parse URL from …"), and this URL carries the app's secret.
 */
function networkFailure(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return 'the OAuth server did not answer in time';
  const cause = e instanceof Error ? (e.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' && /^[A-Z0-9_]{2,40}$/.test(cause.code) ? cause.code : null;
  return code ? `the OAuth server could not be reached (${code})` : 'the OAuth server could not be reached';
}
