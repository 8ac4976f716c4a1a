// Follow-up jobs of the relay: delivery statuses of relayed operator messages, failure notices
// shown to the operator in the open line, and the verify job that removes a doubled first message.
import { escapeBbcode } from '../../domain/bbcode';
import { CONNECTOR_ID } from '../../../install/plan';
import { externalUserId, textHash } from './identity';
import { dropDuplicates } from './resend-check';
import type { BridgeJob } from './ports';
import type { RelayContext, Row } from './worker-context';

export async function runDeliveries(ctx: RelayContext, memberId: string, jobs: BridgeJob[]): Promise<void> {
  const { deps, repo, later, errText } = ctx;
  const byLine = new Map<string, Array<{ job: BridgeJob; item: Row }>>();
  for (const job of jobs) {
    const id = String(job.payload.b24MessageId);
    const l = await repo.link(memberId, 'b24', id);
    if (!l) {
      await repo.fail(job.id, 'no link');
      continue;
    }
    const chat = l.uisChatId ? await repo.chat(memberId, l.uisChatId) : null;
    const lineId = chat?.lineId;
    if (!chat || !lineId) {
      await repo.fail(job.id, 'no chat');
      continue;
    }
    const parts = (l.uisMessageId ?? '').split(',').filter(Boolean);
    const item = {
      im: { chat_id: l.b24ChatId, message_id: l.b24MessageId },
      message: { id: parts.length ? parts : [id], date: Math.floor(deps.clock.now() / 1000) },
      chat: { id: chat.extChatId },
    };
    const list = byLine.get(lineId) ?? [];
    list.push({ job, item });
    byLine.set(lineId, list);
  }
  const client = deps.gateway.client(memberId);
  for (const [lineId, items] of byLine) {
    try {
      await client.call('imconnector.send.status.delivery', { CONNECTOR: CONNECTOR_ID, LINE: lineId, MESSAGES: items.map((x) => x.item) });
      // the line's jobs done and their links delivered, in one transaction
      await repo.settle(memberId, { done: items.map((x) => x.job.id), links: items.map((x) => ({ origin: 'b24' as const, key: String(x.job.payload.b24MessageId), patch: { state: 'delivered' as const } })) });
    } catch (e) {
      for (const x of items) await later(x.job, `imconnector.send.status.delivery: ${errText(e)}`);
    }
  }
}

export async function runNotice(ctx: RelayContext, memberId: string, job: BridgeJob): Promise<void> {
  const { deps, repo, later, errText } = ctx;
  const id = String(job.payload.b24MessageId);
  const l = await repo.link(memberId, 'b24', id);
  const chat = l?.uisChatId ? await repo.chat(memberId, l.uisChatId) : null;
  if (!l || !chat?.lineId || !chat.visitorId) {
    await repo.fail(job.id, 'no chat to show the notice in');
    return;
  }
  await repo.updateLink(memberId, 'b24', id, { state: 'failed', error: String(job.payload.reason) });
  // the reason may quote UIS or the client: shown as text, never as BBCode
  const text = `⚠ Сообщение не доставлено клиенту: ${escapeBbcode(String(job.payload.reason))}`;
  const extChat = chat.extChatId;
  await repo.expectEcho(memberId, extChat, textHash(text));
  const sender = Number(l.b24UserId) || undefined;
  try {
    await deps.gateway.client(memberId).call('imconnector.send.messages', {
      CONNECTOR: CONNECTOR_ID,
      LINE: chat.lineId,
      MESSAGES: [
        {
          user: { id: externalUserId(chat.visitorId) },
          message: { id: `notice-${id}`, date: Math.floor(deps.clock.now() / 1000), text, ...(sender ? { user_id: sender } : {}) },
          chat: { id: extChat },
        },
      ],
    });
    await repo.complete(job.id);
  } catch (e) {
    await later(job, errText(e));
  }
}

/**
 * A chat whose first message was sent again unchecked (see resend-check.ts): once its message is in
 * the open line and Bitrix24's chat is known, a second copy is removed.
 */
/**
 * `rename`: the open-line chat takes the client's name (imconnector.chat.name.set, CHAT_ID = the
 * connector chat id, USER_ID = the connector user id). A chat not in Bitrix24 yet has nothing to rename.
 */
export async function runRename(ctx: RelayContext, memberId: string, job: BridgeJob): Promise<void> {
  const { deps, repo, later, errText } = ctx;
  const chat = await repo.chat(memberId, job.chatKey);
  if (!chat?.b24ChatId || !chat.lineId || !chat.visitorId) {
    await repo.complete(job.id);
    return;
  }
  try {
    await deps.gateway.client(memberId).call('imconnector.chat.name.set', {
      CONNECTOR: CONNECTOR_ID,
      LINE: chat.lineId,
      CHAT_ID: chat.extChatId,
      USER_ID: externalUserId(chat.visitorId),
      NAME: String(job.payload.name),
    });
    await repo.complete(job.id);
  } catch (e) {
    await later(job, errText(e));
  }
}

export async function runVerify(ctx: RelayContext, memberId: string, job: BridgeJob): Promise<void> {
  const { deps, repo, log, later, errText } = ctx;
  const p = job.payload;
  const chat = await repo.chat(memberId, String(p.uisChatId));
  const mids = (p.mids as string[] | undefined) ?? [];
  let sent = true;
  for (const mid of mids) {
    if ((await repo.link(memberId, 'uis', mid))?.state === 'relayed') continue;
    sent = false;
    break;
  }
  if (!chat?.b24ChatId || !chat.visitorId || !sent) return later(job, 'the message sent again is not in the open line yet');
  try {
    const removed = await dropDuplicates(deps.gateway.client(memberId), { lineId: String(p.lineId), b24ChatId: chat.b24ChatId, externalUserId: externalUserId(chat.visitorId), externalChatId: chat.extChatId, mids });
    await repo.complete(job.id);
    if (removed) log.warn({ memberId, uisChatId: chat.uisChatId, removed }, 'a message sent twice after a lost answer was removed from the open line');
  } catch (e) {
    log.warn({ memberId, uisChatId: chat.uisChatId, err: errText(e) }, 'could not check the open line for a doubled first message yet');
    await later(job, errText(e));
  }
}
