import { ReauthRequiredError } from '../../bitrix/errors';
import type { UisProject } from '../../contracts/uis';
import { defaultTelephonySettings, type TelephonySettings } from '../../contracts/telephony-settings';
import { backoffDelay } from '../../domain/backoff';
import type { Clock } from '../../domain/clock';
import { callParamsUsed } from '../../domain/crm-rules/call-params';
import type { CallEmployee, CallFacts, CrmMode } from '../../domain/crm-rules/call-types';
import { decideCall } from '../../domain/crm-rules/decide-call';
import type { CrmEntityType, Found } from '../../domain/crm-rules/types';
import { phoneDigits } from '../../domain/phone';
import { callFacts, cardUsers, foldCall, phaseOf, type CallTrack } from '../../domain/telephony/track';
import type { CallReport } from '../../domain/telephony/events';
import { dataApiDateTime, parseDataApiDateTime } from '../../domain/uis-time';
import type { Logger } from '../../logging';
import { accountZones } from '../../uis/account-zone';
import { CALL_LEGS_FIELDS, CALLS_REPORT_FIELDS, callLegOf, callReportOf } from '../../uis/call-reports';
import { dataApiAll, dataApiForLink, type DataApiClient } from '../../uis/data-api';
import { budgetedClient, DataApiBudgetLow, type DataApiBudget } from '../../uis/data-api-budget';
import type { EmployeeDirectory } from '../employee-sync/ports';
import { createJobLoop } from '../job-loop';
import type { AsyncPort } from '../async-port';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import { applyCalls, applyCreates, downloadRecordings, resolvedLink, resolvedOps, type Work } from './apply';
import type { TelephonyCall, TelephonyRepository } from './ports';
import type { TelephonyStart, TelephonyStartRepository } from './start-ports';
import { isNewPhase, newProgress, type CallPlan, type CallProgress } from './progress';
import { crmModeOf, searchClients } from './search';

export interface TelephonyWorkerDeps {
  telephony: TelephonyRepository;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  /** the employee sync's pairing: a UIS employee → his Bitrix24 user */
  employees: AsyncPort<EmployeeDirectory>;
  /** CRM items a call created or changed (the personal-manager map reads them again, issue #14). */
  crmWritten?(memberId: string, refs: Array<{ type: CrmEntityType; id: number }>): void;
  /** calls started from Bitrix24 (issue #14), found by the external_id of their session */
  starts?: TelephonyStartRepository;
  budget: DataApiBudget;
  /** the portals' REST bucket (config B24_RATE_LIMIT): a busy portal's run gathers more calls */
  rateLimit?: { drainPerSec: number; burst: number };
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

export interface TelephonyWorkerOptions {
  /** notifications of a burst within this window go out together (default 10 ms) */
  gatherMs?: number;
  /** calls one run takes (default 200) */
  runLimit?: number;
  /** an ended call whose report the rules need waits for it this many times (default 3) */
  reportRetries?: number;
  maxAttempts?: number;
}

export interface TelephonyWorker {
  wake(delayMs?: number): void;
  drain(): Promise<void>;
  stop(): void;
  idle(): Promise<void>;
  /** Reconciliation over get.calls_report (reconcile.ts) makes calls due through the repository, then wakes this. */
  readonly gatherMs: number;
}

/** Parameters the notifications never carry: only get.calls_report (and its legs) have them. */
const REPORT_PARAMS = new Set(['campaign_id', 'first_campaign_id', 'site_id', 'source_id', 'last_operation_id', 'group_id']);
const REPORT_VARS = new Set(['campaign_name', 'first_campaign_name', 'site_domain_name', 'source_name', 'last_operation_name', 'group_name', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content']);
const MODE_TTL_MS = 10 * 60_000;
/** A recording not ready yet is looked for again after this, growing (UIS makes it "with a delay"). */
const recordBackoff = (tries: number) => backoffDelay({ baseMs: 10_000, capMs: 30 * 60_000 }, tries);
const MAX_RECORD_TRIES = 12;
/** The requests a run of a busy portal typically sends (search, creations, calls), and the longest it waits to send them together. */
const REQUESTS_PER_RUN = 3;
const MAX_GATHER_MS = 10_000;

/** Whether the end of this call should wait for its get.calls_report row. */
export function needsReport(s: TelephonySettings, t: CallTrack): boolean {
  if (t.reported || !t.ended) return false;
  // an unanswered outgoing call: the report's finish_reason gives Bitrix24 the right STATUS_CODE
  if (t.direction === 'out' && !t.answered) return true;
  const params = callParamsUsed(s, t.direction);
  if ([...params].some((p) => REPORT_PARAMS.has(p))) return true;
  const dir = t.direction === 'in' ? 'incoming' : 'outgoing';
  const texts = [...Object.values(s.templates[dir].defaults), ...s.templates[dir].rules.flatMap((r) => [r.lead, r.deal])].join(' ');
  const vars = [...texts.matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]!);
  return vars.some((v) => REPORT_VARS.has(v)) || s.fields.some((f) => REPORT_VARS.has(f.uisField));
}

/**
 * «Телефония»: every UIS call of a portal into Bitrix24 external telephony. A call is a durable job
 * (re-opened by each notification and by the report's reconciliation). A run takes a portal's due
 * calls, folds what UIS said about each, asks the rules (`decideCall`) at the points the call
 * reached, and applies the decisions of all of them together: one client search, the CRM writes,
 * then register / show / hide / finish, then the recordings — each step a few `batch` requests
 * shared by every call of the run, so a burst costs well under one request per call. One run per
 * portal at a time (the job loop), and at most one undecided call per client number in a run, so a
 * burst of calls from one new client creates one lead.
 */
export function createTelephonyWorker(deps: TelephonyWorkerDeps, o: TelephonyWorkerOptions = {}): TelephonyWorker {
  const gatherMs = o.gatherMs ?? 10;
  const runLimit = o.runLimit ?? 200;
  const reportRetries = o.reportRetries ?? 3;
  const maxAttempts = o.maxAttempts ?? 10;
  const log = deps.log.child({ component: 'telephony' });
  const zoneOf = accountZones();
  const modes = new Map<string, { mode: CrmMode; at: number }>();
  const backoff = (attempts: number) => backoffDelay({ baseMs: 2_000, capMs: 30 * 60_000 }, attempts);

  async function crmMode(memberId: string): Promise<CrmMode> {
    const m = modes.get(memberId);
    if (m && deps.clock.now() - m.at < MODE_TTL_MS) return m.mode;
    let mode: CrmMode = 'classic';
    try {
      mode = crmModeOf((await deps.gateway.client(memberId).call('crm.settings.mode.get')).result);
    } catch (e) {
      if (e instanceof ReauthRequiredError) throw e;
      log.warn({ memberId, code: (e as { code?: string }).code }, 'crm.settings.mode.get failed: classic CRM assumed');
    }
    modes.set(memberId, { mode, at: deps.clock.now() });
    return mode;
  }

  /** get.calls_report rows (and legs when a group is filtered on) of ended calls the rules wait for. */
  async function readReports(api: DataApiClient, memberId: string, zone: string, works: Work[], withLegs: boolean): Promise<Map<number, CallReport>> {
    const out = new Map<number, CallReport>();
    if (!works.length) return out;
    const now = deps.clock.now();
    const from = Math.max(now - 80 * 86_400_000, Math.min(...works.map((w) => w.track.startedAt)) - 86_400_000);
    const window = { date_from: dataApiDateTime(from, zone), date_till: dataApiDateTime(now + 86_400_000, zone) };
    const ids = works.map((w) => w.row.sessionId);
    const r = await deps.budget.call<Array<Record<string, unknown>>>(memberId, api, 'get.calls_report', {
      ...window,
      fields: [...CALLS_REPORT_FIELDS],
      filter: { field: 'id', operator: 'in', value: ids },
      limit: ids.length,
    });
    for (const row of Array.isArray(r.data) ? r.data : []) {
      const rep = callReportOf(row, zone);
      if (rep) out.set(rep.id, rep);
    }
    if (withLegs && out.size) {
      const legs = await dataApiAll<Record<string, unknown>>(budgetedClient(deps.budget, memberId, api), 'get.call_legs_report', { ...window, fields: [...CALL_LEGS_FIELDS], filter: { field: 'call_session_id', operator: 'in', value: [...out.keys()] } }, 1000);
      for (const row of legs) {
        const leg = callLegOf(row, zone);
        const rep = leg && out.get(leg.sessionId);
        if (rep) (rep.legs ??= []).push(leg);
      }
    }
    return out;
  }

  /** When each portal's last run started and how many calls it took. */
  const lastRun = new Map<string, { at: number; calls: number }>();
  /**
   * A busy portal's runs are paced to what its REST bucket refills for one run, and wait while the
   * bucket is full, so what becomes due meanwhile joins the next run: a burst of calls shares its
   * requests instead of spending them one call at a time. A portal is busy when its last run, just
   * before, took more than one call; a lone call (an idle portal) never waits.
   */
  async function gather(memberId: string): Promise<void> {
    if (!deps.rateLimit) return;
    const msPerRequest = 1000 / deps.rateLimit.drainPerSec;
    const prev = lastRun.get(memberId);
    const now = deps.clock.now();
    let wait = prev && prev.calls > 1 ? prev.at + REQUESTS_PER_RUN * msPerRequest - now : 0;
    const capacity = Math.max(1, deps.rateLimit.burst - 4);
    const excess = deps.gateway.limiter(memberId).level() + REQUESTS_PER_RUN - capacity;
    if (excess > 0) wait = Math.max(wait, excess * msPerRequest);
    if (wait > 0) await deps.clock.sleep(Math.min(MAX_GATHER_MS, wait));
  }

  async function processPortal(memberId: string): Promise<void> {
    await gather(memberId);
    const now = deps.clock.now();
    const rows = await deps.telephony.due(memberId, now, runLimit);
    lastRun.set(memberId, { at: now, calls: rows.length });
    if (!rows.length) return;
    const settings = (await deps.telephony.getSettings(memberId))?.settings ?? defaultTelephonySettings();
    const link = await deps.links.get(memberId);
    const api = link ? dataApiForLink(link, deps.uisEndpoints, deps.fetch) : null;
    let zone = 'Europe/Moscow';
    if (api) zone = await zoneOf(memberId, api).catch(() => zone);
    const notes = await deps.telephony.notifications(memberId, rows.map((r) => r.sessionId));
    // the employee sync's pairing, asked once per employee of the run (the domain reads it synchronously)
    const paired = new Map<number, number | null>();
    const pair = async (ids: Array<number | null>) => {
      for (const id of ids) if (id !== null && !paired.has(id)) paired.set(id, await deps.employees.b24UserFor(memberId, id));
    };
    const userOf = (id: number) => paired.get(id) ?? null;
    const employee = (id: number): CallEmployee => ({ employeeId: id, userId: userOf(id), name: null });
    const externalIds = rows.flatMap((r) => [r.report?.externalId, ...(notes.get(r.sessionId) ?? []).map((n) => n.externalId)]).filter((x): x is string => !!x);
    const starts = deps.starts && externalIds.length ? await deps.starts.get(memberId, externalIds) : new Map<string, TelephonyStart>();
    const works: Work[] = rows.map((row) => {
      const track = foldCall(row.sessionId, notes.get(row.sessionId) ?? [], row.report, (s) => parseDataApiDateTime(s, zone), now);
      const state: CallProgress = { ...newProgress(), ...structuredClone(row.state ?? {}) };
      // a call started from Bitrix24 (issue #14: a click, registered by the portal; the callback form,
      // registered by us as TYPE 4): our external_id names its CALL_ID — never registered again, no
      // items created (Bitrix24 bound it to the client's item), finished for the user it was registered for
      const started = track.externalId ? starts.get(track.externalId) : undefined;
      if (!state.callId && started?.callId && started.userId) {
        state.callId = started.callId;
        state.origin = 'bitrix';
        state.link ??= { request: 'repeat', registeredUserId: started.userId, created: [] };
      }
      return { row, track, state, cards: null, error: null, completed: [] };
    });
    const status = new Map<Work, { status: TelephonyCall['status']; dueAt?: number; outcome?: string; reason?: string | null; attempts?: number }>();
    const rest = deps.gateway.client(memberId);
    const save = (w: Work) => deps.telephony.saveState({ ...w.row, state: w.state });

    // 1. the report, where the end of a call needs it (attribution, finish reason)
    const wantReport = works.filter((w) => !w.state.plan && isNewPhase(w.state.decided, phaseOf(w.track)) && needsReport(settings, w.track) && w.state.reportTries < reportRetries);
    if (wantReport.length && api && settings.enabled) {
      try {
        const reports = await readReports(api, memberId, zone, wantReport, callParamsUsed(settings, 'in').has('group_id'));
        for (const w of wantReport) {
          const rep = reports.get(w.row.sessionId);
          if (rep) w.track = foldCall(w.row.sessionId, notes.get(w.row.sessionId) ?? [], rep, (s) => parseDataApiDateTime(s, zone), now);
          else {
            w.state.reportTries++;
            status.set(w, { status: 'pending', dueAt: now + backoffDelay({ baseMs: 5_000, factor: 3 }, w.state.reportTries - 1), outcome: 'waits-for-report', reason: 'UIS does not list the call in get.calls_report yet' });
          }
        }
      } catch (e) {
        if (e instanceof DataApiBudgetLow) {
          // the account's points are spent: wait for them rather than decide without the report (a filter on what only it knows would drop the call)
          for (const w of wantReport) status.set(w, { status: 'pending', dueAt: e.retryAt, outcome: 'waits-for-budget', reason: e.message });
        } else {
          log.warn({ memberId, code: (e as { code?: string }).code }, 'get.calls_report failed: the end is decided with what the notifications say');
          for (const w of wantReport) w.state.reportTries = reportRetries;
        }
      }
    }

    // 2. decide, one undecided call per client number; search the clients of those that may act
    const phones = new Set<string>();
    const deciding: Array<{ w: Work; facts: CallFacts }> = [];
    for (const w of works) {
      if (status.has(w)) continue;
      const due = w.state.followUp && w.state.followUp.dueAt <= now;
      if (w.state.plan || !(due || isNewPhase(w.state.decided, phaseOf(w.track)))) continue;
      if (due) {
        w.state.plan = w.state.followUp!.plan;
        w.state.followUp = null;
        continue;
      }
      const phone = w.track.contactPhone;
      if (phone && phones.has(phone)) {
        status.set(w, { status: 'pending', dueAt: now, outcome: w.row.outcome ?? 'queued', reason: 'another call of this client is being decided first' });
        continue;
      }
      if (phone) phones.add(phone);
      await pair([w.track.caller, ...w.track.talkers]);
      deciding.push({ w, facts: callFacts(w.track, employee) });
    }
    const mode = deciding.length ? await crmMode(memberId) : 'classic';
    const input = (w: Work, facts: CallFacts, found: Found | null, missed: number[]) =>
      decideCall({ settings, facts, found, link: w.state.link, crmMode: mode, openMissedCalls: missed, timeZone: zone });
    const searchFor: Array<{ w: Work; facts: CallFacts }> = [];
    for (const d of deciding) {
      const pre = input(d.w, d.facts, null, []);
      if (pre.action === 'skip' && pre.reason !== 'no-user') skipped(d.w, pre.reason, pre.detail, phaseOf(d.w.track));
      else searchFor.push(d);
    }
    if (searchFor.length) {
      const fields: Partial<Record<CrmEntityType, string[]>> = {};
      for (const f of settings.fields) (fields[f.entity] ??= []).push(f.b24Field);
      // a new client at the start of the call is still new at its end (but for what the call itself
      // created): the end asks Bitrix24 again only when the rules look at the items' state then
      const again = (d: (typeof searchFor)[number]) => !(d.w.state.newClient && d.facts.phase === 'end' && !settings.processing.otherTelephony && !settings.fields.some((f) => f.alwaysUpdate));
      const NONE: Found = { leads: [], deals: [], contacts: [], companies: [] };
      const found = await searchClients(rest, searchFor.filter(again).map((d) => d.facts.contactPhone!).filter(Boolean), fields);
      for (const d of searchFor) {
        const client = again(d) ? (found.get(d.facts.contactPhone!) ?? null) : NONE;
        if (d.w.state.decided === null && client) d.w.state.newClient = client.leads.length + client.deals.length + client.contacts.length + client.companies.length === 0;
        const digits = phoneDigits(d.facts.contactPhone);
        const missed = d.facts.direction === 'in' && d.facts.answered && d.facts.phase === 'end' && digits ? await deps.telephony.openMissed(memberId, digits, d.w.row.sessionId) : [];
        const decision = input(d.w, d.facts, client, missed.map((m) => m.activityId));
        const phase = phaseOf(d.w.track);
        if (decision.action === 'skip') {
          skipped(d.w, decision.reason, decision.detail, phase);
          continue;
        }
        const plan: CallPlan = { phase, ops: decision.ops, register: decision.register, finish: decision.finish, attachRecording: decision.attachRecording, followUp: decision.followUp, link: decision.link };
        d.w.state.plan = plan;
        d.w.state.skip = null;
        d.w.row.outcome = decision.request;
      }
    }

    // 3. cards: whom the card shows to now (once the call is registered)
    for (const w of works) {
      if (w.track.ended || w.state.finished) w.cards = [];
      else {
        await pair([...w.track.ringing, w.track.talking]);
        w.cards = cardUsers(w.track, userOf);
      }
    }

    // 4. apply everything together
    const endpoints = deps.uisEndpoints(link?.project ?? 'uis');
    const recordingHosts = Object.values(endpoints).flatMap((u) => {
      try {
        return [new URL(u).hostname.toLowerCase()];
      } catch {
        return [];
      }
    });
    const applyDeps = { rest, save, fetch: deps.fetch, log, recordingHosts };
    try {
      await applyCreates(applyDeps, works);
      const recordings = await downloadRecordings(applyDeps, works, (w, reason) => {
        w.state.record.tries++;
        w.state.record.lastError = reason;
        if (w.state.record.tries >= MAX_RECORD_TRIES) w.state.record.gaveUp = true;
      });
      await applyCalls(applyDeps, works, recordings);
      finishPlans(works);
    } catch (e) {
      if (e instanceof ReauthRequiredError) {
        for (const w of works) w.error ??= { message: 'REAUTH_REQUIRED: an administrator must open the app again', permanent: true };
      } else {
        const message = (e as Error).message;
        for (const w of works) w.error ??= { message, permanent: false };
      }
    }

    // 5. close every row of the run
    for (const w of works) {
      if (w.completed.length) await deps.telephony.closeMissed(memberId, w.completed);
      if (w.state.finished && w.state.activityId && w.track.direction === 'in' && !w.track.answered && w.row.state?.activityId !== w.state.activityId) {
        const digits = phoneDigits(w.track.contactPhone);
        if (digits) await deps.telephony.setMissed(memberId, w.row.sessionId, w.state.activityId, true);
      }
      await deps.telephony.finish({ ...w.row, state: w.state }, outcomeOf(w, status.get(w)));
    }
    const applied = works.filter((w) => !w.error).length;
    if (applied) log.debug({ memberId, calls: works.length, applied }, 'telephony run');
  }

  function skipped(w: Work, reason: string, detail: string, phase: ReturnType<typeof phaseOf>): void {
    w.state.decided = phase;
    w.state.skip = { reason, detail };
    w.row.outcome = `skip:${reason}`;
  }

  /** Plans whose every step is done become the call's link (and its follow-up, its recording). */
  function finishPlans(works: Work[]): void {
    for (const w of works) {
      const plan = w.state.plan;
      if (!plan || w.error) continue;
      if (plan.ops.some((op) => w.state.ops[op.key]?.state !== 'done')) continue;
      if (plan.register && !w.state.callId) continue;
      if (plan.finish && !w.state.finished) continue;
      w.state.link = resolvedLink(w, plan);
      const updated = resolvedOps(w, plan, plan.ops).flatMap((op) => (op.op === 'update' ? [op.target] : []));
      const written = [...w.state.link.created.map((c) => c.entity), ...updated].filter((t): t is { type: CrmEntityType; id: number } => 'id' in t);
      deps.crmWritten?.(w.row.memberId, written);
      if (plan.phase !== 'followUp') w.state.decided = plan.phase;
      if (plan.followUp) {
        const f = plan.followUp;
        w.state.followUp = { dueAt: f.dueAt, plan: { phase: 'followUp', ops: resolvedOps(w, plan, f.ops), register: null, finish: f.finish, attachRecording: f.attachRecording, followUp: null, link: w.state.link } };
      }
      if (plan.attachRecording) w.state.record.wanted = true;
      w.state.plan = null;
    }
  }

  function outcomeOf(w: Work, set: { status: TelephonyCall['status']; dueAt?: number; outcome?: string; reason?: string | null; attempts?: number } | undefined) {
    const now = deps.clock.now();
    const outcome = w.row.outcome;
    if (w.error) {
      const attempts = w.row.attempts + 1;
      if (w.error.permanent || attempts >= maxAttempts) {
        log.error({ memberId: w.row.memberId, sessionId: w.row.sessionId }, `telephony: call failed: ${w.error.message}`);
        return { status: 'failed' as const, outcome: 'failed', reason: w.error.message, attempts };
      }
      log.warn({ memberId: w.row.memberId, sessionId: w.row.sessionId, attempts }, `telephony: call postponed: ${w.error.message}`);
      return { status: 'pending' as const, dueAt: now + backoff(attempts), outcome, reason: w.error.message, attempts };
    }
    if (set) return { status: set.status, dueAt: set.dueAt, outcome: set.outcome ?? outcome, reason: set.reason ?? null };
    const s = w.state;
    if (s.plan) return { status: 'pending' as const, dueAt: now, outcome, reason: null };
    if (s.followUp) return { status: 'pending' as const, dueAt: s.followUp.dueAt, outcome, reason: 'the responsible is updated later («Обновлять ответственного через»)' };
    const reason = s.skip ? s.skip.detail : null;
    // cards still to show or hide (a register this run made): once more now
    if (s.callId && !s.finished && w.cards && (w.cards.some((u) => !s.shown.includes(u)) || s.shown.some((u) => !w.cards!.includes(u)))) {
      return { status: 'pending' as const, dueAt: now, outcome, reason };
    }
    if (!w.track.ended) return { status: 'waiting' as const, outcome, reason };
    const registered = !!s.callId || !!s.link?.registeredUserId;
    if (registered && !s.finished) return { status: 'pending' as const, dueAt: now, outcome, reason };
    const r = s.record;
    if (r.wanted && !r.gaveUp && (w.track.recordings.length === 0 || w.track.recordings.some((x) => !r.attached.includes(x.id)))) {
      if (w.track.recordings.length === 0 && r.tries >= MAX_RECORD_TRIES) {
        s.record.gaveUp = true;
        return { status: 'done' as const, outcome, reason: 'no recording came from UIS' };
      }
      if (w.track.recordings.length === 0) s.record.tries++;
      // a «Записанный разговор» notification or the reconciliation re-opens it sooner
      return { status: 'pending' as const, dueAt: now + recordBackoff(r.tries), outcome, reason: r.lastError ?? 'waits for the recording' };
    }
    return { status: 'done' as const, outcome, reason: r.gaveUp && r.lastError ? `recording: ${r.lastError}` : reason };
  }

  const loop = createJobLoop({
    name: 'telephony',
    clock: deps.clock,
    log,
    debounceMs: gatherMs,
    portalsWithDueJobs: (now) => deps.telephony.portalsWithDue(now),
    nextDueAt: () => deps.telephony.nextDueAt(),
    processPortal,
    lease: deps.gateway.leases,
  });

  return {
    wake: (d) => loop.wake(d),
    drain: () => loop.drain(),
    stop: () => loop.stop(),
    idle: () => loop.idle(),
    gatherMs,
  };
}
