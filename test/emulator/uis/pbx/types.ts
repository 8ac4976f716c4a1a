/**
 * The emulated virtual PBX (ВАТС) of one UIS account: what the Data API directories describe
 * (comagic/comagic.github.io `data_api/vn/get_virtual_numbers`, `data_api/scenario/get_scenarios`,
 * `data_api/sip/get_sip_lines`, `data_api/employee/get_employees`) and the call sessions and legs
 * `data_api/report/get_calls_report` / `get_call_legs_report` report. Field names follow the docs.
 */

/** get.virtual_numbers `type` */
export type VirtualNumberType = 'va' | 'call_tracking' | 'dynamic_call_tracking';

export interface VirtualNumber {
  id: number;
  /** E.164 digits, e.g. "74950000101" */
  number: string;
  name: string;
  type: VirtualNumberType;
  /** get.virtual_numbers `status` */
  status: 'active' | 'waiting' | 'cleaning' | 'prereserved' | 'reserved' | 'manual_lock' | 'limit_lock';
  /** the scenario an incoming call on this number runs (call_processing_rule); null = no active scenario */
  scenarioId: number | null;
  /** campaigns the number is used in (call tracking) */
  campaignIds: number[];
}

/**
 * A scenario operation. The docs list only `{id, name}` for operations (get.calls_report
 * `scenario_operations`, get.scenarios `operations`); the kinds and their wiring are our model of
 * the scenario editor («Виртуальная АТС → Сценарии»).
 */
export type Operation =
  | { id: number; name: string; kind: 'greeting'; next: number | null }
  /** «Голосовое меню»: the caller's DTMF picks the next operation; anything else → `next` */
  | { id: number; name: string; kind: 'ivr'; branches: Record<string, number>; next: number | null }
  /** rings one employee; no answer / busy → `next` (null = the call is lost) */
  | { id: number; name: string; kind: 'employee'; employeeId: number; next: number | null }
  /** rings every employee of the group at once (ring-all); legs carry group_id/group_name */
  | { id: number; name: string; kind: 'group'; groupId: number; next: number | null }
  /** «Интерактивная обработка вызова» (interactive_call_processing/index.html) */
  | ({ id: number; name: string; kind: 'interactive' } & InteractiveConfig)
  | { id: number; name: string; kind: 'hangup' };

export interface InteractiveConfig {
  /** URL of the external system; '' = not configured yet (the operation falls through to `onNoAnswer`) */
  url: string;
  method: 'GET' | 'POST';
  /**
   * Parameters included in the request. The docs list cdr_id, start_time, input_result, numa,
   * numb; public CRM integrations also pass call_session_id.
   */
  params: Array<'cdr_id' | 'start_time' | 'input_result' | 'numa' | 'numb' | 'call_session_id'>;
  /** POST body encoding: docs silent; form-encoded by default */
  postEncoding: 'form' | 'json';
  /** how long the PBX waits for the answer (real time; the docs give no value) */
  timeoutMs: number;
  /** `returned_code` → linked operation */
  returnedCodes: Record<string, number>;
  /** no answer, error, timeout, empty or unusable answer → this operation («связанная операция»); null = call lost */
  onNoAnswer: number | null;
  /** a redirect (`phones`) nobody answered → this operation */
  next: number | null;
}

export interface Scenario {
  id: number;
  name: string;
  /** the first operation is the entry */
  operations: Operation[];
  siteIds: number[];
}

export interface Group {
  id: number;
  name: string;
  employeeIds: number[];
}

/** get.employees `phone_numbers[]` (SIP numbers are listed there too, as the docs say) */
export interface EmployeePhone {
  phone_id: number;
  phone_number: string;
  channels_count: number;
  dial_time: number;
  status: 'active' | 'inactive';
  /** addition: what kind of number it is */
  protocol: 'sip' | 'pstn';
}

export interface EmployeeTelephony {
  employeeId: number;
  extension: string | null;
  phones: EmployeePhone[];
  callRecording: 'all' | 'in' | 'out' | 'off';
}

/** get.sip_lines */
export interface SipLine {
  id: number;
  phone_number: string;
  type: 'in' | 'in_out';
  employee_id: number | null;
  /** caller id of the line's outgoing calls; empty for type "in" */
  virtual_phone_number: string | null;
  channels_count: number;
  dial_time: number;
  billing_state: 'active' | 'manual_lock' | 'limit_lock';
  /** the docs give Russian values: «Зарегистрирован» / «Не зарегистрирован» */
  physical_state: 'Зарегистрирован' | 'Не зарегистрирован';
  status: 'active' | 'inactive';
}

export type CallSource = 'va' | 'sip' | 'callapi' | 'call_tracking';

/** One leg (CDR) of a call session — get.call_legs_report. */
export interface Leg {
  id: number;
  sessionId: number;
  startedAt: number;
  connectedAt: number | null;
  endedAt: number | null;
  finishReason: string | null;
  direction: 'in' | 'out';
  virtualNumber: string | null;
  calling: string;
  called: string;
  isTransfered: boolean;
  /** the leg belongs to the PBX's side (an employee or a Call API operator), not the contact */
  isOperator: boolean;
  employeeId: number | null;
  employeePhone: string | null;
  actionId: number | null;
  actionName: string | null;
  groupId: number | null;
  groupName: string | null;
  isCoach: boolean;
  /** recording ids of this leg (filled when the recording is ready) */
  records: number[];
  /** who the leg rings: 'employee' (an employee's phone), 'contact' (the client), 'operator' (start.simple_call operator) */
  party: 'employee' | 'contact' | 'operator';
  state: 'ringing' | 'talking' | 'ended';
}

export interface Recording {
  id: number;
  sessionId: number;
  communicationId: number;
  legIds: number[];
  /** seconds of audio */
  duration: number;
  employeeId: number | null;
  /** when the file becomes downloadable (404 before) */
  readyAt: number;
  /** when «Записанный разговор» is produced */
  notifyAt: number;
  bytes: Buffer;
}

export type SessionState = 'ringing' | 'talking' | 'ended';

export interface CallSession {
  id: number;
  communicationId: number;
  direction: 'in' | 'out';
  source: CallSource;
  startedAt: number;
  endedAt: number | null;
  /** first talk start (any leg) */
  talkStartedAt: number | null;
  /** talk end */
  talkEndedAt: number | null;
  /** seconds the contact spent talking with employees */
  talkSeconds: number;
  finishReason: string | null;
  virtualNumber: string | null;
  contactNumber: string;
  scenarioId: number | null;
  scenarioName: string | null;
  /** operations the session passed, in order (get.calls_report scenario_operations) */
  operations: Array<{ id: number; name: string }>;
  /** the caller's DTMF input (ivr, interactive input_result) */
  dtmf: string | null;
  state: SessionState;
  legs: Leg[];
  /** employees in order of appearance, with flags */
  employees: Array<{ employee_id: number; employee_full_name: string; is_answered: boolean; is_talked: boolean }>;
  externalId: string | null;
  callApiRequestId: number | null;
  /** Call API: who is called first, and the start parameters */
  callApi: null | {
    method: 'start.employee_call' | 'start.simple_call';
    firstCall: 'employee' | 'contact' | 'operator';
    employeeId: number | null;
    employeePhone: string | null;
    operatorNumber: string | null;
    /** the employee/operator leg answered; the contact is dialled next (first_call employee/operator) */
    phase: 'first' | 'second' | 'talk' | 'done';
  };
  /** the operation that produced the current ringing legs (its `next` on no answer) */
  pendingOperationId: number | null;
  isTransfer: boolean;
  recordings: number[];
  tags: Array<{ tag_id: number; tag_name: string }>;
  /** interactive processing: the last answer's redirect `phones` that are not employees */
  lost: boolean;
  /** when the session becomes visible in the reports (endedAt + reportLagMs) */
  reportVisibleAt: number | null;
}
