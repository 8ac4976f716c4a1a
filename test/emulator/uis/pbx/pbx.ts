/**
 * The virtual PBX of one emulated UIS account: directories (virtual numbers, scenarios, groups,
 * employees' phones and extensions, SIP lines), live call sessions with their legs, recordings,
 * HTTP notifications and interactive call processing. Sessions are driven step by step (a test, the
 * sandbox page /pbx, or the behaviours set with `behave`), on the emulator's clock.
 *
 * The session model follows the reports (data_api/report/get_calls_report, get_call_legs_report):
 * a session has a contact leg and employee/operator legs; `finish_reason`, `is_lost`,
 * `is_transfer`, durations and `employees[]` are derived from the legs. Which notification fires
 * when follows the event names of docs/facts/telephony.md#notifications («Входящий звонок на виртуальный номер» → per
 * ringing leg «Ожидание ответа» → «Начало разговора» → «Окончание разговора» → «Завершение звонка»,
 * «Потерянный звонок» for a lost incoming call, «Записанный разговор» when the file is ready).
 */
import type { AccountImpl } from '../account';
import { PointBudget } from '../dataapi/limits';
import { dataApiDateTime } from '../time';
import type { World } from '../world';
import { runInteractive, type InteractiveLogEntry } from './interactive';
import { NotificationDispatcher, type EventType, type NotificationConfig, type NotificationFaults } from './notify';
import { mp3Bytes } from './recording';
import { PbxIds, seedPbx } from './seed';
import type { CallSession, EmployeeTelephony, Group, Leg, Operation, Recording, Scenario, SipLine, VirtualNumber } from './types';

export type Party = 'employee' | 'contact' | 'operator';
/** Who a test means: an employee id, a party, or a phone number. */
export type Who = number | Party | { phone: string };

export interface Behaviour {
  /** what the party does when its phone rings */
  action: 'answer' | 'busy' | 'no-answer' | 'manual';
  /** after how long (clock ms; default 3000) */
  afterMs?: number;
  /** once talking, hang up after this long (clock ms); absent = a test hangs up */
  talkMs?: number;
}

export interface PbxSettings {
  /** «Записанный разговор» and the file come this long after the call ends (default 5000 ms) */
  recordingDelayMs: number;
  /** the file answers 404 for this much longer after «Записанный разговор» (default 0) */
  recordingFileLagMs: number;
  /** a finished session shows in get.calls_report / get.call_legs_report this long after it ended (default 0) */
  reportLagMs: number;
}

/** Call API switches (call_api/index.html: components, IP allowlist, account state, security rules). */
export interface CallApiSettings {
  componentEnabled: boolean;
  ipWhitelisted: boolean;
  accountActive: boolean;
  /** «Правила и настройки безопасности» → API: international calls are forbidden by default */
  internationalAllowed: boolean;
  /** the account's country code (numbers not starting with it are international) */
  countryCode: string;
  blacklist: Set<string>;
  /** tariff TTS length */
  ttsMaxLength: number;
  /** «Автоматическое управление номерами» (virtual_phone_usage_rule other than fixed) */
  autoNumberManagement: boolean;
}

export const digits = (s: unknown): string => (typeof s === 'string' || typeof s === 'number' ? String(s).replace(/\D+/g, '') : '');

const registry = new WeakMap<AccountImpl, Pbx>();
const idsByWorld = new WeakMap<World, PbxIds>();

/** The PBX of an account, created with its seed on first use. */
export function pbxOf(account: AccountImpl): Pbx {
  let p = registry.get(account);
  if (!p) {
    p = new Pbx(account);
    registry.set(account, p);
  }
  return p;
}

export interface CallHandle {
  readonly id: number;
  readonly session: CallSession;
  /** the leg of `who` that rings starts talking (default: the first ringing leg) */
  answer(who?: Who): void;
  /** `who` is busy: its ringing leg ends (operator_busy / subscriber_busy) */
  busy(who?: Who): void;
  /** `who` does not answer: its ringing leg ends (timeout); default: every ringing leg */
  noAnswer(who?: Who): void;
  /** the contact hangs up while the call still rings (a lost call) */
  abandon(): void;
  /** a talking side ends the call */
  hangup(by?: 'contact' | 'employee'): void;
  /** the talking employee transfers the call: `employeeId`'s phone rings (a transfer leg) */
  transfer(employeeId: number): void;
}

export class Pbx {
  readonly world: World;
  readonly ids: PbxIds;
  readonly virtualNumbers: VirtualNumber[];
  readonly scenarios: Scenario[];
  readonly groups: Group[];
  readonly telephony: EmployeeTelephony[];
  readonly sipLines: SipLine[];
  readonly sessions: CallSession[] = [];
  readonly recordings: Recording[] = [];
  readonly notifications: NotificationDispatcher;
  readonly interactiveLog: InteractiveLogEntry[] = [];
  readonly settings: PbxSettings = { recordingDelayMs: 5000, recordingFileLagMs: 0, reportLagMs: 0 };
  readonly callApi: CallApiSettings = {
    componentEnabled: true,
    ipWhitelisted: true,
    accountActive: true,
    internationalAllowed: false,
    countryCode: '7',
    blacklist: new Set(),
    ttsMaxLength: 500,
    autoNumberManagement: false,
  };
  /** Call API points («Баллов Call API в минуту/день»); charged for successful calls only */
  readonly callApiBudget: PointBudget;
  /** every Call API request (successful or not), for assertions */
  readonly callApiRequests: Array<{ method: string; params: Record<string, unknown>; ok: boolean; error?: string; at: number }> = [];
  readonly stats = { recordingDownloads: 0 };
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(readonly account: AccountImpl) {
    this.world = account.world;
    let ids = idsByWorld.get(this.world);
    if (!ids) idsByWorld.set(this.world, (ids = new PbxIds()));
    this.ids = ids;
    const index = Math.max(0, this.world.accounts.indexOf(account));
    const campaign = account.campaigns.find((c) => c.type === 'basic') ?? null;
    const seed = seedPbx(ids, account.employees, index, campaign?.id ?? null, account.sites.map((s) => s.id));
    this.virtualNumbers = seed.virtualNumbers;
    this.scenarios = seed.scenarios;
    this.groups = seed.groups;
    this.telephony = seed.telephony;
    this.sipLines = seed.sipLines;
    this.notifications = new NotificationDispatcher(this.world.clock, account.appId);
    this.callApiBudget = new PointBudget(this.world.clock);
  }

  // ------------------------------------------------------------------ configuration (tests, sandbox)

  /** An HTTP notification as an admin configures it in the UIS UI (default body: every variable of the type, unquoted JSON). */
  addNotification(c: Partial<NotificationConfig> & { eventType: EventType; url: string }): NotificationConfig {
    return this.notifications.addConfig(c);
  }

  /** Every event type to one URL (POST, the default JSON template of each type) — a shortcut for tests. */
  notifyAll(url: string, o: Partial<Omit<NotificationConfig, 'eventType' | 'url'>> = {}): NotificationConfig[] {
    const types: EventType[] = ['incoming_call', 'waiting_for_answer', 'talk_started', 'talk_finished', 'outgoing_call', 'call_finished', 'lost_call', 'call_recorded'];
    return types.map((eventType) => this.addNotification({ ...o, eventType, url: url.replace('{event}', eventType) }));
  }

  setNotificationFaults(f: NotificationFaults): void {
    this.notifications.faults = { ...f };
  }

  /** What a party does when its phone rings; `target`: an employee id, a phone number, or every 'employee' / 'contact' / 'operator'. */
  behave(target: number | string | Party, b: Behaviour): void {
    const key = typeof target === 'number' ? `employee:${target}` : ['employee', 'contact', 'operator'].includes(target) ? `party:${target}` : `phone:${digits(target)}`;
    if (b.action === 'manual' && b.talkMs === undefined) this.behaviours.delete(key);
    else this.behaviours.set(key, b);
  }

  /** The interactive-processing operation of a scenario (default: the first one of the account). */
  interactiveOperation(scenarioId?: number): Extract<Operation, { kind: 'interactive' }> {
    for (const s of this.scenarios) {
      if (scenarioId !== undefined && s.id !== scenarioId) continue;
      const op = s.operations.find((o) => o.kind === 'interactive');
      if (op && op.kind === 'interactive') return op;
    }
    throw new Error('uis emulator: no interactive-processing operation in that scenario');
  }

  // ------------------------------------------------------------------ lookups

  virtualNumber(n: string): VirtualNumber | undefined {
    const d = digits(n);
    return this.virtualNumbers.find((v) => v.number === d);
  }

  employee(id: number | null | undefined) {
    return id === null || id === undefined ? undefined : this.account.employees.find((e) => e.id === id);
  }

  telephonyOf(employeeId: number): EmployeeTelephony {
    let t = this.telephony.find((x) => x.employeeId === employeeId);
    if (!t) {
      // an employee created later (create.employees) gets the next free extension, no phones
      const used = new Set(this.telephony.map((x) => Number(x.extension)));
      let ext = 101;
      while (used.has(ext)) ext++;
      t = { employeeId, extension: String(ext), phones: [], callRecording: 'all' };
      this.telephony.push(t);
    }
    return t;
  }

  /** The employee a number (SIP, phone, extension) belongs to. */
  employeeByNumber(n: string): number | null {
    const d = digits(n);
    if (d === '') return null;
    for (const t of this.telephony) {
      if (t.extension === d || t.phones.some((p) => digits(p.phone_number) === d)) return t.employeeId;
    }
    return null;
  }

  activePhones(employeeId: number) {
    return this.telephonyOf(employeeId).phones.filter((p) => p.status === 'active');
  }

  scenario(id: number | null): Scenario | undefined {
    return id === null ? undefined : this.scenarios.find((s) => s.id === id);
  }

  session(id: number): CallSession | undefined {
    return this.sessions.find((s) => s.id === id);
  }

  /** A handle to drive a session (e.g. one started through the Call API). */
  call(id: number): CallHandle {
    const s = this.session(id);
    if (!s) throw new Error(`uis emulator: no call session ${id}`);
    return this.handle(s);
  }

  /** The latest session (the one a Call API request just started, say). */
  lastCall(): CallHandle {
    const s = this.sessions[this.sessions.length - 1];
    if (!s) throw new Error('uis emulator: no call sessions yet');
    return this.handle(s);
  }

  fullName(employeeId: number | null): string | null {
    return this.employee(employeeId)?.full_name ?? null;
  }

  // ------------------------------------------------------------------ starting calls

  /**
   * A client calls a virtual number: «Входящий звонок на виртуальный номер», then the scenario
   * runs (greeting, IVR with `dtmf`, interactive processing, ringing employees). Resolves once the
   * scenario reached ringing legs or ended.
   */
  async incoming(o: { from: string; to: string; dtmf?: string }): Promise<CallHandle> {
    const vn = this.virtualNumber(o.to);
    if (!vn) throw new Error(`uis emulator: ${o.to} is not a virtual number of account ${this.account.appId}`);
    const contact = digits(o.from);
    if (contact === '') throw new Error('uis emulator: the caller needs a number');
    const scenario = vn.status === 'active' ? this.scenario(vn.scenarioId) : undefined;
    const s = this.newSession({
      direction: 'in',
      source: vn.type === 'va' ? 'va' : 'call_tracking',
      virtualNumber: vn.number,
      contactNumber: contact,
      scenario,
      dtmf: o.dtmf ?? null,
    });
    const now = this.now();
    // the contact's own leg: the PBX picks the call up at once (greeting, menu…)
    s.legs.push(this.newLeg(s, { party: 'contact', direction: 'in', calling: contact, called: vn.number, connectedAt: now, state: 'talking' }));
    this.emit('incoming_call', s, {});
    if (vn.status !== 'active') {
      this.endSession(s, 'numb_is_inactive');
      return this.handle(s);
    }
    if (!scenario) {
      this.endSession(s, 'no_active_scenario');
      return this.handle(s);
    }
    await this.runOperation(s, scenario.operations[0]?.id ?? null);
    return this.handle(s);
  }

  /** An employee calls out from a SIP phone: «Исходящий звонок»; the contact's phone rings. */
  outgoing(o: { employeeId: number; to: string; virtualNumber?: string }): CallHandle {
    const employee = this.employee(o.employeeId);
    if (!employee) throw new Error(`uis emulator: no employee ${o.employeeId}`);
    const line = this.sipLines.find((l) => l.employee_id === o.employeeId && l.type === 'in_out');
    const vn = o.virtualNumber ? digits(o.virtualNumber) : line?.virtual_phone_number ?? this.virtualNumbers[0]?.number ?? null;
    const contact = digits(o.to);
    const s = this.newSession({ direction: 'out', source: 'sip', virtualNumber: vn, contactNumber: contact, dtmf: null });
    const phone = line?.phone_number ?? this.activePhones(o.employeeId)[0]?.phone_number ?? null;
    const now = this.now();
    s.legs.push(this.newLeg(s, { party: 'employee', direction: 'out', calling: phone ?? '', called: contact, employeeId: o.employeeId, employeePhone: phone, connectedAt: now, state: 'talking' }));
    this.noteEmployee(s, o.employeeId, { answered: true });
    this.emit('outgoing_call', s, { employeeId: o.employeeId, employeePhone: phone });
    this.ring(s, this.newLeg(s, { party: 'contact', direction: 'out', calling: vn ?? '', called: contact }));
    return this.handle(s);
  }

  /** Call API start.employee_call / start.simple_call after validation (call-api.ts). */
  startCallApi(o: {
    method: 'start.employee_call' | 'start.simple_call';
    firstCall: 'employee' | 'contact' | 'operator';
    employeeId: number | null;
    employeePhone: string | null;
    operatorNumber: string | null;
    contact: string;
    virtualNumber: string;
    direction: 'in' | 'out';
    externalId: string | null;
  }): CallSession {
    const s = this.newSession({ direction: o.direction, source: 'callapi', virtualNumber: o.virtualNumber, contactNumber: o.contact, dtmf: null });
    s.externalId = o.externalId;
    s.callApiRequestId = this.ids.take('request');
    s.callApi = { method: o.method, firstCall: o.firstCall, employeeId: o.employeeId, employeePhone: o.employeePhone, operatorNumber: o.operatorNumber, phase: 'first' };
    if (o.firstCall === 'contact') this.dialContact(s);
    else this.dialCallApiSide(s);
    return s;
  }

  // ------------------------------------------------------------------ scenario

  private async runOperation(s: CallSession, opId: number | null): Promise<void> {
    for (let hops = 0; hops < 20; hops++) {
      if (s.state === 'ended') return;
      const scenario = this.scenario(s.scenarioId);
      const op = opId === null ? undefined : scenario?.operations.find((o) => o.id === opId);
      if (!op) {
        this.endSession(s, s.legs.some((l) => l.party !== 'contact') ? 'no_success_operator_call' : 'no_operation');
        return;
      }
      s.operations.push({ id: op.id, name: op.name });
      switch (op.kind) {
        case 'greeting':
          opId = op.next;
          continue;
        case 'ivr':
          opId = (s.dtmf && op.branches[s.dtmf.slice(0, 1)]) || op.next;
          continue;
        case 'hangup':
          this.endSession(s, 'success_finish');
          return;
        case 'employee': {
          if (!this.ringEmployees(s, [op.employeeId], op, null)) {
            opId = op.next;
            continue;
          }
          return;
        }
        case 'group': {
          const group = this.groups.find((g) => g.id === op.groupId);
          if (!group || !this.ringEmployees(s, group.employeeIds, op, group)) {
            opId = op.next;
            continue;
          }
          return;
        }
        case 'interactive': {
          const entry = await runInteractive(this, s, op);
          if ((s.state as CallSession['state']) === 'ended') return; // the caller may hang up while UIS waits
          if (entry.outcome === 'redirect' && entry.answer && Array.isArray(entry.answer.phones)) {
            if (this.ringNumbers(s, entry.answer.phones.map(String), op)) return;
            opId = op.next;
            continue;
          }
          opId = entry.nextOperationId;
          continue;
        }
      }
    }
    this.endSession(s, 'max_transition_count_exceeded');
  }

  /** Rings every listed employee that has an active phone; false when none could ring. */
  private ringEmployees(s: CallSession, employeeIds: number[], op: Operation, group: Group | null, transfer = false): boolean {
    let rang = false;
    for (const id of employeeIds) {
      const phone = this.activePhones(id)[0];
      if (!phone) continue;
      const leg = this.newLeg(s, {
        party: 'employee',
        direction: s.direction,
        calling: s.contactNumber,
        called: phone.phone_number,
        employeeId: id,
        employeePhone: phone.phone_number,
        actionId: op.id,
        actionName: op.name,
        groupId: group?.id ?? null,
        groupName: group?.name ?? null,
        isTransfered: transfer,
      });
      this.noteEmployee(s, id, {});
      this.ring(s, leg);
      rang = true;
    }
    if (rang) s.pendingOperationId = op.id;
    return rang;
  }

  /** Interactive redirect: employees' numbers ring as employee legs, others as operator legs. */
  private ringNumbers(s: CallSession, phones: string[], op: Operation): boolean {
    let rang = false;
    for (const raw of phones) {
      const number = digits(raw);
      if (number === '') continue;
      const employeeId = this.employeeByNumber(number);
      if (employeeId !== null) {
        if (this.ringEmployees(s, [employeeId], op, null)) rang = true;
        continue;
      }
      this.ring(s, this.newLeg(s, { party: 'operator', direction: s.direction, calling: s.contactNumber, called: number, actionId: op.id, actionName: op.name }));
      rang = true;
    }
    if (rang) s.pendingOperationId = op.id;
    return rang;
  }

  // ------------------------------------------------------------------ Call API flow

  private dialCallApiSide(s: CallSession): void {
    const c = s.callApi!;
    if (c.method === 'start.simple_call') {
      const n = c.operatorNumber ?? '';
      this.ring(s, this.newLeg(s, { party: 'operator', direction: s.direction, calling: s.virtualNumber ?? '', called: n }));
      return;
    }
    const employeeId = c.employeeId!;
    const phones = c.employeePhone ? [c.employeePhone] : this.activePhones(employeeId).map((p) => p.phone_number);
    const phone = phones[0] ?? '';
    this.noteEmployee(s, employeeId, {});
    this.ring(s, this.newLeg(s, { party: 'employee', direction: s.direction, calling: s.virtualNumber ?? '', called: phone, employeeId, employeePhone: phone }));
  }

  private dialContact(s: CallSession): void {
    if (s.callApi && s.direction === 'out' && s.callApi.employeeId !== null) {
      this.emit('outgoing_call', s, { employeeId: s.callApi.employeeId, employeePhone: s.callApi.employeePhone ?? this.activePhones(s.callApi.employeeId)[0]?.phone_number ?? null });
    }
    this.ring(s, this.newLeg(s, { party: 'contact', direction: 'out', calling: s.virtualNumber ?? '', called: s.contactNumber }));
  }

  // ------------------------------------------------------------------ legs

  private newSession(o: { direction: 'in' | 'out'; source: CallSession['source']; virtualNumber: string | null; contactNumber: string; scenario?: Scenario; dtmf: string | null }): CallSession {
    const s: CallSession = {
      id: this.ids.take('session'),
      communicationId: this.ids.take('communication'),
      direction: o.direction,
      source: o.source,
      startedAt: this.now(),
      endedAt: null,
      talkStartedAt: null,
      talkEndedAt: null,
      talkSeconds: 0,
      finishReason: null,
      virtualNumber: o.virtualNumber,
      contactNumber: o.contactNumber,
      scenarioId: o.scenario?.id ?? null,
      scenarioName: o.scenario?.name ?? null,
      operations: [],
      dtmf: o.dtmf,
      state: 'ringing',
      legs: [],
      employees: [],
      externalId: null,
      callApiRequestId: null,
      callApi: null,
      pendingOperationId: null,
      isTransfer: false,
      recordings: [],
      tags: [],
      lost: false,
      reportVisibleAt: null,
    };
    this.sessions.push(s);
    return s;
  }

  private newLeg(s: CallSession, o: Partial<Leg> & { party: Leg['party']; direction: Leg['direction']; calling: string; called: string }): Leg {
    return {
      id: this.ids.take('leg'),
      sessionId: s.id,
      startedAt: this.now(),
      connectedAt: null,
      endedAt: null,
      finishReason: null,
      virtualNumber: s.virtualNumber,
      isTransfered: false,
      isOperator: o.party !== 'contact',
      employeeId: null,
      employeePhone: null,
      actionId: null,
      actionName: null,
      groupId: null,
      groupName: null,
      isCoach: false,
      records: [],
      state: 'ringing',
      ...o,
    };
  }

  private ring(s: CallSession, leg: Leg): void {
    s.legs.push(leg);
    if (leg.party !== 'contact') {
      this.emit('waiting_for_answer', s, { employeeId: leg.employeeId, employeePhone: leg.employeePhone, legId: leg.id });
    }
    this.applyBehaviour(s, leg);
  }

  private noteEmployee(s: CallSession, employeeId: number, o: { answered?: boolean; talked?: boolean }): void {
    let e = s.employees.find((x) => x.employee_id === employeeId);
    if (!e) {
      e = { employee_id: employeeId, employee_full_name: this.fullName(employeeId) ?? '', is_answered: false, is_talked: false };
      s.employees.push(e);
    }
    if (o.answered) e.is_answered = true;
    if (o.talked) e.is_talked = true;
  }

  private findLeg(s: CallSession, who: Who | undefined, states: Leg['state'][]): Leg | undefined {
    const legs = s.legs.filter((l) => states.includes(l.state));
    if (who === undefined) return legs.find((l) => l.party !== 'contact' || states.includes('ringing')) ?? legs[0];
    if (typeof who === 'number') return legs.find((l) => l.employeeId === who);
    if (typeof who === 'string') return legs.find((l) => l.party === who);
    const d = digits(who.phone);
    return legs.find((l) => digits(l.called) === d || digits(l.employeePhone) === d);
  }

  private answerLeg(s: CallSession, who?: Who): void {
    if (s.state === 'ended') throw new Error(`uis emulator: call ${s.id} has ended`);
    const leg = this.findLeg(s, who, ['ringing']);
    if (!leg) throw new Error(`uis emulator: nothing rings for ${JSON.stringify(who ?? 'anyone')} in call ${s.id}`);
    const now = this.now();
    leg.state = 'talking';
    leg.connectedAt = now;
    if (leg.employeeId !== null) this.noteEmployee(s, leg.employeeId, { answered: true });

    if (s.callApi && s.callApi.phase === 'first') {
      s.callApi.phase = 'second';
      if (leg.party === 'contact') this.dialCallApiSide(s);
      else this.dialContact(s);
      return;
    }
    // a conversation starts: other ringing legs of the same round stop, a transferring employee leaves
    for (const other of s.legs) {
      if (other === leg || other.state !== 'ringing') continue;
      if (leg.isTransfered !== other.isTransfered) continue;
      this.endLeg(other, 'another_operator_answer');
    }
    const talkingBefore = s.legs.filter((l) => l !== leg && l.state === 'talking' && l.party !== 'contact' && l.isOperator);
    if (leg.isTransfered) {
      for (const prev of talkingBefore) {
        if (s.callApi && prev.party !== 'employee') continue;
        this.endLeg(prev, 'transfer_disconnects');
        this.emit('talk_finished', s, { employeeId: prev.employeeId, employeePhone: prev.employeePhone, talkSeconds: this.legTalk(prev) });
      }
    }
    if (s.callApi) s.callApi.phase = 'talk';
    s.state = 'talking';
    if (s.talkStartedAt === null) s.talkStartedAt = now;
    const talker = leg.party === 'contact' ? s.legs.find((l) => l.state === 'talking' && l.isOperator) : leg;
    if (talker?.employeeId != null) this.noteEmployee(s, talker.employeeId, { answered: true, talked: true });
    this.emit('talk_started', s, { employeeId: talker?.employeeId ?? null, employeePhone: talker?.employeePhone ?? null });
    this.scheduleTalkEnd(s, leg);
  }

  private failLeg(s: CallSession, who: Who | undefined, kind: 'busy' | 'no-answer'): void {
    if (s.state === 'ended') throw new Error(`uis emulator: call ${s.id} has ended`);
    const targets = who === undefined && kind === 'no-answer' ? s.legs.filter((l) => l.state === 'ringing') : [this.findLeg(s, who, ['ringing'])].filter((l): l is Leg => !!l);
    if (targets.length === 0) throw new Error(`uis emulator: nothing rings for ${JSON.stringify(who ?? 'anyone')} in call ${s.id}`);
    for (const leg of targets) {
      const contactSide = leg.party === 'contact';
      const reason = kind === 'busy' ? (contactSide ? 'subscriber_busy' : 'operator_busy') : contactSide ? 'subscriber_not_responsible' : 'timeout';
      this.endLeg(leg, reason);
    }
    if (s.legs.some((l) => l.state === 'ringing')) return;
    const last = targets[targets.length - 1]!;
    // a failed transfer leg leaves the conversation as it was
    if (last.isTransfered && s.state === 'talking') return;
    if (s.callApi || s.direction === 'out') {
      const reason = last.party === 'contact' ? last.finishReason! : last.party === 'operator' ? 'no_success_operator_call' : kind === 'busy' ? 'operator_busy' : 'operator_not_responsible';
      this.endSession(s, last.party === 'contact' ? (kind === 'busy' ? 'subscriber_busy' : 'subscriber_not_responsible') : reason);
      return;
    }
    // incoming: the scenario goes on with the operation's next
    const op = this.scenario(s.scenarioId)?.operations.find((o) => o.id === s.pendingOperationId);
    const next = op && 'next' in op ? op.next : null;
    s.pendingOperationId = null;
    this.track(this.runOperation(s, next));
  }

  private endLeg(leg: Leg, reason: string): void {
    if (leg.state === 'ended') return;
    leg.state = 'ended';
    leg.endedAt = this.now();
    leg.finishReason = reason;
  }

  private legTalk(leg: Leg): number {
    if (leg.connectedAt === null) return 0;
    return Math.max(0, Math.round(((leg.endedAt ?? this.now()) - leg.connectedAt) / 1000));
  }

  private hangupCall(s: CallSession, by: 'contact' | 'employee' = 'contact'): void {
    if (s.state === 'ended') throw new Error(`uis emulator: call ${s.id} has ended`);
    if (s.state !== 'talking') throw new Error(`uis emulator: call ${s.id} is not in a conversation (use abandon() or noAnswer())`);
    const talkers = s.legs.filter((l) => l.state === 'talking' && l.isOperator);
    for (const l of s.legs) if (l.state === 'ringing') this.endLeg(l, 'subscriber_disconnects');
    for (const t of talkers) {
      this.endLeg(t, by === 'contact' ? 'subscriber_disconnects' : 'operator_disconnects');
      this.emit('talk_finished', s, { employeeId: t.employeeId, employeePhone: t.employeePhone, talkSeconds: this.legTalk(t) });
    }
    s.talkEndedAt = this.now();
    this.endSession(s, by === 'contact' ? 'subscriber_disconnects' : 'operator_disconnects');
  }

  private abandonCall(s: CallSession): void {
    if (s.state === 'ended') throw new Error(`uis emulator: call ${s.id} has ended`);
    if (s.state === 'talking') throw new Error(`uis emulator: call ${s.id} is in a conversation (use hangup())`);
    for (const l of s.legs) if (l.state === 'ringing') this.endLeg(l, 'subscriber_disconnects');
    this.endSession(s, 'subscriber_disconnects');
  }

  private transferCall(s: CallSession, employeeId: number): void {
    if (s.state !== 'talking') throw new Error(`uis emulator: call ${s.id} is not in a conversation`);
    if (!this.employee(employeeId)) throw new Error(`uis emulator: no employee ${employeeId}`);
    const phone = this.activePhones(employeeId)[0];
    if (!phone) throw new Error(`uis emulator: employee ${employeeId} has no active phone`);
    s.isTransfer = true;
    const leg = this.newLeg(s, { party: 'employee', direction: s.direction, calling: s.contactNumber, called: phone.phone_number, employeeId, employeePhone: phone.phone_number, isTransfered: true });
    this.noteEmployee(s, employeeId, {});
    this.ring(s, leg);
  }

  private endSession(s: CallSession, reason: string): void {
    if (s.state === 'ended') return;
    const now = this.now();
    for (const l of s.legs) if (l.state !== 'ended') this.endLeg(l, l.state === 'ringing' ? 'subscriber_disconnects' : reason);
    s.state = 'ended';
    s.endedAt = now;
    s.finishReason = reason;
    if (s.talkEndedAt === null && s.talkStartedAt !== null) s.talkEndedAt = now;
    s.talkSeconds = s.talkStartedAt === null ? 0 : Math.max(0, Math.round((s.talkEndedAt! - s.talkStartedAt) / 1000));
    s.lost = s.talkStartedAt === null;
    s.reportVisibleAt = now + this.settings.reportLagMs;
    if (s.callApi) s.callApi.phase = 'done';
    if (s.lost && s.direction === 'in') this.emit('lost_call', s, {});
    const talker = this.lastTalker(s);
    this.emit('call_finished', s, { employeeId: talker?.employeeId ?? null, employeePhone: talker?.employeePhone ?? null });
    this.scheduleRecording(s);
  }

  private lastTalker(s: CallSession): Leg | undefined {
    const talked = s.legs.filter((l) => l.isOperator && l.connectedAt !== null && l.party !== 'contact');
    return talked[talked.length - 1] ?? s.legs.find((l) => l.party === 'employee');
  }

  private scheduleRecording(s: CallSession): void {
    const talked = s.legs.filter((l) => l.party === 'employee' && l.connectedAt !== null && l.employeeId !== null && s.talkStartedAt !== null);
    const recorded = talked.filter((l) => {
      const rule = this.telephonyOf(l.employeeId!).callRecording;
      return rule === 'all' || rule === s.direction;
    });
    if (s.talkSeconds <= 0 || recorded.length === 0) {
      this.notifications.complete(s.id);
      return;
    }
    const now = this.now();
    const rec: Recording = {
      id: this.ids.take('record'),
      sessionId: s.id,
      communicationId: s.communicationId,
      legIds: recorded.map((l) => l.id),
      duration: s.talkSeconds,
      employeeId: recorded[recorded.length - 1]!.employeeId,
      notifyAt: now + this.settings.recordingDelayMs,
      readyAt: now + this.settings.recordingDelayMs + this.settings.recordingFileLagMs,
      bytes: mp3Bytes(s.talkSeconds),
    };
    this.recordings.push(rec);
    s.recordings.push(rec.id);
    for (const l of recorded) l.records.push(rec.id);
    const fire = () => {
      const leg = s.legs.find((l) => l.id === rec.legIds[rec.legIds.length - 1]);
      this.emit('call_recorded', s, { employeeId: rec.employeeId, employeePhone: leg?.employeePhone ?? null, recording: rec });
      this.notifications.complete(s.id);
    };
    if (this.settings.recordingDelayMs > 0) this.later(this.settings.recordingDelayMs, fire);
    else fire();
  }

  recordingUrl(rec: Recording): string {
    return `${this.world.origin}/media/${rec.communicationId}/${rec.id}`;
  }

  // ------------------------------------------------------------------ behaviours

  private behaviourFor(s: CallSession, leg: Leg): Behaviour | undefined {
    const keys = [
      leg.employeeId !== null ? `employee:${leg.employeeId}` : '',
      `phone:${digits(leg.called)}`,
      leg.party === 'contact' ? `phone:${s.contactNumber}` : '',
      `party:${leg.party}`,
    ];
    for (const k of keys) {
      const b = k ? this.behaviours.get(k) : undefined;
      if (b) return b;
    }
    return undefined;
  }

  private applyBehaviour(s: CallSession, leg: Leg): void {
    const b = this.behaviourFor(s, leg);
    if (!b || b.action === 'manual') return;
    this.later(b.afterMs ?? 3000, () => {
      if (leg.state !== 'ringing' || s.state === 'ended') return;
      if (b.action === 'answer') this.answerLeg(s, leg.employeeId ?? (leg.party === 'contact' ? 'contact' : { phone: leg.called }));
      else this.failLeg(s, leg.employeeId ?? (leg.party === 'contact' ? 'contact' : { phone: leg.called }), b.action === 'busy' ? 'busy' : 'no-answer');
    });
  }

  private scheduleTalkEnd(s: CallSession, leg: Leg): void {
    const talker = leg.party === 'contact' ? s.legs.find((l) => l.state === 'talking' && l.isOperator) : leg;
    const contactLeg = s.legs.find((l) => l.party === 'contact');
    const fromContact = contactLeg ? this.behaviourFor(s, contactLeg)?.talkMs : undefined;
    const fromTalker = talker ? this.behaviourFor(s, talker)?.talkMs : undefined;
    const talkMs = fromContact ?? fromTalker;
    if (talkMs === undefined) return;
    this.later(talkMs, () => {
      if (s.state !== 'talking') return;
      if (s.legs.some((l) => l.state === 'ringing' && l.isTransfered)) return; // a transfer is in progress
      this.hangupCall(s, fromContact !== undefined ? 'contact' : 'employee');
    });
  }

  // ------------------------------------------------------------------ notifications

  /** The variables of a session at this moment (docs/facts/telephony.md#notifications), narrowed by the event type's set. */
  private variables(s: CallSession, extra: { employeeId?: number | null; employeePhone?: string | null; legId?: number; talkSeconds?: number; recording?: Recording }): Record<string, unknown> {
    const now = this.now();
    const offset = this.account.utcOffsetMin;
    const employeeId = extra.employeeId ?? null;
    const employeeLegs = s.legs.filter((l) => l.isOperator);
    const talking = s.legs.filter((l) => l.state === 'talking').map((l) => l.id);
    const waitEnd = s.talkStartedAt ?? s.endedAt ?? now;
    const v: Record<string, unknown> = {
      notification_time: dataApiDateTime(now, offset),
      notification_timestamp: Math.floor(now / 1000),
      app_id: this.account.appId,
      virtual_phone_number: s.virtualNumber,
      call_session_id: s.id,
      communication_id: s.communicationId,
      communication_number: null,
      communication_type: 'call',
      contact_phone_number: s.contactNumber,
      contact_id: null,
      contact_full_name: null,
      scenario_name: s.scenarioName,
      scenario_id: s.scenarioId,
      start_time: dataApiDateTime(s.startedAt, offset),
      calling_phone_number: s.direction === 'in' ? s.contactNumber : s.virtualNumber,
      called_phone_number: s.direction === 'in' ? s.virtualNumber : s.contactNumber,
      cpn_region_id: null,
      cpn_region_name: null,
      call_source: s.source,
      direction: s.direction,
      external_id: s.externalId,
      employee_id: employeeId,
      employee_full_name: this.fullName(employeeId),
      employee_phone_number: extra.employeePhone ?? null,
      extension_phone_number: employeeId !== null ? this.telephonyOf(employeeId).extension : null,
      leg_id: extra.legId ?? null,
      leg_ids: extra.legId !== undefined ? [extra.legId] : talking.length ? talking : employeeLegs.map((l) => l.id),
      talk_time_duration: extra.talkSeconds ?? (s.state === 'ended' ? s.talkSeconds : 0),
      total_time_duration: Math.round(((s.endedAt ?? now) - s.startedAt) / 1000),
      wait_time_duration: Math.round((waitEnd - s.startedAt) / 1000),
      employee_ids: s.employees.map((e) => e.employee_id),
      tag_names: s.tags.map((t) => t.tag_name),
      tag_ids: s.tags.map((t) => t.tag_id),
      is_internal: false,
      call_status: s.state === 'ended' ? (s.lost ? 'lost' : 'answered') : s.state,
      attributes: s.direction === 'in' && s.lost ? ['lost'] : [],
      file_link: extra.recording ? this.recordingUrl(extra.recording) : null,
      file_duration: extra.recording ? extra.recording.duration : null,
    };
    return v;
  }

  private emit(type: EventType, s: CallSession, extra: Parameters<Pbx['variables']>[1]): void {
    this.notifications.emit(type, s.id, s.communicationId, this.variables(s, extra));
  }

  // ------------------------------------------------------------------ plumbing

  now(): number {
    return this.world.clock.now();
  }

  /** Work in flight (a scenario step, an HTTP request): settle() waits for it. */
  track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.then(
      () => this.pending.delete(p),
      () => this.pending.delete(p),
    );
  }

  /** A timer on the clock (ring behaviour, talk length, recording): settle() does not wait for the sleep, only for what it starts. */
  later(ms: number, fn: () => unknown): void {
    void this.world.clock.sleep(ms).then(() => this.track(Promise.resolve().then(fn)));
  }

  /**
   * Resolves when nothing is in flight: scenario steps, interactive requests, notifications being
   * sent. Timers still sleeping on the clock are not waited for — with a clock that moves by hand,
   * `await clock.advance(ms); await pbx.settle()`.
   */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 2; ) {
      if (this.pending.size > 0) {
        quiet = 0;
        await Promise.allSettled([...this.pending]);
        continue;
      }
      if (this.notifications.inFlight() > 0) {
        quiet = 0;
        await this.notifications.settle();
        continue;
      }
      quiet++;
      await new Promise((r) => setImmediate(r));
    }
  }

  handle(s: CallSession): CallHandle {
    return {
      id: s.id,
      session: s,
      answer: (who?: Who) => this.answerLeg(s, who),
      busy: (who?: Who) => this.failLeg(s, who, 'busy'),
      noAnswer: (who?: Who) => this.failLeg(s, who, 'no-answer'),
      abandon: () => this.abandonCall(s),
      hangup: (by?: 'contact' | 'employee') => this.hangupCall(s, by),
      transfer: (employeeId: number) => this.transferCall(s, employeeId),
    };
  }

  /** Call API release.call */
  release(s: CallSession): void {
    if (s.state === 'talking') this.hangupCall(s, 'employee');
    else if (s.state === 'ringing') this.abandonCall(s);
  }
}
