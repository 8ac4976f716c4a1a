// Outbound relay, open line → UIS: an operator's open-line message (files, then text) is sent as the
// mapped UIS employee via the runtime API, into the UIS chat or the one that continues it.
import type { UisLink } from '../../domain/uis-link';
import { UisApiError } from '../../uis/errors';
import type { ResourceType } from '../../uis/runtime-client';
import { findOperator } from '../find-operator';
import { plainOperatorText } from './identity';
import { runtimeScope, uisChatForReply, type UisChatForReply } from './continue-chat';
import type { BridgeJob } from './ports';
import type { RelayContext, Row } from './worker-context';


async function operatorFor(ctx: RelayContext, link: UisLink, userId: number): Promise<number> {
  const { deps, repo } = ctx;
  try {
    const op = await findOperator({ ...deps.workspace, links: deps.links, employees: deps.employees, uisEndpoints: deps.uisEndpoints, gateway: deps.gateway, clock: deps.clock, log: deps.log }, link, userId);
    return op.id;
  } catch (e) {
    const fallback = await repo.defaultOperator(link.memberId);
    if (fallback) return fallback;
    throw e;
  }
}

async function fetchB24File(ctx: RelayContext, url: string): Promise<{ content: Uint8Array; mime: string }> {
  const { deps } = ctx;
  const res = await (deps.fetch ?? fetch)(url, { redirect: 'follow', signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new Error(`file download answered ${res.status}`);
  return { content: new Uint8Array(await res.arrayBuffer()), mime: res.headers.get('content-type') ?? 'application/octet-stream' };
}

const resourceType = (mime: string, type: string): ResourceType =>
  type === 'image' || mime.startsWith('image/') ? 'photo' : mime.startsWith('video/') ? 'video' : mime.startsWith('audio/') ? 'audio' : 'document';

export async function runOutbound(ctx: RelayContext, memberId: string, job: BridgeJob): Promise<void> {
  const { repo } = ctx;
  // In flight while it runs: a late earlier message of the chat is no longer put ahead of it
  // (on-bitrix-event.ts). One put ahead since the run read the job has moved (another id): it runs
  // next round, behind that message. The mark first, then the look: no move slips in between.
  await repo.setInflight([job.id], true);
  let outcome: Outcome;
  try {
    if ((await repo.pendingOfChat(memberId, job.chatKey))[0]?.id !== job.id) return;
    outcome = await relay(ctx, memberId, job);
  } finally {
    await repo.setInflight([job.id], false);
  }
  if (outcome === 'later') await putLateOnesAhead(ctx, memberId, job);
}

/** What a run did with its job: sent it, gave it up, or put it off with nothing sent yet. */
type Outcome = 'done' | 'later';

/**
 * A late earlier message of the chat whose event came while this one was in flight was queued
 * behind it (on-bitrix-event.ts leaves a message being sent in place). Nothing of this one reached
 * UIS (UIS down, say), so the order is still open: the chat's messages from this one on are put
 * back in Bitrix24's order. One with a part in UIS already keeps its place; a move that meets a job
 * queued or started meanwhile is left to the next time it is put off.
 */
async function putLateOnesAhead(ctx: RelayContext, memberId: string, job: BridgeJob): Promise<void> {
  const { repo } = ctx;
  const pending = await repo.pendingOfChat(memberId, job.chatKey);
  const at = pending.findIndex((j) => j.id === job.id);
  if (at < 0) return;
  const tail = pending.slice(at);
  if (tail.some((j) => j.kind !== 'out')) return;
  const order = (j: BridgeJob) => Number(j.payload.b24MessageId);
  const sorted = [...tail].sort((a, b) => order(a) - order(b) || a.id - b.id);
  if (sorted.every((j, i) => j.id === tail[i]!.id)) return;
  if (await repo.link(memberId, 'b24', `${String(job.payload.b24MessageId)}#0`)) return;
  await repo.resequence(memberId, job.chatKey, sorted.map((j) => j.id));
}

async function relay(ctx: RelayContext, memberId: string, job: BridgeJob): Promise<Outcome> {
  const { deps, repo, later, markFailed, errText, notice } = ctx;
  const deferred = async (reason: string): Promise<Outcome> => (await later(job, reason), 'later');
  const told = async (reason: string): Promise<Outcome> => (await notice(memberId, job, reason), 'done');
  const p = job.payload;
  const b24MessageId = String(p.b24MessageId);
  const link = await deps.links.get(memberId);
  if (!link) return deferred('UIS_NOT_LINKED');
  const first = await repo.chat(memberId, String(p.uisChatId));
  if (!first) {
    await repo.fail(job.id, 'UNKNOWN_CHAT');
    return told('the chat is not known to the bridge');
  }
  let operatorId: number;
  try {
    operatorId = await operatorFor(ctx, link, Number(p.userId));
  } catch (e) {
    // No match and no default: the operator must know. UIS or the portal unreachable: retry.
    if ((e as { httpStatus?: number }).httpStatus !== 409) return deferred(errText(e));
    await repo.fail(job.id, errText(e));
    await markFailed(job, errText(e));
    return told(`no UIS employee to send as (${(e as Error).message})`);
  }
  // the chat itself, or the one that continues it after it closed in UIS (started here if need be)
  let target: UisChatForReply;
  try {
    target = await uisChatForReply({ bridge: repo, workspace: deps.workspace }, link, first, operatorId);
  } catch (e) {
    return deferred(errText(e));
  }
  if ('refused' in target) {
    await repo.fail(job.id, 'CHAT_CLOSED');
    await markFailed(job, target.refused);
    return told(`${target.refused}; the message was not sent`);
  }
  const chat = target.chat;
  const scope = runtimeScope(link, chat.channelId);
  const runtime = deps.workspace.runtime(link);
  const text = plainOperatorText(String(p.text ?? ''));
  const files = (p.files as Row[] | undefined) ?? [];
  // Parts already sent (a link per part is written right after each send): a retry, or a restart
  // after a crash, resumes after them instead of resending.
  const sentIds: string[] = [];
  for (let i = 0; i < files.length + (text ? 1 : 0); i++) {
    const part = await repo.link(memberId, 'b24', `${b24MessageId}#${i}`);
    if (!part?.uisMessageId) break;
    sentIds.push(part.uisMessageId);
  }
  try {
    // Files first (one message each), then the text; each part's link is written right after its send.
    for (let i = sentIds.length; i < files.length + (text ? 1 : 0); i++) {
      let r: { messageId: number };
      if (i < files.length) {
        const f = files[i]!;
        const got = await fetchB24File(ctx, String(f.downloadLink ?? f.link));
        const mime = String(f.mime ?? got.mime);
        const res = await runtime.uploadResource(scope, { type: resourceType(mime, String(f.type ?? '')), name: String(f.name ?? 'file'), mime, content: got.content });
        r = await runtime.sendMessage(scope, { chatId: Number(chat.uisChatId), operatorId, resource: { id: res.id, token: res.token, type: res.type } });
      } else {
        r = await runtime.sendMessage(scope, { chatId: Number(chat.uisChatId), operatorId, text });
      }
      sentIds.push(String(r.messageId));
      await repo.addLink(memberId, { origin: 'b24', key: `${b24MessageId}#${i}`, uisChatId: chat.uisChatId, uisMessageId: String(r.messageId), b24ChatId: String(p.b24ChatId), b24MessageId, b24UserId: String(p.userId), state: 'relayed', error: null });
    }
  } catch (e) {
    if (e instanceof UisApiError && !e.transient) {
      await repo.fail(job.id, errText(e));
      await markFailed(job, errText(e));
      return told(`UIS refused the message (${e.message})`);
    }
    return deferred(errText(e));
  }
  await repo.updateLink(memberId, 'b24', b24MessageId, { state: 'relayed', uisMessageId: sentIds.join(','), error: null });
  await repo.complete(job.id);
  return 'done';
}
