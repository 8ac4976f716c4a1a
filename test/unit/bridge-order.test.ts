import { describe, expect, it } from 'vitest';
import { CONNECTOR_ID } from '../../install/plan';
import { asyncPort } from '../../server/services/async-port';
import { onMessageAdd } from '../../server/services/bridge/on-bitrix-event';
import { runOutbound } from '../../server/services/bridge/relay-outbound';
import type { RelayContext } from '../../server/services/bridge/worker-context';
import { createSqliteBridgeRepository } from '../../server/storage/bridge-repository';
import { openDb } from '../../server/storage/db';

/**
 * An operator's replies of one chat reach UIS in the order he wrote them (Bitrix24 message ids),
 * whatever order and delay their ONIMCONNECTORMESSAGEADD events come with: a late event is put
 * ahead of the chat's later messages that nothing was sent of yet, also once they are due or were
 * retried (UIS down). Only one being sent, or with a part in UIS, stays ahead.
 */
function world() {
  const db = openDb(':memory:');
  db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('m1', 'p.example', 'https://p.example/rest/', 'https://oauth.example/rest/', 'active', 'x', 'x')`).run();
  let clock = 1_700_000_000_000;
  const repo = createSqliteBridgeRepository(db, () => clock);
  const deps = { bridge: asyncPort(repo), now: () => clock, wake: () => undefined, outboundGatherMs: 1000 };
  const reply = (messageId: number, text: string) =>
    onMessageAdd(deps, 'm1', { CONNECTOR: CONNECTOR_ID, MESSAGES: [{ im: { chat_id: 5, message_id: messageId }, message: { user_id: 1, text }, chat: { id: 'uis_c77' } }] });
  const order = () => repo.pendingOfChat('m1', 'o:77').map((j) => String(j.payload.text));
  const job = (text: string) => repo.pendingOfChat('m1', 'o:77').find((j) => j.payload.text === text)!;
  return { repo, reply, order, job, tick: (ms: number) => (clock += ms), now: () => clock };
}

describe('operator replies of one chat, events late and swapped', () => {
  it('#0 whose event comes after #1 was due and tried while UIS was down goes ahead of it', async () => {
    const w = world();
    await w.reply(101, '#1');
    w.tick(5000); // past the gather window: a run took #1, UIS answered 503
    w.repo.retry(w.job('#1').id, 1, w.now() + 2000, 'HTTP_503');
    await w.reply(100, '#0');
    expect(w.order()).toEqual(['#0', '#1']);
    // the retry's count is kept; #0 is the chat's head, read first (a run takes one per chat)
    expect(w.job('#1').attempts).toBe(1);
    w.tick(3000);
    expect(w.repo.due('m1', w.now(), 10).map((j) => j.payload.text)).toEqual(['#0', '#1']);
  });

  it('#0 whose event comes after #1 is due (never tried: the run was slow) goes ahead of it', async () => {
    const w = world();
    await w.reply(101, '#1');
    w.tick(5000);
    await w.reply(100, '#0');
    expect(w.order()).toEqual(['#0', '#1']);
  });

  it('a later message being sent, or with a part in UIS already, stays ahead', async () => {
    const w = world();
    await w.reply(102, '#2');
    await w.reply(103, '#3');
    w.repo.setInflight([w.job('#2').id], true);
    w.repo.addLink('m1', { origin: 'b24', key: '103#0', uisChatId: '77', uisMessageId: '9001', b24ChatId: '5', b24MessageId: '103', state: 'relayed', error: null });
    await w.reply(101, '#1');
    expect(w.order()).toEqual(['#2', '#3', '#1']);
  });

  it('a run that read a job before a late earlier message was put ahead of it leaves it for the next round', async () => {
    const w = world();
    await w.reply(101, '#1');
    w.tick(5000);
    const read = w.job('#1'); // what the run's `due` read holds
    await w.reply(100, '#0');
    let touched = false;
    const ctx = {
      repo: asyncPort(w.repo),
      deps: {
        links: {
          get: () => {
            touched = true;
            return Promise.resolve(null);
          },
        },
      },
    } as unknown as RelayContext;
    await runOutbound(ctx, 'm1', read);
    expect(touched).toBe(false);
    expect(w.order()).toEqual(['#0', '#1']);
    expect(w.repo.pendingOfChat('m1', 'o:77').map((j) => j.inflight)).toEqual([false, false]);
  });

  // node-pg bridge-faults «UIS down for a while», a CI run: '#1' reached UIS before '#0'
  it('#0 whose event comes while #1 is being sent goes ahead of it when that send fails with nothing sent', async () => {
    const w = world();
    await w.reply(101, '#1');
    await w.reply(102, '#2');
    w.tick(5000);
    const ctx = (duringSend: () => Promise<unknown>) =>
      ({
        repo: asyncPort(w.repo),
        // the run is under way (#1 in flight) when #0's event is handled; then UIS answers 503
        deps: { links: { get: async () => (await duringSend(), null) } },
        later: async (j: { id: number; attempts: number }, reason: string) => w.repo.retry(j.id, j.attempts + 1, w.now() + 2000, reason),
      }) as unknown as RelayContext;
    await runOutbound(
      ctx(() => w.reply(100, '#0')),
      'm1',
      w.job('#1'),
    );
    expect(w.order()).toEqual(['#0', '#1', '#2']);
    expect(w.repo.pendingOfChat('m1', 'o:77').map((j) => [j.attempts, j.inflight])).toEqual([
      [0, false],
      [1, false],
      [0, false],
    ]);
    // the next run sends #0 first
    w.tick(5000);
    expect(w.repo.due('m1', w.now(), 10).map((j) => j.payload.text)).toEqual(['#0', '#1', '#2']);
  });

  it('one with a part in UIS already keeps its place after a failed send', async () => {
    const w = world();
    await w.reply(101, '#1');
    w.tick(5000);
    const ctx = {
      repo: asyncPort(w.repo),
      deps: {
        links: {
          get: async () => {
            await w.reply(100, '#0');
            // the file went out on an earlier try; the caption's send fails now
            w.repo.addLink('m1', { origin: 'b24', key: '101#0', uisChatId: '77', uisMessageId: '9001', b24ChatId: '5', b24MessageId: '101', state: 'relayed', error: null });
            return null;
          },
        },
      },
      later: async (j: { id: number; attempts: number }, reason: string) => w.repo.retry(j.id, j.attempts + 1, w.now() + 2000, reason),
    } as unknown as RelayContext;
    await runOutbound(ctx, 'm1', w.job('#1'));
    expect(w.order()).toEqual(['#1', '#0']);
  });
});
