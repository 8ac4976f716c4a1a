import { afterEach, describe, expect, it } from 'vitest';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => h?.close());

async function adminSession(h: Harness): Promise<string> {
  const page = await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` });
  return page.boot.session!;
}

/** Installed and linked; the stored link (hook id and webhook secret). */
async function linkedHarness() {
  h = await startHarness();
  await installApp(h);
  const session = await adminSession(h);
  await api(h.app.url, session, 'POST', '/api/uis/link', credentials(h));
  await h.uis.accounts[0]!.settle();
  return (await h.app.deps.links.get(h.portal.memberId))!;
}

function credentials(h: Harness, over: Record<string, string> = {}) {
  const acc = h.uis.accounts[0]!;
  return { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken, ...over };
}

describe('linking a UIS account', () => {
  it('when an admin links the account, then our adapter is registered with a callback URL and secret, connected, and secrets are stored encrypted and never returned', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession(h);
    const acc = h.uis.accounts[0]!;

    const r = await api(h.app.url, session, 'POST', '/api/uis/link', credentials(h));
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toMatchObject({ linked: true, project: 'uis', login: acc.login, accountId: String(acc.appId), accountName: acc.name });
    const text = JSON.stringify(r.json);
    expect(text).not.toContain(acc.password);
    expect(text).not.toContain(acc.dataApiToken);

    const adapter = acc.adapter()!;
    expect(adapter.webhookUrl).toBe(r.json.webhookUrl);
    expect(adapter.webhookUrl.startsWith(`${h.app.url}/uis/callbacks/`)).toBe(true);
    expect(acc.connection()?.adapterId).toBe(adapter.id);
    // UIS announced the account and channels to our webhook with the secret, and we took them
    await h.uis.accounts[0]!.settle();
    const accountCallback = acc.callbacks.find((c) => c.path === '/account');
    expect(accountCallback?.status).toBe(204);
    expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBeGreaterThan(0);

    const raw = JSON.stringify(await h.sql.all('SELECT * FROM uis_links'));
    expect(raw).not.toContain(acc.password);
    expect(raw).not.toContain(acc.dataApiToken);
    const stored = (await h.app.deps.links.get(h.portal.memberId))!;
    expect(raw).not.toContain(stored.webhookSecret);

    const view = await api(h.app.url, session, 'GET', '/api/uis/link');
    // GET adds what the bridge needs an admin to know (#11): nothing disabled, nothing recovered yet
    expect(view.json).toEqual({ ...r.json, health: expect.objectContaining({ accountStatus: 'active', channels: [], recovered: 0, repaired: 0 }) });
  });

  it('when linking again with the same account, then the same adapter is reused (no duplicate registration)', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession(h);
    const first = await api(h.app.url, session, 'POST', '/api/uis/link', credentials(h));
    const adapterId = h.uis.accounts[0]!.adapter()!.id;
    const second = await api(h.app.url, session, 'POST', '/api/uis/link', credentials(h));
    expect(second.status, JSON.stringify(second.json)).toBe(200);
    expect(h.uis.accounts[0]!.adapter()!.id).toBe(adapterId);
    expect(second.json.webhookUrl).toBe(first.json.webhookUrl);
  });

  it('when the request is bad, then a clear 4xx and nothing is linked', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession(h);
    // a refusal names the form field at fault and UIS's own mnemonic, so the page can say it on that field
    const cases: Array<[Record<string, string>, number, string, { field?: string; reason?: string }]> = [
      [credentials(h, { project: 'comagic' }), 400, 'COMAGIC_NOT_SUPPORTED', { field: 'project' }],
      [credentials(h, { password: 'wrong' }), 400, 'UIS_AUTH_FAILED', { field: 'password', reason: 'auth_error' }],
      [credentials(h, { dataApiToken: 'wrong-token-123' }), 400, 'UIS_DATA_API_REFUSED', { field: 'dataApiToken', reason: 'access_token_invalid' }],
      [{ project: 'uis', login: '', password: 'x', dataApiToken: 'x' }, 400, 'VALIDATION_FAILED', {}],
    ];
    for (const [body, status, code, at] of cases) {
      const r = await api(h.app.url, session, 'POST', '/api/uis/link', body);
      expect(r.status, code).toBe(status);
      expect(r.json.error).toBe(code);
      expect(String(r.json.message).length).toBeGreaterThan(5);
      expect({ field: r.json.field, reason: r.json.reason }, code).toEqual({ field: at.field, reason: at.reason });
    }
    expect(await h.app.deps.links.get(h.portal.memberId)).toBeNull();
    expect(h.uis.accounts[0]!.adapter()).toBeNull();
  });

  it('when UIS is down, then 503 UIS_UNAVAILABLE and nothing is linked', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession(h);
    h.uis.setDown(true);
    const r = await api(h.app.url, session, 'POST', '/api/uis/link', credentials(h));
    expect(r.status).toBe(503);
    expect(r.json.error).toBe('UIS_UNAVAILABLE');
    expect(await h.app.deps.links.get(h.portal.memberId)).toBeNull();
  });

  it('when a plain employee tries to link or unlink, then 403; they can read the status', async () => {
    h = await startHarness();
    await installApp(h);
    const employee = await openPage(h.portal, { userId: h.portal.userId, placement: 'LEFT_MENU' });
    expect((await api(h.app.url, employee.boot.session!, 'POST', '/api/uis/link', credentials(h))).status).toBe(403);
    expect((await api(h.app.url, employee.boot.session!, 'DELETE', '/api/uis/link')).status).toBe(403);
    expect((await api(h.app.url, employee.boot.session!, 'GET', '/api/uis/link')).json.linked).toBe(false);
  });

  it('when unlinked, then the adapter and connection are removed in UIS and callbacks with the old secret are refused', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession(h);
    await api(h.app.url, session, 'POST', '/api/uis/link', credentials(h));
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const r = await api(h.app.url, session, 'DELETE', '/api/uis/link');
    expect(r.json.linked).toBe(false);
    expect(h.uis.accounts[0]!.adapter()).toBeNull();
    expect(h.uis.accounts[0]!.connection()).toBeNull();
    const cb = await fetch(`${h.app.url}/uis/callbacks/${link.hookId}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(cb.status).toBe(401);
  });

  it('when a callback comes without the secret or with a wrong one, then 401 and nothing is recorded', async () => {
    const link = await linkedHarness();
    const before = await h.app.deps.uisInbox.count(h.portal.memberId);
    for (const auth of ['', 'Bearer wrong', `Basic ${link.webhookSecret}x`]) {
      const res = await fetch(`${h.app.url}/uis/callbacks/${link.hookId}/message`, {
        method: 'POST',
        headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: 1, text: 'forged' }),
      });
      expect(res.status).toBe(401);
    }
    expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBe(before);
  });

  it('when a verified callback has a body that cannot be read, then a 4xx with the reason and nothing is recorded; other methods go on to the app', async () => {
    const link = await linkedHarness();
    const url = `${h.app.url}/uis/callbacks/${link.hookId}/message`;
    const auth = { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' };
    const before = await h.app.deps.uisInbox.count(h.portal.memberId);
    const cases: Array<[RequestInit, number, string]> = [
      [{ method: 'POST', headers: auth, body: '{"chat_id": 1, "text": ' }, 400, 'MALFORMED_BODY'],
      [{ method: 'POST', headers: auth, body: JSON.stringify({ chat_id: 1, text: 'x'.repeat(2 * 1024 * 1024) }) }, 413, 'BODY_TOO_LARGE'],
      [{ method: 'POST', headers: { ...auth, 'content-encoding': 'gzip' }, body: new Uint8Array([0x1f, 0x8b, 0, 0]) }, 415, 'UNSUPPORTED_ENCODING'],
    ];
    for (const [init, status, error] of cases) {
      const res = await fetch(url, init);
      expect(res.status, error).toBe(status);
      expect(await res.json()).toMatchObject({ error });
    }
    expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBe(before);
    // the same body once more, well-formed: recorded
    const ok = await fetch(url, { method: 'POST', headers: auth, body: JSON.stringify({ chat_id: 1, id: 1, source: 'system', text: 'ok' }) });
    expect(ok.status).toBe(204);
    await h.app.callbacksHandled(); // PostgreSQL records it after the 204
    expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBe(before + 1);
    // only POST/PATCH/DELETE are callbacks: a GET is the app's (no such route)
    const get = await fetch(url, { headers: auth });
    expect(get.status).toBe(404);
    expect(await get.json()).toMatchObject({ error: 'NOT_FOUND' });
  });
});
