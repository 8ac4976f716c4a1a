import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import { installApp, openPage, postEvent, startHarness, type Harness } from '../support/harness';

let h: Harness;
const extra: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h?.close();
  while (extra.length) await extra.pop()!();
});

/** A host that records every request it gets: an untrusted "OAuth server" or "portal" must get none. */
async function trap() {
  const hits: string[] = [];
  const srv = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x"}');
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  extra.push(() => new Promise((ok) => srv.close(() => ok())));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits };
}

function eventBody(event: string, auth: Record<string, string>, data: unknown = {}) {
  return stringify({ event, event_handler_id: '7', data, ts: String(Math.floor(Date.now() / 1000)), auth });
}

describe('forged installs', () => {
  it('when the install POST carries a refresh token the OAuth server does not know, then 401 and no portal is created', async () => {
    h = await startHarness();
    h.portal.beginInstall();
    const { url, form } = h.portal.openApp({ userId: h.portal.adminUserId });
    const res = await fetch(url, { method: 'POST', body: new URLSearchParams({ ...form, REFRESH_ID: 'forged-refresh-token' }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await h.app.deps.portals.get(h.portal.memberId)).toBeNull();
  });

  it('when the install POST names an untrusted OAuth server, then 401, nothing stored and no request is sent there', async () => {
    h = await startHarness();
    const evil = await trap();
    h.portal.beginInstall();
    const { url, form } = h.portal.openApp({ userId: h.portal.adminUserId });
    const res = await fetch(url, { method: 'POST', body: new URLSearchParams({ ...form, SERVER_ENDPOINT: `${evil.url}/rest/` }) });
    expect(res.status).toBe(401);
    expect(evil.hits).toEqual([]);
    expect(await h.app.deps.portals.get(h.portal.memberId)).toBeNull();
  });

  it('when the install POST claims another portal domain than the OAuth server confirms, then 401', async () => {
    h = await startHarness();
    h.portal.beginInstall();
    const { url, form } = h.portal.openApp({ userId: h.portal.adminUserId });
    const forgedUrl = url.replace(/DOMAIN=[^&]+/, 'DOMAIN=evil.example.com');
    const res = await fetch(forgedUrl, { method: 'POST', body: new URLSearchParams(form) });
    expect(res.status).toBe(401);
    expect(await h.app.deps.portals.get(h.portal.memberId)).toBeNull();
  });

  it('when a forged ONAPPINSTALL targets an installed portal, then 401 and the stored credentials are unchanged', async () => {
    h = await startHarness();
    await installApp(h);
    const before = (await h.app.deps.portals.get(h.portal.memberId))!;
    const evil = await trap();
    const forgeries: Array<Record<string, string>> = [
      { member_id: h.portal.memberId, application_token: 'forged', refresh_token: 'forged', server_endpoint: h.emu.serverEndpoint, domain: h.portal.domain },
      { member_id: h.portal.memberId, application_token: 'forged', refresh_token: 'forged', server_endpoint: `${evil.url}/rest/`, client_endpoint: `${evil.url}/rest/` },
      { member_id: h.portal.memberId, application_token: 'forged', access_token: 'forged' },
    ];
    for (const auth of forgeries) {
      const r = await postEvent(h.app.url, eventBody('ONAPPINSTALL', auth));
      expect(r.status).toBe(401);
    }
    expect(evil.hits).toEqual([]);
    const after = (await h.app.deps.portals.get(h.portal.memberId))!;
    expect(after.applicationToken).toBe(before.applicationToken);
    expect(after.tokens).toEqual(before.tokens);
    expect(after.clientEndpoint).toBe(before.clientEndpoint);
  });

  it('when ONAPPINSTALL names a portal we have never seen and its credentials are forged, then no portal is created', async () => {
    h = await startHarness();
    const r = await postEvent(h.app.url, eventBody('ONAPPINSTALL', {
      member_id: 'a'.repeat(32), application_token: 'x', refresh_token: 'y', server_endpoint: h.emu.serverEndpoint, domain: 'evil.example.com',
    }));
    expect(r.status).toBe(401);
    expect(await h.app.deps.portals.get('a'.repeat(32))).toBeNull();
  });
});

describe('forged and malformed events', () => {
  it('when an event carries a wrong application_token or an unknown member_id, then 401, nothing recorded and no REST call made', async () => {
    h = await startHarness();
    await installApp(h);
    const requestsBefore = h.portal.stats.requests;
    const inboxBefore = await h.app.deps.inbox.count(h.portal.memberId);
    const wrongToken = await postEvent(h.app.url, eventBody('ONCRMLEADADD', { member_id: h.portal.memberId, application_token: 'wrong' }, { FIELDS: { ID: '1' } }));
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.json.error).toBe('EVENT_REFUSED');
    const unknown = await postEvent(h.app.url, eventBody('ONCRMLEADADD', { member_id: 'b'.repeat(32), application_token: h.portal.state().applicationToken! }, { FIELDS: { ID: '1' } }));
    expect(unknown.status).toBe(401);
    const uninstall = await postEvent(h.app.url, eventBody('ONAPPUNINSTALL', { member_id: h.portal.memberId, application_token: 'wrong' }, { CLEAN: '1' }));
    expect(uninstall.status).toBe(401);
    expect((await h.app.deps.portals.get(h.portal.memberId))?.status).toBe('active');
    expect(await h.app.deps.inbox.count(h.portal.memberId)).toBe(inboxBefore);
    expect(h.portal.stats.requests).toBe(requestsBefore);
  });

  it('when an event body is malformed, then 400 with a reason and nothing changes', async () => {
    h = await startHarness();
    await installApp(h);
    const token = h.portal.state().applicationToken!;
    const cases: Array<[string, RegExp]> = [
      ['', /auth/],
      ['event=ONCRMLEADADD', /auth/],
      [stringify({ event: 'ONCRMLEADADD', auth: { member_id: h.portal.memberId } }), /application_token/],
      [stringify({ event: 'bad event!', auth: { member_id: h.portal.memberId, application_token: token } }), /event/],
      [stringify({ event: 'ONCRMLEADADD', auth: { member_id: '../../etc', application_token: token } }), /member_id/],
    ];
    for (const [body, reason] of cases) {
      const r = await postEvent(h.app.url, body);
      expect(r.status, body).toBe(400);
      expect(r.json.error).toBe('MALFORMED_EVENT');
      expect(String(r.json.message)).toMatch(reason);
    }
    const badJson = await fetch(`${h.app.url}/b24/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event":' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: string }).error).toBe('MALFORMED_BODY');
    expect(await h.app.deps.inbox.count(h.portal.memberId)).toBe(0);
  });

  it('when a genuine event arrives twice, then it is recorded once', async () => {
    h = await startHarness();
    await installApp(h);
    // one occurrence, two deliveries: our handler is bound a second time (another auth_type), so the
    // queue sends the same event, ts and data under two event_handler_ids
    await h.app.deps.gateway.client(h.portal.memberId).call('event.bind', { event: 'ONCRMLEADADD', handler: `${h.app.url}/b24/events`, auth_type: 2 });
    await h.portal.fireEvent('ONCRMLEADADD', { FIELDS: { ID: '42' } });
    expect(h.portal.deliveries.filter((d) => d.event === 'ONCRMLEADADD').map((d) => d.status)).toEqual([200, 200]);
    expect(await h.app.deps.inbox.count(h.portal.memberId)).toBe(1);
  });
});

describe('pages', () => {
  it('when a page is opened by the portal, then only that portal may frame it; outside Bitrix24 nobody may', async () => {
    h = await startHarness();
    await installApp(h);
    const page = await openPage(h.portal, { placement: 'CRM_LEAD_DETAIL_TAB', placementOptions: { ID: '5' } });
    expect(page.status).toBe(200);
    expect(page.boot).toMatchObject({ page: 'crm-tab', placement: 'CRM_LEAD_DETAIL_TAB', placementOptions: { ID: '5' }, memberId: h.portal.memberId });
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain(`frame-ancestors ${h.portal.origin}`);
    expect(csp).toContain(`connect-src 'self' ${h.portal.origin}`);
    expect(page.headers.get('x-frame-options')).toBeNull();

    const direct = await fetch(`${h.app.url}/b24/placements/left-menu`);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const forged = h.portal.openApp({ placement: 'LEFT_MENU' });
    const res = await fetch(forged.url, { method: 'POST', body: new URLSearchParams({ ...forged.form, AUTH_ID: 'stolen' }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('when PLACEMENT_OPTIONS is an empty string, then the page gets an empty object', async () => {
    h = await startHarness();
    await installApp(h);
    const page = await openPage(h.portal, { placement: 'CRM_DEAL_DETAIL_TAB', placementOptions: '' });
    expect(page.boot.placementOptions).toEqual({});
  });

  it('when the API is called without a valid page session, then 401', async () => {
    h = await startHarness();
    const none = await fetch(`${h.app.url}/api/portal`);
    expect(none.status).toBe(401);
    const bad = await fetch(`${h.app.url}/api/portal`, { headers: { authorization: 'Bearer x.y' } });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: string }).error).toBe('NO_SESSION');
  });
});
