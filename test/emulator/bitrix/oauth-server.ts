/**
 * The OAuth server (oauth.bitrix.info analogue) on its own port — docs/facts/bitrix24.md#oauth:
 * `GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token` — the only form
 * the docs and every public client use; the parameters are read from the query alone, so a POSTed
 * form is a request without them (harsher than the docs, which promise nothing else).
 * Wrong client → 401 invalid_client; unknown/used/revoked refresh token → 400 invalid_grant;
 * otherwise both tokens rotate. `domain` in the answer is the OAuth host.
 * Also `/rest/app.info` (the trusted app-status check of docs/facts/bitrix24.md#oauth).
 */
import express from 'express';
import qs from 'qs';
import { isRecord, type Params } from './php';
import type { Shared } from './types';
import type { PortalImpl } from './portal';

export interface OAuthStats {
  refreshGrants: number;
  refreshFailures: number;
  /** every request to /oauth/token/: its HTTP method and body size */
  grantRequests: Array<{ method: string; bodyBytes: number }>;
}

function oauthError(res: express.Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

export function oauthApp(shared: Shared, portals: () => readonly PortalImpl[], stats: OAuthStats): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.urlencoded({ extended: true, limit: '1mb' }));

  const token = (req: express.Request, res: express.Response): void => {
    const p = qs.parse(req.originalUrl.split('?')[1] ?? '') as Params;
    stats.grantRequests.push({ method: req.method, bodyBytes: Number(req.headers['content-length'] ?? 0) });
    const grant = String(p.grant_type ?? '');
    const fail = (status: number, error: string, description: string) => {
      if (grant === 'refresh_token') stats.refreshFailures++;
      oauthError(res, status, error, description);
    };
    if (req.method !== 'GET') return fail(400, 'invalid_request', 'The token endpoint takes GET with the parameters in the query');
    if (p.client_id !== shared.app.clientId || p.client_secret !== shared.app.clientSecret) {
      return fail(401, 'invalid_client', 'The client credentials are invalid');
    }
    if (grant === 'authorization_code') return fail(400, 'invalid_grant', 'Authorization code is invalid or expired');
    if (grant !== 'refresh_token') return fail(400, 'invalid_request', 'The grant type was not specified in the request');
    const rotated = typeof p.refresh_token === 'string' ? shared.tokens.rotate(p.refresh_token) : null;
    const portal = rotated ? portals().find((x) => x.memberId === rotated.memberId) : undefined;
    if (!rotated || !portal || !portal.install) {
      return fail(400, 'invalid_grant', 'The refresh token is invalid or expired');
    }
    stats.refreshGrants++;
    res.json({
      access_token: rotated.accessToken,
      expires: rotated.expires,
      expires_in: rotated.expiresIn,
      scope: shared.app.scopes.join(','),
      domain: new URL(shared.oauthOrigin).host,
      server_endpoint: shared.serverEndpoint,
      status: shared.app.status,
      client_endpoint: portal.clientEndpoint,
      member_id: portal.memberId,
      user_id: rotated.userId,
      refresh_token: rotated.refreshToken,
    });
  };

  app.all(['/oauth/token', '/oauth/token/'], token);

  app.all(['/rest/app.info', '/rest/app.info.json'], (req, res) => {
    const query = qs.parse(req.originalUrl.split('?')[1] ?? '') as Params;
    const body: Params = isRecord(req.body) ? (req.body as Params) : {};
    const auth = String(body.auth ?? query.auth ?? '');
    const record = auth ? shared.tokens.lookup(auth) : null;
    const portal = record ? portals().find((x) => x.memberId === record.memberId) : undefined;
    if (!record || !portal) return oauthError(res, 401, 'invalid_token', 'The access token provided is invalid.');
    const now = shared.clock.now() / 1000;
    res.json({ result: portal.appInfo(), time: { start: now, finish: now, duration: 0, processing: 0 } });
  });

  app.use((_req, res) => oauthError(res, 404, 'invalid_request', 'Not found'));
  return app;
}
