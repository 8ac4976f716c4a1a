import { CONNECTOR_ID } from '../../../install/plan';
import { createJobLoop } from '../job-loop';
import { takeOfflineEvents } from '../../bitrix/offline-events';
import { ReauthRequiredError } from '../../bitrix/errors';
import type { Clock } from '../../domain/clock';
import type { UisLink } from '../../domain/uis-link';
import type { Logger } from '../../logging';
import { UisApiError } from '../../uis/errors';
import type { ResourceType } from '../../uis/runtime-client';
import { findOperator } from '../find-operator';
import type { BatchCall } from '../../bitrix/rest-client';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { WorkspaceAdapters } from '../workspace-ports';
import type { UisProject } from '../../contracts/uis';
import type { FileSigner } from './file-links';
import { e164, echoKey, externalChatId, externalUserId, plainOperatorText, textHash, unixSeconds } from './identity';
import { bitrixUserOfEmployee } from './operator-user';
import { runUpdate } from './edits';
import { uisChatForReply, type UisChatForReply } from './continue-chat';
import { checkInFlight, dropDuplicates, outcomeUnknown } from './resend-check';
import type { BridgeChat, BridgeJob, BridgeRepository, LineBinding } from './ports';

export interface BridgeWorkerDeps {
  bridge: BridgeRepository;
  gateway: BitrixGateway;
  links: UisLinkRepository;
  workspace: WorkspaceAdapters;
  /** The employee sync's mapping: a Bitrix24 operator's UIS employee before the e-mail match. */
  employees?: { uisEmployeeFor(memberId: string, b24UserId: number): number | null };
  uisEndpoints(project: UisProject): UisEndpoints;
  files: FileSigner;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

export interface BridgeWorkerOptions {
  /**
   * Wait this long after the first callback of a burst before relaying (default 10 ms): callbacks of
   * one chat that arrive reordered within it go out in UIS order, and a burst shares its first call.
   * It is the added latency on an idle portal, so it is short; later calls batch by themselves
   * (whatever arrives while a call is in flight or the portal's bucket is empty travels together).
   */
  gatherMs?: number;
  maxAttempts?: number;
  /** Items per imconnector.send.messages call (default 50). */
  itemsPerCall?: number;
  /** Done jobs and UIS inbox rows older than this are deleted (default 7 days; checked hourly). */
  retentionMs?: number;
}

export interface BridgeWorker {
  wake(): void;
  /** Resolves when nothing is due now and no run is in flight. */
  drain(): Promise<void>;
  /** ONIMCONNECTORMESSAGEADD rows of the portal's offline queue (the online event is at-most-once). */
  pollOffline(memberId: string): Promise<number>;
  /** Poll now (catch-up after our own downtime), then every `intervalMs`, for `portals()`. */
  startOfflinePolling(intervalMs: number, portals: () => string[]): void;
  stop(): void;
  /** Relay nothing until `release()`: callbacks are still recorded and queued (maintenance; the burst benchmark). */
  hold(): void;
  release(): void;
  /** Resolves when the run in flight (if any) has finished. */
  drainInFlight(): Promise<void>;
  /** Hook for ONIMCONNECTORMESSAGEADD data (set by the composition root). */
  onMessageAdd?: (memberId: string, data: unknown) => boolean;
}

type Row = Record<string, unknown>;
const MAX_BATCH = 50;
/** UIS message ids grow with time: a chat's messages sort into UIS order by id (jobs of other chats are independent). */
const uisOrder = (j: BridgeJob): number => Number(j.payload.messageId) || Number.MAX_SAFE_INTEGER;

/**
 * The bridge's durable queue runner. One run at a time per process (a chain), portals one
 * after another; jobs are read oldest first and a chat's later job never overtakes an earlier
 * pending one (order per chat). Inbound: pending messages of a line travel in one
 * `imconnector.send.messages`, several lines share a `batch`; the first message of a chat
 * Bitrix24 does not know yet is sent alone and the rest wait for the mapping (single-flight per
 * portal, line and UIS chat). Outbound: as the mapped UIS employee via the runtime API.
 */
export function createBridgeWorker(deps: BridgeWorkerDeps, o: BridgeWorkerOptions = {}): BridgeWorker {
  const gatherMs = o.gatherMs ?? 10;
  const maxAttempts = o.maxAttempts ?? 12;
  const itemsPerCall = o.itemsPerCall ?? 50;
  const log = deps.log.child({ component: 'bridge' });
  const repo = deps.bridge;
  /** Progress of a multi-part outbound message (files, then text) across retries in this process. */
  const progress = new Map<number, Row>();

  const backoff = (attempts: number) => Math.min(10 * 60_000, 1_000 * 2 ** Math.min(attempts, 10));
  const later = (job: BridgeJob, reason: string, delayMs?: number) => {
    const attempts = job.attempts + 1;
    if (attempts >= maxAttempts && delayMs === undefined) {
      repo.fail(job.id, `gave up after ${attempts} attempts: ${reason}`);
      markFailed(job, reason);
      return;
    }
    repo.retry(job.id, delayMs === undefined ? attempts : job.attempts, deps.clock.now() + (delayMs ?? backoff(attempts)), reason);
  };
  const markFailed = (job: BridgeJob, reason: string) => {
    if (job.kind === 'in') repo.updateLink(job.memberId, 'uis', String(job.payload.messageId), { state: 'failed', error: reason });
    if (job.kind === 'out') repo.updateLink(job.memberId, 'b24', String(job.payload.b24MessageId), { state: 'failed', error: reason });
  };
  const errText = (e: unknown) => (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e));

  // ------------------------------------------------------------------ inbound: UIS → open line

  function buildItem(memberId: string, job: BridgeJob, chat: BridgeChat & { visitorId: string }): Row {
    const visitorId = chat.visitorId;
    const p = job.payload;
    const v = repo.visitor(memberId, visitorId);
    const user: Row = { id: externalUserId(visitorId) };
    const phone = e164(v?.phone);
    if (phone) user.phone = phone;
    if (v?.email) user.email = v.email;
    if (v?.name) user.name = v.name.replace(/[^\p{L} '-]/gu, '').slice(0, 25) || undefined;
    if (!user.name) user.name = phone ?? `UIS ${visitorId}`;
    const message: Row = { id: String(p.messageId), date: unixSeconds(p.createdAt, deps.clock.now()) };
    const text = String(p.text ?? '');
    if (text) message.text = text;
    const r = p.resource as Row | null;
    if (r && r.id !== undefined && r.token !== undefined) {
      const name = String(r.name ?? `file-${String(r.id)}`);
      message.files = [{ url: deps.files.url({ memberId, channelId: String(p.channelId), resourceId: String(r.id), token: String(r.token), name }), name }];
    }
    return { user, message, chat: { id: chat.extChatId } };
  }

  /** UIS employees of operator messages written in the UIS workspace → Bitrix24 users (by e-mail). */
  async function operatorUsers(memberId: string, jobs: BridgeJob[]): Promise<Map<string, number | null | Error>> {
    const out = new Map<string, number | null | Error>();
    const link = deps.links.get(memberId);
    for (const job of jobs) {
      const op = job.payload.source === 'operator' ? String(job.payload.operatorId ?? '') : '';
      if (!op || out.has(op)) continue;
      if (!link) {
        out.set(op, new Error('UIS_NOT_LINKED'));
        continue;
      }
      try {
        out.set(op, await bitrixUserOfEmployee({ dataApi: deps.workspace.dataApi, gateway: deps.gateway, clock: deps.clock }, link, op));
      } catch (e) {
        out.set(op, e instanceof Error ? e : new Error(String(e)));
      }
    }
    return out;
  }

  async function runInbound(memberId: string, pending: BridgeJob[], blocked: Set<string>): Promise<void> {
    // UIS order within a chat, not callback arrival order (callbacks may come reordered, §6.2 rule 9)
    let jobs = [...pending].sort((a, b) => uisOrder(a) - uisOrder(b) || a.id - b.id);
    const client = deps.gateway.client(memberId);
    // Jobs whose last send has an unknown outcome (answer lost, or we were killed): send.messages
    // does not deduplicate, so first read what the open line holds and send only what it lacks.
    const uncertain = new Map<string, BridgeJob[]>();
    for (const job of jobs) {
      if (job.kind !== 'in' || !job.inflight || blocked.has(job.chatKey)) continue;
      const uisChatId = String(job.payload.uisChatId);
      uncertain.set(uisChatId, [...(uncertain.get(uisChatId) ?? []), job]);
    }
    const settled = new Set<number>();
    for (const [uisChatId, list] of uncertain) {
      const chat = repo.chat(memberId, uisChatId);
      const binding = chat ? repo.bindingByChannel(memberId, chat.channelId) : null;
      if (!chat || !binding || binding.status !== 'active') continue; // the main pass defers them (marks kept)
      try {
        const r = await checkInFlight({ bridge: repo, rest: client }, memberId, uisChatId, binding.lineId, list.map((j) => ({ id: j.id, messageId: String(j.payload.messageId) })));
        for (const id of r.held) settled.add(id);
        const note = { memberId, uisChatId, held: r.held.length, missing: r.missing };
        if (r.checked) log.info(note, 'unknown outcome of an earlier send: the open line was read, only what it lacks is sent again');
        else {
          log.warn(note, 'unknown outcome of the first message of a new chat with a new visitor: Bitrix24 offers no way to look it up; sending it again, a second copy is removed afterwards');
          // a durable follow-up (a crash before it runs does not lose it): once the chat is known, remove a second copy
          repo.enqueue({
            memberId,
            kind: 'verify',
            chatKey: `v:${uisChatId}`,
            idemKey: `verify:${uisChatId}:${list.map((j) => `${j.id}.${j.attempts}`).join(',')}`,
            dueAt: deps.clock.now(),
            payload: { uisChatId, lineId: binding.lineId, mids: list.map((j) => String(j.payload.messageId)) },
          });
        }
      } catch (e) {
        blocked.add(list[0]!.chatKey);
        for (const j of list) later(j, `checking what the open line holds before sending again: ${errText(e)}`);
      }
    }
    if (settled.size) jobs = jobs.filter((j) => !settled.has(j.id));
    const perLine = new Map<string, Array<{ job: BridgeJob; item: Row; newChat: boolean }>>();
    const newChats = new Set<string>();
    const opUsers = await operatorUsers(memberId, jobs);
    const skip = (job: BridgeJob, reason: string) => {
      repo.complete(job.id);
      repo.updateLink(memberId, 'uis', String(job.payload.messageId), { state: 'skipped', error: reason });
    };
    // A round reads up to 2,000 jobs of few chats: each chat and channel binding is read once.
    const chats = new Map<string, BridgeChat | null>();
    const bindings = new Map<string, LineBinding | null>();
    const chatOf = (uisChatId: string) => (chats.has(uisChatId) ? chats.get(uisChatId)! : (chats.set(uisChatId, repo.chat(memberId, uisChatId)), chats.get(uisChatId)!));
    const bindingOf = (channelId: string) =>
      bindings.has(channelId) ? bindings.get(channelId)! : (bindings.set(channelId, repo.bindingByChannel(memberId, channelId)), bindings.get(channelId)!);
    for (const job of jobs) {
      if (blocked.has(job.chatKey)) continue;
      const p = job.payload;
      const uisChatId = String(p.uisChatId);
      const chat = chatOf(uisChatId);
      if (!chat?.visitorId) {
        blocked.add(job.chatKey);
        later(job, 'waiting for the /chat callback of this chat', Math.min(30_000, 500 * 2 ** job.attempts));
        if (job.attempts > 20) repo.fail(job.id, 'no /chat callback for this chat');
        continue;
      }
      const binding = bindingOf(chat.channelId);
      if (!binding || binding.status !== 'active') {
        blocked.add(job.chatKey);
        repo.retry(job.id, job.attempts, deps.clock.now() + 60_000, 'NO_LINE: the channel is not connected to an open line');
        continue;
      }
      if ((perLine.get(binding.lineId)?.length ?? 0) >= itemsPerCall) continue; // this line's call is full: next round
      const known = !!chat.b24ChatId && chat.lineId === binding.lineId;
      let operatorUser: number | null = null;
      if (p.source === 'operator') {
        // An operator wrote in the UIS workspace: the client got it already; it is shown in the open
        // line as that operator's Bitrix24 user (message.user_id). Seed rule: while the dialog is not
        // accepted in the open line it is not shown (Bitrix24 itself drops it), the client has it anyway.
        const u = opUsers.get(String(p.operatorId ?? ''));
        if (u instanceof Error) {
          blocked.add(job.chatKey);
          later(job, `operator lookup: ${errText(u)}`);
          continue;
        }
        if (!u) {
          skip(job, `UIS employee ${String(p.operatorId)} has no Bitrix24 user with the same e-mail`);
          continue;
        }
        if (!known || chat.b24SessionClosed) {
          skip(job, 'not shown: the open-line dialog does not exist or is finished (the client got it)');
          continue;
        }
        operatorUser = u;
      }
      if (p.source === 'closed' && (!known || chat.b24SessionClosed)) {
        repo.complete(job.id); // nothing to tell: no open dialog in the open line
        continue;
      }
      if (p.source === 'started' && known) {
        repo.complete(job.id);
        continue;
      }
      const isNew = !known;
      if (isNew) {
        // single-flight: only the first message of a chat Bitrix24 does not know yet
        if (newChats.has(uisChatId)) continue;
        newChats.add(uisChatId);
      }
      const list = perLine.get(binding.lineId) ?? [];
      if (list.length >= itemsPerCall) continue;
      const item = buildItem(memberId, job, { ...chat, visitorId: chat.visitorId });
      const message = item.message as Row;
      if (operatorUser) {
        message.user_id = operatorUser;
        const r = p.resource as Row | null;
        // its ONIMCONNECTORMESSAGEADD echo is dropped (never relayed back to UIS)
        repo.expectEcho(memberId, chat.extChatId, echoKey(String(p.text ?? ''), r ? [String(r.name ?? `file-${String(r.id)}`)] : []));
      } else if (p.source === 'closed') {
        message.text = `ℹ Чат завершён в UIS${p.reason ? ` (${String(p.reason)})` : ''}. Следующее сообщение клиента придёт новым чатом.`;
        message.disable_crm = 'Y';
      } else if (p.source === 'started') {
        message.text = String(p.text ?? '') || 'Чат начат оператором в UIS';
        message.disable_crm = 'Y';
      }
      list.push({ job, item, newChat: isNew });
      perLine.set(binding.lineId, list);
      if (isNew) blocked.add(job.chatKey);
    }
    if (!perLine.size) return;
    const lines = [...perLine.entries()];
    for (let i = 0; i < lines.length; i += MAX_BATCH) {
      const slice = lines.slice(i, i + MAX_BATCH);
      const calls: Record<string, BatchCall> = {};
      for (const [lineId, items] of slice) {
        calls[`l${lineId}`] = { method: 'imconnector.send.messages', params: { CONNECTOR: CONNECTOR_ID, LINE: lineId, MESSAGES: items.map((x) => x.item) } };
      }
      let res: { result: Row; errors: Record<string, { error: string; error_description: string }> };
      const sending = slice.flatMap(([, items]) => items.map((x) => x.job.id));
      repo.setInflight(sending, true); // durable before the call: a restart knows the outcome is unknown
      try {
        if (slice.length === 1) {
          const [lineId, items] = slice[0]!;
          try {
            const r = await client.call<Row>('imconnector.send.messages', { CONNECTOR: CONNECTOR_ID, LINE: lineId, MESSAGES: items.map((x) => x.item) });
            res = { result: { [`l${lineId}`]: r.result }, errors: {} };
          } catch (e) {
            const code = (e as { code?: string }).code;
            if (code && !(e instanceof ReauthRequiredError) && /^[A-Z_]+$/.test(code) && code !== 'QUERY_LIMIT_EXCEEDED' && code !== 'OPERATION_TIME_LIMIT' && !outcomeUnknown(e)) {
              res = { result: {}, errors: { [`l${lineId}`]: { error: code, error_description: (e as Error).message } } };
            } else throw e;
          }
        } else {
          res = await client.batch(calls);
        }
      } catch (e) {
        // refused before the portal ran it: nothing to check before the retry; otherwise the marks stay
        if (!outcomeUnknown(e)) repo.setInflight(sending, false);
        for (const [, items] of slice) for (const x of items) later(x.job, `imconnector.send.messages: ${errText(e)}`);
        log.warn({ memberId, err: errText(e) }, 'inbound relay call failed; will retry');
        continue;
      }
      for (const [lineId, items] of slice) {
        const key = `l${lineId}`;
        const err = res.errors[key];
        if (err) {
          repo.setInflight(items.map((x) => x.job.id), false); // the method refused the call as a whole
          if (err.error === 'NOT_ACTIVE_LINE') repo.setBindingError(memberId, lineId, 'NOT_ACTIVE_LINE: the connector is not active on this line in Bitrix24');
          for (const x of items) later(x.job, `${err.error}: ${err.error_description}`);
          continue;
        }
        const out = (res.result[key] ?? {}) as Row;
        const results = (((out.DATA ?? {}) as Row).RESULT ?? []) as Row[];
        items.forEach((x, idx) => {
          const r = results[idx] ?? {};
          const p = x.job.payload;
          const uisChatId = String(p.uisChatId);
          if (r.SUCCESS === true && x.job.payload.source === 'operator' && !r.session) {
            // not shown (dialog not accepted): no echo will come
            const res = p.resource as Row | null;
            repo.takeEcho(memberId, repo.chat(memberId, uisChatId)?.extChatId ?? externalChatId(uisChatId), echoKey(String(p.text ?? ''), res ? [String(res.name ?? `file-${String(res.id)}`)] : []));
            repo.updateLink(memberId, 'uis', String(p.messageId), { state: 'skipped', error: 'not shown: the open-line dialog is not accepted yet (the client got it)' });
            repo.complete(x.job.id);
          } else if (r.SUCCESS === true) {
            const session = (r.session ?? {}) as Row;
            const chat = repo.chat(memberId, uisChatId)!;
            repo.upsertChat({
              memberId,
              uisChatId,
              channelId: chat.channelId,
              lineId,
              b24ChatId: session.CHAT_ID !== undefined ? String(session.CHAT_ID) : undefined,
              b24SessionId: session.ID !== undefined ? String(session.ID) : undefined,
              b24SessionClosed: session.ID !== undefined ? false : undefined,
            });
            if (chat.visitorId && r.user !== undefined) repo.upsertVisitor({ memberId, visitorId: chat.visitorId, b24UserId: String(r.user) });
            repo.updateLink(memberId, 'uis', String(p.messageId), { state: 'relayed', b24ChatId: session.CHAT_ID !== undefined ? String(session.CHAT_ID) : null, error: null });
            repo.complete(x.job.id);
          } else {
            const reason = `Bitrix24 refused the message: ${JSON.stringify(r.ERRORS ?? r)}`;
            repo.fail(x.job.id, reason);
            markFailed(x.job, reason);
          }
        });
        repo.setBindingError(memberId, lineId, null);
      }
    }
  }

  // ------------------------------------------------------------------ outbound: open line → UIS

  const runtimeScope = (link: UisLink, channelId: string) => ({ accountId: link.connectionId ?? '', channelId });

  async function operatorFor(link: UisLink, userId: number): Promise<number> {
    try {
      const op = await findOperator({ ...deps.workspace, links: deps.links, employees: deps.employees, uisEndpoints: deps.uisEndpoints, gateway: deps.gateway, clock: deps.clock, log: deps.log }, link, userId);
      return op.id;
    } catch (e) {
      const fallback = repo.defaultOperator(link.memberId);
      if (fallback) return fallback;
      throw e;
    }
  }

  async function fetchB24File(url: string): Promise<{ content: Uint8Array; mime: string }> {
    const res = await (deps.fetch ?? fetch)(url, { redirect: 'follow', signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`file download answered ${res.status}`);
    return { content: new Uint8Array(await res.arrayBuffer()), mime: res.headers.get('content-type') ?? 'application/octet-stream' };
  }

  const resourceType = (mime: string, type: string): ResourceType =>
    type === 'image' || mime.startsWith('image/') ? 'photo' : mime.startsWith('video/') ? 'video' : mime.startsWith('audio/') ? 'audio' : 'document';

  async function runOutbound(memberId: string, job: BridgeJob): Promise<void> {
    const p = job.payload;
    const b24MessageId = String(p.b24MessageId);
    const link = deps.links.get(memberId);
    if (!link) return later(job, 'UIS_NOT_LINKED');
    const first = repo.chat(memberId, String(p.uisChatId));
    if (!first) {
      repo.fail(job.id, 'UNKNOWN_CHAT');
      return notice(memberId, job, 'the chat is not known to the bridge');
    }
    let operatorId: number;
    try {
      operatorId = await operatorFor(link, Number(p.userId));
    } catch (e) {
      // No match and no default: the operator must know. UIS or the portal unreachable: retry.
      if ((e as { httpStatus?: number }).httpStatus !== 409) return later(job, errText(e));
      repo.fail(job.id, errText(e));
      markFailed(job, errText(e));
      return notice(memberId, job, `no UIS employee to send as (${(e as Error).message})`);
    }
    // the chat itself, or the one that continues it after it closed in UIS (started here if need be)
    let target: UisChatForReply;
    try {
      target = await uisChatForReply({ bridge: repo, workspace: deps.workspace }, link, first, operatorId);
    } catch (e) {
      return later(job, errText(e));
    }
    if ('refused' in target) {
      repo.fail(job.id, 'CHAT_CLOSED');
      markFailed(job, target.refused);
      return notice(memberId, job, `${target.refused}; the message was not sent`);
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
      const part = repo.link(memberId, 'b24', `${b24MessageId}#${i}`);
      if (!part?.uisMessageId) break;
      sentIds.push(part.uisMessageId);
    }
    try {
      // Files first (one message each), then the text; progress is kept on the job so a retry does not resend.
      for (let i = sentIds.length; i < files.length + (text ? 1 : 0); i++) {
        let r: { messageId: number };
        if (i < files.length) {
          const f = files[i]!;
          const got = await fetchB24File(String(f.downloadLink ?? f.link));
          const mime = String(f.mime ?? got.mime);
          const res = await runtime.uploadResource(scope, { type: resourceType(mime, String(f.type ?? '')), name: String(f.name ?? 'file'), mime, content: got.content });
          r = await runtime.sendMessage(scope, { chatId: Number(chat.uisChatId), operatorId, resource: { id: res.id, token: res.token, type: res.type } });
        } else {
          r = await runtime.sendMessage(scope, { chatId: Number(chat.uisChatId), operatorId, text });
        }
        sentIds.push(String(r.messageId));
        repo.addLink(memberId, { origin: 'b24', key: `${b24MessageId}#${i}`, uisChatId: chat.uisChatId, uisMessageId: String(r.messageId), b24ChatId: String(p.b24ChatId), b24MessageId, b24UserId: String(p.userId), state: 'relayed', error: null });
        progress.set(job.id, { ...p, sentIds });
      }
    } catch (e) {
      if (e instanceof UisApiError && !e.transient) {
        repo.fail(job.id, errText(e));
        markFailed(job, errText(e));
        return notice(memberId, job, `UIS refused the message (${e.message})`);
      }
      return later(job, errText(e));
    }
    repo.updateLink(memberId, 'b24', b24MessageId, { state: 'relayed', uisMessageId: sentIds.join(','), error: null });
    repo.complete(job.id);
  }


  /** A failure the operator must see: a notice in the open-line chat (its echo is ignored). */
  function notice(memberId: string, job: BridgeJob, reason: string): void {
    repo.enqueue({ memberId, kind: 'notice', chatKey: `n:${String(job.payload.b24ChatId)}`, idemKey: `err:${String(job.payload.b24MessageId)}`, dueAt: deps.clock.now(), payload: { b24MessageId: String(job.payload.b24MessageId), reason } });
  }

  async function runDeliveries(memberId: string, jobs: BridgeJob[]): Promise<void> {
    const byLine = new Map<string, Array<{ job: BridgeJob; item: Row }>>();
    for (const job of jobs) {
      const id = String(job.payload.b24MessageId);
      const l = repo.link(memberId, 'b24', id);
      if (!l) {
        repo.fail(job.id, 'no link');
        continue;
      }
      const chat = l.uisChatId ? repo.chat(memberId, l.uisChatId) : null;
      const lineId = chat?.lineId;
      if (!chat || !lineId) {
        repo.fail(job.id, 'no chat');
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
        for (const x of items) {
          repo.complete(x.job.id);
          repo.updateLink(memberId, 'b24', String(x.job.payload.b24MessageId), { state: 'delivered' });
        }
      } catch (e) {
        for (const x of items) later(x.job, `imconnector.send.status.delivery: ${errText(e)}`);
      }
    }
  }

  async function runNotice(memberId: string, job: BridgeJob): Promise<void> {
    const id = String(job.payload.b24MessageId);
    const l = repo.link(memberId, 'b24', id);
    const chat = l?.uisChatId ? repo.chat(memberId, l.uisChatId) : null;
    if (!l || !chat?.lineId || !chat.visitorId) {
      repo.fail(job.id, 'no chat to show the notice in');
      return;
    }
    repo.updateLink(memberId, 'b24', id, { state: 'failed', error: String(job.payload.reason) });
    const text = `⚠ Сообщение не доставлено клиенту: ${String(job.payload.reason)}`;
    const extChat = chat.extChatId;
    repo.expectEcho(memberId, extChat, textHash(text));
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
      repo.complete(job.id);
    } catch (e) {
      later(job, errText(e));
    }
  }

  // ------------------------------------------------------------------ runs

  /**
   * A chat whose first message was sent again unchecked (see resend-check.ts): once its message is in
   * the open line and Bitrix24's chat is known, a second copy is removed.
   */
  async function runVerify(memberId: string, job: BridgeJob): Promise<void> {
    const p = job.payload;
    const chat = repo.chat(memberId, String(p.uisChatId));
    const mids = (p.mids as string[] | undefined) ?? [];
    const sent = mids.every((mid) => repo.link(memberId, 'uis', mid)?.state === 'relayed');
    if (!chat?.b24ChatId || !chat.visitorId || !sent) return later(job, 'the message sent again is not in the open line yet');
    try {
      const removed = await dropDuplicates(deps.gateway.client(memberId), { lineId: String(p.lineId), b24ChatId: chat.b24ChatId, externalUserId: externalUserId(chat.visitorId), externalChatId: chat.extChatId, mids });
      repo.complete(job.id);
      if (removed) log.warn({ memberId, uisChatId: chat.uisChatId, removed }, 'a message sent twice after a lost answer was removed from the open line');
    } catch (e) {
      log.warn({ memberId, uisChatId: chat.uisChatId, err: errText(e) }, 'could not check the open line for a doubled first message yet');
      later(job, errText(e));
    }
  }

  async function processPortal(memberId: string): Promise<void> {
    const blocked = new Set<string>();
    for (let round = 0; round < 1000 && !loop.stopped; round++) {
      const jobs = repo.due(memberId, deps.clock.now(), 2000);
      if (!jobs.length) return;
      const seen = new Set<string>();
      const inbound: BridgeJob[] = [];
      const deliveries: BridgeJob[] = [];
      const singles: BridgeJob[] = [];
      // order per chat: only the oldest due job of each chat key of kind out/notice runs per round
      for (const j of jobs) {
        if (j.kind === 'in') inbound.push(j);
        else if (j.kind === 'delivery') deliveries.push(j);
        else if (!seen.has(j.chatKey)) {
          seen.add(j.chatKey);
          singles.push(j);
        }
      }
      const before = repo.pendingSignature(memberId);
      blocked.clear();
      if (inbound.length) await runInbound(memberId, inbound, blocked);
      for (const j of singles) {
        const job = progress.has(j.id) ? { ...j, payload: progress.get(j.id)! } : j;
        try {
          if (j.kind === 'out') await runOutbound(memberId, job);
          else if (j.kind === 'notice') await runNotice(memberId, job);
          else if (j.kind === 'verify') await runVerify(memberId, job);
          else if (j.kind === 'update') await runUpdate({ bridge: repo, gateway: deps.gateway, now: () => deps.clock.now(), later }, memberId, job);
          else repo.fail(j.id, `unknown job kind ${j.kind}`);
        } catch (e) {
          log.error({ err: e, memberId, job: j.id }, 'bridge job crashed');
          later(j, errText(e));
        }
      }
      if (deliveries.length) await runDeliveries(memberId, deliveries);
      if (repo.pendingSignature(memberId) === before) return; // nothing moved: the rest waits for its due time
    }
  }

  let prunedAt = 0;
  const loop = createJobLoop({
    name: 'bridge',
    clock: deps.clock,
    log,
    debounceMs: gatherMs,
    portalsWithDueJobs: (now) => repo.portalsWithDueJobs(now),
    nextDueAt: () => repo.nextDueAt(),
    processPortal,
    beforeRun() {
      if (deps.clock.now() - prunedAt <= 3600_000) return;
      prunedAt = deps.clock.now();
      const n = repo.prune(prunedAt - (o.retentionMs ?? 7 * 24 * 3600_000));
      if (n.jobs || n.inbox) log.info(n, 'bridge retention: pruned done jobs and old UIS inbox rows');
    },
  });

  const worker: BridgeWorker = {
    wake: () => loop.wake(),
    drain: () => loop.drain(),
    async pollOffline(memberId) {
      const rest = deps.gateway.client(memberId);
      let taken = 0;
      await takeOfflineEvents(rest, 'ONIMCONNECTORMESSAGEADD', (data) => {
        if (worker.onMessageAdd?.(memberId, data)) taken++;
      });
      if (taken) loop.wake(0);
      return taken;
    },
    startOfflinePolling(intervalMs, portals) {
      loop.every(intervalMs, async () => {
        for (const memberId of portals()) {
          if (loop.stopped) return;
          try {
            await worker.pollOffline(memberId);
          } catch (e) {
            log.warn({ memberId, code: (e as { code?: string }).code }, 'bridge offline poll failed');
          }
        }
      });
    },
    stop: () => loop.stop(),
    hold: () => loop.pause(),
    release: () => loop.resume(),
    drainInFlight: () => loop.idle(),
  };
  return worker;
}
