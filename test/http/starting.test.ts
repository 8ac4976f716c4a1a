/**
 * The server listens before its database is open and migrated (PostgreSQL: seconds at the first
 * start): a request in that window is answered 503 `starting` with Retry-After, never left hanging
 * (a balancer's health check or a UIS callback would wait forever; found by the production start
 * check on PostgreSQL).
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '../../server/compose';
import { loadConfig } from '../../server/config';
import { bootOnlyRenderer } from '../support/harness';
import { captureLogs } from '../support/log-capture';

describe('a server still starting', () => {
  it('answers 503 starting (Retry-After) until its app is wired, then serves', async () => {
    const seen: Array<{ status: number; retryAfter: string | null; body: string }> = [];
    const app = await startServer({
      config: loadConfig({ PORT: '0', DATABASE_URL: 'file::memory:', LOG_LEVEL: 'silent' }),
      log: captureLogs().log,
      renderer: bootOnlyRenderer,
      credentials: async (appUrl) => {
        for (const path of ['/healthz', '/readyz', '/uis/callbacks/x/message']) {
          const r = await fetch(`${appUrl}${path}`, { method: path.startsWith('/uis') ? 'POST' : 'GET', signal: AbortSignal.timeout(5000) });
          seen.push({ status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() });
        }
        return { clientId: 'local.x', clientSecret: 's', oauthServers: ['https://oauth.bitrix.info'] };
      },
    });
    try {
      expect(seen).toEqual(Array(3).fill({ status: 503, retryAfter: '1', body: '{"status":"starting"}' }));
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
