/**
 * Bad input and hostile content (issue #11, items 11–14) over real HTTP: bodies the parsers refuse,
 * UIS callbacks that do not fit their schema, page boot blocks, metric series, sessions of a portal
 * that uninstalled the app. Each case checks the answer (a 4xx with a reason, never a 5xx) and
 * that nothing was written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDistRenderer } from '../../server/http/page-renderer';
import { PAGE_ROUTES } from '../../server/http/routes/pages';
import { linkAndBind } from '../support/bridge-fixture';
import { changedTables, storeSnapshot } from '../support/db-snapshot';
import { api, installApp, openPage, readBoot, startHarness, type Harness } from '../support/harness';

let h: Harness;
const cleanup: Array<() => void> = [];
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
  while (cleanup.length) cleanup.pop()!();
});

const FORM = 'application/x-www-form-urlencoded';
/** A form field nested 40 levels deep (body-parser allows 32). */
const DEEP_FORM = `event=ONAPPINSTALL&auth${'[a]'.repeat(40)}=1`;

async function adminSession(): Promise<string> {
  return (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
}

describe('bodies the parsers refuse get a 4xx with the reason, never a 500', () => {
  it('form fields nested deeper than 32 levels and unsupported charsets, on events, the analytics hook, every page and /api', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession();
    const before = await storeSnapshot(h);
    const posts = ['/b24/events', '/b24/analytics/someHookId123', ...PAGE_ROUTES.map(([p]) => p)];
    const seen: string[] = [];
    for (const path of posts) {
      const cases: Array<[string, RequestInit]> = [
        ['deep form', { method: 'POST', headers: { 'content-type': FORM }, body: DEEP_FORM }],
        ['latin1 form', { method: 'POST', headers: { 'content-type': `${FORM}; charset=latin1` }, body: 'event=ONAPPINSTALL' }],
        ['koi8-r form', { method: 'POST', headers: { 'content-type': `${FORM}; charset=koi8-r` }, body: 'event=ONAPPINSTALL' }],
        ['koi8-r json', { method: 'POST', headers: { 'content-type': 'application/json; charset=koi8-r' }, body: '{"event":"ONAPPINSTALL"}' }],
      ];
      for (const [what, init] of cases) {
        const res = await fetch(`${h.app.url}${path}`, init);
        const body = (await res.json()) as { error?: string; message?: string };
        seen.push(`${path} ${what}: ${res.status} ${body.error}`);
        expect(res.status, `${path} ${what}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path} ${what}`).toBeLessThan(500);
        expect(body.message, `${path} ${what}`).toMatch(/depth|charset/i);
      }
    }
    for (const [method, path] of [['PUT', '/api/crm-rules/chats'], ['PUT', '/api/analytics'], ['POST', '/api/workspace/lookup'], ['PUT', '/api/connector']] as const) {
      for (const charset of ['latin1', 'koi8-r']) {
        const res = await fetch(`${h.app.url}${path}`, { method, headers: { authorization: `Bearer ${session}`, 'content-type': `application/json; charset=${charset}` }, body: '{}' });
        seen.push(`${method} ${path} ${charset}: ${res.status}`);
        expect(res.status, `${method} ${path} ${charset}`).toBe(415);
        expect(((await res.json()) as { message: string }).message).toMatch(/charset/i);
      }
    }
    expect(changedTables(before, await storeSnapshot(h)), seen.join('\n')).toEqual([]);
  });
});

describe('paths that do not decode', () => {
  it('a path parameter that is not UTF-8 (a lone surrogate) is a 400, not a 500', async () => {
    h = await startHarness();
    for (const [method, path] of [['POST', '/b24/analytics/%ED%A0%80'], ['GET', '/files/uis/%ED%A0%80/1/2/t/a.jpg?exp=1&sig=x'], ['GET', '/api/crm-rules/%ED%A0%80'], ['PUT', '/api/crm-rules/%E0%A4%A']] as const) {
      const res = await fetch(`${h.app.url}${path}`, { method, headers: { 'content-type': FORM }, body: method === 'GET' ? undefined : 'a=1' });
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('UIS callbacks are parsed with their schema before anything is recorded', () => {
  it('an id that is an object (or cannot be turned into text) is refused with 400, not answered 500 nor stored as "[object Object]"', async () => {
    h = await startHarness();
    const { channelId } = await linkAndBind(h);
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const post = (path: string, body: unknown, method = 'POST') =>
      fetch(`${h.app.url}/uis/callbacks/${link.hookId}${path}`, { method, headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const before = await storeSnapshot(h);
    const inbox = await h.app.deps.uisInbox.count(h.portal.memberId);
    const forged: Array<[string, unknown, string?]> = [
      ['/message', { id: { toString: null }, chat_id: 77, channel_id: Number(channelId), source: 'visitor', text: 'hi' }],
      ['/message', { id: { a: 1 }, chat_id: 77, channel_id: Number(channelId), source: 'visitor', text: 'hi' }],
      ['/message', { id: 5, chat_id: 77, channel_id: Number(channelId), source: 'visitor', text: { a: 1 } }],
      ['/message', { id: 6, chat_id: 77, channel_id: Number(channelId), source: 'visitor', text: 'x', resource: { id: [1], token: 't' } }],
      ['/chat', { chat_id: { a: 1 }, channel_id: Number(channelId), visitor_id: 5 }],
      ['/chat', { chat_id: 78, channel_id: Number(channelId), visitor_id: { valueOf: 1 } }],
      ['/chat', { chat_id: 79, channel_id: Number(channelId), visitor_id: -3 }],
      ['/chat/close', { chat_id: { a: 1 } }],
      ['/message/status', { chat_id: 77, message_id: { a: 1 }, status: 'sent' }],
      ['/visitor/card', { visitor_id: { a: 1 }, visitor_card: { phones: ['+79161234567'] } }],
      ['/visitor/card', { visitor_id: 5, visitor_card: { phones: [{ toString: null }] } }],
      ['/channel', { id: { toString: null }, type: 'whatsapp', name: 'x' }],
      ['/channel/12', { context: { message_templates: [{ id: { a: 1 } }] } }, 'PATCH'],
      ['/message', [1, 2]],
      ['/message', 'text'],
    ];
    for (const [path, body, method] of forged) {
      const res = await post(path, body, method);
      const answer = (await res.json()) as { error: string; message: string };
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.error).toBe('INVALID_CALLBACK');
      expect(answer.message.length).toBeGreaterThan(10);
    }
    // a path UIS does not document
    expect((await post('/nonsense', { id: 1 })).status).toBe(404);
    // nesting beyond any documented callback
    const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
    expect((await post('/message', { id: 9, chat_id: 77, extra: deep(40) })).status).toBe(400);
    expect(await h.app.deps.uisInbox.count(h.portal.memberId)).toBe(inbox);
    expect(changedTables(before, await storeSnapshot(h))).toEqual([]);
    expect(JSON.stringify(await h.sql.all('SELECT * FROM bridge_chats'))).not.toContain('[object Object]');

    // and the documented shape still goes through (ids as numbers or digit strings)
    const ok = await post('/chat', { chat_id: 80, channel_id: channelId, visitor_id: 5, visitor_phone: '79161234567', created_at: '2026-01-01T00:00:00.000001Z' });
    expect(ok.status).toBe(204);
    await h.app.callbacksHandled(); // PostgreSQL handles it after the 204
    expect(await h.app.deps.bridge.chat(h.portal.memberId, '80')).toMatchObject({ uisChatId: '80', channelId, visitorId: '5' });
  });
});

describe('page boot block', () => {
  it("is intact whatever PLACEMENT / PLACEMENT_OPTIONS hold ($', $`, $& are not replacement patterns)", async () => {
    const dist = mkdtempSync(join(tmpdir(), 'dist-'));
    cleanup.push(() => rmSync(dist, { recursive: true, force: true }));
    for (const [, page] of PAGE_ROUTES) {
      mkdirSync(join(dist, 'placements', page), { recursive: true });
      writeFileSync(join(dist, 'placements', page, 'index.html'), `<!doctype html><html><head><!--omni-boot--></head><body><div id="app"></div><script src="/assets/${page}.js"></script></body></html>`);
    }
    h = await startHarness({ renderer: createDistRenderer(dist) });
    await installApp(h);
    const options = { ID: "12$'$`$&$1", note: '$`<!--omni-boot-->$\'' };
    const { url, form } = h.portal.openApp({ handlerUrl: `${h.app.url}/b24/placements/crm-tab`, placement: 'CRM_LEAD_DETAIL_TAB', placementOptions: options });
    const res = await fetch(url, { method: 'POST', body: new URLSearchParams({ ...form, PLACEMENT: "CRM_LEAD_DETAIL_TAB$'" }) });
    const html = await res.text();
    expect(res.status).toBe(200);
    const boot = readBoot(html);
    expect(boot.placementOptions).toEqual(options);
    expect(boot.placement).toBe("CRM_LEAD_DETAIL_TAB$'");
    // the page around it is what was built: one boot block, the body after it untouched
    expect(html.match(/id="omni-boot"/g)).toHaveLength(1);
    expect(html.endsWith('<body><div id="app"></div><script src="/assets/crm-tab.js"></script></body></html>')).toBe(true);
  });
});

describe('/metrics', () => {
  it('labels requests by route pattern: thousands of distinct paths make no new series', async () => {
    h = await startHarness();
    await installApp(h);
    const series = async () => (await (await fetch(`${h.app.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('omni_http_requests_total{'));
    const paths = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => [`/api/x${tag}${i}`, `/b24/y${tag}${i}`, `/files/uis/a/b/c/d/e${tag}${i}`, `/z${tag}${i}`, `/api/crm-rules/k${tag}${i}`][i % 5]!);
    const hit = async (list: string[]) => {
      for (let i = 0; i < list.length; i += 50) await Promise.all(list.slice(i, i + 50).map((p) => fetch(`${h.app.url}${p}`).then((r) => r.arrayBuffer())));
    };
    await series(); // its own series first
    await hit(paths(100, 'a'));
    const first = await series();
    await hit(paths(1000, 'b'));
    const second = await series();
    expect(second.length).toBe(first.length);
    expect(second.length).toBeLessThan(20);
    const routes = second.map((l) => /route="([^"]*)"/.exec(l)![1]!);
    expect(routes.filter((r) => /\d/.test(r.replaceAll('/b24/', '/')))).toEqual([]); // no path of ours has digits but /b24/
    // a request a route answered is labelled with its pattern
    await api(h.app.url, await adminSession(), 'GET', '/api/crm-rules/chats');
    expect((await series()).some((l) => l.includes('route="/api/crm-rules/:kind"'))).toBe(true);
  });
});

describe('page sessions', () => {
  it('a session issued before the app was uninstalled (CLEAN=1) neither reads nor writes: 401, nothing written, never a 500', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession();
    expect((await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).status).toBe(200);
    const settings = (await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).json.settings;
    await h.portal.uninstall({ clean: true });
    await h.app.deps.background.idle();
    const before = await storeSnapshot(h);
    for (const [method, path, body] of [
      ['PUT', '/api/crm-rules/chats', settings],
      ['GET', '/api/crm-rules/chats', undefined],
      ['PUT', '/api/employee-sync/settings', { daily: true, userIds: [] }],
      ['GET', '/api/portal', undefined],
    ] as const) {
      const r = await api(h.app.url, session, method, path, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBe(401);
      expect(r.json.error).toBe('APP_NOT_INSTALLED');
    }
    expect(changedTables(before, await storeSnapshot(h))).toEqual([]);
  });

  it('a session of a portal that uninstalled without deleting its data is refused too', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession();
    await h.portal.uninstall();
    await h.app.deps.background.idle();
    const r = await api(h.app.url, session, 'PUT', '/api/analytics', { enabled: false });
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('APP_NOT_INSTALLED');
  });

  it('a signed file link of a portal that uninstalled the app serves nothing', async () => {
    h = await startHarness();
    const { acc } = await linkAndBind(h);
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567' }, file: { name: 'a.txt', mime: 'text/plain', content: Buffer.from('secret text') } });
    for (let i = 0; i < 5; i++) {
      await acc.settle();
      await h.portal.drainEvents();
      await h.app.deps.bridgeWorker.drain();
    }
    const file = h.portal.openLines.chats().flatMap((c) => c.messages.flatMap((m) => m.files))[0]!;
    expect(file.sourceUrl).toContain('/files/uis/');
    expect(await (await fetch(file.sourceUrl)).text()).toBe('secret text');
    await h.portal.uninstall();
    await h.app.deps.background.idle();
    const after = await fetch(file.sourceUrl);
    expect(after.status).toBe(404);
    expect(await after.text()).not.toContain('secret');
  });

  it('a session token with trailing segments (or other characters) is not a session', async () => {
    h = await startHarness();
    await installApp(h);
    const session = await adminSession();
    expect((await api(h.app.url, session, 'GET', '/api/portal')).status).toBe(200);
    for (const t of [`${session}.x`, `${session}.`, `${session}..${session}`, `${session}.${session}`, `${session.replace('.', '.=')}`, `a.${session}`]) {
      expect((await api(h.app.url, t, 'GET', '/api/portal')).status, t).toBe(401);
    }
  });
});
