import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'qs';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser';
import { FakeClock } from '../support/fake-clock';
import { startAmoEmulator, type AmoEmulator } from './amocrm';

let emu: AmoEmulator | undefined;
let receiver: Server | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await emu?.close();
  await new Promise<void>((ok) => (receiver ? receiver.close(() => ok()) : ok()));
  emu = receiver = browser = undefined;
});

const REDIRECT = 'https://omni.example/oauth/amocrm/callback';

async function setup(o: { clock?: FakeClock; perSecond?: number } = {}) {
  emu = await startAmoEmulator({ clock: o.clock, integration: { redirectUri: REDIRECT }, rateLimit: o.perSecond ? { perSecond: o.perSecond } : undefined });
  return emu;
}

async function token(e: AmoEmulator, body: Record<string, unknown>) {
  const r = await fetch(`${e.origin}/oauth2/access_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, type: r.headers.get('content-type'), json: (await r.json()) as Record<string, string> };
}

async function connect(e: AmoEmulator, user: 'admin' | 'manager' = 'admin') {
  const back = new URL(await e.authorize(`${e.origin}/oauth?client_id=${e.integration.clientId}&state=s1&mode=popup`, { user }));
  const t = await token(e, { client_id: e.integration.clientId, client_secret: e.integration.clientSecret, grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT });
  return { back, tokens: t.json };
}

const get = (e: AmoEmulator, access: string, path: string) => fetch(`${e.origin}${path}`, { headers: { authorization: `Bearer ${access}` } });

describe('emulated amoCRM OAuth', () => {
  it('authorization code → pair; the code works once and lives 20 minutes; refresh rotates; a reused refresh token revokes the grant', async () => {
    const clock = new FakeClock();
    const e = await setup({ clock });
    const { back, tokens } = await connect(e);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('s1');
    expect(back.searchParams.get('referer')).toBe(e.host);
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 86400, access_token: expect.any(String), refresh_token: expect.any(String) });
    const reused = await token(e, { client_id: e.integration.clientId, client_secret: e.integration.clientSecret, grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT });
    expect(reused).toMatchObject({ status: 400, type: expect.stringContaining('application/problem+json') });

    const late = new URL(await e.authorize(`${e.origin}/oauth?client_id=${e.integration.clientId}&state=s2`));
    await clock.advance(21 * 60_000);
    expect((await token(e, { client_id: e.integration.clientId, client_secret: e.integration.clientSecret, grant_type: 'authorization_code', code: late.searchParams.get('code'), redirect_uri: REDIRECT })).status).toBe(400);

    const refresh = (rt: string) => token(e, { client_id: e.integration.clientId, client_secret: e.integration.clientSecret, grant_type: 'refresh_token', refresh_token: rt, redirect_uri: REDIRECT });
    const next = await refresh(tokens.refresh_token!);
    expect(next.status).toBe(200);
    expect(next.json.refresh_token).not.toBe(tokens.refresh_token);
    expect((await get(e, tokens.access_token!, '/api/v4/account')).status).toBe(401);
    expect((await get(e, next.json.access_token!, '/api/v4/account')).status).toBe(200);
    const again = await refresh(tokens.refresh_token!);
    expect(again).toMatchObject({ status: 401, json: { hint: 'Token has been revoked' } });
    expect((await get(e, next.json.access_token!, '/api/v4/account')).status).toBe(401);
    expect((await refresh(next.json.refresh_token!)).status).toBe(401);
    expect((await token(e, { client_id: e.integration.clientId, client_secret: 'wrong', grant_type: 'refresh_token', refresh_token: 'x', redirect_uri: REDIRECT })).status).toBe(401);
  });

  it('access tokens expire after a day; the admin disconnecting the integration revokes every token', async () => {
    const clock = new FakeClock();
    const e = await setup({ clock });
    const { tokens } = await connect(e);
    await clock.advance(86_401_000);
    expect((await get(e, tokens.access_token!, '/api/v4/account')).status).toBe(401);
    const fresh = await token(e, { client_id: e.integration.clientId, client_secret: e.integration.clientSecret, grant_type: 'refresh_token', refresh_token: tokens.refresh_token, redirect_uri: REDIRECT });
    expect((await get(e, fresh.json.access_token!, '/api/v4/account')).status).toBe(200);
    e.oauth.revokeAccount(e.accounts[0]!.id);
    expect((await get(e, fresh.json.access_token!, '/api/v4/account')).status).toBe(401);
  });
});

describe('emulated amoCRM API v4', () => {
  it('talks, leads and contacts by id and in lists (204 when empty), the unsorted contact hidden, custom fields on two pages', async () => {
    const e = await setup({ perSecond: 1000 });
    const { tokens } = await connect(e);
    const a = e.accounts[0]!;
    const talk = a.clientChat({ origin: 'telegram', name: 'Олег Петров', phone: '+79161112233', meta: [{ id: a.sessionField.id, value: '255544855' }] });
    const hidden = a.clientChat({ origin: 'waba', name: 'Анна', email: 'anna@example.com', unsorted: true });
    const json = async (path: string) => {
      const r = await get(e, tokens.access_token!, path);
      return { status: r.status, body: r.status === 204 ? null : ((await r.json()) as Record<string, unknown>) };
    };
    expect((await json(`/api/v4/talks/${talk.talk_id}`)).body).toMatchObject({ talk_id: talk.talk_id, is_in_work: true, contact_id: talk.contact_id, entity_type: 'lead', origin: 'telegram' });
    expect((await json('/api/v4/talks/1')).status).toBe(404);
    const leads = await json(`/api/v4/leads?filter[id][]=${talk.entity_id}&filter[id][]=${hidden.entity_id}&with=contacts`);
    expect((leads.body!._embedded as { leads: Array<{ custom_fields_values: unknown }> }).leads[0]!.custom_fields_values).toEqual([expect.objectContaining({ field_id: a.sessionField.id, values: [{ value: '255544855' }] })]);
    const contacts = await json(`/api/v4/contacts?filter[id][]=${talk.contact_id}&filter[id][]=${hidden.contact_id}`);
    expect((contacts.body!._embedded as { contacts: Array<{ id: number }> }).contacts.map((c) => c.id)).toEqual([talk.contact_id]);
    expect((await json(`/api/v4/contacts/${hidden.contact_id}`)).status).toBe(404);
    a.acceptUnsorted(hidden.entity_id!);
    expect((await json(`/api/v4/contacts/${hidden.contact_id}`)).status).toBe(200);
    expect((await json('/api/v4/contacts?filter[id][]=1')).status).toBe(204);
    expect((await json('/api/v4/leads?limit=251')).status).toBe(400);

    const page1 = await json('/api/v4/leads/custom_fields');
    const next = (page1.body!._links as { next?: { href: string } }).next!.href;
    const page2 = await json(next.replace(e.origin, ''));
    const names = [page1, page2].flatMap((p) => (p.body!._embedded as { custom_fields: Array<{ name: string }> }).custom_fields.map((f) => f.name));
    expect(names).toContain('Сессия UIS');
    expect((page2.body!._links as { next?: unknown }).next).toBeUndefined();
    a.unpaid = true;
    expect((await json(`/api/v4/talks/${talk.talk_id}`)).status).toBe(402);
  });

  it('answers the 8th request in a second with 429, and blocks the IP (403) when 429s keep coming', async () => {
    const clock = new FakeClock();
    const e = await setup({ clock });
    e.rateLimit.blockAfter429s = 5;
    const { tokens } = await connect(e);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await get(e, tokens.access_token!, '/api/v4/account')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429, 429]);
    await clock.advance(1000);
    expect((await get(e, tokens.access_token!, '/api/v4/account')).status).toBe(200);
    for (let i = 0; i < 10; i++) await get(e, tokens.access_token!, '/api/v4/account');
    await clock.advance(1000);
    const blocked = await get(e, tokens.access_token!, '/api/v4/account');
    expect(blocked.status).toBe(403);
    expect(blocked.headers.get('content-type')).toContain('application/problem+json');
    expect(e.stats.limited429).toBeGreaterThanOrEqual(5);
  });
});

describe('emulated amoCRM webhooks', () => {
  it('are made by API (admins, where the plan allows) and fire form-encoded on many talk changes; batches, duplicates and reversed order on request', async () => {
    const e = await setup();
    const hits: Array<{ type: string; body: Record<string, unknown> }> = [];
    receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += String(c)));
      req.on('end', () => {
        hits.push({ type: String(req.headers['content-type']), body: parse(text) as Record<string, unknown> });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((ok) => receiver!.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/amocrm/x`;
    const manager = await connect(e, 'manager');
    const post = (access: string) => fetch(`${e.origin}/api/v4/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' }, body: JSON.stringify({ destination: url, settings: ['update_talk'], sort: 10 }) });
    expect((await post(manager.tokens.access_token!)).status).toBe(403);
    const { tokens } = await connect(e);
    const a = e.accounts[0]!;
    a.webhooksByApi = false;
    expect((await post(tokens.access_token!)).status).toBe(403);
    a.webhooksByApi = true;
    const made = await post(tokens.access_token!);
    expect(await made.json()).toMatchObject({ destination: url, settings: ['update_talk'], disabled: false });

    const talk = a.clientChat({ origin: 'waba', name: 'Иван', phone: '+79160000001' });
    a.operatorReads(talk.talk_id);
    a.closeTalk(talk.talk_id);
    a.rate(talk.talk_id, 5);
    await e.settle();
    expect(hits.map((h) => h.type)).toEqual(Array(3).fill('application/x-www-form-urlencoded'));
    expect(hits[0]!.body).toMatchObject({ account: { id: String(a.id), subdomain: 'romashka' }, talk: { update: [{ talk_id: String(talk.talk_id), is_in_work: '1', is_read: '1', origin: 'waba', entity_type: 'lead' }] } });
    expect(hits.map((h) => (h.body.talk as { update: Array<{ is_in_work: string }> }).update[0]!.is_in_work)).toEqual(['1', '0', '0']);

    hits.length = 0;
    e.hooks.options.batch = 2;
    e.hooks.options.duplicates = 1;
    e.hooks.hold();
    const t2 = a.clientChat({ origin: 'telegram', name: 'Пётр', phone: '+79160000002' });
    a.operatorReplies(t2.talk_id);
    a.closeTalk(t2.talk_id);
    a.rate(t2.talk_id, 4);
    e.hooks.release('reverse');
    await e.settle();
    const seen = hits.map((h) => (h.body.talk as { update: Array<{ is_in_work: string }> }).update.map((u) => u.is_in_work).join(','));
    // reply + close in one request, the rating in the next; each sent twice; released newest first
    expect([...seen].sort()).toEqual(['0', '0', '1,0', '1,0']);
    expect(e.hooks.deliveries.slice(-4).map((d) => d.items.length)).toEqual([1, 1, 2, 2]);
  });
});

describe('emulated amoCRM multi-widget', () => {
  it('takes setMeta calls queued before it loaded and puts them into the lead the first message creates', async () => {
    const e = await setup();
    const a = e.accounts[0]!;
    browser = await launchChromium();
    const page = await browser.newPage();
    const site = `data:text/javascript,${encodeURIComponent(`amo_social_button.setMeta({ lead: { custom_fields: [{ id: ${a.sessionField.id}, values: [{ value: '255544999' }] }] } });`)}`;
    await page.goto(`${e.origin}/site?script=${encodeURIComponent(`${e.origin}/button/embed.js?id=1&delay=200`)}&script=${encodeURIComponent(site)}`);
    await page.waitForSelector('.amo-button');
    await page.click('.amo-button');
    await page.fill('.amo-form [name=name]', 'Мария');
    await page.fill('.amo-form [name=phone]', '+79035550101');
    await page.fill('.amo-form [name=text]', 'Сколько стоит?');
    await page.click('.amo-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('.amo-msg').length === 1);
    const talk = a.talks.at(-1)!;
    expect(talk).toMatchObject({ is_in_work: true, entity_type: 'lead' });
    expect(a.lead(talk.entity_id!)!.custom_fields_values).toEqual([expect.objectContaining({ field_id: a.sessionField.id, values: [{ value: '255544999' }] })]);
  });
});
