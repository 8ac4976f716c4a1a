import type { TelephonySettings } from '../../contracts/telephony-settings';
import type { CreateOp, EntityRef, Found, UpdateOp } from './types';

/**
 * A UIS call for the CRM rules engine (issue #13, seed 002 «Телефония»). The telephony service
 * gathers it from the UIS notifications and the call reports (docs/facts/telephony.md#uis-call-signals, docs/facts/telephony.md#call-sequence, docs/facts/telephony.md#call-fields) and asks
 * `decideCall` at each point of the call; nothing here does I/O.
 */

/** A UIS employee on the call and, when the employee sync paired him, his Bitrix24 user. */
export interface CallEmployee {
  employeeId: number;
  userId: number | null;
  name: string | null;
}

/** The point of the call the decision is asked at. */
export type CallPhase = 'start' | 'answer' | 'end';

export interface CallFacts {
  kind: 'call';
  /** UIS `call_session_id`: the key of everything, passed to Bitrix24 as EXTERNAL_CALL_ID */
  id: number;
  communicationId: number | null;
  direction: 'in' | 'out';
  phase: CallPhase;
  /** ms since epoch */
  startedAt: number;
  endedAt: number | null;
  /** the client's number, E.164 (`+79161234567`); null when hidden */
  contactPhone: string | null;
  contactName: string | null;
  /** the virtual numbers that took the call, in order (a transfer may add one); see `firstVirtualNumber` */
  virtualNumbers: string[];
  scenarioId: number | null;
  scenarioName: string | null;
  /** «Последняя операция сценария» (the last of `scenario_operations`, or the answering leg's action) */
  lastOperationId: number | null;
  lastOperationName: string | null;
  /** «Выбранная посетителем группа» (the answering leg's group) */
  groupId: number | null;
  groupName: string | null;
  /** outgoing: the employee who calls */
  caller: CallEmployee | null;
  /** incoming: the employees who talked to the client, in order (a transfer adds one) */
  talkers: CallEmployee[];
  /** an employee talked to the client (false at `start`, and for a missed call) */
  answered: boolean;
  /** talk time, seconds */
  talkSeconds: number;
  /** UIS `finish_reason` mnemonic (get.calls_report), null while unknown */
  finishReason: string | null;
  campaignId: number | null;
  campaignName: string | null;
  firstCampaignId: number | null;
  firstCampaignName: string | null;
  siteId: number | null;
  siteName: string | null;
  sourceId: number | null;
  sourceName: string | null;
  utm: Partial<Record<'source' | 'medium' | 'campaign' | 'term' | 'content', string | null>>;
}

/**
 * The call's virtual number: the one the client dialled or the employee called from — with a
 * transfer «первый виртуальный номер, который принял звонок» (seed 002 line 78). Filters, the line,
 * the titles and «Дополнительно об источнике» all use it.
 */
export function firstVirtualNumber(f: CallFacts): string | null {
  return f.virtualNumbers[0] ?? null;
}

/** The portal's CRM mode (`crm.settings.mode.get`): leads, or deals + contacts + companies only. */
export type CrmMode = 'classic' | 'simple';

/** What was done for a call at an earlier point (stored by the service, refs resolved to ids). */
export interface CallLink {
  request: CallRequest;
  /** the user the call was registered for; null while it is not registered */
  registeredUserId: number | null;
  /** the CRM items this call created, with the responsible they were created with */
  created: Array<{ entity: EntityRef; responsibleId: number | null }>;
}

export type CallRequest = 'primary' | 'repeat' | 'other-telephony';

/** «Обработано»: an open missed-call activity of the client completed by a later answered call. */
export interface CompleteOp {
  op: 'complete';
  key: string;
  activityId: number;
}
/** CRM operations of a call, applied in order before `register` (those it binds to) and `finish`. */
export type CallOperation = CreateOp | UpdateOp | CompleteOp;

/** `telephony.externalCall.register` as the rules want it (docs/facts/telephony.md#register). */
export interface RegisterParams {
  userId: number;
  /** 1 outgoing, 2 incoming (3 never leaves a missed call open, docs/facts/telephony.md#gotcha-7) */
  type: 1 | 2;
  /** the client's number */
  phone: string;
  /** LINE_NUMBER: the virtual number, digits; null when UIS did not report it */
  lineNumber: string | null;
  /** CALL_START_DATE, ISO-8601 */
  startedAt: string;
  /** SHOW: the card at once (outgoing: the caller); incoming cards follow the ringing legs */
  show: boolean;
  addToChat: boolean;
  /** CRM_ENTITY_TYPE/ID: the item the call activity belongs to; null = Bitrix24 searches by the number */
  bind: EntityRef | null;
}

/** `telephony.externalCall.finish` (docs/facts/telephony.md#finish): USER_ID, STATUS_CODE, DURATION, ADD_TO_CHAT, FAILED_REASON. */
export interface FinishParams {
  userId: number;
  statusCode: string;
  durationSec: number;
  addToChat: boolean;
  failedReason: string | null;
}

/** «Обновлять ответственного через»: later, set the responsible, then add the activity (finish). */
export interface FollowUp {
  dueAt: number;
  /** may refer to the items the decision created (`{ ref }`), as its `link` does */
  ops: CallOperation[];
  finish: FinishParams | null;
  attachRecording: boolean;
}

export type CallSkipReason =
  | 'tab-off'
  | 'no-number'
  | 'no-user'
  | 'filtered-out'
  | 'waits-for-answer'
  | 'missed-answer-filter'
  | 'waits-for-end'
  | 'nothing-new';

export type CallDecision =
  | { action: 'skip'; reason: CallSkipReason; detail: string; /** a later point of the call may still act */ retry: boolean }
  | {
      action: 'apply';
      request: CallRequest;
      /** single-flight scope: the call and the client's number */
      lockKeys: string[];
      ops: CallOperation[];
      /** register now (after `ops`); null = already registered, or the call is not registered at all */
      register: RegisterParams | null;
      /** finish now (after `register`); null = not at this point, or deferred to `followUp` */
      finish: FinishParams | null;
      /** attach the recording once UIS has it (after `finish`; with a deferred finish, `followUp` says) */
      attachRecording: boolean;
      followUp: FollowUp | null;
      /** what to store as the call's link once applied (refs resolved to ids) */
      link: CallLink;
    };

export interface DecideCallInput {
  settings: TelephonySettings;
  facts: CallFacts;
  /** what the Bitrix24 search found by the client's number; null when none was possible */
  found: Found | null;
  /** what was done for this call at an earlier point; null at its first decision */
  link: CallLink | null;
  crmMode: CrmMode;
  /** open missed-call activities on the client's items (ids), completed by an answered incoming call */
  openMissedCalls: readonly number[];
  /** the portal's time zone, for the dates in titles */
  timeZone: string;
}
