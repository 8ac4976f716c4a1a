import { z } from 'zod';
import { OAuthError } from './errors';

/**
 * The refresh grant against a trusted Bitrix24 OAuth server (bitrix24-rest.md §2).
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
      // Secrets go in the body, never in the URL (URLs end up in proxies' and servers' logs).
      const body = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: o.clientId,
        client_secret: o.clientSecret,
        refresh_token: refreshToken,
      });
      let res: Response;
      try {
        res = await doFetch(`${origin}/oauth/token/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
        });
      } catch (e) {
        throw new OAuthError('network_error', e instanceof Error ? e.message : String(e), 0);
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
