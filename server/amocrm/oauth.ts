import { AmoApiError, AmoReauthError } from './errors';

/**
 * amoCRM OAuth 2.0 of an external integration (amocrm.ru/developers/content/oauth/step-by-step;
 * Kommo reference/get-token; docs/facts/chat-sources.md#amocrm-oauth): the account chooser
 * (`/oauth?client_id&state&mode=popup`), the redirect back with `code`, `state`
 * and `referer` (the account's host, the API base), then `POST https://{referer}/oauth2/access_token`
 * (JSON) for the `authorization_code` and `refresh_token` grants. Access tokens live 24 h; a
 * refresh token lives 3 months and works ONCE (a second use revokes it: amocrm-api-php#123, #475).
 * The chooser is asked on the account's host, `https://{subdomain}.amocrm.ru/oauth`.
 */
export interface AmoOAuthConfig {
  clientId: string;
  clientSecret: string;
  /** our callback, registered as the integration's Redirect URI */
  redirectUri: string;
  /**
   * Hosts whose `/oauth2/access_token` we trust with the client secret: account hosts must be a
   * subdomain of one of these (amocrm.ru, amocrm.com, kommo.com), or one of these origins itself.
   */
  trustedHosts: string[];
}

export interface AmoTokens {
  accessToken: string;
  refreshToken: string;
  /** ms since epoch */
  expiresAt: number;
}

/**
 * The account chooser URL for a state we can verify on the way back, on the account's own host
 * (the seed's "AmoCRM URL" `https://YOURDOMAIN.amocrm.ru/oauth`).
 */
export function authorizeUrl(cfg: Pick<AmoOAuthConfig, 'clientId'>, origin: string, state: string): string {
  const u = new URL('/oauth', origin);
  u.searchParams.set('client_id', cfg.clientId);
  u.searchParams.set('state', state);
  u.searchParams.set('mode', 'popup');
  return u.toString();
}

/**
 * The API origin for a `referer` (or an admin-typed domain): `https://<host>` for a subdomain of a
 * trusted amoCRM domain, or a trusted origin itself; null for anything else — the client secret
 * must never be sent to a host an attacker chose.
 */
export function accountOrigin(cfg: Pick<AmoOAuthConfig, 'trustedHosts'>, referer: string): string | null {
  const raw = referer.trim().replace(/\/+$/, '');
  let host: string;
  let origin: string;
  try {
    const u = new URL(/^https?:\/\//i.test(raw) ? raw : `https://${raw}`);
    if (u.pathname !== '/' || u.search || u.username || u.password) return null;
    host = u.host.toLowerCase();
    origin = u.origin;
  } catch {
    return null;
  }
  for (const t of cfg.trustedHosts) {
    if (/^https?:\/\//.test(t)) {
      const trusted = new URL(t);
      if (trusted.host === host || trusted.hostname === host) return trusted.origin;
      continue;
    }
    const suffix = `.${t.toLowerCase()}`;
    if (host.endsWith(suffix) && /^[a-z0-9-]+$/.test(host.slice(0, -suffix.length)) && origin.startsWith('https://')) return `https://${host}`;
  }
  return null;
}

interface TokenAnswer {
  token_type?: string;
  expires_in?: number;
  access_token?: string;
  refresh_token?: string;
}

async function tokenCall(cfg: AmoOAuthConfig, origin: string, body: Record<string, string>, now: number, fetchImpl: typeof fetch): Promise<AmoTokens> {
  let r: Response;
  try {
    r = await fetchImpl(`${origin}/oauth2/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ client_id: cfg.clientId, client_secret: cfg.clientSecret, redirect_uri: cfg.redirectUri, ...body }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new AmoApiError(0, 'UNREACHABLE', `amoCRM is not reachable: ${(e as Error).message}`);
  }
  const json = (await r.json().catch(() => ({}))) as TokenAnswer & { hint?: string; detail?: string; title?: string };
  if (r.status === 400 || r.status === 401) throw new AmoReauthError(json.hint ?? json.detail ?? `HTTP ${r.status}`);
  if (!r.ok || !json.access_token || !json.refresh_token) throw new AmoApiError(r.status, 'TOKEN_ENDPOINT', json.detail ?? json.title ?? `HTTP ${r.status}`);
  return { accessToken: json.access_token, refreshToken: json.refresh_token, expiresAt: now + Math.max(60, Number(json.expires_in) || 86_400) * 1000 };
}

export function exchangeCode(cfg: AmoOAuthConfig, origin: string, code: string, now: number, fetchImpl: typeof fetch = fetch): Promise<AmoTokens> {
  return tokenCall(cfg, origin, { grant_type: 'authorization_code', code }, now, fetchImpl);
}

export function refreshTokens(cfg: AmoOAuthConfig, origin: string, refreshToken: string, now: number, fetchImpl: typeof fetch = fetch): Promise<AmoTokens> {
  return tokenCall(cfg, origin, { grant_type: 'refresh_token', refresh_token: refreshToken }, now, fetchImpl);
}
