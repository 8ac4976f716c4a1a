import { stringify } from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AmoSettings, AmoView, ChatSourcesView, SourceItemView } from '../../server/contracts/chat-sources';
import type { Clock } from '../../server/domain/clock';
import { startAmoEmulator, type AmoEmulator } from '../emulator/amocrm';
import { chatSourceHealth } from '../../server/services/chat-sources/health';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';
import { settleSources } from './chat-sources-support';

let h: Harness | undefined;
let amo: AmoEmulator | undefined;
afterEach(async () => {
  await amo?.settle();
  await h?.close();
  await amo?.close();
  h = amo = undefined;
});

/** Real time plus an offset the test moves (quiet months for the keep-alive). */
function offsetClock(): Clock & { offset: number } {
  const c = { offset: 0, now: () => Date.now() + c.offset, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms))) };
  return c;
}

async function setup(o: { clock?: Clock; over?: Partial<AmoSettings>; webhooksByApi?: boolean; contactRetryMs?: number } = {}) {
  amo = await startAmoEmulator({ clock: o.clock, integration: { redirectUri: 'http://placeholder/' } });
  const account = amo.accounts[0]!;
  account.webhooksByApi = o.webhooksByApi ?? true;
  h = await startHarness({ amocrm: amo, clock: o.clock, chatSources: { contactRetryMs: o.contactRetryMs ?? 300, contactRetries: 3 } });
  await installApp(h);
  const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const acc = h.uis.accounts[0]!;
  expect((await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken })).status).toBe(200);
  await connect(session);
  const settings: AmoSettings = {
    enabled: true,
    trafficType: 'source',
    defaults: { siteId: acc.sites[0]!.id, sourceId: acc.sources[0]!.id, campaignId: null },
    messengers: { telegram: { siteId: acc.sites[0]!.id, sourceId: acc.sources[1]!.id, campaignId: null, label: 'Telegram' } },
    sessionField: { entity: 'leads', fieldId: account.sessionField.id },
    ...o.over,
  };
  const saved = await api(h.app.url, session, 'PUT', '/api/chat-sources/amocrm', settings);
  expect(saved.status, JSON.stringify(saved.json)).toBe(200);
  return { session, acc, account, view: saved.json as unknown as AmoView };
}

async function connect(session: string) {
  const begin = await api(h!.app.url, session, 'POST', '/api/chat-sources/amocrm/connect', { name: 'Ромашка', domain: amo!.host });
  expect(begin.status, JSON.stringify(begin.json)).toBe(200);
  const back = await amo!.authorize(String(begin.json.authorizeUrl));
  const page = await fetch(back);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('amoCRM подключён');
}

async function settle() {
  await amo!.settle();
  await settleSources(h!);
}

const items = async (session: string) => (await api(h!.app.url, session, 'GET', '/api/chat-sources/items?source=amocrm')).json as unknown as SourceItemView[];
const view = async (session: string) => ((await api(h!.app.url, session, 'GET', '/api/chat-sources')).json as unknown as ChatSourcesView).amocrm;

describe('amoCRM → UIS analytics', () => {
  it('when the account is connected, then the pair is stored, the «Беседа изменена» webhook is registered by API and the session field is offered from every page', async () => {
    const { session, account, view: v } = await setup();
    expect(v.connection).toMatchObject({ name: 'Ромашка', domain: amo!.host, accountId: account.id, status: 'active', webhook: { mode: 'api', disabled: false } });
    expect(account.webhooks).toMatchObject([{ destination: v.webhookUrl, settings: ['update_talk'], byHand: false }]);
    expect(v.webhookUrl).toMatch(new RegExp(`^${h!.app.url}/hooks/amocrm/[\\w-]{32}$`));
    expect(v.script?.code).toContain(`FIELD_ID = ${account.sessionField.id}`);
    expect(v.script?.code).toContain('setMeta');
    const fields = (await api(h!.app.url, session, 'GET', '/api/chat-sources/amocrm/fields')).json as unknown as Array<{ entity: string; id: number; name: string }>;
    expect(fields).toContainEqual({ entity: 'leads', id: account.sessionField.id, name: 'Сессия UIS', type: 'text' });
    expect(fields.every((f) => f.entity === 'leads' || f.entity === 'contacts')).toBe(true);
    // the tokens are sealed at rest
    const [row] = (await h!.sql.all('SELECT access_token, refresh_token FROM amocrm_accounts')) as Array<Record<string, string>>;
    expect(row!.access_token).toMatch(/^v1:/);
  });

  it('when a talk with the UIS session in its lead closes, then it is uploaded once as a request — however many changes the talk goes through', async () => {
    const { acc, account, session } = await setup();
    const s = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 600_000 });
    const talk = account.clientChat({ origin: 'com.amocrm.amochat', name: 'Мария Иванова', phone: '8 (903) 555-01-01', email: 'maria@example.com', meta: [{ id: account.sessionField.id, value: String(s.id) }] });
    account.operatorReads(talk.talk_id);
    account.operatorReplies(talk.talk_id);
    await settle();
    expect(acc.uploadedOfflineMessages()).toHaveLength(0);
    account.closeTalk(talk.talk_id);
    account.rate(talk.talk_id, 5);
    await settle();
    const up = acc.uploadedOfflineMessages();
    expect(up).toMatchObject([{ ext_id: `amocrm:${account.id}:${talk.talk_id}`, visitor_session_id: s.id, name: 'Мария Иванова', phone: '+79035550101', uploads: 1, message: expect.stringContaining(`беседа ${talk.talk_id}`) }]);
    expect(await items(session)).toMatchObject([{ status: 'uploaded', attribution: `session ${s.id}`, kind: 'request' }]);
    // one talk read, one lead list, one contact list
    expect(amo!.stats.byPath).toMatchObject({ 'GET /api/v4/talks/{id}': 1, 'GET /api/v4/leads': 1, 'GET /api/v4/contacts': 1 });
  });

  it('when talks without a session close, then the origin mapping applies, else the default; reopened and closed again, it goes again under the same ext_id', async () => {
    const { acc, account } = await setup();
    const tg = account.clientChat({ origin: 'telegram', name: 'Олег', phone: '+79161112233' });
    const wa = account.clientChat({ origin: 'waba', name: 'Ира', phone: '+79162223344' });
    account.closeTalk(tg.talk_id);
    account.closeTalk(wa.talk_id);
    await settle();
    const byExt = () => Object.fromEntries(acc.uploadedOfflineMessages().map((m) => [m.ext_id, m]));
    expect(byExt()[`amocrm:${account.id}:${tg.talk_id}`]).toMatchObject({ visitor_session_id: null, site_id: acc.sites[0]!.id, source_id: acc.sources[1]!.id });
    expect(byExt()[`amocrm:${account.id}:${wa.talk_id}`]).toMatchObject({ visitor_session_id: null, site_id: acc.sites[0]!.id, source_id: acc.sources[0]!.id });
    account.clientWrites(tg.talk_id);
    await settle();
    account.closeTalk(tg.talk_id);
    await settle();
    expect(byExt()[`amocrm:${account.id}:${tg.talk_id}`]).toMatchObject({ uploads: 2 });
    expect(acc.uploadedOfflineMessages()).toHaveLength(2);
  });

  it('when webhooks come batched, duplicated and in reverse order, then each closed talk is uploaded once', async () => {
    const { acc, account } = await setup();
    amo!.hooks.options.batch = 2;
    amo!.hooks.options.duplicates = 1;
    amo!.hooks.hold();
    const talks = Array.from({ length: 6 }, (_, i) => account.clientChat({ origin: 'waba', name: `К${i}`, phone: `+7916000010${i}` }));
    for (const t of talks) {
      account.operatorReads(t.talk_id);
      account.closeTalk(t.talk_id);
      account.rate(t.talk_id, 4);
    }
    amo!.hooks.release('reverse');
    await settle();
    expect(acc.uploadedOfflineMessages().map((m) => m.uploads)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(amo!.hooks.deliveries.every((d) => d.status === 200)).toBe(true);
  });

  it('when UIS refuses one request, then its reason is recorded and the others are uploaded', async () => {
    const { acc, account, session } = await setup();
    acc.sources[1]!.state = 'removed';
    const bad = account.clientChat({ origin: 'telegram', name: 'A', phone: '+79160000201' });
    const good = account.clientChat({ origin: 'waba', name: 'B', phone: '+79160000202' });
    account.closeTalk(bad.talk_id);
    account.closeTalk(good.talk_id);
    await settle();
    expect(acc.uploadedOfflineMessages().map((m) => m.ext_id)).toEqual([`amocrm:${account.id}:${good.talk_id}`]);
    const list = await items(session);
    expect(list.find((i) => i.extId.endsWith(`:${bad.talk_id}`))).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^UIS_REJECTED entity_not_found offline_messages\.\d+\.source_id/) });
    expect((await view(session)).state.lastError).toMatchObject({ code: 'UIS_REJECTED' });
  });

  it('when the contact cannot be read yet (an unsorted lead), then the talk waits and goes once the lead is accepted; a contact without phone or e-mail is skipped with the reason', async () => {
    const { acc, account, session } = await setup({ contactRetryMs: 1000 });
    const unsorted = account.clientChat({ origin: 'waba', name: 'Новый', phone: '+79160000301', unsorted: true });
    const anonymous = account.clientChat({ origin: 'telegram', name: 'Без контактов' });
    account.closeTalk(unsorted.talk_id);
    account.closeTalk(anonymous.talk_id);
    await amo!.settle();
    await settleSources(h!, 200);
    expect((await items(session)).find((i) => i.extId.endsWith(`:${unsorted.talk_id}`))).toMatchObject({ status: 'waiting' });
    account.acceptUnsorted(unsorted.entity_id!);
    await settle();
    expect(acc.uploadedOfflineMessages()).toMatchObject([{ ext_id: `amocrm:${account.id}:${unsorted.talk_id}`, phone: '+79160000301' }]);
    expect((await items(session)).find((i) => i.extId.endsWith(`:${anonymous.talk_id}`))).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^NO_CONTACT/) });
  });

  it('when the access token expires in the middle of a burst, then exactly one refresh happens and every talk is uploaded', async () => {
    const { acc, account } = await setup();
    const refreshesBefore = amo!.oauth.log.filter((l) => l.grantType === 'refresh_token').length;
    amo!.hooks.hold();
    const talks = Array.from({ length: 24 }, (_, i) => account.clientChat({ origin: 'waba', name: `Т${i}`, phone: `+791600004${String(i).padStart(2, '0')}` }));
    for (const t of talks) account.closeTalk(t.talk_id);
    amo!.hooks.release();
    await amo!.settle();
    // the burst starts, then amoCRM expires the token under it
    await new Promise((r) => setTimeout(r, 900));
    amo!.oauth.expireAccessTokens(account.id);
    await settleSources(h!);
    expect(acc.uploadedOfflineMessages()).toHaveLength(24);
    const refreshes = amo!.oauth.log.filter((l) => l.grantType === 'refresh_token');
    expect(refreshes.length - refreshesBefore).toBe(1);
    expect(refreshes.every((l) => l.ok)).toBe(true);
  });

  it('when amoCRM answers 429, then the reads back off and nothing is lost', async () => {
    const { acc, account } = await setup();
    amo!.rateLimit.perSecond = 2;
    amo!.rateLimit.blockAfter429s = 1000;
    const talks = Array.from({ length: 10 }, (_, i) => account.clientChat({ origin: 'waba', name: `Р${i}`, phone: `+791600005${String(i).padStart(2, '0')}` }));
    for (const t of talks) account.closeTalk(t.talk_id);
    await settle();
    expect(amo!.stats.limited429).toBeGreaterThan(0);
    expect(acc.uploadedOfflineMessages()).toHaveLength(10);
  });

  it('when the connected user may not read a talk, then it fails with AMO_FORBIDDEN and its fix; connected again (as an administrator), the talk goes', async () => {
    const { acc, account, session } = await setup();
    const t = account.clientChat({ origin: 'waba', name: 'Чужой', phone: '+79160000901' });
    // GET /api/v4/talks/{id} answers 403 when the user has no rights on the talk's contact (talks-api)
    account.forbiddenTalks.add(t.talk_id);
    account.closeTalk(t.talk_id);
    await settle();
    expect(await items(session)).toMatchObject([{ status: 'failed', reason: expect.stringMatching(/^AMO_FORBIDDEN/) }]);
    expect((await view(session)).state.lastError).toMatchObject({ code: 'AMO_FORBIDDEN', fix: expect.stringContaining('administrator') });
    // the fix: connect again as an administrator, who may read every talk
    account.forbiddenTalks.delete(t.talk_id);
    await connect(session);
    await settle();
    expect(acc.uploadedOfflineMessages()).toMatchObject([{ ext_id: `amocrm:${account.id}:${t.talk_id}`, phone: '+79160000901', uploads: 1 }]);
    expect(await items(session)).toMatchObject([{ status: 'uploaded' }]);
    expect((await view(session)).state.lastError).toBeNull();
  });

  it('when the admin disconnects the integration in amoCRM, then talks wait with AMO_REAUTH shown; after connecting again they are uploaded', async () => {
    const { acc, account, session } = await setup();
    amo!.oauth.revokeAccount(account.id);
    const t = account.clientChat({ origin: 'waba', name: 'Ждёт', phone: '+79160000601' });
    account.closeTalk(t.talk_id);
    await settle();
    expect(acc.uploadedOfflineMessages()).toHaveLength(0);
    const v = await view(session);
    expect(v.connection).toMatchObject({ status: 'reauth' });
    expect(v.state.lastError).toMatchObject({ code: 'AMO_REAUTH', fix: expect.stringContaining('connect the account again') });
    expect(await items(session)).toMatchObject([{ status: 'waiting', reason: expect.stringMatching(/^AMO_REAUTH/) }]);
    // what the health view will show
    const health = await chatSourceHealth(h!.app.deps.chatSources, h!.portal.memberId);
    expect(health.find((x) => x.source === 'amocrm')).toMatchObject({ enabled: true, connected: false, lastError: { code: 'AMO_REAUTH', fix: expect.stringContaining('connect the account again') }, counts: { pending: 1 } });
    expect(health.find((x) => x.source === 'jivo')).toMatchObject({ enabled: false, lastEventAt: null });
    await connect(session);
    await settle();
    expect(acc.uploadedOfflineMessages()).toHaveLength(1);
  });
});

describe('amoCRM webhooks: where the API may not make them, forged, malformed', () => {
  it('when amoCRM refuses webhooks by API, then the tab says to make it by hand; a hand-made hook works', async () => {
    const { acc, account, session, view: v } = await setup({ webhooksByApi: false });
    expect(v.connection?.webhook).toMatchObject({ mode: 'manual' });
    expect(v.state.lastError).toMatchObject({ code: 'AMO_WEBHOOK_MANUAL', fix: expect.stringContaining('Web hooks') });
    expect(account.webhooks).toEqual([]);
    amo!.addWebhookByHand(account, `${v.webhookUrl}/`);
    const t = account.clientChat({ origin: 'waba', name: 'Вручную', phone: '+79160000701' });
    account.closeTalk(t.talk_id);
    await settle();
    expect(acc.uploadedOfflineMessages()).toHaveLength(1);
    // the hook made by hand delivers: the tab (and the health view) no longer asks to make it
    expect((await view(session)).state.lastError).toBeNull();
    expect((await chatSourceHealth(h!.app.deps.chatSources, h!.portal.memberId)).find((x) => x.source === 'amocrm')!.lastError).toBeNull();
  });

  it('when amoCRM switched the webhook off after failed deliveries, then the keep-alive registers it again and says so; talks flow again and the notice goes once one arrives', async () => {
    const { acc, account, session } = await setup();
    // amoCRM disables a hook whose deliveries keep failing (hooks.ts): nothing reaches us meanwhile
    account.webhooks[0]!.disabled = true;
    const missed = account.clientChat({ origin: 'waba', name: 'Пропущен', phone: '+79160000801' });
    account.closeTalk(missed.talk_id);
    await settle();
    expect(acc.uploadedOfflineMessages()).toHaveLength(0);
    await h!.app.deps.chatSourcesWorker.keepAlive(h!.portal.memberId);
    expect(account.webhooks).toMatchObject([{ disabled: false, settings: ['update_talk'] }]);
    expect((await view(session)).state.lastError).toMatchObject({ code: 'AMO_WEBHOOK_DISABLED' });
    const next = account.clientChat({ origin: 'waba', name: 'Следующий', phone: '+79160000802' });
    account.closeTalk(next.talk_id);
    // a later change of the missed talk (the client rates it) brings it too: it is closed
    account.rate(missed.talk_id, 5);
    await settle();
    expect(acc.uploadedOfflineMessages().map((m) => m.phone).sort()).toEqual(['+79160000801', '+79160000802']);
    expect((await view(session)).state.lastError).toBeNull();
  });

  it('when the secret or the account is wrong, then 403 and nothing recorded; a body without the account is a 400', async () => {
    const { account, session, view: v } = await setup();
    const body = (accountId: number) =>
      stringify({ account: { id: String(accountId), subdomain: 'romashka' }, talk: { update: [{ talk_id: '1', created_at: '1', updated_at: '2', contact_id: '3', chat_id: 'x', entity_id: '4', entity_type: 'lead', is_in_work: '0', is_read: '1', origin: 'waba' }] } });
    const post = (url: string, b: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: b });
    expect((await post(v.webhookUrl.replace(/[\w-]{32}$/, 'B'.repeat(32)), body(account.id))).status).toBe(403);
    expect((await post(v.webhookUrl, body(account.id + 1))).status).toBe(403);
    expect((await post(v.webhookUrl, 'talk[update][0][talk_id]=1')).status).toBe(400);
    expect((await post(v.webhookUrl, stringify({ account: { id: String(account.id) }, talk: { update: [{ talk_id: 'x' }] } }))).status).toBe(400);
    expect(await items(session)).toEqual([]);
    expect((await view(session)).state.lastEventAt).toBeNull();
    expect((await post(v.webhookUrl, body(account.id))).status).toBe(200);
    expect(await items(session)).toHaveLength(1);
  });

  it('when the OAuth callback is forged (bad state, untrusted referer), then nothing is connected', async () => {
    amo = await startAmoEmulator({ integration: { redirectUri: 'http://placeholder/' } });
    h = await startHarness({ amocrm: amo });
    await installApp(h);
    const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    expect((await api(h.app.url, session, 'POST', '/api/chat-sources/amocrm/connect', { name: 'X', domain: 'evil.example.com' })).status).toBe(400);
    const begin = await api(h.app.url, session, 'POST', '/api/chat-sources/amocrm/connect', { name: 'X', domain: amo.host });
    const back = new URL(await amo.authorize(String(begin.json.authorizeUrl)));
    const tampered = new URL(back);
    tampered.searchParams.set('state', `${back.searchParams.get('state')!.slice(0, -2)}xx`);
    expect((await fetch(tampered)).status).toBe(400);
    const evil = new URL(back);
    evil.searchParams.set('referer', 'evil.example.com');
    expect((await fetch(evil)).status).toBe(400);
    expect((await view(session)).connection).toBeNull();
    expect(amo.oauth.log).toEqual([]);
  });
});

describe('amoCRM keep-alive', () => {
  it('when the account stays quiet for months, then the weekly refresh keeps the grant alive (without it the refresh token dies after 3 months)', async () => {
    const clock = offsetClock();
    const { account } = await setup({ clock });
    const memberId = h!.portal.memberId;
    const connection = () => h!.app.deps.chatSources.amoAccounts.get(memberId);
    const lastError = async () => (await h!.app.deps.chatSources.sources.state(memberId, 'amocrm')).lastError;
    for (let week = 0; week < 15; week++) {
      clock.offset += 8 * 86_400_000;
      await h!.app.deps.chatSourcesWorker.keepAlive(memberId);
    }
    expect(await connection()).toMatchObject({ status: 'active' });
    const refreshes = amo!.oauth.log.filter((l) => l.grantType === 'refresh_token');
    expect(refreshes.length).toBeGreaterThanOrEqual(15);
    expect(refreshes.every((l) => l.ok)).toBe(true);
    // and the webhook is still there
    expect(account.webhooks).toHaveLength(1);
    // a quarter without any call: the refresh token is dead, the tab says to connect again
    clock.offset += 91 * 86_400_000;
    await h!.app.deps.chatSourcesWorker.keepAlive(memberId);
    expect(await connection()).toMatchObject({ status: 'reauth' });
    expect(await lastError()).toMatchObject({ code: 'AMO_REAUTH' });
  });
});
