/**
 * Open Lines bridge, issue #11 items 2–4: nothing lost, nothing silent. UIS promises no callback
 * retries (the emulated platform makes one attempt), disables channels and the adapter's connection
 * without replaying anything afterwards, and counts Data API points. What a callback did not bring
 * is read from `get.chat_messages_report` (the reconcile), what the open line lacks is found by
 * reading the sessions back (the loss audit), and both show on the main page and in /metrics.
 * Real server over real HTTP against the emulated portal and the emulated UIS platform; the
 * reconcile and the audit are run by hand (the schedule is startBackgroundWork's).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../server/domain/clock';
import { holdings, linkAndBind, mirrored } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

/** Real time plus a jump the test controls (the Data API minute budget resets on the clock). */
function jumpingClock(): Clock & { jump(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms))),
    jump: (ms) => void (offset += ms),
  };
}

async function settle() {
  for (let i = 0; i < 5; i++) {
    await h.uis.accounts[0]!.settle();
    await h.app.deps.bridgeRecovery.idle();
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
  }
}

const member = () => h.portal.memberId;
const acc = () => h.uis.accounts[0]!;

/** Our callback endpoint fails (500) while `fn` runs: UIS makes one attempt and the callbacks are gone. */
async function callbacksLost<T>(fn: () => Promise<T>): Promise<T> {
  const intake = h.app.deps.uisCallbacks;
  h.app.deps.uisCallbacks = { submit: () => Promise.reject(new Error('our server is down')) };
  try {
    return await fn();
  } finally {
    h.app.deps.uisCallbacks = intake;
  }
}

const health = async (session: string) => (await api(h.app.url, session, 'GET', '/api/uis/link')).json.health as Record<string, unknown>;
const repairs = async (area: string) => (await h.app.deps.metrics.bridgeRepairs.get()).values.find((v) => v.labels.area === area)?.value ?? 0;

describe('reconcile: what no callback brought is read from the Data API report', () => {
  it('relays, once and in UIS order, the messages whose callbacks failed — a chat whose /chat was lost too — and counts them', async () => {
    h = await startHarness();
    const { session } = await linkAndBind(h);
    const a = { phone: '+79161110001' };
    const first = await acc().visitorWrite({ channelType: 'whatsapp', visitor: a, text: 'a0' });
    await settle();
    const lost = await callbacksLost(async () => {
      const out = [];
      for (const text of ['a1', 'a2']) out.push(await acc().visitorWrite({ channelType: 'whatsapp', visitor: a, text }));
      // a client new to us: its /chat, /message and /visitor/card callbacks all fail
      for (const text of ['b0', 'b1']) out.push(await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110002', name: 'Борис' }, text }));
      // a channel no line drives: nothing of it is the bridge's
      out.push(await acc().visitorWrite({ channelType: 'telegram_private', visitor: { username: '@nobody' }, text: 'tg' }));
      return out;
    });
    expect(acc().callbacks.filter((c) => c.status === 500).length).toBeGreaterThanOrEqual(5);
    await settle();
    expect(mirrored(holdings(h.portal, acc()))).toBe(false); // lost, as against a real UIS

    expect(await h.app.deps.bridgeRecovery.reconcile(member())).toEqual({ recovered: 4 });
    await settle();
    const held = holdings(h.portal, acc());
    for (const c of held.inbound.filter((x) => x.uisChatId !== lost[4]!.chatId)) expect(c.b24).toEqual(c.uis);
    expect(held.inbound.find((x) => x.uisChatId === lost[4]!.chatId)!.b24).toEqual([]);
    expect(held.b24Chats).toBe(2);
    // the recovered chat's client carries the phone UIS knows (get.chats_report), like a /chat callback would give
    const b = h.portal.openLines.chats().find((c) => c.externalChatId === `uis_c${lost[2]!.chatId}`)!;
    expect(b.user.phone).toBe('+79161110002');
    expect(b.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual(['b0', 'b1']);
    expect(h.portal.openLines.chats().find((c) => c.externalChatId === `uis_c${first.chatId}`)!.messages.filter((m) => m.direction === 'in').map((m) => m.text)).toEqual(['a0', 'a1', 'a2']);

    // again: nothing new, nothing doubled; a late callback of a recovered message changes nothing either
    expect(await h.app.deps.bridgeRecovery.reconcile(member())).toEqual({ recovered: 0 });
    const late = await fetch(`${h.app.url}/uis/callbacks/${(await h.app.deps.links.get(member()))!.hookId}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await h.app.deps.links.get(member()))!.webhookSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify(acc().callbacks.find((c) => c.path === '/message' && c.status === 500)!.body),
    });
    expect(late.status).toBe(204);
    await settle();
    expect(holdings(h.portal, acc()).b24Inbound).toBe(5);
    const view = await health(session);
    expect(view).toMatchObject({ recovered: 4, repaired: 0, lastError: null, accountStatus: 'active', channels: [] });
    expect(view.lastReconcileAt).toEqual(expect.any(String));
    expect(await repairs('missed-callback')).toBe(4);
  });

  it('a chat whose /chat callback failed while its /message callbacks came: the messages wait, the reconcile learns the chat and they go out', async () => {
    h = await startHarness();
    await linkAndBind(h);
    const intake = h.app.deps.uisCallbacks;
    h.app.deps.uisCallbacks = { submit: (link, cb) => (cb.route === 'POST /chat' ? Promise.reject(new Error('lost')) : intake.submit(link, cb)) };
    for (const text of ['c0', 'c1']) await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110005' }, text });
    h.app.deps.uisCallbacks = intake;
    await settle();
    expect(holdings(h.portal, acc()).b24Inbound).toBe(0); // no visitor, no open-line chat
    expect(await h.app.deps.bridgeRecovery.reconcile(member())).toEqual({ recovered: 0 }); // the messages were queued already
    await settle();
    expect(mirrored(holdings(h.portal, acc()))).toBe(true);
    expect(h.portal.openLines.chats()[0]!.user.phone).toBe('+79161110005');
  });

  it('spends the Data API point budget within a reserve: nearly spent, it stops and says so; after the minute resets it catches up', async () => {
    const clock = jumpingClock();
    let dataApiCalls = 0;
    h = await startHarness({
      clock,
      fetch: (input, init) => {
        if (String(input instanceof Request ? input.url : input).startsWith(h.uis.dataApiUrl)) dataApiCalls++;
        return fetch(input, init);
      },
    });
    const { session } = await linkAndBind(h);
    await callbacksLost(async () => {
      for (const text of ['x0', 'x1']) await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110003' }, text });
    });
    // the account's minute budget is 10 points and somebody else has used all but two of them
    acc().setDataApiLimits({ minute: 10 });
    for (;;) {
      const r = (await (
        await fetch(h.uis.dataApiUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'get.account', params: { access_token: acc().dataApiToken } }) })
      ).json()) as { result?: { metadata: { limits: { minute_remaining: number } } } };
      if (!r.result || r.result.metadata.limits.minute_remaining <= 2) break;
    }
    const before = dataApiCalls;
    await expect(h.app.deps.bridgeRecovery.reconcile(member())).rejects.toMatchObject({ code: 'DATA_API_BUDGET_LOW' });
    await expect(h.app.deps.bridgeRecovery.reconcile(member())).rejects.toMatchObject({ code: 'DATA_API_BUDGET_LOW' });
    expect(dataApiCalls - before).toBeLessThanOrEqual(1); // one call told it the budget is low; nothing more was spent
    await settle();
    expect(holdings(h.portal, acc()).b24Inbound).toBe(0);
    expect((await health(session)).lastError).toMatch(/point budget/);

    clock.jump(61_000); // the minute is over
    expect(await h.app.deps.bridgeRecovery.reconcile(member())).toEqual({ recovered: 2 });
    await settle();
    expect(mirrored(holdings(h.portal, acc()))).toBe(true);
    expect((await health(session)).lastError).toBeNull();
  });
});

describe('loss audit: what UIS has is compared with what the open line holds (CONNECTOR_MID)', () => {
  it('sends again, once, a message the bridge took for relayed that the open line does not hold, picks up what no callback brought, and counts both', async () => {
    h = await startHarness();
    const { session } = await linkAndBind(h);
    const v = { phone: '+79161110004' };
    const w0 = await acc().visitorWrite({ channelType: 'whatsapp', visitor: v, text: 'm0' });
    await settle();
    expect((await h.app.deps.bridgeRecovery.audit(member())).repaired).toBe(0);

    // the bridge's books say relayed, the open line never got it (a lost write on either side)
    const m0 = (await h.app.deps.bridge.link(member(), 'uis', String(w0.messageId)))!;
    h.app.deps.bridgeWorker.hold();
    const w1 = await acc().visitorWrite({ channelType: 'whatsapp', visitor: v, text: 'm1' });
    await h.app.callbacksHandled(); // PostgreSQL: its job is queued after the 204
    await h.sql.run(`UPDATE bridge_jobs SET status = 'done' WHERE member_id = ? AND idem_key = ?`, member(), `in:${w1.messageId}`);
    await h.app.deps.bridge.updateLink(member(), 'uis', String(w1.messageId), { state: 'relayed', b24ChatId: m0.b24ChatId, b24SessionId: m0.b24SessionId });
    await h.app.deps.bridge.upsertChat({ memberId: member(), uisChatId: String(w1.chatId), channelId: (await h.app.deps.bridge.chat(member(), String(w1.chatId)))!.channelId });
    h.app.deps.bridgeWorker.release();
    // and a callback that failed
    await callbacksLost(() => acc().visitorWrite({ channelType: 'whatsapp', visitor: v, text: 'm2' }));
    await settle();
    expect(holdings(h.portal, acc()).inbound[0]!.b24).toEqual([String(w0.messageId)]);

    expect(await h.app.deps.bridgeRecovery.audit(member())).toEqual({ checked: 1, recovered: 1, repaired: 1 });
    await settle();
    const after = holdings(h.portal, acc());
    expect(after.inbound[0]!.b24).toEqual(after.inbound[0]!.uis);
    expect((await h.app.deps.bridge.link(member(), 'uis', String(w1.messageId)))?.state).toBe('relayed');

    // the chat changed (relayed again), so it is audited again: all there, nothing sent
    expect(await h.app.deps.bridgeRecovery.audit(member())).toEqual({ checked: 1, recovered: 0, repaired: 0 });
    expect(await h.app.deps.bridgeRecovery.audit(member())).toEqual({ checked: 0, recovered: 0, repaired: 0 }); // unchanged: not read again
    await settle();
    expect(holdings(h.portal, acc()).b24Inbound).toBe(3);
    expect(await health(session)).toMatchObject({ recovered: 1, repaired: 1, lastAuditAt: expect.any(String), lastError: null });
    expect(await repairs('open-line')).toBe(1);
    expect(await repairs('missed-callback')).toBe(1);
  });
});

describe('channel and connection changes UIS reports (PATCH /channel/{id}, PATCH /account/{id})', () => {
  const connector = async (session: string) => (await api(h.app.url, session, 'GET', '/api/connector?line=1')).json;

  it('a bound channel UIS disables shows on the connector page and the main page; what clients wrote meanwhile reaches the line once it is enabled again', async () => {
    h = await startHarness();
    const { session, channelId } = await linkAndBind(h);
    const v = { phone: '+79161110010' };
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: v, text: 'до' });
    await settle();
    const name = acc().channels.find((c) => c.type === 'whatsapp')!.name;

    await acc().updateChannel('whatsapp', { status: 'disabled', statusReason: 'Номер отключён' });
    await settle();
    expect((await connector(session)).binding).toMatchObject({ channelId, channelName: name, uisStatus: 'disabled' });
    expect((await health(session)).channels).toEqual([{ channelId, name, type: 'whatsapp', lineId: '1', status: 'disabled' }]);

    // clients keep writing; UIS tells the adapter nothing (and will replay nothing)
    const callbacks = acc().callbacks.length;
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: v, text: 'пока выключен 1' });
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: v, text: 'пока выключен 2' });
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110011' }, text: 'новый клиент' });
    expect(acc().callbacks.length).toBe(callbacks);
    // the periodic reconcile leaves a disabled channel alone (its replies could not reach the client)
    expect(await h.app.deps.bridgeRecovery.reconcile(member())).toEqual({ recovered: 0 });
    await settle();
    expect(holdings(h.portal, acc()).b24Inbound).toBe(1);

    await acc().updateChannel('whatsapp', { status: 'active' });
    await settle();
    const held = holdings(h.portal, acc());
    expect(mirrored(held)).toBe(true);
    expect(held.b24Inbound).toBe(4);
    expect((await connector(session)).binding).toMatchObject({ uisStatus: 'active' });
    expect((await health(session)).channels).toEqual([]);

    // renamed in UIS: the pages follow
    await acc().updateChannel('whatsapp', { name: 'WhatsApp продаж' });
    await settle();
    expect((await connector(session)).binding).toMatchObject({ channelName: 'WhatsApp продаж', uisStatus: 'active' });
    expect(holdings(h.portal, acc()).b24Inbound).toBe(4);
  });

  it('the connection UIS disables shows on both pages; enabled again, what clients wrote meanwhile on every bound channel reaches the lines', async () => {
    h = await startHarness();
    const { session } = await linkAndBind(h);
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110012' }, text: 'до' });
    await settle();
    await acc().updateConnection({ status: 'disabled' });
    await settle();
    expect((await connector(session)).accountStatus).toBe('disabled');
    expect((await health(session)).accountStatus).toBe('disabled');
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110012' }, text: 'во время' });
    await acc().visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161110013' }, text: 'другой клиент' });
    expect(await h.app.deps.bridgeRecovery.reconcile(member())).toEqual({ recovered: 0 });
    await settle();
    expect(holdings(h.portal, acc()).b24Inbound).toBe(1);

    await acc().updateConnection({ status: 'active' });
    await settle();
    expect(mirrored(holdings(h.portal, acc()))).toBe(true);
    expect(holdings(h.portal, acc()).b24Inbound).toBe(3);
    expect((await connector(session)).accountStatus).toBe('active');
    expect((await health(session)).accountStatus).toBe('active');
  });
});
