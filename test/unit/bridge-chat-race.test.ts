/**
 * A /chat handled while an inbound relay round is under way (another instance, or the callback
 * consumer between the round's awaits): the round read the chats before it, so it pushes the
 * chat's first job back as «waiting for the /chat callback» after the /chat had made every job of
 * the chat due. That job then blocked its chat for its backoff while the jobs queued before it went
 * ahead — out of UIS order (node-pg bridge-faults «shuffled burst», a CI rehearsal). The round now
 * looks again at the chats it pushed back and makes a chat known by then due again.
 *
 * And a chat put off is put off whole: the round that pushed back the chat's first message (UIS
 * order) left the later ones that had come first (lower ids) due, so the next round's read of the
 * due jobs held those without it; a /chat handled between that read and the round's read of the
 * chats then let one of them open the chat in Bitrix24 ahead of the first (the same CI test, again).
 */
import { describe, expect, it } from 'vitest';
import { asyncPort } from '../../server/services/async-port';
import { runInbound } from '../../server/services/bridge/relay-inbound';
import { createRelayContext } from '../../server/services/bridge/worker-context';
import { createSqliteBridgeRepository } from '../../server/storage/bridge-repository';
import { openDb } from '../../server/storage/db';

describe('inbound relay round and a /chat handled meanwhile', () => {
  it("the chat's jobs are all due again after the round: none held back behind its backoff", async () => {
    const db = openDb(':memory:');
    db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('m1', 'p.example', 'https://p.example/rest/', 'https://oauth.example/rest/', 'active', 'x', 'x')`).run();
    let clock = 1_700_000_000_000;
    const repo = createSqliteBridgeRepository(db, () => clock);
    repo.bind('m1', '3', '9');
    // callbacks arrived shuffled: UIS ids 102, 100, 101 queued in that order, their /chat not yet
    for (const id of [102, 100, 101]) {
      repo.enqueue({ memberId: 'm1', kind: 'in', chatKey: '500', idemKey: `in:${id}`, dueAt: clock, payload: { uisChatId: '500', channelId: '9', messageId: String(id), source: 'visitor', text: `m${id}`, createdAt: null, resource: null } });
    }
    const port = asyncPort(repo);
    let reads = 0;
    const bridge: typeof port = {
      ...port,
      // the round's read of the chats sees none; right after it the /chat is handled (as learnChat does)
      async chatsOf(m, ids) {
        const r = await port.chatsOf(m, ids);
        if (reads++ === 0) {
          repo.upsertChat({ memberId: 'm1', uisChatId: '500', channelId: '9', visitorId: '42', initiator: 'visitor', operatorId: null });
          repo.upsertVisitor({ memberId: 'm1', visitorId: '42', phone: '+79990001122', email: null });
          repo.dueNow('m1', '500', clock);
        }
        return r;
      },
    } as typeof port;
    const log = { child: () => log, info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    const ctx = createRelayContext({ bridge, clock: { now: () => clock }, log, links: { get: async () => null }, gateway: { client: () => ({}) } } as never);
    await runInbound(ctx, 'm1', repo.due('m1', clock, 10), new Set());
    clock += 1;
    // every job of the chat due now, in UIS order once sorted: nothing waits behind a backoff
    expect(repo.due('m1', clock, 10).map((j) => String(j.payload.messageId)).sort()).toEqual(['100', '101', '102']);
  });

  it("a chat put off is put off whole: a /chat handled between a round's read of the jobs and its read of the chats opens the chat with its first message", async () => {
    const db = openDb(':memory:');
    db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('m1', 'p.example', 'https://p.example/rest/', 'https://oauth.example/rest/', 'active', 'x', 'x')`).run();
    const clock = 1_700_000_000_000;
    const repo = createSqliteBridgeRepository(db, () => clock);
    repo.bind('m1', '3', '9');
    for (const id of [102, 100, 101]) {
      repo.enqueue({ memberId: 'm1', kind: 'in', chatKey: '500', idemKey: `in:${id}`, dueAt: clock, payload: { uisChatId: '500', channelId: '9', messageId: String(id), source: 'visitor', text: `m${id}`, createdAt: null, resource: null } });
    }
    const sent: string[] = [];
    const client = {
      async call(method: string, params: { MESSAGES: Array<{ message: { id: string } }> }) {
        if (method === 'imconnector.send.messages') sent.push(...params.MESSAGES.map((m) => m.message.id));
        throw Object.assign(new Error('refused by the test'), { code: 'TEST_REFUSED' });
      },
    };
    const log = { child: () => log, info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    const ctx = createRelayContext({ bridge: asyncPort(repo), clock: { now: () => clock }, log, links: { get: async () => null }, gateway: { client: () => client }, files: { url: () => '' } } as never);
    // round 1: no /chat yet — the chat's first message (100) waits for it
    await runInbound(ctx, 'm1', repo.due('m1', clock, 10), new Set());
    expect(sent).toEqual([]);
    // round 2 reads the due jobs; the /chat is handled right after that read (as learnChat does)
    const read = repo.due('m1', clock, 10);
    repo.upsertChat({ memberId: 'm1', uisChatId: '500', channelId: '9', visitorId: '42', initiator: 'visitor', operatorId: null });
    repo.upsertVisitor({ memberId: 'm1', visitorId: '42', phone: '+79990001122', email: null });
    repo.dueNow('m1', '500', clock);
    await runInbound(ctx, 'm1', read, new Set());
    // round 3, with whatever is due now
    await runInbound(ctx, 'm1', repo.due('m1', clock, 10), new Set());
    // the chat is opened in Bitrix24 with its first message, never a later one
    expect(sent[0]).toBe('100');
  });
});
