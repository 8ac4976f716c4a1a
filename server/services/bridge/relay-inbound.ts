// Inbound relay, UIS → open line: pending UIS messages become `imconnector.send.messages` items,
// one call per line (several lines share a `batch`), with the first message of a chat Bitrix24
// does not know yet sent alone (single-flight) and unknown outcomes checked before a resend.
import { CONNECTOR_ID } from '../../../install/plan';
import { ReauthRequiredError } from '../../bitrix/errors';
import type { BatchCall, PortalRestClient } from '../../bitrix/rest-client';
import { backoffDelay } from '../../domain/backoff';
import { escapeBbcode } from '../../domain/bbcode';
import { e164 } from '../../domain/phone';
import { echoKey, externalUserId, textHash, unixSeconds, visitorDisplayName } from './identity';
import { bitrixUserOfEmployee } from './operator-user';
import { checkInFlight, outcomeUnknown } from './resend-check';
import type { BridgeChat, BridgeJob, BridgeSettlement, BridgeVisitor, LineBinding } from './ports';
import type { RelayContext, Row } from './worker-context';

const MAX_BATCH = 50;
/** UIS message ids grow with time: a chat's messages sort into UIS order by id (jobs of other chats are independent). */
const uisOrder = (j: BridgeJob): number => Number(j.payload.messageId) || Number.MAX_SAFE_INTEGER;

/**
 * Inbound jobs put off (the chat waits, or a call failed): each with `later`, then the rest of its
 * chat held to the due time of the chat's first one (UIS order), so the chat moves again whole.
 * `due` hands out a chat's jobs up to its first one not due, in id order (arrival); a message put
 * off alone while later ones of its chat that came first stayed due would let those out ahead of it
 * — once its /chat came, say, between a round's read of the jobs and its read of the chats.
 */
async function putOff(ctx: RelayContext, memberId: string, jobs: BridgeJob[], reason: string, delayMs?: number): Promise<void> {
  const first = new Map<string, BridgeJob>();
  for (const job of jobs) {
    await ctx.later(job, reason, delayMs);
    const f = first.get(job.chatKey);
    if (!f || uisOrder(job) < uisOrder(f)) first.set(job.chatKey, job);
  }
  for (const [chatKey, job] of first) await ctx.repo.holdChatWith(memberId, chatKey, job.id);
}

function buildItem(ctx: RelayContext, memberId: string, job: BridgeJob, chat: BridgeChat & { visitorId: string }, v: BridgeVisitor | null): Row {
  const { deps } = ctx;
  const visitorId = chat.visitorId;
  const p = job.payload;
  const user: Row = { id: externalUserId(visitorId) };
  const phone = e164(v?.phone);
  if (phone) user.phone = phone;
  if (v?.email) user.email = v.email;
  user.name = visitorDisplayName(v?.name) ?? phone ?? `UIS ${visitorId}`;
  const message: Row = { id: String(p.messageId), date: unixSeconds(p.createdAt, deps.clock.now()) };
  // Client text is never markup in the open line: Bitrix24 renders BBCode in chats (issue #11 item 9)
  const text = escapeBbcode(String(p.text ?? ''));
  if (text) message.text = text;
  const r = p.resource as Row | null;
  if (r && r.id !== undefined && r.token !== undefined) {
    const name = String(r.name ?? `file-${String(r.id)}`);
    message.files = [{ url: deps.files.url({ memberId, channelId: String(p.channelId), resourceId: String(r.id), token: String(r.token), name }), name: escapeBbcode(name) }];
  }
  return { user, message, chat: { id: chat.extChatId } };
}

/** The echo key of an item as sent (its text and file names as Bitrix24 stores and echoes them). */
const itemEchoKey = (item: Row): string => {
  const m = item.message as Row;
  return echoKey(String(m.text ?? ''), ((m.files as Row[] | undefined) ?? []).map((f) => String(f.name)));
};

/** UIS employees of operator messages written in the UIS workspace → Bitrix24 users (by e-mail). */
async function operatorUsers(ctx: RelayContext, memberId: string, jobs: BridgeJob[]): Promise<Map<string, number | null | Error>> {
  const { deps } = ctx;
  const out = new Map<string, number | null | Error>();
  const link = await deps.links.get(memberId);
  for (const job of jobs) {
    const op = job.payload.source === 'operator' ? String(job.payload.operatorId ?? '') : '';
    if (!op || out.has(op)) continue;
    if (!link) {
      out.set(op, new Error('UIS_NOT_LINKED'));
      continue;
    }
    try {
      out.set(op, await bitrixUserOfEmployee({ dataApi: deps.workspace.dataApi, gateway: deps.gateway, clock: deps.clock, employees: deps.employees }, link, op));
    } catch (e) {
      out.set(op, e instanceof Error ? e : new Error(String(e)));
    }
  }
  return out;
}

type Planned = { job: BridgeJob; item: Row; newChat: boolean };
/** A job taken into this round's call, before its item is built (the visitors are read for all of them at once). */
type Chosen = { job: BridgeJob; chat: BridgeChat & { visitorId: string }; operatorUser: number | null; newChat: boolean };
type LineSlice = Array<[string, Planned[]]>;
type SendResult = { result: Row; errors: Record<string, { error: string; error_description: string }> };
type Client = PortalRestClient;

/**
 * One round of the inbound relay for a portal: the jobs in UIS order, the unknown outcomes of
 * earlier sends checked first, the items planned per line, then one call per line (lines sharing
 * a `batch`) and each answer recorded.
 */
export async function runInbound(ctx: RelayContext, memberId: string, pending: BridgeJob[], blocked: Set<string>): Promise<void> {
  // UIS order within a chat, not callback arrival order (callbacks may come reordered, docs/facts/uis.md#rule-9)
  let jobs = [...pending].sort((a, b) => uisOrder(a) - uisOrder(b) || a.id - b.id);
  const client = ctx.deps.gateway.client(memberId);
  const settled = await settleUnknownOutcomes(ctx, memberId, client, jobs, blocked);
  if (settled.size) jobs = jobs.filter((j) => !settled.has(j.id));
  const perLine = await planItemsPerLine(ctx, memberId, jobs, blocked, await operatorUsers(ctx, memberId, jobs));
  if (!perLine.size) return;
  const lines = [...perLine.entries()];
  for (let i = 0; i < lines.length; i += MAX_BATCH) {
    const slice = lines.slice(i, i + MAX_BATCH);
    const res = await sendSlice(ctx, memberId, client, slice);
    if (res) await recordSliceResults(ctx, memberId, slice, res);
  }
}

/**
 * Jobs whose last send has an unknown outcome (answer lost, or we were killed): send.messages
 * does not deduplicate, so first read what the open line holds and send only what it lacks.
 * Returns the ids of the jobs the open line already holds.
 */
async function settleUnknownOutcomes(ctx: RelayContext, memberId: string, client: Client, jobs: BridgeJob[], blocked: Set<string>): Promise<Set<number>> {
  const { deps, repo, log, errText } = ctx;
  const uncertain = new Map<string, BridgeJob[]>();
  for (const job of jobs) {
    if (job.kind !== 'in' || !job.inflight || blocked.has(job.chatKey)) continue;
    const uisChatId = String(job.payload.uisChatId);
    uncertain.set(uisChatId, [...(uncertain.get(uisChatId) ?? []), job]);
  }
  const settled = new Set<number>();
  for (const [uisChatId, list] of uncertain) {
    const chat = await repo.chat(memberId, uisChatId);
    const binding = chat ? await repo.bindingByChannel(memberId, chat.channelId) : null;
    if (!chat || !binding || binding.status !== 'active') continue; // the main pass defers them (marks kept)
    try {
      const r = await checkInFlight({ bridge: repo, rest: client }, memberId, uisChatId, binding.lineId, list.map((j) => ({ id: j.id, messageId: String(j.payload.messageId) })));
      for (const id of r.held) settled.add(id);
      const note = { memberId, uisChatId, held: r.held.length, missing: r.missing };
      if (r.checked) log.info(note, 'unknown outcome of an earlier send: the open line was read, only what it lacks is sent again');
      else {
        log.warn(note, 'unknown outcome of the first message of a new chat with a new visitor: Bitrix24 offers no way to look it up; sending it again, a second copy is removed afterwards');
        // a durable follow-up (a crash before it runs does not lose it): once the chat is known, remove a second copy
        await repo.enqueue({
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
      await putOff(ctx, memberId, list, `checking what the open line holds before sending again: ${errText(e)}`);
    }
  }
  return settled;
}

/**
 * The items of this round per open line: jobs of chats without their `/chat` callback or without
 * an active line wait; an operator's message is shown as his Bitrix24 user or skipped; only the
 * first message of a chat Bitrix24 does not know yet goes (single-flight); a line's call holds at
 * most `itemsPerCall` items.
 */
async function planItemsPerLine(ctx: RelayContext, memberId: string, jobs: BridgeJob[], blocked: Set<string>, opUsers: Map<string, number | null | Error>): Promise<Map<string, Planned[]>> {
  const { deps, repo, itemsPerCall, errText } = ctx;
  const chosen = new Map<string, Chosen[]>();
  const newChats = new Set<string>();
  // what the plan settles without a call (skipped, nothing to tell): written together before the call
  const settled: Required<Pick<BridgeSettlement, 'links' | 'done'>> = { links: [], done: [] };
  const skip = (job: BridgeJob, reason: string) => {
    settled.done.push(job.id);
    settled.links.push({ origin: 'uis', key: String(job.payload.messageId), patch: { state: 'skipped', error: reason } });
  };
  // A round reads up to 2,000 jobs of few chats: the chats in one read, each channel binding once.
  const chats = new Map<string, BridgeChat>();
  const ids = [...new Set(jobs.filter((j) => !blocked.has(j.chatKey)).map((j) => String(j.payload.uisChatId)))];
  for (const c of ids.length ? await repo.chatsOf(memberId, ids) : []) chats.set(c.uisChatId, c);
  const chatOf = (uisChatId: string) => chats.get(uisChatId) ?? null;
  const bindings = new Map<string, LineBinding | null>();
  const bindingOf = async (channelId: string) =>
    bindings.has(channelId) ? bindings.get(channelId)! : (bindings.set(channelId, await repo.bindingByChannel(memberId, channelId)), bindings.get(channelId)!);
  const waiting = new Set<string>();
  for (const job of jobs) {
    if (blocked.has(job.chatKey)) continue;
    const p = job.payload;
    const uisChatId = String(p.uisChatId);
    const chat = chatOf(uisChatId);
    if (!chat?.visitorId) {
      blocked.add(job.chatKey);
      if (job.attempts > 20) await repo.fail(job.id, 'no /chat callback for this chat');
      else await putOff(ctx, memberId, [job], 'waiting for the /chat callback of this chat', backoffDelay({ baseMs: 500, capMs: 30_000 }, job.attempts));
      waiting.add(uisChatId);
      continue;
    }
    const binding = await bindingOf(chat.channelId);
    if (!binding || binding.status !== 'active') {
      blocked.add(job.chatKey);
      await putOff(ctx, memberId, [job], 'NO_LINE: the channel is not connected to an open line', 60_000);
      continue;
    }
    if ((chosen.get(binding.lineId)?.length ?? 0) >= itemsPerCall) continue; // this line's call is full: next round
    const known = !!chat.b24ChatId && chat.lineId === binding.lineId;
    let operatorUser: number | null = null;
    if (p.source === 'operator') {
      const o = operatorShownAs(opUsers, p, known && !chat.b24SessionClosed, errText);
      if ('wait' in o) {
        blocked.add(job.chatKey);
        await putOff(ctx, memberId, [job], o.wait);
        continue;
      }
      if ('skip' in o) {
        skip(job, o.skip);
        continue;
      }
      operatorUser = o.user;
    }
    if (p.source === 'closed' && (!known || chat.b24SessionClosed)) {
      settled.done.push(job.id); // nothing to tell: no open dialog in the open line
      continue;
    }
    if (p.source === 'started' && known) {
      settled.done.push(job.id);
      continue;
    }
    const isNew = !known;
    if (isNew) {
      // single-flight: only the first message of a chat Bitrix24 does not know yet
      if (newChats.has(uisChatId)) continue;
      newChats.add(uisChatId);
    }
    const list = chosen.get(binding.lineId) ?? [];
    if (list.length >= itemsPerCall) continue;
    list.push({ job, chat: { ...chat, visitorId: chat.visitorId }, operatorUser, newChat: isNew });
    chosen.set(binding.lineId, list);
    if (isNew) blocked.add(job.chatKey);
  }
  // The chats were read at the round's start: a /chat handled meanwhile (another instance, or the
  // callback consumer between two awaits) made the chat's jobs due before the wait above pushed one
  // of them back — that job would then block its chat for its backoff while the chat's jobs queued
  // before it went ahead, out of UIS order. A chat known by now gets its jobs due again.
  if (waiting.size) for (const c of await repo.chatsOf(memberId, [...waiting])) if (c.visitorId) await repo.dueNow(memberId, c.uisChatId, deps.clock.now());
  if (settled.done.length) await repo.settle(memberId, settled);
  // the items: the visitors of every chosen job in one read
  const all = [...chosen.values()].flat();
  const visitorIds = [...new Set(all.map((x) => x.chat.visitorId))];
  const visitors = new Map((visitorIds.length ? await repo.visitorsOf(memberId, visitorIds) : []).map((v) => [v.visitorId, v]));
  const perLine = new Map<string, Planned[]>();
  for (const [lineId, list] of chosen) {
    const planned: Planned[] = [];
    for (const x of list) planned.push({ job: x.job, item: await plannedItem(ctx, memberId, x.job, x.chat, visitors.get(x.chat.visitorId) ?? null, x.operatorUser), newChat: x.newChat });
    perLine.set(lineId, planned);
  }
  return perLine;
}

/**
 * An operator wrote in the UIS workspace: the client got it already; it is shown in the open line
 * as that operator's Bitrix24 user (message.user_id). Seed rule: while the dialog is not accepted
 * in the open line it is not shown (Bitrix24 itself drops it), the client has it anyway.
 */
function operatorShownAs(opUsers: Map<string, number | null | Error>, p: Row, dialogOpen: boolean, errText: (e: unknown) => string): { user: number } | { wait: string } | { skip: string } {
  const u = opUsers.get(String(p.operatorId ?? ''));
  if (u instanceof Error) return { wait: `operator lookup: ${errText(u)}` };
  if (!u) return { skip: `UIS employee ${String(p.operatorId)} has no Bitrix24 user with the same e-mail` };
  if (!dialogOpen) return { skip: 'not shown: the open-line dialog does not exist or is finished (the client got it)' };
  return { user: u };
}

/**
 * The `imconnector.send.messages` item of a job: an operator's message as his user (its echo
 * expected, never relayed back to UIS), a UIS close or an operator-started chat as a notice that
 * makes no CRM entity.
 */
async function plannedItem(ctx: RelayContext, memberId: string, job: BridgeJob, chat: BridgeChat & { visitorId: string }, visitor: BridgeVisitor | null, operatorUser: number | null): Promise<Row> {
  const p = job.payload;
  const item = buildItem(ctx, memberId, job, chat, visitor);
  const message = item.message as Row;
  if (operatorUser) {
    message.user_id = operatorUser;
    // its ONIMCONNECTORMESSAGEADD echo is dropped (never relayed back to UIS). The mark is its own
    // write, committed before the call, never held back to be written with the answers: Bitrix24's
    // event about the message may reach another instance while the call is still running. One mark
    // per message put: a job in flight (an earlier send's outcome unknown, the open line found not
    // to hold it) is sent again under the mark written for that send.
    if (!job.inflight) await ctx.repo.expectEcho(memberId, chat.extChatId, itemEchoKey(item));
  } else if (p.source === 'closed') {
    message.text = `ℹ Чат завершён в UIS${p.reason ? ` (${escapeBbcode(String(p.reason))})` : ''}. Следующее сообщение клиента придёт новым чатом.`;
    message.disable_crm = 'Y';
  } else if (p.source === 'started') {
    message.text = (message.text as string | undefined) || 'Чат начат оператором в UIS';
    message.disable_crm = 'Y';
  }
  return item;
}

/** The echo marks of these items, dropped: the call did not put them in the open line, no echo will come. */
async function dropEchoes(ctx: RelayContext, memberId: string, items: Planned[]): Promise<void> {
  for (const x of items) if ((x.item.message as Row).user_id) await ctx.repo.takeEcho(memberId, String((x.item.chat as Row).id), itemEchoKey(x.item));
}

/**
 * `imconnector.send.messages` for the lines of a slice: one call for one line, a `batch` for
 * several. The jobs are marked in flight durably before the call. A call the portal refused as a
 * whole with a code becomes that line's error; anything else puts the slice's jobs off (marks kept
 * when the outcome is unknown) and returns null.
 */
async function sendSlice(ctx: RelayContext, memberId: string, client: Client, slice: LineSlice): Promise<SendResult | null> {
  const { repo, log, errText } = ctx;
  const calls: Record<string, BatchCall> = {};
  for (const [lineId, items] of slice) {
    calls[`l${lineId}`] = { method: 'imconnector.send.messages', params: { CONNECTOR: CONNECTOR_ID, LINE: lineId, MESSAGES: items.map((x) => x.item) } };
  }
  const sending = slice.flatMap(([, items]) => items.map((x) => x.job.id));
  await repo.setInflight(sending, true); // durable before the call: a restart knows the outcome is unknown
  try {
    if (slice.length === 1) {
      const [lineId, items] = slice[0]!;
      try {
        const r = await client.call<Row>('imconnector.send.messages', { CONNECTOR: CONNECTOR_ID, LINE: lineId, MESSAGES: items.map((x) => x.item) });
        return { result: { [`l${lineId}`]: r.result }, errors: {} };
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code && !(e instanceof ReauthRequiredError) && /^[A-Z_]+$/.test(code) && code !== 'QUERY_LIMIT_EXCEEDED' && code !== 'OPERATION_TIME_LIMIT' && !outcomeUnknown(e)) {
          return { result: {}, errors: { [`l${lineId}`]: { error: code, error_description: (e as Error).message } } };
        }
        throw e;
      }
    }
    return await client.batch(calls);
  } catch (e) {
    // refused before the portal ran it: nothing to check before the retry, no echo will come;
    // otherwise the in-flight and echo marks stay
    if (!outcomeUnknown(e)) {
      await repo.setInflight(sending, false);
      for (const [, items] of slice) await dropEchoes(ctx, memberId, items);
    }
    await putOff(ctx, memberId, slice.flatMap(([, items]) => items.map((x) => x.job)), `imconnector.send.messages: ${errText(e)}`);
    log.warn({ memberId, err: errText(e) }, 'inbound relay call failed; will retry');
    return null;
  }
}

/**
 * Each line's answer: a refusal of the whole call puts its jobs off (NOT_ACTIVE_LINE is shown on the
 * line); per item, an operator's message the dialog did not show is skipped, a relayed one stores
 * Bitrix24's chat, session and user ids, a refused one fails with Bitrix24's reason. What the
 * answers settle (chats, visitors, links, jobs done or failed) is written at once, in one
 * transaction (`settle`): until then the jobs stay in flight, so a crash before it is checked
 * against the open line, not sent again blindly.
 */
async function recordSliceResults(ctx: RelayContext, memberId: string, slice: LineSlice, res: SendResult): Promise<void> {
  const { repo } = ctx;
  for (const [lineId, items] of slice) {
    const key = `l${lineId}`;
    const err = res.errors[key];
    if (err) {
      await repo.setInflight(items.map((x) => x.job.id), false); // the method refused the call as a whole
      await dropEchoes(ctx, memberId, items);
      if (err.error === 'NOT_ACTIVE_LINE') await repo.setBindingError(memberId, lineId, 'NOT_ACTIVE_LINE: the connector is not active on this line in Bitrix24');
      await putOff(ctx, memberId, items.map((x) => x.job), `${err.error}: ${err.error_description}`);
      continue;
    }
    const out = (res.result[key] ?? {}) as Row;
    const results = (((out.DATA ?? {}) as Row).RESULT ?? []) as Row[];
    const s: Required<BridgeSettlement> = { chats: [], visitors: [], links: [], done: [], failed: [] };
    // the chats as they are after the call, in one read; each item's changes are applied to them as
    // the next item of the chat would have read them
    const chats = new Map((await repo.chatsOf(memberId, [...new Set(items.map((x) => String(x.job.payload.uisChatId)))])).map((c) => [c.uisChatId, c]));
    /** chats just made in Bitrix24, with the name their item carried */
    const made: Array<{ uisChatId: string; visitorId: string; sent: string }> = [];
    for (const [idx, x] of items.entries()) {
      const r = results[idx] ?? {};
      const p = x.job.payload;
      const uisChatId = String(p.uisChatId);
      if (r.SUCCESS === true && x.job.payload.source === 'operator' && !r.session) {
        // not shown (dialog not accepted): no echo will come
        await repo.takeEcho(memberId, String((x.item.chat as Row).id), itemEchoKey(x.item));
        s.links.push({ origin: 'uis', key: String(p.messageId), patch: { state: 'skipped', error: 'not shown: the open-line dialog is not accepted yet (the client got it)' } });
        s.done.push(x.job.id);
      } else if (r.SUCCESS === true) {
        const session = (r.session ?? {}) as Row;
        const chat = chats.get(uisChatId)!;
        const patch = {
          uisChatId,
          channelId: chat.channelId,
          lineId,
          b24ChatId: session.CHAT_ID !== undefined ? String(session.CHAT_ID) : undefined,
          b24SessionId: session.ID !== undefined ? String(session.ID) : undefined,
          b24SessionClosed: session.ID !== undefined ? false : undefined,
        };
        s.chats.push(patch);
        if (chat.visitorId && r.user !== undefined) s.visitors.push({ visitorId: chat.visitorId, b24UserId: String(r.user) });
        // the chat was just made, titled by the name this item carried
        if (!chat.b24ChatId && chat.visitorId && session.CHAT_ID !== undefined) made.push({ uisChatId, visitorId: chat.visitorId, sent: String((x.item.user as Row | undefined)?.name ?? '') });
        chats.set(uisChatId, { ...chat, lineId, b24ChatId: patch.b24ChatId ?? chat.b24ChatId, b24SessionId: patch.b24SessionId ?? chat.b24SessionId, b24SessionClosed: patch.b24SessionClosed ?? chat.b24SessionClosed });
        s.links.push({
          origin: 'uis',
          key: String(p.messageId),
          patch: {
            state: 'relayed',
            b24ChatId: session.CHAT_ID !== undefined ? String(session.CHAT_ID) : null,
            b24SessionId: session.ID !== undefined ? String(session.ID) : null, // the loss audit reads this session
            error: null,
          },
        });
        s.done.push(x.job.id);
      } else {
        await dropEchoes(ctx, memberId, [x]);
        const reason = `Bitrix24 refused the message: ${JSON.stringify(r.ERRORS ?? r)}`;
        s.failed.push({ id: x.job.id, error: reason });
        s.links.push({ origin: 'uis', key: String(p.messageId), patch: { state: 'failed', error: reason } }); // markFailed
      }
    }
    if (made.length) {
      // a visitor card handled while the chat was being made saw no Bitrix24 chat yet to rename (on
      // PostgreSQL the card's handler runs in its own transaction beside this run): the name is
      // read again now, and a rename queued (before the jobs are marked done) when it changed
      const names = new Map((await repo.visitorsOf(memberId, [...new Set(made.map((x) => x.visitorId))])).map((v) => [v.visitorId, visitorDisplayName(v.name)]));
      for (const m of made) {
        const name = names.get(m.visitorId);
        if (name && name !== m.sent) {
          await repo.enqueue({ memberId, kind: 'rename', chatKey: m.uisChatId, idemKey: `rename:${m.uisChatId}:${textHash(name)}`, payload: { visitorId: m.visitorId, name }, dueAt: ctx.deps.clock.now() });
        }
      }
    }
    await repo.settle(memberId, s);
    await repo.setBindingError(memberId, lineId, null);
  }
}
