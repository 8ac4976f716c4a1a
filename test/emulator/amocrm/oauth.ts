/**
 * amoCRM OAuth 2.0 (amocrm.ru/developers/content/oauth/{oauth,step-by-step}; Kommo
 * reference/get-token; amocrm-api-php issues #123, #246, #315, #475; docs/facts/chat-sources.md#amocrm-oauth):
 * - `GET /oauth?client_id=…&state=…[&mode=popup|post_message]`: the account chooser; «Разрешить»
 *   redirects to the integration's Redirect URI with `code`, `state`, `referer` (the account's
 *   host: the API base) and `client_id`; «Отказать» with `error=access_denied`.
 * - `POST /oauth2/access_token` (JSON or form): `authorization_code` (the code lives 20 minutes,
 *   once) and `refresh_token` (the pair rotates; a refresh token works once and lives 3 months) →
 *   `{token_type: 'Bearer', expires_in: 86400, server_time, access_token, refresh_token}`.
 *   A reused refresh token → 401 "Token has been revoked".
 * - `GET /oauth2/account/subdomain` (bearer) → the account's subdomain.
 *
 * Chosen where the docs are silent (harsher): reusing a refresh token also revokes the tokens it
 * led to (the whole grant), as OAuth's refresh-token reuse detection does; a refresh ends the
 * access token issued with the old pair; the redirect_uri must equal the integration's exactly;
 * the client_secret is checked on every grant.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../server/domain/clock';

export interface Integration {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

interface Grant {
  accountId: number;
  userId: number;
  revoked: boolean;
}

interface RefreshToken {
  grant: Grant;
  expiresAt: number;
  used: boolean;
  /** the access token issued with it: a refresh ends it */
  access: string;
}

export const CODE_TTL_MS = 20 * 60_000;
export const ACCESS_TTL_S = 86_400;
export const REFRESH_TTL_MS = 90 * 86_400_000;

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly hint: string,
    readonly detail = 'В запросе отсутствует ряд параметров или параметры невалидны',
  ) {
    super(hint);
  }
  body(): Record<string, unknown> {
    return { hint: this.hint, title: 'Некорректный запрос', type: 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson', status: this.status, detail: this.detail };
  }
}

const token = (n: number) => randomBytes(n).toString('base64url');

export class OAuthServer {
  private readonly codes = new Map<string, { grant: Grant; expiresAt: number; redirectUri: string }>();
  private readonly access = new Map<string, { grant: Grant; expiresAt: number }>();
  private readonly refresh = new Map<string, RefreshToken>();
  readonly grants: Grant[] = [];
  /** addition: every token request (grant type and outcome) */
  readonly log: Array<{ grantType: string; ok: boolean; hint?: string }> = [];

  constructor(
    readonly integration: Integration,
    private readonly clock: Clock,
  ) {}

  issueCode(accountId: number, userId: number): string {
    const grant: Grant = { accountId, userId, revoked: false };
    this.grants.push(grant);
    const code = token(48);
    this.codes.set(code, { grant, expiresAt: this.clock.now() + CODE_TTL_MS, redirectUri: this.integration.redirectUri });
    return code;
  }

  private pair(grant: Grant): Record<string, unknown> {
    const access = token(64);
    const refresh = token(64);
    const now = this.clock.now();
    this.access.set(access, { grant, expiresAt: now + ACCESS_TTL_S * 1000 });
    this.refresh.set(refresh, { grant, expiresAt: now + REFRESH_TTL_MS, used: false, access });
    return { token_type: 'Bearer', expires_in: ACCESS_TTL_S, server_time: Math.floor(now / 1000), access_token: access, refresh_token: refresh };
  }

  exchange(body: Record<string, unknown>): Record<string, unknown> {
    const grantType = String(body.grant_type ?? '');
    try {
      if (body.client_id !== this.integration.clientId || body.client_secret !== this.integration.clientSecret) throw new OAuthError(401, 'Client authentication failed', 'Клиент не найден или секретный ключ неверен');
      if (body.redirect_uri !== this.integration.redirectUri) throw new OAuthError(400, 'Cannot decrypt the authorization code / redirect_uri mismatch');
      let out: Record<string, unknown>;
      if (grantType === 'authorization_code') {
        const c = this.codes.get(String(body.code ?? ''));
        this.codes.delete(String(body.code ?? ''));
        if (!c || c.expiresAt < this.clock.now()) throw new OAuthError(400, 'Authorization code has expired');
        out = this.pair(c.grant);
      } else if (grantType === 'refresh_token') {
        const r = this.refresh.get(String(body.refresh_token ?? ''));
        if (!r) throw new OAuthError(400, 'Cannot decrypt the refresh token');
        if (r.used) {
          r.grant.revoked = true;
          throw new OAuthError(401, 'Token has been revoked');
        }
        if (r.grant.revoked) throw new OAuthError(401, 'Token has been revoked');
        if (r.expiresAt < this.clock.now()) throw new OAuthError(400, 'Token has expired');
        r.used = true;
        this.access.delete(r.access);
        out = this.pair(r.grant);
      } else {
        throw new OAuthError(400, 'The authorization grant type is not supported by the authorization server.');
      }
      this.log.push({ grantType, ok: true });
      return out;
    } catch (e) {
      if (e instanceof OAuthError) this.log.push({ grantType, ok: false, hint: e.hint });
      throw e;
    }
  }

  /** The account and user an access token stands for, or the reason it does not. */
  check(accessToken: string): { accountId: number; userId: number } | 'expired' | 'revoked' | 'unknown' {
    const a = this.access.get(accessToken);
    if (!a) return 'unknown';
    if (a.grant.revoked) return 'revoked';
    if (a.expiresAt < this.clock.now()) return 'expired';
    return { accountId: a.grant.accountId, userId: a.grant.userId };
  }

  /** The account's admin disconnects the integration: every token of it stops working. */
  revokeAccount(accountId: number): void {
    for (const g of this.grants) if (g.accountId === accountId) g.revoked = true;
  }

  /** addition: expire every access token of the account now (the next call must refresh). */
  expireAccessTokens(accountId: number): void {
    for (const a of this.access.values()) if (a.grant.accountId === accountId) a.expiresAt = 0;
  }
}
