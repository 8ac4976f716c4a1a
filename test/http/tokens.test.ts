import { afterEach, describe, expect, it } from 'vitest';
import { ReauthRequiredError } from '../../server/bitrix/errors';
import type { OAuthClient } from '../../server/bitrix/oauth';
import { createBitrixGateway } from '../../server/bitrix/rest-client';
import { createLogger } from '../../server/logging';
import { createLeaseKeeper } from '../../server/services/leases';
import { createSqliteLeaseStore } from '../../server/storage/lease-repository';
import { createPgLeaseStore } from '../../server/storage/pg/lease-store';
import { installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => h?.close());

describe('tokens', () => {
  it('when the access token expires mid-work, then the client refreshes once, persists the new pair and the call succeeds', async () => {
    h = await startHarness();
    await installApp(h);
    const before = (await h.app.deps.portals.get(h.portal.memberId))!.tokens!;
    const grants = h.emu.stats.refreshGrants;
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    await rest.call('app.info');
    h.portal.expireAccessTokens();
    const r = await rest.call<{ INSTALLED: boolean }>('app.info');
    expect(r.result.INSTALLED).toBe(true);
    expect(h.emu.stats.refreshGrants).toBe(grants + 1);
    const after = (await h.app.deps.portals.get(h.portal.memberId))!.tokens!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    // the documented grant: GET with the parameters in the query, no body (docs/facts/bitrix24.md#oauth)
    expect(h.emu.stats.grantRequests.at(-1)).toEqual({ method: 'GET', bodyBytes: 0 });
    // the persisted pair is the live one: a second client (as after a restart) works without refreshing
    await h.app.deps.gateway.client(h.portal.memberId).call('profile');
    expect(h.emu.stats.refreshGrants).toBe(grants + 1);
  });

  it('when many calls hit an expired token at once, then they share one refresh', async () => {
    h = await startHarness();
    await installApp(h);
    const grants = h.emu.stats.refreshGrants;
    h.portal.expireAccessTokens();
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    const results = await Promise.all(Array.from({ length: 20 }, () => rest.call('profile')));
    expect(results).toHaveLength(20);
    expect(h.emu.stats.refreshGrants).toBe(grants + 1);
    expect(h.emu.stats.refreshFailures).toBe(0);
  });

  it('when two instances on one database hit an expired token at once, then one refreshes and the other reads the pair it stored (issue #12)', async () => {
    h = await startHarness();
    await installApp(h);
    const member = h.portal.memberId;
    // the second instance: its own process state (limiter, single-flight map, lease owner), the same database
    const slowOAuth: OAuthClient = {
      trustedOrigin: (u) => h.app.deps.oauth.trustedOrigin(u),
      async refresh(server, token) {
        await new Promise((r) => setTimeout(r, 50)); // a slow OAuth round trip: the other instance asks meanwhile
        return h.app.deps.oauth.refresh(server, token);
      },
    };
    const log = createLogger({ level: 'silent' });
    const other = createBitrixGateway({
      portals: h.app.deps.portals,
      oauth: slowOAuth,
      clock: h.app.deps.clock,
      rateLimit: { drainPerSec: 2, burst: 50 },
      log,
      leases: createLeaseKeeper({ store: h.app.storeKind === 'sqlite' ? createSqliteLeaseStore(h.app.db) : createPgLeaseStore((await h.sql.pg()).db), log, ttlMs: 10_000, instance: 'elsewhere:1' }),
    });
    const grants = h.emu.stats.refreshGrants;
    const failures = h.emu.stats.refreshFailures;
    for (let round = 1; round <= 3; round++) {
      h.portal.expireAccessTokens();
      const here = h.app.deps.gateway.client(member);
      const there = other.client(member);
      const results = await Promise.all([there.call('profile'), here.call('profile'), there.call('app.info'), here.call('app.info')]);
      expect(results).toHaveLength(4);
      expect(h.emu.stats.refreshGrants, `round ${round}`).toBe(grants + round);
    }
    expect(h.emu.stats.refreshFailures).toBe(failures);
    expect((await h.app.deps.portals.get(member))!.status).toBe('active');
  });

  it('when the instance refreshing stalls past its lease with its grant under way, then the other waits for the pair it stores instead of spending the refresh token again (issue #12)', async () => {
    h = await startHarness();
    await installApp(h);
    const member = h.portal.memberId;
    const log = createLogger({ level: 'silent' });
    // the stalled instance: its grant reaches the OAuth server at once, its answer comes 1 s later,
    // and its lease is not renewed meanwhile (a paused process renews nothing): it expires after 200 ms
    const store = h.app.storeKind === 'sqlite' ? createSqliteLeaseStore(h.app.db) : createPgLeaseStore((await h.sql.pg()).db);
    const stalledStore = { ...store, renew: () => new Promise<boolean>(() => {}) };
    let granted!: () => void;
    const grantSent = new Promise<void>((r) => (granted = r));
    const stalledOAuth: OAuthClient = {
      trustedOrigin: (u) => h.app.deps.oauth.trustedOrigin(u),
      async refresh(server, token) {
        const t = await h.app.deps.oauth.refresh(server, token);
        granted();
        await new Promise((r) => setTimeout(r, 1000));
        return t;
      },
    };
    const stalled = createBitrixGateway({
      portals: h.app.deps.portals,
      oauth: stalledOAuth,
      clock: h.app.deps.clock,
      rateLimit: { drainPerSec: 2, burst: 50 },
      log,
      leases: createLeaseKeeper({ store: stalledStore, log, ttlMs: 200, instance: 'stalled:1' }),
    });
    const grants = h.emu.stats.refreshGrants;
    const failures = h.emu.stats.refreshFailures;
    h.portal.expireAccessTokens();
    const there = stalled.client(member).call('profile');
    await grantSent;
    await new Promise((r) => setTimeout(r, 400)); // its lease has expired
    // this instance meets the expired token now: the refresh lease is free to take, the refresh token spent
    const here = await h.app.deps.gateway.client(member).call('profile');
    expect(here.result).toBeTruthy();
    await there;
    expect(h.emu.stats.refreshFailures - failures).toBe(0);
    expect(h.emu.stats.refreshGrants - grants).toBe(1);
    expect((await h.app.deps.portals.get(member))!.status).toBe('active');
  });

  it('when the refresh token is refused (invalid_grant), then the portal is marked reauth-required and later calls fail fast without network', async () => {
    h = await startHarness();
    await installApp(h);
    h.portal.revokeRefreshTokens();
    h.portal.expireAccessTokens();
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    await expect(rest.call('profile')).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(await h.app.deps.portals.get(h.portal.memberId)).toMatchObject({ status: 'reauth-required', statusReason: 'refresh refused: invalid_grant' });
    const requests = h.portal.stats.requests;
    const failures = h.emu.stats.refreshFailures;
    await expect(rest.call('profile')).rejects.toBeInstanceOf(ReauthRequiredError);
    await expect(Promise.all([rest.call('app.info'), rest.call('scope')])).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(h.portal.stats.requests).toBe(requests);
    expect(h.emu.stats.refreshFailures).toBe(failures);

    // visible to the admin, and fixed by opening the install page again
    const page = await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` });
    const view = await fetch(`${h.app.url}/api/portal`, { headers: { authorization: `Bearer ${page.boot.session}` } });
    expect(((await view.json()) as { status: string }).status).toBe('reauth-required');
    const reinstall = await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/install` });
    expect(reinstall.status).toBe(200);
    await expect(rest.call('profile')).resolves.toBeTruthy();
  });

  it('when the app is uninstalled, then the tokens are wiped; with CLEAN=1 all its data is gone', async () => {
    h = await startHarness({ portals: 2 });
    const [a, b] = h.emu.portals as [typeof h.portal, typeof h.portal];
    await installApp(h, a);
    await installApp(h, b);
    await a.uninstall({ clean: false });
    await h.app.deps.background.idle();
    expect(a.deliveries.find((d) => d.event === 'ONAPPUNINSTALL')?.status).toBe(200);
    expect(await h.app.deps.portals.get(a.memberId)).toMatchObject({ status: 'deleted', tokens: null, applicationToken: null });
    await expect(h.app.deps.gateway.client(a.memberId).call('profile')).rejects.toBeInstanceOf(ReauthRequiredError);

    await b.fireEvent('ONCRMLEADADD', { FIELDS: { ID: '9' } });
    expect(await h.app.deps.inbox.count(b.memberId)).toBe(1);
    await b.uninstall({ clean: true });
    expect(await h.app.deps.portals.get(b.memberId)).toBeNull();
    expect(await h.app.deps.inbox.count(b.memberId)).toBe(0);
  });

  it('when two portals are installed, then a session of one cannot see the other', async () => {
    h = await startHarness({ portals: 2 });
    const [a, b] = h.emu.portals as [typeof h.portal, typeof h.portal];
    await installApp(h, a);
    await installApp(h, b);
    const pageA = await openPage(a, { handlerUrl: `${h.app.url}/b24/app` });
    const view = (await (await fetch(`${h.app.url}/api/portal`, { headers: { authorization: `Bearer ${pageA.boot.session}` } })).json()) as { memberId: string };
    expect(view.memberId).toBe(a.memberId);
    // a's user token presented with b's member_id is refused
    const { url, form } = b.openApp({ handlerUrl: `${h.app.url}/b24/app` });
    const mixed = await fetch(url, { method: 'POST', body: new URLSearchParams({ ...form, AUTH_ID: pageA.form.AUTH_ID! }) });
    expect(mixed.status).toBe(401);
  });
});

describe('secrets in logs', () => {
  it('when a full install, refresh, events and uninstall run, then no credential appears in any log line', async () => {
    h = await startHarness();
    const { boot } = await installApp(h);
    const page = await openPage(h.portal, { placement: 'LEFT_MENU' });
    h.portal.expireAccessTokens();
    await h.app.deps.gateway.client(h.portal.memberId).call('profile');
    const stored = (await h.app.deps.portals.get(h.portal.memberId))!;
    await h.portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: '1' } });
    await h.portal.updateApp();
    await h.app.deps.background.idle();
    const secrets = [
      page.form.AUTH_ID!, page.form.REFRESH_ID!, page.form.APPLICATION_TOKEN!,
      stored.tokens!.accessToken, stored.tokens!.refreshToken, stored.applicationToken!, boot.session!,
      'SENTINEL_CLIENT_SECRET',
    ];
    await h.portal.uninstall();
    await h.app.deps.background.idle();
    const text = h.logs.text();
    expect(text.length).toBeGreaterThan(500);
    for (const s of secrets) expect(text, 'a secret reached the logs').not.toContain(s);
  });
});

describe('secrets in the refresh URL', () => {
  it('when the OAuth server cannot be reached, then neither the error nor any log line carries the grant URL (client_secret, refresh token)', async () => {
    // node-fetch and undici name the URL in some failures ("request to <url> failed, reason: …",
    // "Failed to parse URL from <url>"); the documented GET puts client_secret into that URL
    let oauthDown = false;
    let oauthOrigin = '';
    const failing = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (oauthDown && oauthOrigin && url.startsWith(oauthOrigin)) {
        throw new TypeError(`request to ${url} failed, reason: connect ECONNREFUSED`, { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      }
      return fetch(input, init);
    }) as typeof fetch;
    h = await startHarness({ fetch: failing });
    oauthOrigin = h.emu.oauthOrigin;
    await installApp(h);
    const stored = (await h.app.deps.portals.get(h.portal.memberId))!;
    oauthDown = true;
    h.portal.expireAccessTokens();
    const err = await h.app.deps.gateway.client(h.portal.memberId).call('profile').then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_error' });
    expect((err as Error).message).toContain('ECONNREFUSED');
    h.app.deps.log.error({ err }, 'a caller logs the failure as every worker does');
    // the install page verifies through the same grant: 503, logged, no secret
    const page = await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/install` });
    expect(page.status).toBe(503);
    await h.app.deps.background.idle();
    const text = h.logs.text() + JSON.stringify(err) + String((err as Error).stack);
    for (const s of ['SENTINEL_CLIENT_SECRET', stored.tokens!.refreshToken, page.form.REFRESH_ID!, '/oauth/token']) {
      expect(text, 'the grant URL reached a log line or an error').not.toContain(s);
    }
  });
});

describe('health and metrics', () => {
  it('when scraped, then /healthz answers ok and /metrics exposes the REST and event counters', async () => {
    h = await startHarness();
    await installApp(h);
    expect(await (await fetch(`${h.app.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const text = await (await fetch(`${h.app.url}/metrics`)).text();
    expect(text).toMatch(/omni_b24_rest_requests_total\{outcome="ok"\} \d+/);
    expect(text).toMatch(/omni_portals\{status="active"\} 1/);
    expect(text).toMatch(/omni_http_requests_total\{route="\/api\/install\/run",status="200"\} 1/);
  });
});

describe('rate limit', () => {
  it('when the portal bucket is smaller than the client assumes (another app on our IP), then 503s are backed off and every call completes', async () => {
    // scaled clock: the same bucket model, 20× faster; nothing here asserts time
    const { scaledClock } = await import('../../server/domain/clock');
    h = await startHarness({ clock: scaledClock(20), rateLimit: { drainPerSec: 2, burst: 10 } });
    await installApp(h);
    const limitedBefore = h.portal.stats.limited503;
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => rest.call('app.option.set', { options: { [`k${i}`]: String(i) } })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(h.portal.stats.limited503).toBeGreaterThan(limitedBefore);
  });
});
