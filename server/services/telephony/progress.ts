import type { CallDecision, CallLink, CallOperation, CallPhase, FinishParams, RegisterParams } from '../../domain/crm-rules/call-types';

export type CallApply = Extract<CallDecision, { action: 'apply' }>;

/** Work left to do for a call now: a decision being applied, or its delayed responsible. */
export interface CallPlan {
  /** the point it was decided at (`followUp` for «Обновлять ответственного через») */
  phase: CallPhase | 'followUp';
  ops: CallOperation[];
  register: RegisterParams | null;
  finish: FinishParams | null;
  attachRecording: boolean;
  followUp: CallApply['followUp'];
  /** what to keep as the call's link once done (refs resolved then) */
  link: CallLink;
}

/**
 * What was done in Bitrix24 for one call, kept with its job row (JSON). A run continues from here:
 * operations by idempotency key, the CALL_ID, the cards shown, whether it was finished, the
 * recording. Nothing here is decided again once stored.
 */
export interface CallProgress {
  /** the latest point the rules were asked at */
  decided: CallPhase | null;
  plan: CallPlan | null;
  /** CRM operations by key: `sent` = the outcome is unknown (answer lost), `done` = with Bitrix24's id */
  ops: Record<string, { state: 'sent' | 'done'; id: number | null }>;
  link: CallLink | null;
  /** Bitrix24's CALL_ID once registered (or given by Bitrix24 for a call it started, issue #14) */
  callId: string | null;
  /** the call was started from Bitrix24 (click-to-call): it is registered there already, never again */
  origin: 'uis' | 'bitrix';
  /** users the call card is shown to now */
  shown: number[];
  finished: boolean;
  /** the call activity `finish` wrote */
  activityId: number | null;
  followUp: { dueAt: number; plan: CallPlan } | null;
  record: { wanted: boolean; attached: string[]; tries: number; gaveUp: boolean; lastError: string | null };
  /** the end needs the report (attribution, finish reason): how many times it was not there yet */
  reportTries: number;
  /** the client's number found nothing in the CRM when the call was first decided */
  newClient: boolean;
  /** the last skip of the rules, with its reason */
  skip: { reason: string; detail: string } | null;
}

export function newProgress(): CallProgress {
  return {
    decided: null,
    plan: null,
    ops: {},
    link: null,
    callId: null,
    origin: 'uis',
    shown: [],
    finished: false,
    activityId: null,
    followUp: null,
    record: { wanted: false, attached: [], tries: 0, gaveUp: false, lastError: null },
    reportTries: 0,
    newClient: false,
    skip: null,
  };
}

const ORDER: Record<CallPhase, number> = { start: 0, answer: 1, end: 2 };
/** Whether the call reached a point the rules were not asked at yet. */
export function isNewPhase(decided: CallPhase | null, now: CallPhase): boolean {
  return decided === null || ORDER[now] > ORDER[decided];
}
