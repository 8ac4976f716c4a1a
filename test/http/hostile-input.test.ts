/**
 * Bad input and hostile content (issue #11) over real HTTP: bodies the parsers refuse and UIS
 * callbacks that do not fit their schema. Each case checks the answer (a 4xx with a reason, never
 * a 5xx) and that nothing was written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PAGE_ROUTES } from '../../server/http/routes/pages';
import { linkAndBind } from '../support/bridge-fixture';
import { changedTables, dbSnapshot } from '../support/db-snapshot';
import { installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
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
    const before = dbSnapshot(h.app.db);
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
    expect(changedTables(before, dbSnapshot(h.app.db)), seen.join('\n')).toEqual([]);
  });
});

describe('UIS callbacks are parsed with their schema before anything is recorded', () => {
  it('an id that is an object (or cannot be turned into text) is refused with 400, not answered 500 nor stored as "[object Object]"', async () => {
    h = await startHarness();
    const { channelId } = await linkAndBind(h);
    const link = h.app.deps.links.get(h.portal.memberId)!;
    const post = (path: string, body: unknown, method = 'POST') =>
      fetch(`${h.app.url}/uis/callbacks/${link.hookId}${path}`, { method, headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const before = dbSnapshot(h.app.db);
    const inbox = h.app.deps.uisInbox.count(h.portal.memberId);
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
    expect(h.app.deps.uisInbox.count(h.portal.memberId)).toBe(inbox);
    expect(changedTables(before, dbSnapshot(h.app.db))).toEqual([]);
    expect(JSON.stringify(h.app.db.prepare('SELECT * FROM bridge_chats').all())).not.toContain('[object Object]');

    // and the documented shape still goes through (ids as numbers or digit strings)
    const ok = await post('/chat', { chat_id: 80, channel_id: channelId, visitor_id: 5, visitor_phone: '79161234567', created_at: '2026-01-01T00:00:00.000001Z' });
    expect(ok.status).toBe(204);
    expect(h.app.deps.bridge.chat(h.portal.memberId, '80')).toMatchObject({ uisChatId: '80', channelId, visitorId: '5' });
  });
});
