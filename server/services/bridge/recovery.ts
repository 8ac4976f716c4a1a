// Nothing lost, nothing silent (issue #11 items 2–4). UIS promises no callback retries, so what a
// client writes while we are down, while a callback fails, or while UIS has the channel or the
// connection disabled, reaches us only through the Data API report `get.chat_messages_report`:
//
// - the reconcile (at start-up, every few minutes, and as soon as a channel or the connection is
//   active again) reads the bound channels' messages since each binding's cursor and queues, under
//   the same idempotency key a callback uses (`in:<UIS message id>`), every visitor message the
//   bridge has not seen — so a message is relayed exactly once whichever path brings it, in UIS
//   order per chat (the worker sorts a chat's due messages by UIS id);
// - the loss audit (periodically) takes the bridged chats that changed since their last audit,
//   reads their messages by `chat_ids` and the open-line sessions the relayed ones went into
//   (`imopenlines.session.history.get`, CONNECTOR_MID), queues what the bridge never saw (the same
//   path as the reconcile) and sends again, once, what the bridge relayed but the open line does
//   not hold.
// Both spend the account's Data API points through one budget guard (data-api-budget.ts) and the
// audit one `batch` per run; what they found is counted per portal (main page) and by area
// (Prometheus). Operator and system messages are not recovered: operators' replies reach the
// client either way and are shown in the open line only while a dialog is accepted.
import type { Clock } from '../../domain/clock';
import { dataApiDateTime, parseDataApiDateTime } from '../../domain/uis-time';
import type { Logger } from '../../logging';
import type { UisProject } from '../../contracts/uis';
import type { UisLink } from '../../domain/uis-link';
import { accountZones } from '../../uis/account-zone';
import { DataApiBudgetLow, type DataApiBudget } from '../../uis/data-api-budget';
import { dataApiForLink, type DataApiClient } from '../../uis/data-api';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import type { AsyncPort } from '../async-port';
import type { BridgeRecoveryRepository, BridgeRepository, RecoveryTarget } from './ports';
import { midsOfHistory } from './resend-check';
import type { RunLease } from '../job-loop';
import { createPollLeases, underLease } from '../poll-leases';

type Row = Record<string, unknown>;

/** Where a repair came from (the metric's label). */
export type RecoveryArea = 'missed-callback' | 'open-line';

export interface BridgeRecoveryDeps {
  bridge: AsyncPort<BridgeRepository>;
  recovery: AsyncPort<BridgeRecoveryRepository>;
  links: AsyncPort<UisLinkRepository>;
  channels: AsyncPort<UisChannelRepository>;
  gateway: BitrixGateway;
  uisEndpoints(project: UisProject): UisEndpoints;
  budget: DataApiBudget;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /** New inbound jobs were queued for the portal. */
  wake(memberId: string): void;
  /** A repair was queued (the Prometheus counter). */
  counted?(area: RecoveryArea, n: number): void;
  /**
   * Several instances on one database (issue #12; gateway.leases): a portal's reconcile or audit
   * runs under its 'bridge-recovery' lease — one at a time across the cluster, so two instances
   * never both find a message missing and queue it twice — and the periodic rounds of a portal are
   * done by one instance.
   */
  lease?: RunLease;
}

export interface BridgeRecoveryOptions {
  /** Each reconcile rereads this much before a binding's cursor (late report rows, clock skew; default 10 min). */
  overlapMs?: number;
  /** Chats per audit run (one chat_messages_report by chat_ids, one batch of session reads; default 50). */
  auditChats?: number;
  /** The audit waits while the portal's REST bucket holds at least this many requests (the relay is busy; default 25). */
  restBusyLevel?: number;
  /**
   * Portals reconciled at the same time at start-up (default 16, as the job loops' runs): with
   * 1,000 portals all at once, their Data API requests, connections and replies were all in memory
   * together (issue #12: the instance's resident size).
   */
  startupConcurrency?: number;
}

export interface BridgeRecovery {
  /** Compare the bound channels' UIS messages since their cursors with what the bridge holds; queue what is missing. */
  reconcile(memberId: string): Promise<{ recovered: number }>;
  /** Compare changed bridged chats with their open-line sessions; queue what is missing, resend what the open line lacks. */
  audit(memberId: string): Promise<{ checked: number; recovered: number; repaired: number }>;
  /** Reconcile soon (a channel or the connection is active again); coalesced per portal. */
  soon(memberId: string): void;
  /** Resolves when no reconcile or audit of the portal is running or scheduled by `soon`. */
  idle(): Promise<void>;
  /**
   * Background schedule: a reconcile of every bound portal now (`startupConcurrency` at a time) —
   * each portal's inbound relay waits for it (`hold`, at most `holdMs` from its turn) so recovered
   * messages go out before newer ones — then every
   * `reconcileMs`; the audit every `auditMs`.
   */
  start(o: { portals(): string[] | Promise<string[]>; reconcileMs: number; auditMs: number; holdMs?: number; hold?: { gate(memberId: string, untilMs: number): void; ungate(memberId: string): void | Promise<void> } }): void;
  stop(): void;
}

const DAY = 86_400_000;
/** get.chat_messages_report by date: at most 30 days per request (docs/facts/uis.md#data-api). */
const MAX_WINDOW = 30 * DAY - 60_000;
const PAGE = 1000;
const MESSAGE_FIELDS = ['id', 'chat_id', 'channel_id', 'date_time', 'visitor_id', 'text', 'source', 'resource'];
const MAX_BATCH = 50;

export function createBridgeRecovery(deps: BridgeRecoveryDeps, o: BridgeRecoveryOptions = {}): BridgeRecovery {
  const overlap = o.overlapMs ?? 10 * 60_000;
  const auditChats = o.auditChats ?? 50;
  const restBusy = o.restBusyLevel ?? 25;
  const startupConcurrency = Math.max(1, o.startupConcurrency ?? 16);
  const log = deps.log.child({ component: 'bridge-recovery' });
  const repo = deps.bridge;
  const zoneOf = accountZones();
  /** one run per portal at a time: reconcile and audit of a portal never overlap */
  const running = new Map<string, Promise<unknown>>();
  const scheduled = new Set<string>();

  const serial = <T>(memberId: string, work: () => Promise<T>): Promise<T> => {
    const prev = running.get(memberId) ?? Promise.resolve();
    // across instances: under the portal's lease, waiting while another instance runs one
    const run = prev.catch(() => undefined).then(() => underLease(deps.lease, memberId, 'bridge-recovery', (ms) => deps.clock.sleep(ms), work, log));
    const tail = run.catch(() => undefined);
    running.set(memberId, tail);
    void tail.then(() => {
      if (running.get(memberId) === tail) running.delete(memberId);
    });
    return run;
  };

  /** The link, unless the portal has nothing to recover (not linked, or the connection is disabled in UIS). */
  const usableLink = async (memberId: string): Promise<(UisLink & { connectionId: string }) | null> => {
    const link = await deps.links.get(memberId);
    if (!link?.connectionId) return null;
    if ((await deps.recovery.connectionStatus(memberId, link.connectionId)) === 'disabled') return null;
    return link as UisLink & { connectionId: string };
  };

  /** Active bindings whose channel UIS reports active, with its chat channel id (the reports' `channel_id`). */
  const activeTargets = async (memberId: string): Promise<Array<RecoveryTarget & { chatChannelId: string }>> => {
    const out: Array<RecoveryTarget & { chatChannelId: string }> = [];
    for (const t of await deps.recovery.targets(memberId)) {
      const ch = await deps.channels.get(memberId, t.channelId);
      if (!ch || ch.status !== 'active' || !ch.chatChannelId) continue;
      out.push({ ...t, chatChannelId: ch.chatChannelId });
    }
    return out;
  };

  const call = <T>(memberId: string, api: DataApiClient, method: string, params: Row) => deps.budget.call<T>(memberId, api, method, params);

  async function allRows(memberId: string, api: DataApiClient, method: string, params: Row): Promise<Row[]> {
    const out: Row[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const r = await call<Row[]>(memberId, api, method, { ...params, limit: PAGE, offset });
      const rows = Array.isArray(r.data) ? r.data : [];
      out.push(...rows);
      if (rows.length < PAGE) return out;
    }
  }

  /**
   * Visitor messages of bound channels the bridge never saw → `in` jobs under the callback's key. A
   * chat the bridge does not know (its `/chat` callback was lost too) is learnt from the report
   * rows and `get.chats_report` (the visitor's phone). Returns how many were queued.
   */
  async function recoverRows(memberId: string, link: UisLink & { connectionId: string }, api: DataApiClient, zone: string, rows: Row[], adapterChannel: Map<string, string>): Promise<number> {
    const visitorRows = rows.filter((r) => r.source === 'visitor' && r.id !== undefined && r.id !== null && r.chat_id !== undefined && r.chat_id !== null);
    const fresh: Row[] = [];
    for (const r of visitorRows) {
      const id = String(r.id);
      if (!(await repo.link(memberId, 'uis', id)) && (await repo.linkByUisMessage(memberId, id))?.origin !== 'b24') fresh.push(r);
    }
    // chats the bridge has no visitor for: new ones, and ones whose /message came but /chat was lost
    const unknown: string[] = [];
    for (const id of new Set(visitorRows.map((r) => String(r.chat_id)))) if (!(await repo.chat(memberId, id))?.visitorId) unknown.push(id);
    if (!fresh.length && !unknown.length) return 0;
    const now = deps.clock.now();
    const phones = new Map<string, string | null>();
    if (unknown.length) {
      try {
        const info = await call<Row[]>(memberId, api, 'get.chats_report', {
          date_from: dataApiDateTime(now - 89 * DAY, zone),
          date_till: dataApiDateTime(now + DAY, zone),
          filter: { field: 'id', operator: 'in', value: unknown.map(Number) },
          fields: ['id', 'visitor_id', 'visitor_phone_number'],
          limit: unknown.length,
        });
        for (const c of Array.isArray(info.data) ? info.data : []) phones.set(String(c.id), c.visitor_phone_number ? String(c.visitor_phone_number) : null);
      } catch (e) {
        if (e instanceof DataApiBudgetLow) throw e;
        log.warn({ memberId, code: (e as { code?: string }).code }, 'get.chats_report failed: recovered chats go without the visitor phone');
      }
    }
    for (const uisChatId of unknown) {
      const r = visitorRows.find((x) => String(x.chat_id) === uisChatId && x.visitor_id !== undefined && x.visitor_id !== null);
      const channelId = (await repo.chat(memberId, uisChatId))?.channelId ?? (r ? adapterChannel.get(String(r.channel_id)) : undefined);
      if (!r || !channelId) continue;
      const visitorId = String(r.visitor_id);
      await repo.upsertChat({ memberId, uisChatId, channelId, visitorId });
      await repo.upsertVisitor({ memberId, visitorId, phone: phones.get(uisChatId) ?? null });
      await repo.dueNow(memberId, uisChatId, now); // jobs of the chat that waited for its /chat callback
    }
    fresh.sort((a, b) => Number(a.chat_id) - Number(b.chat_id) || Number(a.id) - Number(b.id));
    let queued = 0;
    for (const r of fresh) {
      const uisChatId = String(r.chat_id);
      const messageId = String(r.id);
      const channelId = (await repo.chat(memberId, uisChatId))?.channelId ?? adapterChannel.get(String(r.channel_id));
      if (!channelId) continue;
      const at = parseDataApiDateTime(r.date_time, zone);
      const resource = r.resource && typeof r.resource === 'object' ? (r.resource as Row) : null;
      const fileName = resource ? String(resource.file_name ?? resource.name ?? '') : '';
      const text = typeof r.text === 'string' ? r.text : '';
      const ok = await repo.enqueue({
        memberId,
        kind: 'in',
        chatKey: uisChatId,
        idemKey: `in:${messageId}`,
        dueAt: now,
        payload: {
          uisChatId,
          channelId,
          accountId: link.connectionId,
          messageId,
          source: 'visitor',
          operatorId: null,
          // the report gives a file's name but no runtime resource to re-host: the operator sees which file
          text: fileName ? `${text}${text ? '\n' : ''}[файл: ${fileName}]` : text,
          createdAt: at === null ? null : new Date(at).toISOString(),
          resource: null,
          recovered: true,
        },
      });
      if (!ok) continue;
      await repo.addLink(memberId, { origin: 'uis', key: messageId, uisChatId, uisMessageId: messageId, b24ChatId: null, b24MessageId: null, state: 'queued', error: null });
      queued++;
    }
    if (queued) {
      await deps.recovery.count(memberId, 'recovered', queued);
      deps.counted?.('missed-callback', queued);
      log.warn({ memberId, recovered: queued }, 'UIS messages no callback brought were found in the Data API report and queued for the open line');
    }
    return queued;
  }

  const adapterChannels = async (memberId: string, connectionId: string): Promise<Map<string, string>> =>
    new Map((await deps.channels.list(memberId, connectionId)).filter((c) => c.chatChannelId).map((c) => [c.chatChannelId!, c.channelId]));

  const failure = async (memberId: string, kind: 'reconcile' | 'audit', e: unknown): Promise<string> => {
    const why =
      e instanceof DataApiBudgetLow
        ? `UIS Data API point budget (${e.window}) is nearly spent: the check resumes after it resets`
        : `${(e as { code?: string }).code ?? 'ERROR'}: ${e instanceof Error ? e.message.slice(0, 300) : String(e)}`;
    await deps.recovery.noteRun(memberId, kind, why);
    log.warn({ memberId, why }, `bridge ${kind} did not finish`);
    return why;
  };

  async function reconcileNow(memberId: string): Promise<{ recovered: number }> {
    const link = await usableLink(memberId);
    if (!link) return { recovered: 0 };
    const targets = await activeTargets(memberId);
    if (!targets.length) return { recovered: 0 };
    const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
    const now = deps.clock.now();
    try {
      const zone = await zoneOf(memberId, { call: (m, p) => call(memberId, api, m, p ?? {}) });
      const startOf = (t: RecoveryTarget) => Math.max(now - MAX_WINDOW, t.boundAt, (t.reconciledTill ?? t.boundAt) - overlap);
      const byChatChannel = new Map(targets.map((t) => [t.chatChannelId, t]));
      const from = Math.min(...targets.map(startOf));
      const rows = await allRows(memberId, api, 'get.chat_messages_report', {
        date_from: dataApiDateTime(from, zone),
        date_till: dataApiDateTime(now + 60_000, zone),
        filter: { field: 'channel_id', operator: 'in', value: [...byChatChannel.keys()].map(Number) },
        fields: MESSAGE_FIELDS,
        sort: [{ field: 'date_time', order: 'asc' }],
      });
      const mine = rows.filter((r) => {
        const t = byChatChannel.get(String(r.channel_id));
        const at = parseDataApiDateTime(r.date_time, zone);
        // the report has whole seconds: a message of the binding's second counts as the line's
        return !!t && at !== null && at >= Math.floor(t.boundAt / 1000) * 1000;
      });
      const recovered = await recoverRows(memberId, link, api, zone, mine, await adapterChannels(memberId, link.connectionId));
      if (recovered) deps.wake(memberId);
      for (const t of targets) await deps.recovery.setReconciledTill(memberId, t.lineId, t.channelId, now);
      await deps.recovery.noteRun(memberId, 'reconcile', null);
      return { recovered };
    } catch (e) {
      await failure(memberId, 'reconcile', e);
      throw e;
    }
  }

  async function auditNow(memberId: string): Promise<{ checked: number; recovered: number; repaired: number }> {
    const none = { checked: 0, recovered: 0, repaired: 0 };
    const link = await usableLink(memberId);
    if (!link) return none;
    const targets = new Map((await activeTargets(memberId)).map((t) => [t.channelId, t]));
    const chats = (await deps.recovery.chatsToAudit(memberId, auditChats)).filter((c) => targets.has(c.channelId));
    if (!chats.length) {
      await deps.recovery.noteRun(memberId, 'audit', null);
      return none;
    }
    if (deps.gateway.limiter(memberId).level() >= restBusy) {
      await failure(memberId, 'audit', new Error('the portal\'s REST budget is busy with the relay: the audit waits'));
      return none;
    }
    const startedAt = new Date(deps.clock.now()).toISOString();
    const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
    try {
      const zone = await zoneOf(memberId, { call: (m, p) => call(memberId, api, m, p ?? {}) });
      const now = deps.clock.now();
      const rows = await allRows(memberId, api, 'get.chat_messages_report', {
        chat_ids: chats.map((c) => Number(c.uisChatId)),
        date_from: dataApiDateTime(now - MAX_WINDOW, zone),
        date_till: dataApiDateTime(now + 60_000, zone),
        fields: MESSAGE_FIELDS,
      });
      const chatOf = new Map(chats.map((c) => [c.uisChatId, c]));
      const visitorRows = rows.filter((r) => {
        const c = chatOf.get(String(r.chat_id));
        const at = parseDataApiDateTime(r.date_time, zone);
        return r.source === 'visitor' && !!c && at !== null && at >= Math.floor(targets.get(c.channelId)!.boundAt / 1000) * 1000;
      });
      // what no callback brought: the reconcile's path (the worker is woken once the repairs are queued
      // too, so a chat's messages leave in UIS order)
      const recovered = await recoverRows(memberId, link, api, zone, visitorRows, await adapterChannels(memberId, link.connectionId));
      // what was relayed: is it in the session it went into?
      const links = new Map((await deps.recovery.linksOfChats(memberId, chats.map((c) => c.uisChatId))).map((l) => [l.key, l]));
      const expected = visitorRows.flatMap((r) => {
        const l = links.get(String(r.id));
        return l && l.state === 'relayed' && l.b24SessionId ? [{ row: r, sessionId: l.b24SessionId }] : [];
      });
      const sessions = [...new Set(expected.map((x) => x.sessionId))];
      const read = sessions.slice(0, MAX_BATCH);
      const held = new Map<string, Set<string>>();
      if (read.length) {
        const calls = Object.fromEntries(read.map((s) => [`s${s}`, { method: 'imopenlines.session.history.get', params: { SESSION_ID: Number(s) } }]));
        const res = await deps.gateway.client(memberId).batch(calls);
        for (const s of read) {
          const raw = res.result[`s${s}`];
          if (raw === undefined || res.errors[`s${s}`]) continue; // unreadable: not judged
          try {
            held.set(s, midsOfHistory(raw).mids);
          } catch {
            // an answer we cannot read is not evidence of a loss
          }
        }
      }
      const unjudged = new Set(expected.filter((x) => !held.has(x.sessionId)).map((x) => String(x.row.chat_id)));
      let repaired = 0;
      for (const { row, sessionId } of expected) {
        if (held.get(sessionId)?.has(String(row.id)) !== false) continue;
        if (await resend(memberId, link, zone, row)) repaired++;
      }
      if (repaired) {
        await deps.recovery.count(memberId, 'repaired', repaired);
        deps.counted?.('open-line', repaired);
        log.error({ memberId, repaired }, 'loss audit: messages the bridge relayed are missing in the open line; sent again');
      }
      if (recovered || repaired) deps.wake(memberId);
      await deps.recovery.markAudited(
        memberId,
        chats.map((c) => c.uisChatId).filter((id) => !unjudged.has(id)),
        startedAt,
      );
      await deps.recovery.noteRun(memberId, 'audit', unjudged.size ? `${unjudged.size} chat(s) could not be read in Bitrix24; checked again next time` : null);
      return { checked: chats.length - unjudged.size, recovered, repaired };
    } catch (e) {
      await failure(memberId, 'audit', e);
      throw e;
    }
  }

  /** A relayed message the open line does not hold → one more `in` job (once per message, ever). */
  async function resend(memberId: string, link: UisLink & { connectionId: string }, zone: string, r: Row): Promise<boolean> {
    const uisChatId = String(r.chat_id);
    const messageId = String(r.id);
    const chat = await repo.chat(memberId, uisChatId);
    if (!chat?.visitorId) return false;
    const at = parseDataApiDateTime(r.date_time, zone);
    const resource = r.resource && typeof r.resource === 'object' ? (r.resource as Row) : null;
    const fileName = resource ? String(resource.file_name ?? '') : '';
    const text = typeof r.text === 'string' ? r.text : '';
    const ok = await repo.enqueue({
      memberId,
      kind: 'in',
      chatKey: uisChatId,
      idemKey: `repair:${messageId}`,
      dueAt: deps.clock.now(),
      payload: {
        uisChatId,
        channelId: chat.channelId,
        accountId: link.connectionId,
        messageId,
        source: 'visitor',
        operatorId: null,
        text: fileName ? `${text}${text ? '\n' : ''}[файл: ${fileName}]` : text,
        createdAt: at === null ? null : new Date(at).toISOString(),
        resource: null,
        repaired: true,
      },
    });
    if (ok) await repo.updateLink(memberId, 'uis', messageId, { state: 'queued', error: 'sent again: the loss audit did not find it in the open line' });
    else log.error({ memberId, uisChatId, messageId }, 'loss audit: a message sent again is still missing in the open line; not sent a third time');
    return ok;
  }

  let stopped = false;
  /** lets go of the periodic rounds' leases (stop) */
  let releasePolls = async (): Promise<void> => {};
  const self: BridgeRecovery = {
    reconcile: (memberId) => serial(memberId, () => reconcileNow(memberId)),
    audit: (memberId) => serial(memberId, () => auditNow(memberId)),
    soon(memberId) {
      if (scheduled.has(memberId)) return;
      scheduled.add(memberId);
      void serial(memberId, async () => {
        scheduled.delete(memberId);
        await reconcileNow(memberId).catch(() => undefined);
      });
    },
    async idle() {
      while (running.size) await Promise.all([...running.values()]);
    },
    start(s) {
      // a cluster: the instance that did a portal's round keeps doing it, the others skip the portal
      const polls = { reconcile: createPollLeases(deps.lease, 'poll:bridge-reconcile', log), audit: createPollLeases(deps.lease, 'poll:bridge-audit', log) };
      const each = async (kind: 'reconcile' | 'audit') => {
        const list = await s.portals();
        await polls[kind].keepOnly(list);
        for (const memberId of list) {
          if (stopped) break;
          if (!(await polls[kind].mine(memberId).catch(() => false))) continue;
          await (kind === 'reconcile' ? self.reconcile(memberId) : self.audit(memberId)).catch(() => undefined);
        }
      };
      releasePolls = async () => {
        await polls.reconcile.releaseAll();
        await polls.audit.releaseAll();
      };
      void (async () => {
        // start-up: every bound portal's relay gated at once, reconciled `startupConcurrency` at a
        // time (a slow one holds only its own slot, not the others' relay)
        // the lookup may wait (PostgreSQL): a relay round already running is not held back by the gates
        let list: string[];
        try {
          list = await s.portals();
        } catch (e) {
          log.warn({ err: e }, 'bound portals not read: the start-up reconcile is skipped');
          list = [];
        }
        const holdMs = s.holdMs ?? 30_000;
        const until = deps.clock.now() + holdMs;
        for (const m of list) s.hold?.gate(m, until);
        let next = 0;
        const lane = async () => {
          for (let i = next++; i < list.length; i = next++) {
            const m = list[i]!;
            // stopped before its turn: its relay is let go
            if (stopped) {
              await s.hold?.ungate(m);
              continue;
            }
            // its hold counts from its turn: a portal late in the line still waits at most holdMs for its own reconcile
            s.hold?.gate(m, deps.clock.now() + holdMs);
            await self.reconcile(m).catch(() => undefined).finally(() => s.hold?.ungate(m));
          }
        };
        await Promise.all(Array.from({ length: Math.min(startupConcurrency, list.length) }, lane));
        while (!stopped) {
          await deps.clock.sleep(s.reconcileMs);
          if (!stopped) await each('reconcile');
        }
      })();
      void (async () => {
        while (!stopped) {
          await deps.clock.sleep(s.auditMs);
          if (!stopped) await each('audit');
        }
      })();
    },
    stop() {
      stopped = true;
      void releasePolls().catch(() => undefined);
    },
  };
  return self;
}
