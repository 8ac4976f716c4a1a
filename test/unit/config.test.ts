import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';

describe('loadConfig', () => {
  it('when nothing is set, then it runs in sandbox mode with documented defaults', () => {
    const c = loadConfig({});
    expect(c.sandbox).toBe(true);
    expect(c.port).toBe(3000);
    expect(c.databasePath).toBe('./data/omni.db');
    expect(c.oauthServers).toEqual(['https://oauth.bitrix.info', 'https://oauth.bitrix24.tech']);
    expect(c.rateLimit).toEqual({ drainPerSec: 2, burst: 50 });
  });

  it('when real app credentials are set, then APP_URL and APP_SECRET_KEY become required, with a message naming them', () => {
    let err: unknown;
    try {
      loadConfig({ B24_CLIENT_ID: 'app.1', B24_CLIENT_SECRET: 's' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/APP_SECRET_KEY/);
    expect(String((err as Error).message)).toMatch(/APP_URL/);
  });

  it('when values are malformed, then the error names each variable', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/omni', DATABASE_SCHEMA: 'Bad-Name' })).toThrow(/DATABASE_SCHEMA/);
    expect(() => loadConfig({ B24_OAUTH_SERVERS: 'not a url' })).toThrow(/B24_OAUTH_SERVERS/);
    expect(() => loadConfig({ B24_RATE_LIMIT: 'fast' })).toThrow(/B24_RATE_LIMIT/);
  });

  it('DATABASE_URL picks the store: file: is SQLite (the default), postgres:// PostgreSQL with its schema and pool size', () => {
    expect(loadConfig({}).postgres).toBeNull();
    expect(loadConfig({ DATABASE_URL: 'file:./x.db' })).toMatchObject({ databasePath: './x.db', postgres: null });
    expect(loadConfig({ DATABASE_URL: 'postgres://omni@db:5432/omni', DATABASE_SCHEMA: 'omni', DATABASE_POOL_SIZE: '20' }).postgres).toEqual({ url: 'postgres://omni@db:5432/omni', schema: 'omni', poolSize: 20 });
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/omni' }).postgres).toEqual({ url: 'postgresql://db/omni', schema: undefined, poolSize: 10 });
  });

  it('when production values are complete, then they are parsed', () => {
    const c = loadConfig({
      B24_CLIENT_ID: 'app.1',
      B24_CLIENT_SECRET: 's',
      APP_URL: 'https://omni.example.com/',
      APP_SECRET_KEY: 'x'.repeat(32),
      B24_RATE_LIMIT: '5/250',
      B24_OAUTH_SERVERS: 'https://oauth.bitrix24.tech/',
    });
    expect(c.sandbox).toBe(false);
    expect(c.appUrl).toBe('https://omni.example.com');
    expect(c.rateLimit).toEqual({ drainPerSec: 5, burst: 250 });
    expect(c.oauthServers).toEqual(['https://oauth.bitrix24.tech']);
  });
});
