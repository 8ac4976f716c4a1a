/**
 * HTTP notifications («Уведомления о событиях», option «API Базовый»), as configured per account in
 * the UIS UI: per event type an HTTP method, a URL and a body template with `{{variable}}`
 * placeholders. No public API creates them (docs/facts/telephony.md#notifications), so tests configure
 * them here, the way an admin does in the UI.
 *
 * From the public material:
 * - templates put placeholders unquoted in JSON (`"call_session_id":{{call_session_id}}`) and in
 *   query strings — UIS renders JSON-typed values into JSON bodies (strings quoted, numbers bare,
 *   `null`), as the `notification_message` example of Data API `get.notifications` shows
 *   (`{"visitor_browser_name":null}`);
 * - the variables per event type are the ones public CRM integrations put into their templates
 *   (docs/facts/telephony.md#notifications table);
 * - the only audit is Data API `get.notifications` (data_api/report_new/flat/get_notifications).
 *
 * Chosen where the docs are silent (each switchable):
 * - delivery is attempted once, never retried; a non-2xx answer or a network error is logged as
 *   `failed` in `get.notifications`; a call's notifications leave one after the other in the order
 *   they happened, different calls' at the same time (a platform serving many calls), at most
 *   `maxInFlight` (16) at once — the sender's pool;
 * - in a query string or a form body a value is written as text, URL-encoded, and `null` as
 *   `None` (the platform is Python: interactive processing documents `input_result=None`);
 *   `nullText` changes that;
 * - a placeholder of a variable the event type does not offer renders as null;
 * - the event type mnemonics (`notification_mnemonic`) are ours: UIS does not publish them.
 * Faults for tests: drop, duplicate, delay, reorder per session, null fields.
 */
import type { Clock } from '../../../../server/domain/clock';

export const EVENT_TYPES = {
  incoming_call: 'Входящий звонок на виртуальный номер',
  waiting_for_answer: 'Ожидание ответа',
  talk_started: 'Начало разговора',
  talk_finished: 'Окончание разговора',
  outgoing_call: 'Исходящий звонок',
  call_finished: 'Завершение звонка',
  lost_call: 'Потерянный звонок',
  call_recorded: 'Записанный разговор',
} as const;
export type EventType = keyof typeof EVENT_TYPES;

const COMMON = ['notification_mnemonic', 'notification_name', 'notification_time', 'notification_timestamp', 'app_id', 'virtual_phone_number', 'call_session_id'];
const CONTACT = ['contact_phone_number', 'contact_id', 'contact_full_name'];
const EMPLOYEE = ['employee_id', 'employee_full_name', 'employee_phone_number', 'extension_phone_number'];

/** Variables each event type offers (docs/facts/telephony.md#notifications; the Novofon template adds extension_phone_number, call_status). */
export const EVENT_VARIABLES: Record<EventType, readonly string[]> = {
  incoming_call: [...COMMON, ...CONTACT, 'scenario_name', 'scenario_id', 'communication_number', 'communication_id', 'communication_type', 'start_time', 'called_phone_number', 'calling_phone_number', 'cpn_region_id', 'cpn_region_name', 'call_source', 'direction', 'external_id'],
  waiting_for_answer: [...COMMON, ...CONTACT, ...EMPLOYEE, 'external_id', 'call_source', 'direction', 'leg_id', 'scenario_name', 'communication_number'],
  talk_started: [...COMMON, ...CONTACT, ...EMPLOYEE, 'external_id', 'call_source', 'direction', 'leg_ids', 'scenario_name', 'communication_number'],
  talk_finished: [...COMMON, ...CONTACT, ...EMPLOYEE, 'external_id', 'call_source', 'direction', 'leg_ids', 'scenario_name', 'communication_number', 'talk_time_duration'],
  outgoing_call: [...COMMON, ...CONTACT, ...EMPLOYEE, 'external_id', 'call_source', 'direction', 'communication_number', 'start_time'],
  call_finished: [
    ...COMMON, ...CONTACT, ...EMPLOYEE, 'external_id', 'call_source', 'direction', 'scenario_name', 'scenario_id', 'communication_number', 'communication_id',
    'communication_type', 'talk_time_duration', 'total_time_duration', 'wait_time_duration', 'tag_names', 'tag_ids', 'called_phone_number',
    'calling_phone_number', 'is_internal', 'start_time', 'cpn_region_id', 'cpn_region_name', 'call_status', 'attributes', 'leg_ids',
  ],
  lost_call: [...COMMON, ...CONTACT, 'scenario_name', 'scenario_id', 'wait_time_duration', 'employee_ids', 'communication_number', 'communication_id', 'call_source', 'direction', 'external_id', 'start_time'],
  call_recorded: [...COMMON, ...CONTACT, ...EMPLOYEE, 'scenario_name', 'communication_number', 'communication_id', 'file_link', 'file_duration', 'tag_ids', 'tag_names', 'external_id', 'call_source', 'direction'],
};

export interface NotificationConfig {
  id: number;
  /** «Название» — sent as `notification_name` */
  name: string;
  eventType: EventType;
  method: 'GET' | 'POST';
  /** may carry `{{variable}}` placeholders in its query string */
  url: string;
  /** POST body template; ignored for GET */
  body: string;
  /** the Content-Type of a POST (default: JSON when the template starts with `{`, else form) */
  contentType: string;
  headers: Record<string, string>;
  enabled: boolean;
}

export type FaultSelector = boolean | readonly EventType[] | ((n: PendingNotification) => boolean);

export interface NotificationFaults {
  /** never sent (not in get.notifications either: UIS did not produce it) */
  drop?: FaultSelector;
  /** sent twice, one right after the other */
  duplicate?: FaultSelector;
  /** each selected notification waits this long on the clock before it goes */
  delayMs?: number | ((n: PendingNotification) => number);
  /** a session's notifications are held until the session is complete (ended, recording done), then sent in this order */
  reorder?: false | 'reverse' | 'shuffle' | ((list: PendingNotification[]) => PendingNotification[]);
  /** these variables render as null */
  nullFields?: readonly string[] | ((n: PendingNotification) => readonly string[]);
  /** how `null` is written into a URL or form body (default 'None') */
  nullText?: string;
}

export interface PendingNotification {
  seq: number;
  config: NotificationConfig;
  eventType: EventType;
  sessionId: number;
  communicationId: number;
  variables: Record<string, unknown>;
  createdAt: number;
}

/** One attempt, also the row source of Data API get.notifications. */
export interface SentNotification {
  id: number;
  configId: number;
  name: string;
  eventType: EventType;
  sessionId: number;
  communicationId: number;
  method: 'GET' | 'POST';
  url: string;
  contentType: string | null;
  body: string;
  /** the variables after faults (what the template saw) */
  variables: Record<string, unknown>;
  createdAt: number;
  sentAt: number;
  status: number | 'network-error';
  ok: boolean;
  /** a duplicate produced by the fault switch */
  duplicate: boolean;
}

/** JSON rendering of a value (bodies with a JSON content type). */
function jsonValue(v: unknown): string {
  return v === undefined ? 'null' : JSON.stringify(v);
}

/** Query/form rendering of a value. */
function textValue(v: unknown, nullText: string): string {
  if (v === null || v === undefined) return encodeURIComponent(nullText);
  if (typeof v === 'string') return encodeURIComponent(v);
  if (typeof v === 'number' || typeof v === 'boolean') return encodeURIComponent(String(v));
  return encodeURIComponent(JSON.stringify(v));
}

const PLACEHOLDER = /\{\{\s*([a-z0-9_]+)\s*\}\}/gi;

export function renderTemplate(template: string, vars: Record<string, unknown>, mode: 'json' | 'text', nullText = 'None'): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const v = Object.hasOwn(vars, name) ? vars[name] : null;
    return mode === 'json' ? jsonValue(v) : textValue(v, nullText);
  });
}

/** A JSON body template with every variable of the event type, unquoted — what the public integrations configure. */
export function defaultTemplate(eventType: EventType): string {
  return `{\n${EVENT_VARIABLES[eventType].map((v) => `  "${v}": {{${v}}}`).join(',\n')}\n}`;
}

function selected(sel: FaultSelector | undefined, n: PendingNotification): boolean {
  if (sel === undefined || sel === false) return false;
  if (sel === true) return true;
  if (typeof sel === 'function') return sel(n);
  return sel.includes(n.eventType);
}

const TIMEOUT_MS = 10_000;

export class NotificationDispatcher {
  readonly configs: NotificationConfig[] = [];
  readonly sent: SentNotification[] = [];
  faults: NotificationFaults = {};
  private seq = 0;
  private sentSeq = 5_578_312_959;
  private configSeq = 7000;
  /** a session's notifications leave in order, one after the other; different calls' independently */
  private readonly chains = new Map<number, Promise<unknown>>();
  /** the sender's pool: at most this many notifications in flight at once (different calls) */
  maxInFlight = 16;
  private sending = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Set<Promise<unknown>>();
  /** reorder: held per session until complete */
  private readonly held = new Map<number, PendingNotification[]>();

  constructor(
    private readonly clock: Clock,
    private readonly appId: number,
  ) {}

  addConfig(c: Partial<NotificationConfig> & { eventType: EventType; url: string }): NotificationConfig {
    const method = c.method ?? 'POST';
    const body = c.body ?? (method === 'POST' ? defaultTemplate(c.eventType) : '');
    const config: NotificationConfig = {
      id: ++this.configSeq,
      name: c.name ?? EVENT_TYPES[c.eventType],
      eventType: c.eventType,
      method,
      url: c.url,
      body,
      contentType: c.contentType ?? (body.trimStart().startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded'),
      headers: { ...(c.headers ?? {}) },
      enabled: c.enabled ?? true,
    };
    this.configs.push(config);
    return config;
  }

  /** Produces the notifications of one event for every enabled config of its type. */
  emit(eventType: EventType, sessionId: number, communicationId: number, variables: Record<string, unknown>): void {
    const now = this.clock.now();
    for (const config of this.configs) {
      if (!config.enabled || config.eventType !== eventType) continue;
      const allowed = EVENT_VARIABLES[eventType];
      const vars: Record<string, unknown> = {};
      for (const k of allowed) vars[k] = Object.hasOwn(variables, k) ? variables[k] : null;
      vars.notification_mnemonic = eventType;
      vars.notification_name = config.name;
      const n: PendingNotification = { seq: ++this.seq, config, eventType, sessionId, communicationId, variables: vars, createdAt: now };
      if (selected(this.faults.drop, n)) continue;
      const nulls = typeof this.faults.nullFields === 'function' ? this.faults.nullFields(n) : (this.faults.nullFields ?? []);
      for (const f of nulls) if (Object.hasOwn(n.variables, f)) n.variables[f] = null;
      if (this.faults.reorder) {
        const list = this.held.get(sessionId) ?? [];
        list.push(n);
        this.held.set(sessionId, list);
        continue;
      }
      this.schedule(n);
    }
  }

  /** The session will produce nothing more: a held (reorder) batch goes now, in the fault's order. */
  complete(sessionId: number): void {
    const list = this.held.get(sessionId);
    if (!list) return;
    this.held.delete(sessionId);
    const order = this.faults.reorder;
    let out = list;
    if (order === 'reverse') out = [...list].reverse();
    else if (order === 'shuffle') out = [...list].sort(() => Math.random() - 0.5);
    else if (typeof order === 'function') out = order([...list]);
    for (const n of out) this.schedule(n);
  }

  private schedule(n: PendingNotification): void {
    const delay = typeof this.faults.delayMs === 'function' ? this.faults.delayMs(n) : (this.faults.delayMs ?? 0);
    const twice = selected(this.faults.duplicate, n);
    const enqueue = () => {
      const chain = this.chains.get(n.sessionId) ?? Promise.resolve();
      const run = chain.then(async () => {
        await this.slot();
        try {
          await this.deliver(n, false);
          if (twice) await this.deliver(n, true);
        } finally {
          this.sending--;
          this.waiting.shift()?.();
        }
      });
      const next = run.catch(() => undefined);
      this.chains.set(n.sessionId, next);
      void next.then(() => {
        if (this.chains.get(n.sessionId) === next) this.chains.delete(n.sessionId);
      });
      return run;
    };
    if (delay > 0) void this.clock.sleep(delay).then(() => this.track(enqueue()));
    else this.track(enqueue());
  }

  private async slot(): Promise<void> {
    while (this.sending >= this.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.sending++;
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.then(
      () => this.pending.delete(p),
      () => this.pending.delete(p),
    );
  }

  inFlight(): number {
    return this.pending.size;
  }

  /** Resolves when nothing is being sent (delays still sleeping on the clock and held reorder batches are not waited for). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
      await new Promise((r) => setImmediate(r));
    }
  }

  private async deliver(n: PendingNotification, duplicate: boolean): Promise<void> {
    const nullText = this.faults.nullText ?? 'None';
    const url = renderTemplate(n.config.url, n.variables, 'text', nullText);
    const json = /json/i.test(n.config.contentType);
    const body = n.config.method === 'POST' ? renderTemplate(n.config.body, n.variables, json ? 'json' : 'text', nullText) : '';
    const headers: Record<string, string> = { 'user-agent': 'UIS-Notifications/1.0', ...n.config.headers };
    if (n.config.method === 'POST') headers['content-type'] = n.config.contentType;
    let status: SentNotification['status'];
    try {
      // Network timeout in real time on purpose (socket I/O, not platform logic).
      const res = await fetch(url, {
        method: n.config.method,
        headers,
        body: n.config.method === 'POST' ? body : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      status = res.status;
    } catch {
      status = 'network-error';
    }
    this.sent.push({
      id: ++this.sentSeq,
      configId: n.config.id,
      name: n.config.name,
      eventType: n.eventType,
      sessionId: n.sessionId,
      communicationId: n.communicationId,
      method: n.config.method,
      url,
      contentType: n.config.method === 'POST' ? n.config.contentType : null,
      body,
      variables: { ...n.variables },
      createdAt: n.createdAt,
      sentAt: this.clock.now(),
      status,
      ok: typeof status === 'number' && status >= 200 && status < 300,
      duplicate,
    });
  }

  /** app_id for templates */
  get account(): number {
    return this.appId;
  }
}
