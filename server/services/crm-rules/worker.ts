import { ReauthRequiredError } from '../../bitrix/errors';
import { backoffDelay, JOB_RETRY } from '../../domain/backoff';
import type { Clock } from '../../domain/clock';
import { decide, skipBeforeSearch } from '../../domain/crm-rules/decide';
import { hasContacts } from '../../domain/crm-rules/gate';
import type { ChatLink, CrmEntityType, Decision, Found, RequestFacts } from '../../domain/crm-rules/types';
import type { Logger } from '../../logging';
import type { UisProject } from '../../contracts/uis';
import { accountZones } from '../../uis/account-zone';
import { dataApiDateTime, parseDataApiDateTime } from '../../domain/uis-time';
import { dataApiAll, dataApiForLink, type DataApiClient } from '../../uis/data-api';
import type { AsyncPort } from '../async-port';
import { createJobLoop } from '../job-loop';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { UisChannel, UisChannelRepository } from '../workspace-ports';
import type { CrmRulesSettings } from '../../contracts/crm-rules';
import { applyDecision } from './apply';
import { CHAT_REPORT_FIELDS, chatFacts, messageText, OFFLINE_REPORT_FIELDS, offlineFacts } from './facts';
import type { CrmRequest, CrmRequestRepository, CrmRulesRepository } from './ports';
import { searchClient } from './search';

type Row = Record<string, unknown>;
type Apply = Extract<Decision, { action: 'apply' }>;

export interface CrmRulesWorkerDeps {
  requests: AsyncPort<CrmRequestRepository>;
  crmRules: AsyncPort<CrmRulesRepository>;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  /** What the bridge knows: the visitor's contact data from callbacks, the channel's open line. */
  bridge: {
    chat(memberId: string, uisChatId: string): Promise<{ visitorId: string | null } | null>;
    visitor(memberId: string, visitorId: string): Promise<{ name: string | null; phone: string | null; email: string | null } | null>;
    bindingByChannel(memberId: string, channelId: string): Promise<{ status: 'active' | 'off' } | null>;
  };
  channels: AsyncPort<UisChannelRepository>;
  /** The employee sync's mapping: the chat's operator as a Bitrix24 user. */
  employees: { b24UserFor(memberId: string, uisEmployeeId: number): Promise<number | null> };
  /** CRM items a chat created or changed (the personal-manager map reads them again, issue #14). */
  crmWritten?(memberId: string, refs: Array<{ type: CrmEntityType; id: number }>): void;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

export interface CrmRulesWorkerOptions {
  /** Events of a chat within this window are decided together. */
  gatherMs?: number;
  /** UIS may list a fresh chat in get.chats_report a little later: ask again this many times. */
  reportRetries?: number;
  maxAttempts?: number;
  /** Chats done or failed keep their stored messages this long after the last touch (default 30 days). */
  retentionMs?: number;
}

export interface CrmRulesWorker {
  wake(delayMs?: number): void;
  /** Take the portal's new offline requests from get.offline_messages_report; how many were new. */
  pollOffline(memberId: string): Promise<number>;
  /** Poll every portal with «Оффлайн заявки» on now and then every `intervalMs` (UIS sends no callback for them). */
  startOfflinePolling(intervalMs: number): void;
  /**
   * Chats of the last day the callbacks missed (our downtime, a channel not connected to the
   * adapter such as VK) or whose end was missed, from get.chats_report; how many were queued.
   */
  reconcileChats(memberId: string): Promise<number>;
  startChatReconcile(intervalMs: number): void;
  drain(): Promise<void>;
  stop(): void;
  /** Resolves when the run in flight (if any) has finished. */
  idle(): Promise<void>;
  readonly gatherMs: number;
}

const REPORT_WINDOW_MS = 80 * 86_400_000;
/** First poll of a portal: requests of the last minutes only (not the account's whole history). */
const FIRST_POLL_LOOKBACK_MS = 10 * 60_000;
/** Report rows carry seconds: each poll re-reads a little of the previous window (duplicates are dropped). */
const POLL_OVERLAP_MS = 2 * 60_000;
/** Chats started this long ago are still checked for an end the callbacks missed. */
const RECONCILE_WINDOW_MS = 86_400_000;
const LIVE = new Set(['new', 'active']);
const PAGE = 1000;

/** What the worker's steps share: its dependencies, the retry policy of a request, the loop. */
interface WorkerContext {
  deps: CrmRulesWorkerDeps;
  log: Logger;
  reportRetries: number;
  zoneOf: ReturnType<typeof accountZones>;
  /** Try the request again later (JOB_RETRY), or fail it after the maximum attempts. */
  later(r: CrmRequest, reason: string): Promise<void>;
  fail(r: CrmRequest, reason: string): Promise<void>;
  /** New requests were queued: run now. */
  wake(): void;
  stopped(): boolean;
}

/** What one run reads once for the whole portal: the zone, the link's channels, each tab's rules. */
interface PortalRun {
  zone: string;
  channels: UisChannel[];
  settings: Record<'chats' | 'offline', CrmRulesSettings | undefined>;
}

async function reportRows(ctx: WorkerContext, api: DataApiClient, due: CrmRequest[], zone: string): Promise<Map<string, Row>> {
  const want = due.filter((r) => r.kind === 'chat' && r.plan === null && r.link === null);
  const out = new Map<string, Row>();
  if (!want.length) return out;
  const now = ctx.deps.clock.now();
  const from = Math.max(now - REPORT_WINDOW_MS, Math.min(...want.map((r) => r.startedAt ?? now)) - 86_400_000);
  const r = await api.call<Row[]>('get.chats_report', {
    date_from: dataApiDateTime(from, zone),
    date_till: dataApiDateTime(now + 86_400_000, zone),
    fields: [...CHAT_REPORT_FIELDS],
    filter: { field: 'id', operator: 'in', value: want.map((x) => Number(x.requestId)) },
    limit: want.length,
  });
  for (const row of Array.isArray(r.data) ? r.data : []) out.set(String(row.id), row);
  return out;
}

/**
 * The transcript from get.chat_messages_report for chats that end now or that no /message
 * callback reached (lost while we were down, or a channel outside the adapter): the callbacks'
 * copy may miss messages. A failure only leaves the callbacks' copy.
 */
async function fillMessages(ctx: WorkerContext, api: DataApiClient, memberId: string, due: CrmRequest[], zone: string): Promise<void> {
  const ids: number[] = [];
  for (const r of due) {
    if (r.kind === 'chat' && r.plan === null && (r.event === 'finished' || (await ctx.deps.requests.messages(memberId, r.requestId)).length === 0)) ids.push(Number(r.requestId));
  }
  if (!ids.length) return;
  try {
    const rows = await dataApiAll<Row>(api, 'get.chat_messages_report', { chat_ids: ids, fields: ['id', 'chat_id', 'date_time', 'text', 'source', 'resource', 'employee_id'] }, PAGE);
    for (const m of rows) {
      const source = m.source === 'visitor' || m.source === 'operator' ? m.source : null;
      if (!source || m.id === undefined || m.chat_id === undefined) continue;
      const file = m.resource && typeof m.resource === 'object' ? (m.resource as Row).file_name : null;
      const text = messageText(m.text, file);
      const added = await ctx.deps.requests.addMessage(memberId, String(m.chat_id), {
        id: String(m.id),
        at: parseDataApiDateTime(m.date_time, zone) ?? ctx.deps.clock.now(),
        source,
        text,
        author: source === 'operator' && m.employee_id ? `employee:${String(m.employee_id)}` : null,
      });
      // the report holds the message as it is now: an edit whose callback we missed counts too
      if (!added) await ctx.deps.requests.editMessage(memberId, String(m.chat_id), String(m.id), text);
    }
  } catch (e) {
    ctx.log.warn({ memberId, code: (e as { code?: string }).code }, 'get.chat_messages_report failed: the callbacks\' transcript is used');
  }
}

async function reconcileChats(ctx: WorkerContext, memberId: string): Promise<number> {
  const link = await ctx.deps.links.get(memberId);
  if (!link || !(await ctx.deps.crmRules.isEnabled(memberId, 'chats'))) return 0;
  const api = dataApiForLink(link, ctx.deps.uisEndpoints, ctx.deps.fetch);
  const now = ctx.deps.clock.now();
  const channels = link.connectionId ? await ctx.deps.channels.list(memberId, link.connectionId) : [];
  const zone = await ctx.zoneOf(memberId, api);
  let queued = 0;
  const rows = await dataApiAll<Row>(
    api,
    'get.chats_report',
    {
      date_from: dataApiDateTime(now - RECONCILE_WINDOW_MS, zone),
      date_till: dataApiDateTime(now + 60_000, zone),
      fields: ['id', 'status', 'date_time', 'visitor_id', 'chat_channel_id'],
      sort: [{ field: 'date_time', order: 'asc' }],
    },
    PAGE,
  );
  // the adapter channel behind a report's chat channel (an open line may drive it)
  const adapterChannel = new Map(channels.filter((c) => c.chatChannelId !== null).map((c) => [c.chatChannelId!, c.channelId]));
  const events = await ctx.deps.requests.events(memberId, 'chat', rows.map((row) => String(row.id ?? '')).filter(Boolean));
  for (const row of rows) {
    const id = String(row.id ?? '');
    if (!id) continue;
    const ended = !LIVE.has(String(row.status));
    const known = events.get(id);
    if (known && (!ended || known === 'finished')) continue;
    const channelId = adapterChannel.get(String(row.chat_channel_id)) ?? null;
    await ctx.deps.requests.touch({
      memberId,
      kind: 'chat',
      requestId: id,
      event: ended ? 'finished' : 'started',
      channelId,
      visitorId: row.visitor_id === null || row.visitor_id === undefined ? null : String(row.visitor_id),
      startedAt: parseDataApiDateTime(row.date_time, zone),
      dueAt: now,
    });
    queued++;
  }
  if (queued) ctx.wake();
  return queued;
}

async function factsOf(ctx: WorkerContext, run: PortalRun, r: CrmRequest, report: Row | null): Promise<RequestFacts> {
  const chat = await ctx.deps.bridge.chat(r.memberId, r.requestId);
  const visitorId = r.visitorId ?? chat?.visitorId ?? null;
  const channel = r.channelId ? run.channels.find((c) => c.channelId === r.channelId) : undefined;
  return chatFacts({
    request: r,
    messages: await ctx.deps.requests.messages(r.memberId, r.requestId),
    report,
    visitor: visitorId ? await ctx.deps.bridge.visitor(r.memberId, visitorId) : null,
    channel: channel ? { type: channel.type, name: channel.name } : null,
    openLineDriven: !!r.channelId && (await ctx.deps.bridge.bindingByChannel(r.memberId, r.channelId))?.status === 'active',
    now: ctx.deps.clock.now(),
    timeZone: run.zone,
  });
}

async function processOne(ctx: WorkerContext, run: PortalRun, r: CrmRequest, report: Row | null): Promise<void> {
  const tab = r.kind === 'chat' ? 'chats' : 'offline';
  const settings = run.settings[tab];
  if (!settings?.enabled && r.plan === null) {
    return ctx.deps.requests.finish(r, { status: 'done', outcome: 'skip:tab-off', reason: `the ${tab === 'chats' ? 'Chats' : 'Offline requests'} tab is off` });
  }
  const rest = ctx.deps.gateway.client(r.memberId);
  let decision = r.plan as Apply | null;
  if (!decision) {
    if (r.kind === 'chat' && !report && !r.link && r.attempts < ctx.reportRetries) return ctx.later(r, 'UIS does not list the chat in get.chats_report yet');
    const facts = r.kind === 'offline' ? offlineFacts(r.facts ?? { id: r.requestId }, r.startedAt ?? ctx.deps.clock.now(), run.zone) : await factsOf(ctx, run, r, report);
    if (facts.employeeId) facts.employeeUserId = await ctx.deps.employees.b24UserFor(r.memberId, facts.employeeId);
    let found: Found | null = null;
    const link = r.link as ChatLink | null;
    // the search costs REST calls: only when the rules may act on it
    if (!link && hasContacts(facts) && settings?.enabled && !skipBeforeSearch(settings, facts)) found = await searchClient(rest, facts);
    const d = decide({ settings: settings!, facts, found, link, timeZone: run.zone });
    if (d.action === 'skip') {
      // a pass with nothing new on a chat the app already acted on (another callback of the same
      // moment): the record keeps what was done — the lead made stays «primary», not a skip
      const acted = d.reason === 'nothing-new' && !!r.outcome && !r.outcome.startsWith('skip:');
      return ctx.deps.requests.finish(r, { status: d.retry ? 'waiting' : 'done', outcome: acted ? r.outcome! : `skip:${d.reason}`, reason: acted ? r.reason : d.detail });
    }
    decision = d;
    await ctx.deps.requests.setPlan(r, d);
  }
  const result = await applyDecision({ rest, requests: ctx.deps.requests, memberId: r.memberId, now: () => ctx.deps.clock.now() }, decision);
  if (!result.done) return result.permanent ? ctx.fail(r, result.error) : ctx.later(r, result.error);
  await ctx.deps.requests.finish(r, { status: 'done', outcome: decision.request, reason: null, link: { targets: result.targets, cursor: decision.link.cursor } });
  ctx.deps.crmWritten?.(r.memberId, result.targets);
  ctx.log.info({ memberId: r.memberId, chatId: r.requestId, request: decision.request, ops: decision.ops.length }, 'CRM rules applied');
}

async function processPortal(ctx: WorkerContext, memberId: string): Promise<void> {
  const due = await ctx.deps.requests.due(memberId, ctx.deps.clock.now(), 50);
  if (!due.length) return;
  const link = await ctx.deps.links.get(memberId);
  if (!link) {
    for (const r of due) await ctx.fail(r, 'UIS_NOT_LINKED: link a UIS account on the main page');
    return;
  }
  const api = dataApiForLink(link, ctx.deps.uisEndpoints, ctx.deps.fetch);
  let zone: string;
  let reports: Map<string, Row>;
  try {
    zone = await ctx.zoneOf(memberId, api);
    reports = await reportRows(ctx, api, due, zone);
  } catch (e) {
    for (const r of due) await ctx.later(r, `UIS Data API: ${(e as Error).message}`);
    return;
  }
  await fillMessages(ctx, api, memberId, due, zone);
  const run: PortalRun = {
    zone,
    channels: link.connectionId ? await ctx.deps.channels.list(memberId, link.connectionId) : [],
    settings: { chats: (await ctx.deps.crmRules.get(memberId, 'chats'))?.settings, offline: (await ctx.deps.crmRules.get(memberId, 'offline'))?.settings },
  };
  for (const r of due) {
    if (ctx.stopped()) return;
    try {
      await processOne(ctx, run, r, r.kind === 'chat' ? (reports.get(r.requestId) ?? null) : null);
    } catch (e) {
      if (e instanceof ReauthRequiredError) await ctx.fail(r, 'REAUTH_REQUIRED: an administrator must open the app again');
      else await ctx.later(r, (e as Error).message);
    }
  }
}

async function pollOffline(ctx: WorkerContext, memberId: string): Promise<number> {
  const link = await ctx.deps.links.get(memberId);
  if (!link || !(await ctx.deps.crmRules.isEnabled(memberId, 'offline'))) return 0;
  const api = dataApiForLink(link, ctx.deps.uisEndpoints, ctx.deps.fetch);
  const now = ctx.deps.clock.now();
  const zone = await ctx.zoneOf(memberId, api);
  const from = Math.max(((await ctx.deps.requests.pollCursor(memberId, 'offline')) ?? now - FIRST_POLL_LOOKBACK_MS) - POLL_OVERLAP_MS, now - REPORT_WINDOW_MS);
  let fresh = 0;
  let newest = from;
  const rows = await dataApiAll<Row>(
    api,
    'get.offline_messages_report',
    { date_from: dataApiDateTime(from, zone), date_till: dataApiDateTime(now + 60_000, zone), fields: [...OFFLINE_REPORT_FIELDS], sort: [{ field: 'date_time', order: 'asc' }] },
    PAGE,
  );
  const seen = await ctx.deps.requests.events(memberId, 'offline', rows.map((row) => String(row.id ?? '')).filter(Boolean));
  for (const row of rows) {
    const id = String(row.id ?? '');
    if (!id || seen.has(id)) continue;
    const at = parseDataApiDateTime(row.date_time, zone) ?? now;
    newest = Math.max(newest, at);
    await ctx.deps.requests.touch({ memberId, kind: 'offline', requestId: id, event: 'received', startedAt: at, facts: row, dueAt: now });
    fresh++;
  }
  await ctx.deps.requests.setPollCursor(memberId, 'offline', Math.min(newest, now));
  if (fresh) ctx.wake();
  return fresh;
}

/**
 * «Чаты»: UIS chats → Bitrix24 CRM by the admin's rules. Requests live in the database (a restart
 * loses nothing); a run takes a portal's due chats, reads their report rows in one Data API call,
 * then decides and applies each one in turn — one at a time per portal, so a burst of chats from
 * the same new client sees the first chat's lead (docs/facts/uis.md#rule-8). A decision being
 * applied is stored first and finished as is on a retry, never decided again over half-written data.
 */
export function createCrmRulesWorker(deps: CrmRulesWorkerDeps, o: CrmRulesWorkerOptions = {}): CrmRulesWorker {
  const gatherMs = o.gatherMs ?? 1000;
  const reportRetries = o.reportRetries ?? 3;
  const maxAttempts = o.maxAttempts ?? 8;
  const retentionMs = o.retentionMs ?? 30 * 86_400_000;
  let prunedAt = 0;
  const log = deps.log.child({ component: 'crm-rules' });
  const backoff = (attempts: number) => backoffDelay(JOB_RETRY, attempts);

  const later = async (r: CrmRequest, reason: string) => {
    if (r.attempts + 1 >= maxAttempts) return fail(r, `gave up after ${r.attempts + 1} attempts: ${reason}`);
    await deps.requests.retry(r, deps.clock.now() + backoff(r.attempts), reason);
    log.warn({ memberId: r.memberId, chatId: r.requestId, attempts: r.attempts + 1 }, `CRM rules postponed: ${reason}`);
  };
  const fail = async (r: CrmRequest, reason: string) => {
    await deps.requests.finish(r, { status: 'failed', outcome: 'failed', reason });
    log.error({ memberId: r.memberId, chatId: r.requestId }, `CRM rules failed: ${reason}`);
  };

  const zoneOf = accountZones();
  const ctx: WorkerContext = { deps, log, reportRetries, zoneOf, later, fail, wake: () => loop.wake(0), stopped: () => loop.stopped };

  const loop = createJobLoop({
    name: 'crm-rules',
    clock: deps.clock,
    log,
    debounceMs: gatherMs,
    portalsWithDueJobs: (now) => deps.requests.portalsWithDue(now),
    nextDueAt: () => deps.requests.nextDueAt(),
    processPortal: (memberId) => processPortal(ctx, memberId),
    lease: deps.gateway.leases,
    beforeRun() {
      // retention, at most once an hour: the transcripts of finished chats (counts logged, never texts)
      if (deps.clock.now() - prunedAt <= 3600_000) return;
      prunedAt = deps.clock.now();
      const before = prunedAt - retentionMs;
      void (async () => {
        try {
          const messages = await deps.requests.pruneMessages(before);
          if (messages) log.info({ messages }, 'crm-rules retention: messages of finished chats deleted');
        } catch (e) {
          log.warn({ err: e }, 'crm-rules retention failed');
        }
      })();
    },
  });

  return {
    wake: (d) => loop.wake(d),
    drain: () => loop.drain(),
    stop: () => loop.stop(),
    idle: () => loop.idle(),
    gatherMs,
    pollOffline: (memberId) => pollOffline(ctx, memberId),
    reconcileChats: (memberId) => reconcileChats(ctx, memberId),
    startChatReconcile: (intervalMs) => loop.everyPortal(intervalMs, () => deps.crmRules.enabledPortals('chats'), (m) => reconcileChats(ctx, m), 'chat reconcile failed'),
    startOfflinePolling: (intervalMs) => loop.everyPortal(intervalMs, () => deps.crmRules.enabledPortals('offline'), (m) => pollOffline(ctx, m), 'offline requests poll failed'),
  };
}
