/**
 * SIGTERM on a real child process (test/support/server-process.ts; the child stops through
 * server/lifecycle.ts like the production entry): the instance turns unready, stops taking new
 * work, lets the relay call in flight finish within the bound, and exits 0. What it did not start
 * is durable and goes out after a restart, once. No wall-clock assertions: the emulated portal
 * holds the call in flight until the test releases it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { holdings, mirrored, until } from '../support/bridge-fixture';
import { installLinkBind, startChildWorld, type ChildWorld } from '../support/child-world';

let w: ChildWorld | undefined;

afterEach(async () => {
  const cur = w;
  w = undefined;
  await cur?.close();
});

const status = async (url: string): Promise<number | 'refused'> => {
  try {
    const r = await fetch(url, { headers: { connection: 'close' } });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 'refused';
  }
};

async function pollFor(probe: () => Promise<unknown>, want: unknown, rounds = 200): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    if ((await probe()) === want) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

const settle = async (x: ChildWorld) => {
  await x.acc.settle();
  await x.portal.drainEvents();
  await new Promise((r) => setTimeout(r, 100));
};

describe('SIGTERM', () => {
  it('unready (/readyz 503) while draining, the call in flight finishes, no new run starts, exit 0; the rest follows after a restart, once', async () => {
    const x = (w = await startChildWorld({ env: { SHUTDOWN_DELAY_MS: '5000', SHUTDOWN_TIMEOUT_MS: '60000' } }));
    await installLinkBind(x);
    const url = x.proc!.url;
    expect(await status(`${url}/readyz`)).toBe(200);

    // the first message of a new chat goes alone: its imconnector.send.messages runs and its answer is held
    const held = x.portal.holdAnswers(['imconnector.send.messages', 'batch'], 1);
    await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79165550001' }, text: 'before SIGTERM' });
    await held.executed;

    x.proc!.child.kill('SIGTERM');
    // draining: unready for the balancer, alive, and still answering during SHUTDOWN_DELAY_MS
    expect(await pollFor(() => status(`${url}/readyz`), 503)).toBe(true);
    expect(await status(`${url}/healthz`)).toBe(200);
    // a callback arriving now is recorded (204) — but the instance starts no new run for it
    await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79165550001' }, text: 'while draining' });
    expect(x.acc.callbacks.filter((c) => c.path === '/message').map((c) => c.status)).toEqual([204, 204]);

    // then the listener closes; the process waits for the call in flight
    expect(await pollFor(() => status(`${url}/healthz`), 'refused', 2000)).toBe(true);
    expect(x.proc!.alive()).toBe(true);
    held.release();
    expect(await x.proc!.exited).toBe(0);

    // the held call's outcome was read and recorded before the exit; the second message waited
    const atExit = holdings(x.portal, x.acc);
    expect(atExit.b24Inbound).toBe(1);
    expect(atExit.visitorMessages).toBe(2);

    await x.start();
    expect(await until(() => mirrored(holdings(x.portal, x.acc)), () => settle(x), 300)).toBe(true);
    for (let i = 0; i < 3; i++) await settle(x);
    const h = holdings(x.portal, x.acc);
    expect(h.b24Inbound).toBe(2);
    expect(h.b24Chats).toBe(1);
  }, 180_000);

  it('exits 0 within SHUTDOWN_TIMEOUT_MS when a call in flight does not finish; the restart settles it without a double', async () => {
    const x = (w = await startChildWorld({ env: { SHUTDOWN_TIMEOUT_MS: '1000' } }));
    await installLinkBind(x);
    const visitor = { phone: '+79165550002' };
    await x.acc.visitorWrite({ channelType: 'whatsapp', visitor, text: 'relayed' });
    expect(await until(() => holdings(x.portal, x.acc).b24Inbound === 1, () => settle(x), 300)).toBe(true);
    // the chat is known to Bitrix24 now: the next message's call is held past the bound
    const held = x.portal.holdAnswers(['imconnector.send.messages', 'batch'], 1);
    await x.acc.visitorWrite({ channelType: 'whatsapp', visitor, text: 'cut by the bound' });
    await held.executed;

    x.proc!.child.kill('SIGTERM');
    expect(await x.proc!.exited).toBe(0); // on its own: the test never releases the call before the exit
    held.release();

    await x.start();
    expect(await until(() => mirrored(holdings(x.portal, x.acc)), () => settle(x), 300)).toBe(true);
    for (let i = 0; i < 3; i++) await settle(x);
    const h = holdings(x.portal, x.acc);
    expect(h.b24Inbound).toBe(2);
    expect(h.b24Chats).toBe(1);
  }, 180_000);
});
