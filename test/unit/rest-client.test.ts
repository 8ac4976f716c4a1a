import { describe, expect, it } from 'vitest';
import { BitrixApiError, BitrixNetworkError, OAuthError } from '../../server/bitrix/errors';
import type { OAuthClient } from '../../server/bitrix/oauth';
import { createBitrixGateway, isIdempotentMethod } from '../../server/bitrix/rest-client';
import type { Portal } from '../../server/domain/portal';
import { asyncPort } from '../../server/services/async-port';
import { openDb } from '../../server/storage/db';
import { createSqlitePortalRepository } from '../../server/storage/portal-repository';
import { createSecretBox } from '../../server/storage/secret-box';
import { FakeClock } from '../support/fake-clock';
import { captureLogs } from '../support/log-capture';

const MEMBER = 'f'.repeat(32);
type Reply = { status: number; body: unknown } | 'network';

/** A scripted portal: each request takes the next reply; every request is recorded. */
function setup(replies: Reply[]) {
  const clock = new FakeClock();
  const portals = createSqlitePortalRepository(openDb(':memory:'), createSecretBox('k'.repeat(40)), () => clock.now());
  const portal: Portal = {
    memberId: MEMBER, domain: 'p.example.com', clientEndpoint: 'https://p.example.com/rest/', serverEndpoint: 'https://oauth.example.com/rest/',
    tokens: { accessToken: 'AT', refreshToken: 'RT', expiresAt: clock.now() + 3600_000 }, applicationToken: 'APP', scopes: [], installedBy: 1,
    status: 'active', statusReason: null, createdAt: '', updatedAt: '', installedAt: null,
  };
  portals.save(portal);
  const requests: Array<{ url: string; body: Record<string, unknown> }> = [];
  const fetchStub = (async (url: string, init: RequestInit) => {
    requests.push({ url, body: JSON.parse(String(init.body)) as Record<string, unknown> });
    const r = replies.shift();
    if (!r) throw new Error(`unscripted request to ${url}`);
    if (r === 'network') throw new TypeError('fetch failed');
    return new Response(JSON.stringify(r.body), { status: r.status, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
  const oauth: OAuthClient = { trustedOrigin: () => 'https://oauth.example.com', refresh: () => Promise.reject(new Error('not scripted')) };
  const gateway = createBitrixGateway({ portals: asyncPort(portals), oauth, clock, rateLimit: { drainPerSec: 2, burst: 50 }, log: captureLogs().log, fetch: fetchStub });
  /** Run `work` while advancing the fake clock until it settles. */
  const drive = async <T>(work: Promise<T>): Promise<T> => {
    let done = false;
    const p = work.finally(() => (done = true));
    p.catch(() => {});
    for (let i = 0; i < 3000 && !done; i++) await clock.advance(500);
    return p;
  };
  return { client: gateway.client(MEMBER), requests, replies, drive, clock };
}

const ok = (result: unknown, extra: object = {}) => ({ status: 200, body: { result, time: { start: 0, finish: 0 }, ...extra } });

describe('per-portal REST client', () => {
  it('when a read fails on the network, then it is retried; a write is not (it may have run)', async () => {
    const read = setup(['network', ok({ ID: '1' })]);
    await expect(read.drive(read.client.call('crm.lead.get', { id: 1 }))).resolves.toMatchObject({ result: { ID: '1' } });
    expect(read.requests).toHaveLength(2);

    const write = setup(['network', ok(5)]);
    await expect(write.drive(write.client.call('crm.lead.add', { fields: {} }))).rejects.toBeInstanceOf(BitrixNetworkError);
    expect(write.requests).toHaveLength(1);
  });

  it('when the portal answers QUERY_LIMIT_EXCEEDED, then the client backs off and retries, even a write', async () => {
    const limited = { status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' } };
    const s = setup([limited, limited, ok(7)]);
    const t0 = s.clock.now();
    await expect(s.drive(s.client.call('crm.lead.add', { fields: { TITLE: 'x' } }))).resolves.toMatchObject({ result: 7 });
    expect(s.requests).toHaveLength(3);
    expect(s.clock.now() - t0).toBeGreaterThanOrEqual(2000);
  });

  it('when a method hits OPERATION_TIME_LIMIT, then it waits for operating_reset_at of its last successful answer (the error has no time block)', async () => {
    const resetAt = Math.floor((Date.UTC(2026, 10, 21, 12, 0, 0) + 300_000) / 1000);
    const otl = { status: 429, body: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' } };
    const s = setup([ok([], { time: { operating: 470, operating_reset_at: resetAt } }), otl, ok([])]);
    await s.drive(s.client.call('crm.lead.list'));
    const t0 = s.clock.now();
    await s.drive(s.client.call('crm.lead.list'));
    expect(s.requests).toHaveLength(3);
    expect(s.clock.now()).toBeGreaterThanOrEqual(resetAt * 1000);
    expect(s.clock.now() - t0).toBeLessThan(301_000);
  });

  it('when the reset is unknown or already past, then the blocked method is probed once a bucket (60 s), and gives up after a few blocks', async () => {
    const otl = { status: 429, body: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' } };
    const s = setup([otl, otl, ok(true)]);
    const t0 = s.clock.now();
    await s.drive(s.client.call('crm.lead.list'));
    expect(s.requests).toHaveLength(3);
    expect(s.clock.now() - t0).toBeGreaterThanOrEqual(120_000);
    const never = setup(Array.from({ length: 6 }, () => otl));
    await expect(never.drive(never.client.call('crm.lead.list'))).rejects.toMatchObject({ code: 'OPERATION_TIME_LIMIT', httpStatus: 429 });
    expect(never.requests).toHaveLength(6);
  });

  it('when an error code arrives with HTTP 200 or 400, then it is thrown typed, by code, without retry', async () => {
    const s = setup([{ status: 200, body: { error: 'ERROR_CORE', error_description: 'Handler already binded' } }]);
    const e = await s.drive(s.client.call('placement.bind', {})).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BitrixApiError);
    expect(e).toMatchObject({ code: 'ERROR_CORE', httpStatus: 200, method: 'placement.bind' });
    const s2 = setup([{ status: 400, body: { error: 'ERROR_ARGUMENT', error_description: 'x', argument: 'PLACEMENT' } }]);
    await expect(s2.drive(s2.client.call('placement.get'))).rejects.toMatchObject({ code: 'ERROR_ARGUMENT' });
    expect(s2.requests).toHaveLength(1);
  });

  it('when a batch runs, then commands are sent as method?query strings and per-command errors come back separately', async () => {
    const s = setup([ok({ result: { a: { ID: '1' } }, result_error: { b: { error: 'NOT_FOUND', error_description: 'Not found' } }, result_total: [], result_next: [], result_time: {} })]);
    const r = await s.drive(s.client.batch({ a: { method: 'crm.lead.get', params: { id: 1 } }, b: { method: 'crm.lead.get', params: { id: 2, select: ['ID', 'TITLE'] } } }));
    expect(r.result).toEqual({ a: { ID: '1' } });
    expect(r.errors.b).toEqual({ error: 'NOT_FOUND', error_description: 'Not found' });
    expect(r.total).toEqual({});
    expect(s.requests[0]!.url).toBe('https://p.example.com/rest/batch');
    expect(s.requests[0]!.body.cmd).toEqual({ a: 'crm.lead.get?id=1', b: 'crm.lead.get?id=2&select%5B0%5D=ID&select%5B1%5D=TITLE' });
    expect(s.requests[0]!.body.auth).toBe('AT');
    await expect(s.client.batch(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, { method: 'app.info' }])))).rejects.toThrow(/at most 50/);
  });

  it('when a list spans pages, then every page is fetched by `next`', async () => {
    const s = setup([ok([{ ID: '1' }], { total: 3, next: 50 }), ok([{ ID: '2' }], { total: 3, next: 100 }), ok([{ ID: '3' }], { total: 3 })]);
    await expect(s.drive(s.client.list('crm.lead.list', { filter: {} }))).resolves.toEqual([{ ID: '1' }, { ID: '2' }, { ID: '3' }]);
    expect(s.requests.map((r) => r.body.start)).toEqual([0, 50, 100]);
  });

  it('when the stored pair is read slowly (a database round trip), then callers hitting an expired token still share one grant (issue #12)', async () => {
    const clock = new FakeClock();
    const sync = createSqlitePortalRepository(openDb(':memory:'), createSecretBox('k'.repeat(40)), () => clock.now());
    sync.save({
      memberId: MEMBER, domain: 'p.example.com', clientEndpoint: 'https://p.example.com/rest/', serverEndpoint: 'https://oauth.example.com/rest/',
      tokens: { accessToken: 'AT', refreshToken: 'RT', expiresAt: clock.now() - 1 }, applicationToken: 'APP', scopes: [], installedBy: 1,
      status: 'active', statusReason: null, createdAt: '', updatedAt: '', installedAt: null,
    });
    // a read sees the row as it was when asked and answers 40 ms later; a write lands at once
    const portals = asyncPort(sync);
    const slow = { ...portals, get: async (memberId: string) => {
      const p = sync.get(memberId);
      await clock.sleep(40);
      return p;
    } };
    const grants: string[] = [];
    const oauth: OAuthClient = {
      trustedOrigin: () => 'https://oauth.example.com',
      async refresh(_server, refreshToken) {
        grants.push(refreshToken);
        await clock.sleep(10);
        // a refresh token is single-use: a second grant with it would lock the portal out
        if (grants.filter((t) => t === refreshToken).length > 1) throw new OAuthError('invalid_grant', 'spent', 400);
        return { access_token: `AT${grants.length}`, refresh_token: `RT${grants.length}`, expires_in: 3600, scope: '', client_endpoint: 'https://p.example.com/rest/', member_id: MEMBER };
      },
    };
    const fetchStub = (async () => new Response(JSON.stringify({ result: true, time: { start: 0, finish: 0 } }), { status: 200 })) as unknown as typeof fetch;
    const client = createBitrixGateway({ portals: slow, oauth, clock, rateLimit: { drainPerSec: 2, burst: 50 }, log: captureLogs().log, fetch: fetchStub }).client(MEMBER);
    let done = false;
    // the second caller reads the old pair while the first one's grant runs, and gets the answer after it finished
    const work = Promise.all([client.call('profile'), clock.sleep(20).then(() => client.call('profile'))]).finally(() => (done = true));
    work.catch(() => {});
    for (let i = 0; i < 200 && !done; i++) await clock.advance(5);
    await expect(work).resolves.toHaveLength(2);
    expect(grants).toEqual(['RT']);
    expect(sync.get(MEMBER)).toMatchObject({ status: 'active', tokens: { accessToken: 'AT1', refreshToken: 'RT1' } });
  });

  it('classifies methods: reads are idempotent, writes are not', () => {
    for (const m of ['crm.lead.get', 'crm.lead.list', 'profile', 'app.info', 'event.get', 'placement.get', 'imconnector.status', 'crm.lead.fields']) expect(isIdempotentMethod(m), m).toBe(true);
    for (const m of ['crm.lead.add', 'crm.lead.update', 'placement.bind', 'event.bind', 'imconnector.send.messages', 'batch']) expect(isIdempotentMethod(m), m).toBe(false);
  });
});
