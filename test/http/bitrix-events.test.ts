/**
 * Bitrix24 events as the real queue delivers them (bitrix24-rest.md §8): stamped with `ts` when
 * the portal queued them, at most once, late, in any order. What identifies a delivery, and what
 * the product does when one is late, out of order or lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { linkAndBind } from '../support/bridge-fixture';
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
    const before = h.app.deps.inbox.count(h.portal.memberId);
    await rest.call('imconnector.activate', { CONNECTOR: 'uis_omni', LINE: 1, ACTIVE: 0 });
    await h.portal.drainEvents();
    const outcomes = h.portal.deliveries.filter((d) => d.event === 'ONIMCONNECTORSTATUSDELETE').map((d) => JSON.parse(d.body).outcome);
    expect(outcomes.sort()).toEqual(['duplicate', 'recorded']);
    expect(h.app.deps.inbox.count(h.portal.memberId)).toBe(before + 1);
    expect((await api(h.app.url, session, 'GET', '/api/connector?line=1')).json.binding).toMatchObject({ status: 'off' });
  });
});
