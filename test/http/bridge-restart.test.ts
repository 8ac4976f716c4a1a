/**
 * Open Lines bridge fault suite, cases (d) and (f) of issue #3: our own process killed or down.
 * The app runs as a child process (test/support/server-process.ts) on a fixed port and an SQLite
 * file, so it can be SIGKILLed and started again on the same database and the same event URL;
 * the emulated portal and the emulated UIS platform stay in the test process. Each case ends with
 * a count of what both sides hold: every message exactly once, order kept per chat.
 *
 * What the product relies on here, and the emulators can show:
 * - UIS → us: a callback that hits a dead server is lost: the docs promise no retries and the
 *   emulated platform makes one attempt. So case (d) shows: what we acknowledged (204) before dying
 *   is durable and delivered exactly once after the restart; what clients wrote while we were dead
 *   (chats that began then included) is found by the start-up reconcile in the Data API report
 *   `get.chat_messages_report` and relayed before anything newer, exactly once (recovery.ts).
 * - Bitrix24 → us: online events are POSTed at most once; ONIMCONNECTORMESSAGEADD sent while we
 *   are down is lost, and only the offline queue (event.offline.get) brings it back — case (f).
 * No wall-clock assertions: waits are bounded by rounds, the counts decide.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTOR, holdings, mirrored, summary, until } from '../support/bridge-fixture';
import { installLinkBind, startChildWorld, type ChildWorld } from '../support/child-world';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type World = ChildWorld;
let w: World | undefined;

afterEach(async () => {
  const cur = w;
  w = undefined;
  await cur?.close();
});

async function startWorld(): Promise<World> {
  w = await startChildWorld();
  return w;
}

/** One waiting step while the app is up. */
async function settle(x: World): Promise<void> {
  await x.acc.settle();
  await x.portal.drainEvents();
  await sleep(100);
}

const olChat = (x: World, uisChatId: number) => x.portal.openLines.chats().find((c) => c.connector === CONNECTOR && c.externalChatId === `uis_c${uisChatId}`);

async function expectMirrored(x: World, replies?: Map<number, string[]>, rounds = 300) {
  await until(() => mirrored(holdings(x.portal, x.acc, replies)), () => settle(x), rounds);
  const h = holdings(x.portal, x.acc, replies);
  console.log(`  ${expect.getState().currentTestName}: ${summary(h)}`);
  for (const c of h.inbound) expect(c.b24, `UIS chat ${c.uisChatId} in the open line`).toEqual(c.uis);
  for (const c of h.outbound) expect(c.uis, `operator replies of UIS chat ${c.uisChatId} in UIS`).toEqual(c.b24);
  expect(h.b24Chats).toBe(h.uisChats);
  return h;
}

const serverLog = (x: World) => {
  try {
    return readFileSync(x.logFile, 'utf8').slice(-4000);
  } catch {
    return '';
  }
};

describe('(d) the backend killed (SIGKILL) in the middle of a burst and restarted', () => {
  // A kill after the portal ran imconnector.send.messages but before the job was marked done leaves
  // the job marked in flight; after the restart the open line is read before anything is resent.
  it('every visitor message reaches the open line exactly once, in order per chat, after a restart on the same database', async () => {
    const x = await startWorld();
    await installLinkBind(x);
    const CHATS = 6;
    const PER = 10;
    let written = 0;
    // visitors in parallel, each writing in order with a small gap so the kill lands mid-burst
    const burst = Promise.all(
      Array.from({ length: CHATS }, async (_, v) => {
        for (let i = 0; i < PER; i++) {
          await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+7916555${String(1000 + v)}` }, text: `d v${v} m${i}` });
          written++;
          await sleep(25);
        }
      }),
    );
    // kill once part of the burst is in the open line and part is not even written yet
    const reached = await until(() => holdings(x.portal, x.acc).b24Inbound >= 8, () => sleep(10), 1000, 0);
    expect(reached, serverLog(x)).toBe(true);
    await x.proc!.kill('SIGKILL');
    const atKill = holdings(x.portal, x.acc);
    const writtenAtKill = written;
    const ackedAtKill = x.acc.callbacks.filter((c) => c.path === '/message' && (c.status === 200 || c.status === 204)).length;
    console.log(`  (d) SIGKILL with ${writtenAtKill}/${CHATS * PER} written, ${ackedAtKill} /message callbacks acknowledged, ${atKill.b24Inbound} in the open line`);
    expect(writtenAtKill).toBeLessThan(CHATS * PER);
    // visitors keep writing while we are dead: their callbacks fail once and are gone (no retries)
    const isFailure = (c: { status: number | 'network-error' }) => c.status === 'network-error' || c.status >= 300;
    const hit = await until(() => x.acc.callbacks.filter(isFailure).length >= 3, () => sleep(20), 500, 0);
    expect(hit, 'callbacks hit the dead server').toBe(true);
    await sleep(1000);
    const failed = x.acc.callbacks.filter(isFailure).length;
    await x.start(); // same port, same database, same APP_SECRET_KEY
    await burst;
    const h = await expectMirrored(x);
    console.log(`  (d) callback attempts that hit the dead server: ${failed}`);
    expect(h.visitorMessages).toBe(CHATS * PER);
    expect(h.b24Inbound).toBe(CHATS * PER);
    expect(h.uisChats).toBe(CHATS);
    // stragglers (a redelivered callback, a resent job) must not double anything
    for (let i = 0; i < 5; i++) await settle(x);
    const again = holdings(x.portal, x.acc);
    expect(again.b24Inbound).toBe(CHATS * PER);
    expect(again.b24Chats).toBe(CHATS);
    expect(failed).toBeGreaterThan(0);
  }, 180_000);

  it('killed after the portal ran imconnector.send.messages, before its answer was read: the restart sends only what is missing', async () => {
    const x = await startWorld();
    await installLinkBind(x);
    const CHATS = 3;
    const PER = 4;
    const visitor = (v: number) => ({ phone: `+7916444${String(1000 + v)}` });
    for (let v = 0; v < CHATS; v++) await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: visitor(v), text: `k v${v} m0` });
    await expectMirrored(x); // the chats are known to Bitrix24: later messages travel together
    const known = holdings(x.portal, x.acc).b24Inbound;
    const held = x.portal.holdAnswers(['imconnector.send.messages', 'batch'], 1);
    const writes = Promise.all(
      Array.from({ length: CHATS }, async (_, v) => {
        for (let i = 1; i < PER; i++) await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: visitor(v), text: `k v${v} m${i}` });
      }),
    );
    await held.executed; // the portal has run the call; the app has not read the answer
    await x.proc!.kill('SIGKILL');
    held.release();
    const atKill = holdings(x.portal, x.acc).b24Inbound;
    console.log(`  (d) SIGKILL with ${atKill - known} messages delivered by a call whose answer was never read`);
    expect(atKill).toBeGreaterThan(known);
    const checks = x.portal.stats.byMethod['imopenlines.session.history.get'] ?? 0;
    await x.start();
    await writes;
    const h = await expectMirrored(x);
    for (let i = 0; i < 5; i++) await settle(x);
    const again = holdings(x.portal, x.acc);
    expect(again.b24Inbound).toBe(CHATS * PER);
    expect(h.visitorMessages).toBe(CHATS * PER);
    expect(x.portal.stats.byMethod['imopenlines.session.history.get'] ?? 0).toBeGreaterThan(checks); // the open line was read before resending
  }, 120_000);
});

describe('(d) the very first message of a brand-new visitor, killed before its answer was read', () => {
  // Bitrix24 offers no lookup for it (docs/open-lines-bridge.md «No doubles on resend»): it is sent again, then the
  // second copy is removed with imconnector.delete.messages once the chat is known.
  it('is sent again after the restart and the copy is removed: the open line shows it once', async () => {
    const x = await startWorld();
    await installLinkBind(x);
    const held = x.portal.holdAnswers(['imconnector.send.messages', 'batch'], 1);
    const write = x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79163331000' }, text: 'самое первое сообщение' });
    await held.executed;
    await x.proc!.kill('SIGKILL');
    held.release();
    expect(holdings(x.portal, x.acc).b24Inbound).toBe(1);
    await x.start();
    await write;
    await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79163331000' }, text: 'второе' });
    const h = await expectMirrored(x);
    for (let i = 0; i < 3; i++) await settle(x);
    expect(holdings(x.portal, x.acc).b24Inbound).toBe(2);
    expect(h.b24Chats).toBe(1);
    expect(x.portal.stats.byMethod['imconnector.delete.messages'] ?? 0).toBe(1);
    const all = x.portal.openLines.chats().flatMap((c) => c.messages.filter((m) => m.direction === 'in'));
    expect(all.filter((m) => m.deleted)).toHaveLength(1);
  }, 120_000);
});

describe('(f) our server down while operators answer: offline catch-up', () => {
  it('replies written while we are down are taken from the offline queue after the restart, each once, in order', async () => {
    const x = await startWorld();
    await installLinkBind(x);
    const CHATS = 3;
    for (let v = 0; v < CHATS; v++) {
      for (let i = 0; i < 2; i++) await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+7916777${String(1000 + v)}` }, text: `f v${v} m${i}` });
    }
    await expectMirrored(x);
    const uisChats = x.acc.chats().map((c) => c.id);
    expect(uisChats).toHaveLength(CHATS);
    const replies = new Map<number, string[]>();
    const reply = (uisChatId: number, text: string) => {
      x.portal.operatorReply({ chatId: olChat(x, uisChatId)!.id, userId: 1, text });
      replies.set(uisChatId, [...(replies.get(uisChatId) ?? []), text]);
    };
    for (const id of uisChats) x.portal.operatorAccept(olChat(x, id)!.id, 1);
    for (const id of uisChats) reply(id, `до остановки ${id}`);
    await expectMirrored(x, replies);

    await x.proc!.kill('SIGKILL');
    for (const id of uisChats) for (let i = 0; i < 3; i++) reply(id, `пока сервер лежит ${id} #${i}`);
    await x.portal.drainEvents(); // the online events hit a dead server and are gone
    const during = holdings(x.portal, x.acc, replies);
    expect(during.uisOperatorMessages).toBe(CHATS);
    const queued = x.portal.state().offlineQueue;
    console.log(`  (f) offline queue while down: ${queued} rows`);
    expect(queued).toBeGreaterThanOrEqual(CHATS * 3);

    await x.start();
    const h = await expectMirrored(x, replies);
    expect(h.operatorReplies).toBe(CHATS * 4);
    expect(h.uisOperatorMessages).toBe(CHATS * 4);
    // further polls find nothing new and double nothing
    for (let i = 0; i < 4; i++) {
      await settle(x);
      await sleep(300);
    }
    expect(holdings(x.portal, x.acc, replies).uisOperatorMessages).toBe(CHATS * 4);
    // and the app still works both ways after the catch-up
    for (const id of uisChats) reply(id, `после ${id}`);
    await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79167771000' }, text: 'f после' });
    const end = await expectMirrored(x, replies);
    expect(end.uisOperatorMessages).toBe(CHATS * 5);
  }, 120_000);
});
