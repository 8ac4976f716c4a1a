import { phoneDigits } from '../phone';
import { lockKeys, refKey, requestKey } from './context';
import { bindTarget, planCallCreate, type CallContext } from './call-create';
import { callFieldOps } from './call-fields';
import { activityAndRecording, callGate } from './call-gate';
import { callResponsibles } from './call-responsible';
import { finishStatus } from './call-status';
import { callTemplateVars, talker } from './call-templates';
import { firstVirtualNumber, type CallDecision, type CallFacts, type CallLink, type CallOperation, type DecideCallInput, type FinishParams, type RegisterParams } from './call-types';
import { isKnownClient } from './pick-targets';
import type { Found } from './types';

type Skip = Extract<CallDecision, { action: 'skip' }>;
type Apply = Extract<CallDecision, { action: 'apply' }>;
const skip = (reason: Skip['reason'], detail: string, retry = false): Skip => ({ action: 'skip', reason, detail, retry });

/** The search result without the items this call created itself (they are not the client's old ones). */
function withoutOwn(found: Found | null, created: CallLink['created']): Found {
  const own = new Set(created.map((c) => refKey(c.entity)));
  const keep = <T extends { id: number }>(type: string, list: T[]) => list.filter((e) => !own.has(`${type}-${e.id}`));
  const f = found ?? { leads: [], deals: [], contacts: [], companies: [] };
  return { leads: keep('lead', f.leads), deals: keep('deal', f.deals), contacts: keep('contact', f.contacts), companies: keep('company', f.companies) };
}

/** The Bitrix24 user of the employee on the line now: the caller, or the one who answered. */
function onTheLine(f: CallFacts, which: 'first' | 'last'): number | null {
  return (f.direction === 'out' ? f.caller?.userId : talker(f, which)?.userId) ?? null;
}

/**
 * The rules of «Телефония» (seed 002 lines 22–229) for one call, asked at its start, at its answer
 * and at its end: whether to register it in Bitrix24 (and for whom), the CRM operations in order
 * with idempotency keys, the `finish` parameters, the recording and the delayed responsible.
 *
 * The items a call creates are created before it is registered, so the call is bound to them and
 * `finish` writes the activity there (Bitrix24 fixes a call's CRM bindings at `register`,
 * docs/facts/telephony.md#register) — «сначала создается сущность с ответственным по умолчанию» (line 69). At the
 * end the responsible of those items becomes the one the whole call gives (the employee who
 * answered), at once or after «Обновлять ответственного через», and `finish` adds the activity.
 * A call seen only at its end (notifications lost, the report's reconciliation) gets everything at
 * once. Replays give the same keys, so nothing is done twice.
 */
export function decideCall(i: DecideCallInput): CallDecision {
  const { settings: s, facts: f, link } = i;
  const other = s.processing.otherTelephony;
  const stop = !s.enabled
    ? skip('tab-off', 'the «Телефония» tab is off')
    : !f.contactPhone
      ? skip('no-number', 'the client number is hidden: Bitrix24 registers no call without it')
      : other ? null : callGate(s, f);
  if (stop) return f.phase === 'end' && link?.registeredUserId ? finishOnly(s, f, link, link.registeredUserId) : stop;
  if (f.phase !== 'end' && link) return skip('nothing-new', 'the call is already handled at an earlier point; its end finishes it', true);
  const { activity, recording } = other ? { activity: true, recording: s.recording.transfer && f.answered } : activityAndRecording(s, f);
  if (f.phase !== 'end' && !activity) return skip('waits-for-end', 'the call is not registered (a filter on the employee or the scenario operation, «Создавать дело и передавать записи…» off): its items are made at its end', true);

  const found = withoutOwn(i.found, link?.created ?? []);
  const who = callResponsibles(s, f, found);
  const delayed = !other && s.processing.responsibleDelay.use;
  const c: CallContext = { s, f, vars: callTemplateVars(f, i.timeZone, s.responsible.talker), key: requestKey(f) };
  let ops: CallOperation[] = [];
  let created = link?.created ?? [];
  if (!link && !other) {
    // «сначала создается сущность с ответственным по умолчанию» when the responsible changes later
    const plan = planCallCreate(c, i.crmMode, found, delayed ? who.fallback : who.entity);
    if (plan) [ops, created] = [plan.ops, plan.created];
  }
  const request = link?.request ?? (other ? 'other-telephony' : isKnownClient(found) ? 'repeat' : 'primary');
  const addToChat = s.chatMessage && f.direction === 'in';

  let register: RegisterParams | null = null;
  if (activity && !link?.registeredUserId) {
    const userId = delayed && created.length > 0 ? (who.fallback ?? who.activity) : who.activity;
    if (!userId) return skip('no-user', 'no Bitrix24 user to register the call for: choose the defaults of «Ответственные»');
    const live = f.phase !== 'end' && onTheLine(f, s.responsible.talker) === userId;
    register = {
      userId,
      type: f.direction === 'in' ? 2 : 1,
      phone: f.contactPhone!, // a call without a number stopped above
      lineNumber: phoneDigits(firstVirtualNumber(f)),
      startedAt: new Date(f.startedAt).toISOString(),
      show: live,
      addToChat,
      bind: other ? null : bindTarget(found, created),
    };
  }
  const registeredUserId = link?.registeredUserId ?? register?.userId ?? null;
  const base = { action: 'apply', request, lockKeys: lockKeys(f), link: { request, registeredUserId, created } } as const;
  if (f.phase !== 'end') return { ...base, ops, register, finish: null, attachRecording: false, followUp: null };
  return { ...base, ...planEnd(c, i, found, who, ops, created, registeredUserId, { activity, recording, delayed, other, addToChat }), register };
}

/**
 * A call registered at its start whose end the settings now skip (the tab switched off, a filter
 * changed meanwhile): it is still finished, for the user it was registered for — a registered call
 * left unfinished blocks the next one from the same number (docs/facts/telephony.md#gotcha-1).
 */
function finishOnly(s: DecideCallInput['settings'], f: CallFacts, link: CallLink, userId: number): CallDecision {
  const finish = finishParams(f, userId, s.chatMessage && f.direction === 'in');
  return { action: 'apply', request: link.request, lockKeys: lockKeys(f), ops: [], register: null, finish, attachRecording: false, followUp: null, link };
}

/** USER_ID, STATUS_CODE (and FAILED_REASON) from the outcome, DURATION in whole seconds of talk, ADD_TO_CHAT. */
function finishParams(f: CallFacts, userId: number, addToChat: boolean): FinishParams {
  return { userId, ...finishStatus(f), durationSec: f.answered ? Math.max(0, Math.round(f.talkSeconds)) : 0, addToChat };
}

interface EndFlags {
  activity: boolean;
  recording: boolean;
  delayed: boolean;
  other: boolean;
  addToChat: boolean;
}

/** The end of the call: fields, the responsible of what it created, «Обработано», finish, recording. */
function planEnd(
  c: CallContext,
  i: DecideCallInput,
  found: Found,
  who: ReturnType<typeof callResponsibles>,
  ops: CallOperation[],
  created: CallLink['created'],
  registeredUserId: number | null,
  x: EndFlags,
): Pick<Apply, 'ops' | 'finish' | 'attachRecording' | 'followUp'> {
  const { f } = c;
  const out = [...ops, ...callFieldOps(c, found, x.other, i.link?.created ?? [])];
  // the items this call created now take the responsible the whole call gives (line 69)
  const assign: CallOperation[] = who.entity
    ? created
        .filter((e) => e.responsibleId !== who.entity)
        .map((e) => ({ op: 'update', key: `${c.key}:assign:${refKey(e.entity)}`, target: e.entity, fields: { ASSIGNED_BY_ID: String(who.entity) } }))
    : [];
  // «"не выполненное" предыдущее дело получит статус "Обработано"» (line 64); another telephony's activities are not ours (line 46)
  if (!x.other && f.direction === 'in' && f.answered) {
    for (const id of new Set(i.openMissedCalls)) out.push({ op: 'complete', key: `${c.key}:complete:${id}`, activityId: id });
  }
  const userId = who.activity ?? registeredUserId;
  // every call registered is finished, even one the settings no longer give an activity
  const finish = (x.activity || registeredUserId) && userId ? finishParams(f, userId, x.addToChat) : null;
  const attachRecording = x.activity && x.recording;
  if (x.delayed && created.length > 0) {
    const minutes = c.s.processing.responsibleDelay.minutes;
    return { ops: out, finish: null, attachRecording: false, followUp: { dueAt: (f.endedAt ?? f.startedAt) + minutes * 60_000, ops: assign, finish, attachRecording } };
  }
  return { ops: [...out, ...assign], finish, attachRecording, followUp: null };
}
