/**
 * Bitrix24 events as the real queue delivers them (docs/facts/bitrix24.md#event-delivery): stamped with `ts` when
 * the portal queued them, at most once, late, in any order. What identifies a delivery, and what
 * the product does when one is late, out of order or lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { linkAndBind, until } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

/** Waits until the emulator's clock is in a later unix second (events carry `ts` in seconds). */
async function nextSecond(): Promise<void> {
  const s = Math.floor(h.app.deps.clock.now() / 1000);
  while (Math.floor(h.app.deps.clock.now() / 1000) === s) await new Promise((r) => setTimeout(r, 50));
}

describe('event de-duplication: by delivery, within a window', () => {
  it('when a line is disconnected in Bitrix24, reconnected and disconnected again, then the second ONIMCONNECTORSTATUSDELETE switches the binding off again', async () => {
    h = await startHarness();
    const { session, channelId } = await linkAndBind(h);
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    const binding = async () => (await api(h.app.url, session, 'GET', '/api/connector?line=1')).json.binding as { status: string };

    await rest.call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    await h.portal.drainEvents();
    expect((await binding()).status).toBe('off');

    expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId })).status).toBe(200);
    expect((await binding()).status).toBe('active');

    await nextSecond();
    await rest.call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    await h.portal.drainEvents();
    const statusDeletes = h.portal.deliveries.filter((d) => d.event === 'ONIMCONNECTORSTATUSDELETE');
    expect(statusDeletes.map((d) => JSON.parse(d.body).outcome)).toEqual(['recorded', 'recorded']);
    expect((await binding()).status).toBe('off');
  });

  it('when one occurrence reaches us twice (our handler bound twice: two event_handler_ids, one ts), then it is handled once', async () => {
    h = await startHarness();
    const { session } = await linkAndBind(h);
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    // a second binding of the same handler under another auth_type: the portal sends each occurrence to both
    await rest.call('event.bind', { event: 'ONIMCONNECTORSTATUSDELETE', handler: `${h.app.url}/b24/events`, auth_type: 2 });
    const before = await h.app.deps.inbox.count(h.portal.memberId);
    await rest.call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    await h.portal.drainEvents();
    const outcomes = h.portal.deliveries.filter((d) => d.event === 'ONIMCONNECTORSTATUSDELETE').map((d) => JSON.parse(d.body).outcome);
    expect(outcomes.sort()).toEqual(['duplicate', 'recorded']);
    expect(await h.app.deps.inbox.count(h.portal.memberId)).toBe(before + 1);
    expect((await api(h.app.url, session, 'GET', '/api/connector?line=1')).json.binding).toMatchObject({ status: 'off' });
  });
});

describe('events late, out of order, or lost (the queue keeps no order and retries nothing)', () => {
  /** A bound line with one visitor chat the admin has accepted: the open-line chat id and the UIS chat. */
  async function chatReady() {
    const { session, acc, channelId } = await linkAndBind(h);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230101' }, text: 'Здравствуйте' });
    const mapped = async () => (await h.app.deps.bridge.chat(h.portal.memberId, String(w.chatId)))?.b24ChatId;
    await until(async () => !!(await mapped()), async () => {
      await acc.settle();
      await h.portal.drainEvents();
      await h.app.deps.bridgeWorker.drain();
    });
    const b24ChatId = Number(await mapped());
    h.portal.operatorAccept(b24ChatId, 1);
    const operatorTexts = () => acc.chats().find((c) => c.id === w.chatId)!.messages.filter((m) => m.source === 'operator').map((m) => m.text);
    const relay = async () => {
      await h.portal.drainEvents();
      await h.app.deps.bridgeWorker.drain();
      await acc.settle();
    };
    return { session, acc, channelId, b24ChatId, operatorTexts, relay };
  }

  it('when an operator\'s two quick replies reach us swapped, then UIS gets them in the order they were written', async () => {
    h = await startHarness();
    const c = await chatReady();
    h.portal.eventQueue.hold();
    h.portal.operatorReply({ chatId: c.b24ChatId, userId: 1, text: 'первое' });
    h.portal.operatorReply({ chatId: c.b24ChatId, userId: 1, text: 'второе' });
    await h.portal.eventQueue.release('reverse');
    expect(await until(() => c.operatorTexts().length === 2, c.relay)).toBe(true);
    expect(c.operatorTexts()).toEqual(['первое', 'второе']);
  });

  it('when an operator\'s reply event comes after his next reply was tried while UIS was down, then UIS still gets them in the order they were written', async () => {
    h = await startHarness();
    const c = await chatReady();
    h.uis.setDown(true);
    // the first reply's online event is lost: the offline queue brings it, after the second was tried
    h.portal.eventQueue.drop(1, ['ONIMCONNECTORMESSAGEADD']);
    h.portal.operatorReply({ chatId: c.b24ChatId, userId: 1, text: 'первое' });
    h.portal.operatorReply({ chatId: c.b24ChatId, userId: 1, text: 'второе' });
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
    const uisChatId = (await h.app.deps.bridge.chatByB24(h.portal.memberId, String(c.b24ChatId)))!.uisChatId;
    // the queued replies, by the text after the operator's signature
    const pending = async () => (await h.app.deps.bridge.pendingOfChat(h.portal.memberId, `o:${uisChatId}`)).map((j) => ({ text: String(j.payload.text).split('[br]').pop(), tried: j.attempts > 0 }));
    expect(await pending()).toEqual([{ text: 'второе', tried: true }]); // UIS answered 503: backing off
    expect(await h.app.deps.bridgeWorker.pollOffline(h.portal.memberId)).toBe(1);
    expect((await pending()).map((j) => j.text)).toEqual(['первое', 'второе']);
    h.uis.setDown(false);
    expect(await until(() => c.operatorTexts().length === 2, c.relay)).toBe(true);
    expect(c.operatorTexts()).toEqual(['первое', 'второе']);
  });

  it('when a line\'s switch-off arrives after the admin connected it again, then the binding stays active (the portal says which is true)', async () => {
    h = await startHarness();
    const { session, channelId } = await linkAndBind(h);
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    h.portal.eventQueue.hold();
    await rest.call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId })).status).toBe(200);
    await h.portal.eventQueue.release();
    expect(h.portal.deliveries.filter((d) => d.event === 'ONIMCONNECTORSTATUSDELETE').map((d) => d.status)).toEqual([200]);
    expect((await api(h.app.url, session, 'GET', '/api/connector?line=1')).json).toMatchObject({ binding: { status: 'active' }, portal: { active: true } });
  });

  it('when an operator\'s reply event is lost, then the offline queue brings it, once', async () => {
    h = await startHarness();
    const c = await chatReady();
    h.portal.eventQueue.drop(1, ['ONIMCONNECTORMESSAGEADD']);
    h.portal.operatorReply({ chatId: c.b24ChatId, userId: 1, text: 'потерянное' });
    await c.relay();
    expect(h.portal.deliveries.filter((d) => d.event === 'ONIMCONNECTORMESSAGEADD').map((d) => d.status)).toContain('dropped');
    expect(c.operatorTexts()).toEqual([]);
    expect(await h.app.deps.bridgeWorker.pollOffline(h.portal.memberId)).toBe(1);
    expect(await until(() => c.operatorTexts().length === 1, c.relay)).toBe(true);
    expect(await h.app.deps.bridgeWorker.pollOffline(h.portal.memberId)).toBe(0);
    await c.relay();
    expect(c.operatorTexts()).toEqual(['потерянное']);
  });

  it('when a line\'s switch-off is lost, then the next message meets NOT_ACTIVE_LINE and the connector page shows it', async () => {
    h = await startHarness();
    const { session, acc } = await linkAndBind(h);
    h.portal.eventQueue.drop(1, ['ONIMCONNECTORSTATUSDELETE']);
    await h.app.deps.gateway.client(h.portal.memberId).call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    await h.portal.drainEvents();
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161230102' }, text: 'есть кто?' });
    const view = async () => (await api(h.app.url, session, 'GET', '/api/connector?line=1')).json as { binding: { lastError: string | null }; portal: { active: boolean } };
    let last = await view();
    expect(await until(() => !!last.binding.lastError?.includes('NOT_ACTIVE_LINE'), async () => {
      await acc.settle();
      await h.app.deps.bridgeWorker.drain();
      last = await view();
    })).toBe(true);
    expect(last.portal.active).toBe(false);
  });
});
