/**
 * The Bitrix24 emulator against its contracts (docs/facts/bitrix24.md,
 * docs/facts/bitrix24-frame.md), over real HTTP. Time is a fake clock the tests move by hand.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import qs from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../server/domain/clock';
import { launchChromium } from '../support/browser';
import { FakeClock as ManualClock } from '../support/fake-clock';
import { startBitrixEmulator, type BitrixEmulator, type BitrixEmulatorOptions, type EmulatedPortal } from './bitrix';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface FakeClock extends Clock {
  advance(ms: number): void;
}

function fakeClock(start = Date.UTC(2026, 7, 21, 9, 0, 0)): FakeClock {
  let t = start;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

interface Hit {
  path: string;
  contentType: string;
  raw: string;
  body: Json;
}

/** A tiny "app": records every POST it gets; `status` decides what it answers. */
async function startReceiver() {
  const hits: Hit[] = [];
  const ctl: { status: number; onHit?: () => void } = { status: 200 };
  const app = express();
  app.use(express.text({ type: () => true }));
  app.all('/{*rest}', (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    hits.push({ path: req.path, contentType: String(req.headers['content-type'] ?? ''), raw, body: qs.parse(raw) as Json });
    ctl.onHit?.();
    res.status(ctl.status).send('ok');
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    ctl,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(extra: Partial<BitrixEmulatorOptions> = {}) {
  const receiver = await startReceiver();
  const clock = fakeClock();
  const emu: BitrixEmulator = await startBitrixEmulator({
    app: { clientId: 'local.abc123', clientSecret: 'top-secret', appUrl: receiver.url },
    clock,
    ...extra,
  });
  cleanups.push(receiver.close, emu.close);
  const portal = emu.portals[0] as EmulatedPortal;
  return { receiver, clock, emu, portal };
}

/** Begins the install and returns the admin's launch form (the install page POST). */
function adminLaunch(portal: EmulatedPortal) {
  portal.beginInstall();
  return portal.openApp();
}

async function rest(portal: EmulatedPortal, method: string, params: Json = {}, token?: string) {
  const res = await fetch(`${portal.clientEndpoint}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(token === undefined ? params : { ...params, auth: token }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

/** The documented refresh: GET with every parameter in the query (docs/facts/bitrix24.md#oauth). */
async function oauth(emu: BitrixEmulator, fields: Record<string, string>) {
  const res = await fetch(`${emu.oauthOrigin}/oauth/token/?${new URLSearchParams(fields).toString()}`);
  return { status: res.status, body: (await res.json()) as Json };
}

describe('OAuth server', () => {
  it('rotates both tokens; a refresh token works once', async () => {
    const { emu, portal } = await setup();
    const { form } = adminLaunch(portal);
    const base = { grant_type: 'refresh_token', client_id: 'local.abc123', client_secret: 'top-secret' };

    const first = await oauth(emu, { ...base, refresh_token: form.REFRESH_ID as string });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      expires_in: 3600,
      scope: 'crm,imopenlines,imconnector,im,contact_center,placement,user,telephony',
      domain: new URL(emu.oauthOrigin).host,
      server_endpoint: emu.serverEndpoint,
      client_endpoint: portal.clientEndpoint,
      member_id: portal.memberId,
      status: 'L',
      user_id: 1,
    });
    expect(first.body.expires).toBe(Math.floor(Date.UTC(2026, 7, 21, 9, 0, 0) / 1000) + 3600);
    expect(first.body.refresh_token).not.toBe(form.REFRESH_ID);

    const reused = await oauth(emu, { ...base, refresh_token: form.REFRESH_ID as string });
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    // a POSTed form is not the documented request: refused, and the token it carried stays usable
    const viaPost = await fetch(`${emu.oauthOrigin}/oauth/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...base, refresh_token: first.body.refresh_token }).toString(),
    });
    expect(viaPost.status).toBe(400);
    expect(await viaPost.json()).toMatchObject({ error: 'invalid_request' });

    const second = await oauth(emu, { ...base, refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    expect((await rest(portal, 'profile', {}, second.body.access_token)).status).toBe(200);

    expect(emu.stats).toMatchObject({ refreshGrants: 2, refreshFailures: 1 });
    expect(emu.stats.grantRequests.map((r) => r.method)).toEqual(['GET', 'GET', 'POST', 'GET']);
  });

  it('refuses a wrong client with 401 invalid_client and unknown/revoked tokens with invalid_grant', async () => {
    const { emu, portal } = await setup();
    const { form } = adminLaunch(portal);
    const wrong = await oauth(emu, { grant_type: 'refresh_token', client_id: 'local.abc123', client_secret: 'nope', refresh_token: form.REFRESH_ID as string });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const base = { grant_type: 'refresh_token', client_id: 'local.abc123', client_secret: 'top-secret' };
    expect(await oauth(emu, { ...base, refresh_token: 'made-up' })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    portal.revokeRefreshTokens();
    expect(await oauth(emu, { ...base, refresh_token: form.REFRESH_ID as string })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});

describe('REST mechanics', () => {
  it('wraps results in the envelope with time, accepts .json, // and any case', async () => {
    const { portal } = await setup();
    const { form } = adminLaunch(portal);
    const token = form.AUTH_ID as string;
    const res = await rest(portal, 'profile', {}, token);
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({ ID: '1', ADMIN: true });
    expect(Object.keys(res.body.time)).toEqual(
      expect.arrayContaining(['start', 'finish', 'duration', 'processing', 'date_start', 'date_finish', 'operating', 'operating_reset_at']),
    );
    expect(res.body.time.date_start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$/);
    expect(res.headers.get('x-bitrix-rest-application')).toBe('local.abc123');

    const viaJson = await fetch(`${portal.origin}/rest//APP.INFO.json?auth=${token}`);
    expect(((await viaJson.json()) as Json).result).toMatchObject({ CODE: 'local.abc123', INSTALLED: false, STATUS: 'L' });
    const bearer = await fetch(`${portal.origin}/rest/user.current`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await bearer.json()) as Json).result).toMatchObject({ ID: '1', ACTIVE: true });
  });

  it('answers 404 for an unknown method before checking auth, then 401 for auth problems', async () => {
    const { portal } = await setup();
    expect(await rest(portal, 'crm.nothing.here')).toMatchObject({ status: 404, body: { error: 'ERROR_METHOD_NOT_FOUND' } });
    expect(await rest(portal, 'profile')).toMatchObject({ status: 401, body: { error: 'NO_AUTH_FOUND' } });
    expect(await rest(portal, 'profile', {}, 'garbage')).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('expires access tokens by the clock and on demand', async () => {
    const { portal, clock } = await setup();
    const { form } = adminLaunch(portal);
    clock.advance(3599_000);
    expect((await rest(portal, 'profile', {}, form.AUTH_ID)).status).toBe(200);
    clock.advance(1_000);
    expect(await rest(portal, 'profile', {}, form.AUTH_ID)).toEqual(
      expect.objectContaining({
        status: 401,
        body: { error: 'expired_token', error_description: 'The access token provided has expired.' },
      }),
    );
    const fresh = portal.openApp().form.AUTH_ID as string;
    portal.expireAccessTokens();
    expect((await rest(portal, 'profile', {}, fresh)).body.error).toBe('expired_token');
  });

  it('answers CORS preflight like the portal', async () => {
    const { portal } = await setup();
    const res = await fetch(`${portal.clientEndpoint}profile`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:9', 'access-control-request-headers': 'content-type' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
  });

  it('leaky bucket: 50 fast requests pass, the 51st gets 503 and is not counted', async () => {
    const { portal, clock } = await setup();
    const token = adminLaunch(portal).form.AUTH_ID as string;
    for (let i = 0; i < 50; i++) expect((await rest(portal, 'server.time', {}, token)).status).toBe(200);
    expect(await rest(portal, 'server.time', {}, token)).toMatchObject({
      status: 503,
      body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' },
    });
    clock.advance(1_000); // drains 2
    expect((await rest(portal, 'server.time', {}, token)).status).toBe(200);
    expect((await rest(portal, 'server.time', {}, token)).status).toBe(200);
    expect((await rest(portal, 'server.time', {}, token)).status).toBe(503);
    expect(portal.stats.limited503).toBe(2);
    expect(portal.stats.byMethod['server.time']).toBe(54);
    portal.setPlan({ drainPerSec: 5, burst: 250 });
    expect((await rest(portal, 'server.time', {}, token)).status).toBe(200);
  });

  it('parses PHP-style form bodies and GET queries', async () => {
    const { portal, receiver } = await setup();
    const token = adminLaunch(portal).form.AUTH_ID as string;
    const body = qs.stringify({ auth: token, PLACEMENT: 'LEFT_MENU', HANDLER: `${receiver.url}/b24/left`, LANG_ALL: { ru: { TITLE: 'Чаты' }, en: { TITLE: 'Chats' } } });
    const res = await fetch(`${portal.clientEndpoint}placement.bind`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(((await res.json()) as Json).result).toBe(true);
    const got = await fetch(`${portal.clientEndpoint}placement.get?auth=${token}`);
    expect(((await got.json()) as Json).result[0]).toMatchObject({
      placement: 'LEFT_MENU',
      handler: `${receiver.url}/b24/left`,
      title: 'Чаты',
      langAll: { ru: { TITLE: 'Чаты' }, en: { TITLE: 'Chats' } },
    });
  });
});

describe('batch', () => {
  it('runs sub-calls in order, substitutes $result, reports errors per command', async () => {
    const { portal } = await setup();
    const token = adminLaunch(portal).form.AUTH_ID as string;
    const res = await rest(portal, 'batch', {
      halt: 0,
      cmd: {
        me: 'profile',
        save: 'app.option.set?options[owner]=$result[me][ID]&options[label]=id-$result[me][ID]',
        read: 'app.option.get',
        nope: 'no.such.method',
        nested: 'batch?cmd[0]=profile',
      },
    }, token);
    expect(res.status).toBe(200);
    const r = res.body.result;
    expect(r.result.me.ID).toBe('1');
    expect(r.result.read).toEqual({ owner: '1', label: 'id-1' });
    expect(r.result_error.nope.error).toBe('ERROR_METHOD_NOT_FOUND');
    expect(r.result_error.nested.error).toBe('ERROR_BATCH_METHOD_NOT_ALLOWED');
    expect(r.result_time.me).toHaveProperty('duration');
    expect(r.result_total).toEqual([]);
    expect(r.result_next).toEqual([]);
    expect(res.body.time).toBeDefined();
  });

  it('uses lists for list cmd, [] for empty sections, halts, and caps at 50', async () => {
    const { portal } = await setup();
    const token = adminLaunch(portal).form.AUTH_ID as string;
    const ok = await rest(portal, 'batch', { cmd: ['server.time', 'profile'] }, token);
    expect(Array.isArray(ok.body.result.result)).toBe(true);
    expect(ok.body.result.result_error).toEqual([]);

    const halted = await rest(portal, 'batch', { halt: 1, cmd: { a: 'bad.method', b: 'profile' } }, token);
    expect(halted.body.result.result).toEqual([]);
    expect(Object.keys(halted.body.result.result_error)).toEqual(['a']);

    const many = await rest(portal, 'batch', { cmd: Array.from({ length: 52 }, () => 'server.time') }, token);
    expect(Object.keys(many.body.result.result)).toHaveLength(50);
    expect(many.body.result.result_error).toMatchObject({
      50: { error: 'ERROR_BATCH_LENGTH_EXCEEDED' },
      51: { error: 'ERROR_BATCH_LENGTH_EXCEEDED' },
    });
    expect(portal.stats.byMethod.batch).toBe(3); // a batch is one request for the bucket and the stats
  });
});

describe('resource limit (OPERATION_TIME_LIMIT, limits.md)', () => {
  it('counts a method\'s execution time in one-minute buckets over 10 minutes; over the limit the next call is 429 until the oldest bucket drops out', async () => {
    const { portal, clock } = await setup({ operating: { limitSec: 480, methodTimes: { 'crm.lead.list': 100 } } });
    const token = adminLaunch(portal).form.AUTH_ID as string;
    const t0 = clock.now() / 1000;
    clock.advance(20_000); // the first counted call starts at :20 of its minute
    const first = await rest(portal, 'crm.lead.list', {}, token);
    expect(first.status).toBe(200);
    expect(first.body.time).toMatchObject({ operating: 100, operating_reset_at: t0 + 20 + 600 });
    expect(first.body.time.processing).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < 2; i++) expect((await rest(portal, 'crm.lead.list', {}, token)).status).toBe(200);
    clock.advance(120_000); // two minutes later: another bucket, the reset stays the oldest one's
    const fourth = await rest(portal, 'crm.lead.list', {}, token);
    expect(fourth.body.time).toMatchObject({ operating: 400, operating_reset_at: t0 + 20 + 600 });
    // 400 ≤ 480: this call runs and takes the sum over the limit; the next one is refused
    expect((await rest(portal, 'crm.lead.list', {}, token)).body.time.operating).toBe(500);
    const blocked = await rest(portal, 'crm.lead.list', {}, token);
    expect(blocked).toEqual({ status: 429, headers: expect.anything(), body: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' } });
    // other methods go on; quick calls (≤ 0.1 s) are never counted
    expect((await rest(portal, 'crm.lead.get', { id: 2 }, token)).body.time).toMatchObject({ operating: 0 });
    // a batch is not counted, its sub-calls are checked for their own methods
    const batch = await rest(portal, 'batch', { cmd: { a: 'crm.lead.list', b: 'profile' } }, token);
    expect(batch.body.result.result_error.a).toMatchObject({ error: 'OPERATION_TIME_LIMIT' });
    expect(batch.body.result.result.b).toMatchObject({ ID: '1' });
    expect(batch.body.time.operating).toBe(0);

    // the first minute's bucket stops counting when its minute is 10 minutes old (loadlimiter.php sums
    // the last 10 minute numbers), at the latest at its reported operating_reset_at (t0 + 620)
    clock.advance((t0 + 600 - clock.now() / 1000) * 1000 - 1000);
    expect((await rest(portal, 'crm.lead.list', {}, token)).status).toBe(429);
    clock.advance(1000); // the three calls of the first minute (300 s) drop out: 200 left
    const again = await rest(portal, 'crm.lead.list', {}, token);
    expect(again.status).toBe(200);
    expect(again.body.time.operating).toBe(300);
    expect(again.body.time.operating_reset_at).toBe(t0 + 140 + 600);
  });

  it('counts batch sub-calls for their own methods and stops them once over the limit', async () => {
    const { portal } = await setup({ operating: { limitSec: 250, methodTimes: { 'crm.lead.list': 100 } } });
    const token = adminLaunch(portal).form.AUTH_ID as string;
    const batch = await rest(portal, 'batch', { cmd: ['crm.lead.list', 'crm.lead.list', 'crm.lead.list', 'crm.lead.list'] }, token);
    expect(batch.body.result.result_time.map((t: Json) => t.operating)).toEqual([100, 200, 300]);
    expect(batch.body.result.result_error).toEqual({ 3: { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' } });
    expect((await rest(portal, 'crm.lead.list', {}, token)).status).toBe(429);
  });
});

describe('placements and event bindings', () => {
  it('placement.bind: admin only, validated, duplicate → ERROR_CORE', async () => {
    const { portal, receiver } = await setup();
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    const handler = `${receiver.url}/b24/placements/crm-tab`;
    const bind = (params: Json, token = admin) => rest(portal, 'placement.bind', params, token);
    expect((await bind({ PLACEMENT: 'CRM_DEAL_DETAIL_TAB', HANDLER: handler, TITLE: 'UIS Чаты' })).body.result).toBe(true);
    expect(await bind({ PLACEMENT: 'crm_deal_detail_tab', HANDLER: handler })).toMatchObject({
      status: 400,
      body: { error: 'ERROR_CORE', error_description: 'Unable to set placement handler: Handler already binded' },
    });
    expect(await bind({ HANDLER: handler })).toMatchObject({ status: 400, body: { error: 'ERROR_ARGUMENT', argument: 'PLACEMENT' } });
    expect((await bind({ PLACEMENT: 'NO_SUCH_PLACE', HANDLER: handler })).body.error).toBe('ERROR_PLACEMENT_NOT_FOUND');
    expect((await bind({ PLACEMENT: 'LEFT_MENU', HANDLER: 'http://localhost:3000/x' })).body.error).toBe('ERROR_WRONG_HANDLER_URL');

    // SETTING_CONNECTOR binds (a row appears) but is not how connectors get their page
    expect((await bind({ PLACEMENT: 'SETTING_CONNECTOR', HANDLER: handler })).body.result).toBe(true);

    await portal.finishInstall();
    const plain = portal.openApp({ userId: portal.userId }).form.AUTH_ID as string;
    expect(await bind({ PLACEMENT: 'LEFT_MENU', HANDLER: handler }, plain)).toMatchObject({ status: 403, body: { error: 'ACCESS_DENIED' } });
    expect((await rest(portal, 'placement.get', {}, plain)).status).toBe(403);

    const unbound = await rest(portal, 'placement.unbind', { PLACEMENT: 'CRM_DEAL_DETAIL_TAB' }, admin);
    expect(unbound.body.result).toEqual({ count: 1 });
  });

  it('event.bind: upper-cases names, duplicate → ERROR_CORE, unknown → ERROR_EVENT_NOT_FOUND, offline needs admin', async () => {
    const { portal, receiver } = await setup();
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    const handler = `${receiver.url}/b24/events`;
    expect((await rest(portal, 'event.bind', { event: 'onCrmLeadAdd', handler }, admin)).body.result).toBe(true);
    expect(await rest(portal, 'event.bind', { EVENT: 'ONCRMLEADADD', HANDLER: handler }, admin)).toMatchObject({
      status: 400,
      body: { error: 'ERROR_CORE', error_description: 'Unable to set event handler: Handler already binded' },
    });
    expect((await rest(portal, 'event.bind', { event: 'OnNothing', handler }, admin)).body.error).toBe('ERROR_EVENT_NOT_FOUND');
    expect((await rest(portal, 'event.bind', { event: 'ONCRMDEALADD' }, admin)).body).toMatchObject({ error: 'ERROR_ARGUMENT', argument: 'HANDLER' });
    expect((await rest(portal, 'event.bind', { event: 'ONCRMDEALADD', event_type: 'offline' }, admin)).body.result).toBe(true);

    await portal.finishInstall();
    const plain = portal.openApp({ userId: portal.userId }).form.AUTH_ID as string;
    expect(await rest(portal, 'event.bind', { event: 'ONCRMLEADADD', event_type: 'offline' }, plain)).toMatchObject({ status: 403, body: { error: 'ACCESS_DENIED' } });

    const listed = await rest(portal, 'event.get', {}, admin);
    expect(listed.body.result).toEqual([
      { event: 'ONAPPINSTALL', handler, auth_type: '0', offline: 0 }, // the card's install handler, auto-bound
      { event: 'ONCRMLEADADD', handler, auth_type: '0', offline: 0 },
      { event: 'ONCRMDEALADD', connector_id: '', offline: 1 },
    ]);
    expect((await rest(portal, 'event.unbind', { event: 'ONCRMLEADADD', handler }, admin)).body.result).toEqual({ count: 1 });
  });
});

describe('event delivery', () => {
  it('delivers form-encoded events only after installFinish, once, without retries', async () => {
    const { portal, receiver } = await setup();
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    const handler = `${receiver.url}/b24/events`;
    await rest(portal, 'event.bind', { event: 'ONCRMLEADADD', handler }, admin);

    await portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: 7 } });
    expect(receiver.hits).toHaveLength(0); // not installed yet: nothing at all

    await portal.finishInstall();
    expect(receiver.hits.map((h) => h.body.event)).toEqual(['ONAPPINSTALL']);
    const install = receiver.hits[0] as Hit;
    expect(install.contentType).toContain('application/x-www-form-urlencoded');
    expect(install.raw).toContain('auth%5Brefresh_token%5D=');
    expect(install.body.data).toEqual({ VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'ru' });
    expect(install.body.auth).toMatchObject({
      domain: portal.domain,
      member_id: portal.memberId,
      client_endpoint: portal.clientEndpoint,
      application_token: portal.state().applicationToken,
      user_id: '1',
      expires_in: '3600',
    });

    receiver.ctl.status = 500;
    await portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: 7 } }, { userId: 2 });
    expect(receiver.hits).toHaveLength(2);
    const lead = receiver.hits[1] as Hit;
    expect(lead.body).toMatchObject({ event: 'ONCRMLEADADD', data: { FIELDS: { ID: '7' } } });
    expect(lead.body.auth.refresh_token).toBeUndefined();
    expect(lead.body.auth.user_id).toBe('2');
    expect(Number(lead.body.event_handler_id)).toBeGreaterThan(0);
    expect(portal.deliveries.filter((d) => d.event === 'ONCRMLEADADD')).toEqual([
      { event: 'ONCRMLEADADD', url: handler, status: 500, body: 'ok' },
    ]);

    // the event's access token works for REST
    const eventToken = lead.body.auth.access_token as string;
    expect((await rest(portal, 'profile', {}, eventToken)).body.result.ID).toBe('2');
  });

  it('queues each delivery: sent after a delay on the clock, stamped with the time it was queued (ts), in queue order by default', async () => {
    const { portal, receiver, clock } = await setup({ events: { delayMs: [1000, 3000], seed: 7 } });
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    await rest(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: `${receiver.url}/b24/events` }, admin);
    await portal.finishInstall();
    receiver.hits.length = 0;
    const queuedAt = Math.floor(clock.now() / 1000);
    await Promise.all([1, 2, 3, 4, 5].map((id) => portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: id } })));
    expect(clock.now() / 1000 - queuedAt).toBeGreaterThanOrEqual(1); // the clock of this file jumps by each sleep
    expect(receiver.hits.map((x) => x.body.data.FIELDS.ID)).toEqual(['1', '2', '3', '4', '5']);
    expect(Number(receiver.hits[0]!.body.ts)).toBe(queuedAt); // ts is when it was queued, not when it was sent
  });

  it('loses deliveries it is told to (at most once: recorded as dropped, never retried) and sends held ones in the order asked', async () => {
    const { portal, receiver } = await setup({ events: { delayMs: 0 } });
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    await rest(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: `${receiver.url}/b24/events` }, admin);
    await portal.finishInstall();
    receiver.hits.length = 0;

    portal.eventQueue.drop(1, ['ONCRMLEADADD']);
    await portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: 1 } });
    await portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: 2 } });
    expect(receiver.hits.map((x) => x.body.data.FIELDS.ID)).toEqual(['2']);
    expect(portal.deliveries.filter((d) => d.event === 'ONCRMLEADADD').map((d) => d.status)).toEqual(['dropped', 200]);

    portal.eventQueue.hold();
    const sent = Promise.all([3, 4, 5].map((id) => portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: id } })));
    await portal.drainEvents(); // held deliveries are not waited for
    expect(receiver.hits).toHaveLength(1);
    await portal.eventQueue.release('reverse');
    await sent;
    expect(receiver.hits.map((x) => x.body.data.FIELDS.ID)).toEqual(['2', '5', '4', '3']);

    portal.eventQueue.configure({ dropRate: 0.5, seed: 3 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: 100 + i } })));
    const lost = portal.deliveries.filter((d) => d.status === 'dropped').length - 1;
    expect(lost).toBeGreaterThan(2);
    expect(lost).toBeLessThan(18);
    expect(receiver.hits).toHaveLength(4 + 20 - lost);
  });

  it('throttles a slow handler: after a slow answer its deliveries are spaced out, and the gap shrinks again when it answers fast', async () => {
    const clock = new ManualClock();
    const { portal, receiver } = await setup({ clock, events: { delayMs: 0 } });
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    await rest(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: `${receiver.url}/b24/events` }, admin);
    await portal.finishInstall();
    const at: number[] = [];
    receiver.ctl.onHit = () => {
      at.push(clock.now());
      if (at.length === 1) void clock.advance(5000); // the handler takes 5 s to answer
    };
    const run = async (ids: number[]) => {
      const sent = Promise.all(ids.map((id) => portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: id } })));
      let done = false;
      void sent.then(() => (done = true));
      while (!done) {
        await new Promise((r) => setTimeout(r, 5));
        await clock.advance(250);
      }
    };
    await run([1]);
    await run([2, 3, 4]);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(5000);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(5000);
    await clock.advance(60_000);
    await run([5, 6]);
    expect(at[5]! - at[4]!).toBeGreaterThan(0);
    expect(at[5]! - at[4]!).toBeLessThan(5000);
  });

  it('queues offline events one row per (event, data) and hands them out once', async () => {
    const { portal } = await setup();
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    await rest(portal, 'event.bind', { event: 'ONCRMDEALADD', event_type: 'offline' }, admin);
    await portal.finishInstall();
    await portal.fireEvent('ONCRMDEALADD', { FIELDS: { ID: 5 } });
    await portal.fireEvent('ONCRMDEALADD', { FIELDS: { ID: 5 } });
    await portal.fireEvent('ONCRMDEALADD', { FIELDS: { ID: 6 } });
    expect(portal.state().offlineQueue).toBe(2);
    const got = await rest(portal, 'event.offline.get', {}, admin);
    expect(got.body.result.process_id).toBeNull();
    expect(got.body.result.events.map((e: Json) => e.EVENT_DATA)).toEqual([{ FIELDS: { ID: 5 } }, { FIELDS: { ID: 6 } }]);
    expect(got.body.result.events[0].MESSAGE_ID).toMatch(/^[0-9a-f]{32}$/);
    expect((await rest(portal, 'event.offline.get', {}, admin)).body.result.events).toEqual([]);
  });

  it('updateApp drops bindings and placements, keeps connectors, sends ONAPPUPDATE', async () => {
    const { portal, receiver } = await setup();
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    await rest(portal, 'event.bind', { event: 'ONCRMLEADADD', handler: `${receiver.url}/b24/events` }, admin);
    await rest(portal, 'placement.bind', { PLACEMENT: 'LEFT_MENU', HANDLER: `${receiver.url}/b24/left` }, admin);
    const reg = await rest(portal, 'imconnector.register', {
      ID: 'UIS_Omni',
      NAME: 'UIS OMNI',
      ICON: { DATA_IMAGE: 'data:image/svg+xml,%3Csvg%3E%3C/svg%3E' },
      PLACEMENT_HANDLER: `${receiver.url}/b24/placements/connector`,
    }, admin);
    expect(reg.body.result).toEqual({ result: true });
    await portal.finishInstall();
    receiver.hits.length = 0;

    await portal.updateApp();
    const state = portal.state();
    expect(state.events).toEqual([]);
    expect(state.placements).toEqual([]);
    expect(state.connectors).toEqual([{ id: 'uis_omni', name: 'UIS OMNI', placementHandler: `${receiver.url}/b24/placements/connector` }]);
    expect(receiver.hits).toHaveLength(1);
    expect(receiver.hits[0]?.body).toMatchObject({ event: 'ONAPPUPDATE', data: { VERSION: '2', PREVIOUS_VERSION: '1' } });
    expect(receiver.hits[0]?.body.auth.refresh_token).toBeTruthy();
    expect((await rest(portal, 'app.info', {}, admin)).body.result.VERSION).toBe(2);
  });

  it('uninstall kills every token and sends ONAPPUNINSTALL without tokens to bound handlers', async () => {
    const { emu, portal, receiver } = await setup();
    const launch = adminLaunch(portal);
    const admin = launch.form.AUTH_ID as string;
    await rest(portal, 'event.bind', { event: 'ONAPPUNINSTALL', handler: `${receiver.url}/b24/events` }, admin);
    await portal.finishInstall();
    const oldAppToken = portal.state().applicationToken;
    receiver.hits.length = 0;

    await portal.uninstall({ clean: true });
    expect(receiver.hits).toHaveLength(1);
    const hit = receiver.hits[0] as Hit;
    expect(hit.body.event).toBe('ONAPPUNINSTALL');
    expect(hit.body.data).toEqual({ LANGUAGE_ID: 'ru', CLEAN: '1' });
    expect(Object.keys(hit.body.auth).sort()).toEqual(['application_token', 'client_endpoint', 'domain', 'member_id', 'server_endpoint']);
    expect(hit.body.auth.application_token).toBe(oldAppToken);

    expect((await rest(portal, 'profile', {}, admin)).body.error).toBe('invalid_token');
    const refresh = await oauth(emu, { grant_type: 'refresh_token', client_id: 'local.abc123', client_secret: 'top-secret', refresh_token: launch.form.REFRESH_ID as string });
    expect(refresh.body.error).toBe('invalid_grant');
    expect(portal.state()).toMatchObject({ installed: false, applicationToken: null, events: [], placements: [], connectors: [] });

    portal.beginInstall();
    expect(portal.state().applicationToken).not.toBe(oldAppToken);
  });
});

describe('imconnector', () => {
  it('lower-cases the id, refuses dots, reports failures as a 200 body', async () => {
    const { portal, receiver } = await setup();
    const admin = adminLaunch(portal).form.AUTH_ID as string;
    const base = { NAME: 'UIS OMNI', ICON: { DATA_IMAGE: 'data:image/svg+xml,x' }, PLACEMENT_HANDLER: `${receiver.url}/b24/placements/connector` };
    const dot = await rest(portal, 'imconnector.register', { ...base, ID: 'uis.omni' }, admin);
    expect(dot.status).toBe(200);
    expect(dot.body).toMatchObject({ result: false, error: 'APPLICATION_REGISTRATION_ERROR_POINT' });
    expect((await rest(portal, 'imconnector.register', { ...base, ID: 'x', NAME: '' }, admin)).body.error).toBe('NAME_REQUIRED');
    expect((await rest(portal, 'imconnector.register', { ...base, ID: 'UIS_OMNI' }, admin)).body.result).toEqual({ result: true });
    expect((await rest(portal, 'imconnector.register', { ...base, ID: 'uis_omni', NAME: 'UIS OMNI 2' }, admin)).body.result).toEqual({ result: true });
    expect((await rest(portal, 'imconnector.list', {}, admin)).body.result.uis_omni).toBe('UIS OMNI 2');

    await portal.finishInstall();
    const open = portal.openApp({ placement: 'SETTING_CONNECTOR' });
    expect(JSON.parse(open.form.PLACEMENT_OPTIONS as string)).toMatchObject({ CONNECTOR: 'uis_omni', LINE: '1', ACTIVE_STATUS: false });
    expect((await rest(portal, 'imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 1 }, admin)).body.result).toBe(true);
    expect((await rest(portal, 'imconnector.status', { CONNECTOR: 'uis_omni', LINE: 1 }, admin)).body.result).toMatchObject({ CONFIGURED: true, STATUS: true });
  });
});

describe('launching the app (openApp and the host page)', () => {
  it('POSTs the install page while not installed, the main page after; placements hidden until then', async () => {
    const { portal, receiver, emu } = await setup();
    expect(() => portal.openApp()).toThrow(/beginInstall/);
    const { url, form, appSid } = adminLaunch(portal);
    expect(url).toBe(`${receiver.url}/b24/install?DOMAIN=${portal.domain}&PROTOCOL=0&LANG=ru&APP_SID=${appSid}`);
    expect(form).toMatchObject({
      AUTH_EXPIRES: '3600',
      SERVER_ENDPOINT: emu.serverEndpoint,
      member_id: portal.memberId,
      PLACEMENT: 'DEFAULT',
      APPLICATION_TOKEN: portal.state().applicationToken,
    });
    expect(() => portal.openApp({ userId: portal.userId })).toThrow(/not fully installed/);
    await rest(portal, 'placement.bind', { PLACEMENT: 'CRM_LEAD_DETAIL_TAB', HANDLER: `${receiver.url}/b24/tab` }, form.AUTH_ID);
    expect(() => portal.openApp({ placement: 'CRM_LEAD_DETAIL_TAB' })).toThrow(/invisible/);

    await portal.finishInstall();
    expect(portal.openApp().url.startsWith(`${receiver.url}/b24/app?`)).toBe(true);
    const tab = portal.openApp({ placement: 'CRM_LEAD_DETAIL_TAB', userId: portal.userId });
    expect(JSON.parse(tab.form.PLACEMENT_OPTIONS as string)).toMatchObject({ ID: '1' });
    expect(() => portal.openApp({ placement: 'LEFT_MENU' })).toThrow(/not bound/);
  });

  it('serves the install frame to an admin and a notice to an employee', async () => {
    const { portal, receiver } = await setup();
    const page = await fetch(`${portal.origin}/marketplace/app/?user=1&install=1`);
    expect(page.headers.get('set-cookie')).toContain('EMU_USER=1');
    const html = await page.text();
    const config = JSON.parse(/<script type="application\/json" id="emu-frame-config">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null') as Json;
    expect(config.url.startsWith(`${receiver.url}/b24/install?DOMAIN=${portal.domain}&PROTOCOL=0&LANG=ru&APP_SID=`)).toBe(true);
    expect(config.frameName).toBe(`${portal.domain}|0|${config.appSid}`);
    expect(config.initData).toMatchObject({ INSTALL: true, IS_ADMIN: true, AUTH_EXPIRES: '3600', PLACEMENT: 'DEFAULT', PLACEMENT_OPTIONS: '', APP_OPTIONS: [] });

    const employee = await (await fetch(`${portal.origin}/marketplace/app/?user=2`)).text();
    expect(employee).toContain('установлено не полностью');

    // setInstallFinish through the parent's ajax endpoint finishes the install
    const done = await fetch(`${portal.origin}/_emu/layout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'set_installed', sid: config.appSid, v: 'Y' }) });
    expect(await done.json()).toEqual({ result: true });
    expect(portal.state().installed).toBe(true);
    expect(receiver.hits.map((h) => h.body.event)).toEqual(['ONAPPINSTALL']);
  });
});

/** A fake app page: the real SDK 2.2.0 in the frame, reporting what it saw to its own server. */
const SDK_JS = readFileSync(new URL('../../node_modules/@bitrix24/b24jssdk/dist/umd/index.min.js', import.meta.url), 'utf8');
const FAKE_APP = `<!doctype html><html><head><meta charset="utf-8"></head><body><h1>fake app</h1>
<script src="/sdk.js"></script>
<script>
(async () => {
  const out = {};
  try {
    const $b24 = await B24Js.initializeB24Frame();
    out.placement = $b24.placement.placement;
    out.options = $b24.placement.options;
    out.install = $b24.isInstallMode;
    out.isAdmin = $b24.auth.isAdmin;
    out.profileId = (await $b24.actions.v2.call.make({ method: 'profile' })).getData().result.ID;
    out.batchOk = (await $b24.actions.v2.batch.make({ calls: [['app.info', {}], ['server.time', {}]] })).isSuccess;
    await $b24.parent.fitWindow();
    window.callProfile = async () => (await $b24.actions.v2.call.make({ method: 'profile' })).getData().result.ID;
    if ($b24.isInstallMode) {
      const r = await $b24.actions.v2.call.make({ method: 'placement.bind', params: { PLACEMENT: 'CRM_DEAL_DETAIL_TAB', HANDLER: location.origin + '/b24/tab', TITLE: 'UIS Чаты' } });
      out.bound = r.getData().result;
    }
  } catch (e) { out.error = String((e && e.message) || e); }
  await fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(out) });
  if (out.install && !out.error) window.$b24Finish = (await B24Js.initializeB24Frame()).installFinish();
})();
</script></body></html>`;

async function startFakeApp() {
  const reports: Json[] = [];
  const app = express();
  app.get('/sdk.js', (_req, res) => void res.type('application/javascript').send(SDK_JS));
  app.post('/report', express.json(), (req, res) => {
    reports.push(req.body as Json);
    res.json({ ok: true });
  });
  app.post('/b24/events', (_req, res) => void res.send('ok'));
  app.all(['/b24/install', '/b24/app', '/b24/tab'], (_req, res) => void res.type('text/html').send(FAKE_APP));
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const next = async (count: number): Promise<Json> => {
    for (let i = 0; i < 200 && reports.length < count; i++) await new Promise((r) => setTimeout(r, 50));
    const report = reports[count - 1];
    if (!report) throw new Error(`the app page never reported (#${count})`);
    return report;
  };
  return { url, next, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('host page in a browser (real @bitrix24/b24jssdk in the frame)', () => {
  it('installs through the portal chrome, then serves the main page and a CRM tab', async () => {
    const fake = await startFakeApp();
    const emu = await startBitrixEmulator({ app: { clientId: 'local.abc123', clientSecret: 'top-secret', appUrl: fake.url } });
    const browser = await launchChromium();
    cleanups.push(fake.close, emu.close, () => browser.close());
    const portal = emu.portals[0] as EmulatedPortal;
    const page = await browser.newPage();

    await page.goto(`${portal.origin}/marketplace/app/?user=1&install=1`);
    expect(await fake.next(1)).toEqual({ placement: 'DEFAULT', options: '', install: true, isAdmin: true, profileId: '1', batchOk: true, bound: true });
    await page.waitForURL(/install_finished=Y/);
    expect(portal.state().installed).toBe(true);
    expect(portal.deliveries.map((d) => [d.event, d.status])).toEqual([['ONAPPINSTALL', 200]]);
    expect(await fake.next(2)).toMatchObject({ placement: 'DEFAULT', install: false, profileId: '1' });

    // 401 expired_token → refreshAuth through the parent → one retry
    portal.expireAccessTokens();
    const frame = page.frames().find((f) => f.url().startsWith(`${fake.url}/b24/app`));
    expect(await frame?.evaluate(() => (window as unknown as { callProfile(): Promise<string> }).callProfile())).toBe('1');
    const log = (await page.evaluate(() => (window as unknown as { __emu: { log: Json[] } }).__emu.log)) as Json[];
    expect(log.filter((l) => l.method === 'refreshAuth')).toHaveLength(1);
    // a message from any other origin is ignored
    await page.evaluate(() => window.postMessage('getInitData:x:y', '*'));
    await page.waitForFunction(() => (window as unknown as { __emu: { log: Json[] } }).__emu.log.some((l) => l.ignored === 'origin'));

    await page.goto(`${portal.origin}/crm/deal/details/7/?user=2`);
    await page.click('a.tab[data-placement="CRM_DEAL_DETAIL_TAB"]');
    expect(await fake.next(3)).toEqual({
      placement: 'CRM_DEAL_DETAIL_TAB',
      options: { ID: '7', URI: '/crm/deal/details/7/' },
      install: false,
      isAdmin: false,
      profileId: '2',
      batchOk: true,
    });
  });
});
