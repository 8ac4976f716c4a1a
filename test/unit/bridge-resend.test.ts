import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BitrixApiError, BitrixNetworkError, ReauthRequiredError } from '../../server/bitrix/errors';
import type { PortalRestClient } from '../../server/bitrix/rest-client';
import { dropDuplicates, findLineChat, heldInLatestSession, outcomeUnknown } from '../../server/services/bridge/resend-check';
import { createSqliteBridgeRepository } from '../../server/storage/bridge-repository';
import { openDb } from '../../server/storage/db';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A portal client answering one method with `answer` (a result, or an error to throw). */
function restAnswering(method: string, answer: unknown, seen: Array<Record<string, unknown>> = []): PortalRestClient {
  return {
    memberId: 'm1',
    async call<T>(m: string, params: Record<string, unknown> = {}) {
      if (m !== method) throw new Error(`unexpected ${m}`);
      seen.push(params);
      if (answer instanceof Error) throw answer;
      return { result: answer as T, time: {} } as never;
    },
    batch: () => Promise.reject(new Error('no batch')),
    list: () => Promise.reject(new Error('no list')),
  };
}

describe('bridge in-flight mark', () => {
  it('is written before the call and survives the process (same database file), cleared by complete', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-inflight-'));
    dirs.push(dir);
    const path = join(dir, 'omni.db');
    const now = () => 1_700_000_000_000;
    let db = openDb(path);
    db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('m1', 'p.example', 'https://p.example/rest/', 'https://oauth.example/rest/', 'active', 'x', 'x')`).run();
    let repo = createSqliteBridgeRepository(db, now);
    repo.enqueue({ memberId: 'm1', kind: 'in', chatKey: '7', idemKey: 'in:1', payload: { messageId: '1' }, dueAt: 0 });
    repo.enqueue({ memberId: 'm1', kind: 'in', chatKey: '7', idemKey: 'in:2', payload: { messageId: '2' }, dueAt: 0 });
    const [a, b] = repo.due('m1', now(), 10);
    expect(a!.inflight).toBe(false);
    repo.setInflight([a!.id, b!.id], true);
    db.close(); // killed: nothing else written

    db = openDb(path);
    repo = createSqliteBridgeRepository(db, now);
    expect(repo.due('m1', now(), 10).map((j) => j.inflight)).toEqual([true, true]);
    repo.complete(a!.id);
    repo.setInflight([b!.id], false);
    expect(repo.due('m1', now(), 10).map((j) => [j.id, j.inflight])).toEqual([[b!.id, false]]);
    db.close();
  });
});

describe('outcomeUnknown: may the portal have run a call that threw?', () => {
  it.each([
    ['network error / timeout', new BitrixNetworkError('imconnector.send.messages', new Error('timeout')), true],
    ['nginx 502 page', new BitrixApiError('HTTP_502', '', 502, 'imconnector.send.messages'), true],
    ['500 INTERNAL_SERVER_ERROR', new BitrixApiError('INTERNAL_SERVER_ERROR', '', 500, 'imconnector.send.messages'), true],
    ['503 QUERY_LIMIT_EXCEEDED (refused before execution)', new BitrixApiError('QUERY_LIMIT_EXCEEDED', '', 503, 'imconnector.send.messages'), false],
    ['429 OPERATION_TIME_LIMIT', new BitrixApiError('OPERATION_TIME_LIMIT', '', 429, 'imconnector.send.messages'), false],
    ['400 NOT_ACTIVE_LINE', new BitrixApiError('NOT_ACTIVE_LINE', '', 400, 'imconnector.send.messages'), false],
    ['401 expired_token', new BitrixApiError('expired_token', '', 401, 'imconnector.send.messages'), false],
    ['re-authorisation required', new ReauthRequiredError('m1'), false],
    ['anything else', new TypeError('boom'), true],
  ])('%s → %s', (_, e, unknown) => {
    expect(outcomeUnknown(e)).toBe(unknown);
  });
});

describe('reading what the open line holds', () => {
  it('collects CONNECTOR_MID of the latest session from imopenlines.session.history.get (object-encoded params)', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const rest = restAnswering(
      'imopenlines.session.history.get',
      {
        chatId: 1767,
        sessionId: 324,
        message: {
          '19010': { id: '19010', chatid: '1767', senderid: '0', params: { class: 'bx-messenger-content-item-ol-start' } },
          '19011': { id: '19011', chatid: '1767', senderid: '585', params: { connectorMid: ['5000001'] } },
          '19012': { id: '19012', chatid: '1767', senderid: '585', params: { connectorMid: ['5000002'], fileId: [7101] } },
          '19013': { id: '19013', chatid: '1767', senderid: '1', params: [] },
        },
      },
      seen,
    );
    const held = await heldInLatestSession(rest, '1767');
    expect(seen).toEqual([{ CHAT_ID: 1767 }]);
    expect(held.sessionId).toBe('324');
    expect([...held.mids].sort()).toEqual(['5000001', '5000002']);
  });

  it('dropDuplicates removes the copies beyond the first, and counts a copy already deleted as gone', async () => {
    const calls: Array<{ method: string; params: Record<string, unknown> }> = [];
    const history = (deleted: boolean) => ({
      chatId: 1767,
      sessionId: 324,
      message: {
        '19011': { id: '19011', params: { connectorMid: ['5000001'], ...(deleted ? { isDeleted: 'Y' } : {}) } },
        '19012': { id: '19012', params: { connectorMid: ['5000001'] } },
        '19013': { id: '19013', params: { connectorMid: ['5000002'] } },
      },
    });
    const rest = (deleted: boolean): PortalRestClient => ({
      memberId: 'm1',
      async call<T>(method: string, params: Record<string, unknown> = {}) {
        calls.push({ method, params });
        return { result: (method === 'imopenlines.session.history.get' ? history(deleted) : { SUCCESS: true }) as T, time: {} } as never;
      },
      batch: () => Promise.reject(new Error('no batch')),
      list: () => Promise.reject(new Error('no list')),
    });
    const o = { lineId: '1', b24ChatId: '1767', externalUserId: 'uis_v9', externalChatId: 'uis_c42', mids: ['5000001', '5000002'] };
    await expect(dropDuplicates(rest(false), o)).resolves.toBe(1);
    expect(calls[1]).toEqual({ method: 'imconnector.delete.messages', params: { CONNECTOR: 'uis_omni', LINE: 1, MESSAGES: [{ user: { id: 'uis_v9' }, chat: { id: 'uis_c42' }, message: { id: ['5000001'] } }] } });
    calls.length = 0;
    await expect(dropDuplicates(rest(true), o)).resolves.toBe(0);
    expect(calls.map((c) => c.method)).toEqual(['imopenlines.session.history.get']);
  });

  it('a chat without a session (INVALID_SESSION_ID) holds nothing; other errors are thrown', async () => {
    const none = restAnswering('imopenlines.session.history.get', new BitrixApiError('INVALID_SESSION_ID', 'Unable to determine session ID from provided parameters', 400, 'imopenlines.session.history.get'));
    expect((await heldInLatestSession(none, '1')).mids.size).toBe(0);
    const denied = restAnswering('imopenlines.session.history.get', new BitrixApiError('ACCESS_DENIED', '', 400, 'imopenlines.session.history.get'));
    await expect(heldInLatestSession(denied, '1')).rejects.toThrow(/ACCESS_DENIED/);
  });

  it('finds the chat of a connector chat id on a line by USER_CODE (imopenlines.dialog.get); ACCESS_ERROR = no such chat', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const rest = restAnswering('imopenlines.dialog.get', { id: 1770, entity_id: 'uis_omni|1|uis_c42|585', entity_data_1: 'N|NONE|0|N|N|325|1700000000|0|0|0', dialog_id: 'chat1770' }, seen);
    expect(await findLineChat(rest, '1', 'uis_c42', '585')).toEqual({ chatId: '1770', sessionId: '325' });
    expect(seen).toEqual([{ USER_CODE: 'uis_omni|1|uis_c42|585' }]);
    const missing = restAnswering('imopenlines.dialog.get', new BitrixApiError('ACCESS_ERROR', 'You do not have access to the specified dialog', 400, 'imopenlines.dialog.get'));
    expect(await findLineChat(missing, '1', 'uis_c43', '585')).toBeNull();
  });
});
