import { e164 } from '../phone';
import type { CallEmployee, CallFacts, CallPhase } from '../crm-rules/call-types';
import type { CallNotification, CallReport } from './events';

/**
 * One UIS call as far as we know it: folded from every notification of its session and, when the
 * reconciliation (or the end of the call) read it, its get.calls_report row. The fold depends on the
 * set of notifications, not on their order — UIS promises no order and may repeat or lose any —
 * except for who rings or talks *now* (the cards), which follows the order we received them in.
 * A report, when there is one, is the truth about how the call ended.
 */
export interface CallTrack {
  sessionId: number;
  direction: 'in' | 'out';
  startedAt: number;
  ended: boolean;
  endedAt: number | null;
  answered: boolean;
  talkSeconds: number;
  finishReason: string | null;
  /** E.164, or null when hidden / not a phone */
  contactPhone: string | null;
  contactName: string | null;
  virtualNumbers: string[];
  communicationId: number | null;
  externalId: string | null;
  scenarioId: number | null;
  scenarioName: string | null;
  lastOperation: { id: number; name: string | null } | null;
  group: { id: number; name: string | null } | null;
  /** outgoing: the employee who calls */
  caller: number | null;
  /** incoming: the employees who talked, in order */
  talkers: number[];
  /** employees whose phone rings now (none once the call is answered or over, but a transfer's target) */
  ringing: number[];
  /** the employee talking to the client now */
  talking: number | null;
  recordings: Array<{ id: string; url: string }>;
  attribution: Pick<
    CallFacts,
    'campaignId' | 'campaignName' | 'firstCampaignId' | 'firstCampaignName' | 'siteId' | 'siteName' | 'sourceId' | 'sourceName' | 'utm'
  >;
  /** the report was read (attribution, finish reason, operations are known) */
  reported: boolean;
  /** notifications of these types arrived */
  seen: string[];
}

const first = <T>(...xs: Array<T | null | undefined>): T | null => xs.find((x) => x !== null && x !== undefined) ?? null;
const uniq = (xs: number[]) => [...new Set(xs)];

/** The record id a recording link names (its last number), else the whole link's hash-free tail. */
function recordId(url: string): string {
  const parts = url.split(/[?#]/)[0]!.split('/').filter(Boolean);
  const n = [...parts].reverse().find((p) => /^\d+$/.test(p));
  return n ?? (parts.at(-1) ?? 'record').slice(0, 40);
}

/**
 * Folds what is known about a session. `parseTime` reads a UIS date-time (`start_time`, the
 * account's zone); `now` stands in for a start no one reported.
 */
export function foldCall(sessionId: number, notes: readonly CallNotification[], report: CallReport | null, parseTime: (s: string) => number | null, now: number): CallTrack {
  const ordered = [...notes].sort((a, b) => a.receivedAt - b.receivedAt);
  const of = (...types: string[]) => ordered.filter((n) => types.includes(n.event));
  const any = <K extends keyof CallNotification>(k: K): NonNullable<CallNotification[K]> | null => first(...ordered.map((n) => n[k])) as NonNullable<CallNotification[K]> | null;

  const started = of('incoming_call', 'outgoing_call');
  const direction: 'in' | 'out' =
    report?.direction ?? any('direction') ?? (started[0]?.event === 'outgoing_call' ? 'out' : started[0]?.event === 'incoming_call' ? 'in' : of('lost_call').length ? 'in' : 'in');

  const startTimes = ordered.map((n) => (n.startTime ? parseTime(n.startTime) : null)).filter((t): t is number => t !== null);
  const startedAt = report?.startedAt ?? (startTimes.length ? Math.min(...startTimes) : ordered.length ? Math.min(...ordered.map((n) => n.receivedAt)) : now);

  const finished = of('call_finished');
  const lost = of('lost_call');
  const endNote = finished[0] ?? lost[0];
  const ended = !!report?.finishedAt || !!endNote;
  const endedAt = report?.finishedAt ?? (endNote ? (endNote.timestamp ? endNote.timestamp * 1000 : endNote.receivedAt) : null);

  // who rang and talked, in the order we heard it
  let ringing = new Set<number>();
  let talking: number | null = null;
  const talkedByEvents: number[] = [];
  let caller: number | null = null;
  for (const n of ordered) {
    switch (n.event) {
      case 'outgoing_call':
        if (n.employeeId !== null) caller ??= n.employeeId;
        break;
      case 'waiting_for_answer':
        if (n.employeeId !== null) ringing.add(n.employeeId);
        break;
      case 'talk_started':
        if (n.employeeId !== null) {
          talking = n.employeeId;
          talkedByEvents.push(n.employeeId);
        }
        ringing = new Set();
        break;
      case 'talk_finished':
        if (n.employeeId !== null) {
          talkedByEvents.push(n.employeeId);
          if (talking === n.employeeId) talking = null;
        }
        break;
      default:
        break;
    }
  }
  // the end notification names the employee who talked last (or was called last)
  const finishedTalk = first(...finished.map((n) => n.talkSeconds));
  const talkFinished = of('talk_finished').map((n) => n.talkSeconds ?? 0);
  const talkSeconds = report ? report.talkSeconds : (finishedTalk ?? (talkFinished.length ? talkFinished.reduce((a, b) => a + b, 0) : 0));
  if (direction === 'out') caller ??= first(...ordered.map((n) => n.employeeId), report?.employees[0]?.id);

  let talkers: number[];
  if (report?.legs) {
    talkers = uniq(report.legs.filter((l) => l.connectedAt !== null && l.employeeId !== null).sort((a, b) => a.connectedAt! - b.connectedAt!).map((l) => l.employeeId!));
  } else if (report && report.employees.some((e) => e.talked)) {
    const talked = report.employees.filter((e) => e.talked).map((e) => e.id);
    talkers = uniq([report.firstTalkedId, ...talked, report.lastTalkedId].filter((x): x is number => x !== null));
    if (report.lastTalkedId !== null) talkers = [...talkers.filter((x) => x !== report.lastTalkedId), report.lastTalkedId];
  } else {
    talkers = uniq(talkedByEvents);
    const last = first(...finished.map((n) => n.employeeId));
    if (talkers.length === 0 && last !== null && (finishedTalk ?? 0) > 0) talkers = [last];
  }
  if (direction === 'out') talkers = talkers.filter((t) => t === caller);

  const reportAnswered = report ? !report.isLost && report.talkSeconds > 0 : false;
  const answered = reportAnswered || talkers.length > 0 || talkSeconds > 0 || of('talk_started').length > 0;

  const recordings: CallTrack['recordings'] = [];
  const addRecord = (url: string | null, id?: string) => {
    if (!url || recordings.some((r) => r.url === url)) return;
    recordings.push({ id: id ?? recordId(url), url });
  };
  for (const n of of('call_recorded')) addRecord(n.fileLink);
  if (report && recordings.length === 0) addRecord(report.recordLink, report.recordIds[0] !== undefined ? String(report.recordIds[0]) : undefined);

  const vns: string[] = [];
  for (const v of [report?.virtualNumber, ...started.map((n) => n.virtualNumber), ...ordered.map((n) => n.virtualNumber)]) {
    const d = v ? v.replace(/\D+/g, '') : '';
    if (d && !vns.includes(d)) vns.push(d);
  }

  const answeringLeg = report?.legs?.filter((l) => l.connectedAt !== null && l.employeeId !== null).sort((a, b) => a.connectedAt! - b.connectedAt!)[0];
  const lastOp = report?.operations.at(-1);
  return {
    sessionId,
    direction,
    startedAt,
    ended,
    endedAt,
    answered,
    talkSeconds: Math.max(0, Math.round(talkSeconds)),
    finishReason: report?.finishReason ?? null,
    contactPhone: e164(first(report?.contactPhone, ...ordered.map((n) => n.contactPhone)) ?? null),
    contactName: first(report?.contactName, ...ordered.map((n) => n.contactName)),
    virtualNumbers: vns,
    communicationId: first(report?.communicationId, ...ordered.map((n) => n.communicationId)),
    externalId: first(report?.externalId, ...ordered.map((n) => n.externalId)),
    scenarioId: first(report?.scenarioId, ...ordered.map((n) => n.scenarioId)),
    scenarioName: first(report?.scenarioName, ...ordered.map((n) => n.scenarioName)),
    lastOperation: lastOp ? { id: lastOp.id, name: lastOp.name } : answeringLeg?.actionId ? { id: answeringLeg.actionId, name: answeringLeg.actionName } : null,
    group: answeringLeg?.groupId ? { id: answeringLeg.groupId, name: answeringLeg.groupName } : null,
    caller: direction === 'out' ? caller : null,
    talkers: direction === 'out' ? (answered && caller !== null ? [caller] : []) : talkers,
    ringing: ended ? [] : [...ringing],
    talking: ended ? null : direction === 'out' ? caller : talking,
    recordings,
    attribution: {
      campaignId: report?.campaignId ?? null,
      campaignName: report?.campaignName ?? null,
      firstCampaignId: report?.firstCampaignId ?? null,
      firstCampaignName: report?.firstCampaignName ?? null,
      siteId: report?.siteId ?? null,
      siteName: report?.siteName ?? null,
      sourceId: report?.sourceId ?? null,
      sourceName: report?.sourceName ?? null,
      utm: report?.utm ?? {},
    },
    reported: !!report,
    seen: [...new Set(ordered.map((n) => n.event))],
  };
}

/** The point of the call the rules are asked at. */
export function phaseOf(t: CallTrack): CallPhase {
  return t.ended ? 'end' : t.answered ? 'answer' : 'start';
}

/** The facts `decideCall` takes, with each employee's Bitrix24 user (employee sync). */
export function callFacts(t: CallTrack, employee: (id: number) => CallEmployee): CallFacts {
  const phase = phaseOf(t);
  return {
    kind: 'call',
    id: t.sessionId,
    communicationId: t.communicationId,
    direction: t.direction,
    phase,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    contactPhone: t.contactPhone,
    contactName: t.contactName,
    virtualNumbers: t.virtualNumbers,
    scenarioId: t.scenarioId,
    scenarioName: t.scenarioName,
    lastOperationId: t.lastOperation?.id ?? null,
    lastOperationName: t.lastOperation?.name ?? null,
    groupId: t.group?.id ?? null,
    groupName: t.group?.name ?? null,
    caller: t.caller !== null ? employee(t.caller) : null,
    talkers: t.talkers.map(employee),
    answered: t.answered,
    talkSeconds: t.talkSeconds,
    finishReason: t.finishReason,
    ...t.attribution,
  };
}

/**
 * Whom the call card should be shown to now (docs/facts/telephony.md#show-hide, the marketplace requirement: show
 * to the ringing employees, hide from the others once one answers): the employees whose phone rings
 * and the one talking (outgoing: the caller); nobody once the call is over.
 */
export function cardUsers(t: CallTrack, userOf: (employeeId: number) => number | null): number[] {
  if (t.ended) return [];
  const ids = [...t.ringing, ...(t.talking !== null ? [t.talking] : [])];
  return [...new Set(ids.map(userOf).filter((u): u is number => u !== null))].sort((a, b) => a - b);
}
