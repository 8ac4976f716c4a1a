import { usesAnswerTimeParams, type TelephonySettings } from '../../contracts/telephony-settings';
import { filterParams, matchFilter } from './match-filter';
import type { CallDecision, CallFacts } from './call-types';

type Skip = Extract<CallDecision, { action: 'skip' }>;
const skip = (reason: Skip['reason'], detail: string, retry = false): Skip => ({ action: 'skip', reason, detail, retry });

/** The call filter of a direction, when «Фильтровать звонки» applies (never with another telephony). */
function activeFilter(s: TelephonySettings, direction: 'in' | 'out') {
  const p = s.processing;
  if (!p.filter.use || p.otherTelephony) return null;
  return direction === 'in' ? p.filter.incoming : p.filter.outgoing;
}

/**
 * When a call can be registered: at its start, or — with an incoming filter on «Сотрудник»,
 * «Выбранная посетителем группа» or «Последняя операция сценария» — «только после принятия звонка
 * сотрудником» (seed 002 line 89). The settings page shows the manual's warning when this is 'answer'.
 */
export function registrationTiming(s: TelephonySettings, direction: 'in' | 'out'): 'start' | 'answer' {
  const f = direction === 'in' ? activeFilter(s, 'in') : null;
  return f && usesAnswerTimeParams(f) ? 'answer' : 'start';
}

/**
 * «Фильтровать звонки» (seed 002 lines 79–117): off or without conditions, every call passes (line
 * 81); otherwise only the calls the conditions let through (line 82). With an answer-time filter a
 * call waits for its answer, and a missed one is never registered (line 89). Null = go on.
 */
export function callGate(s: TelephonySettings, f: CallFacts): Skip | null {
  const filter = activeFilter(s, f.direction);
  if (!filter) return null;
  if (registrationTiming(s, f.direction) === 'answer' && !f.answered) {
    if (f.phase === 'end') return skip('missed-answer-filter', 'a filter on the employee, the visitor-selected group or the last scenario operation registers only answered calls');
    return skip('waits-for-answer', 'the call filter can be checked only once an employee answers', true);
  }
  // before the end the call report's attribution may still be missing: the end decides for good
  if (!matchFilter(f, filter)) return skip('filtered-out', `the «Фильтровать звонки» conditions exclude this ${f.direction === 'in' ? 'incoming' : 'outgoing'} call`, f.phase !== 'end');
  return null;
}

/**
 * «Запись разговора» (seed 002 lines 134–141): whether the call activity (the registered call) and
 * its recording reach Bitrix24. «Передавать записи разговора» off → no recording. With a call
 * filter on the employee or the scenario operation, «Создавать дело и передавать записи, если
 * настроены определенные фильтры» decides: on → activity and recording for the calls the filter
 * lets through; off → «записи разговора и дела в сущности не будет» (the items are still created).
 * A missed call has no recording.
 */
export function activityAndRecording(s: TelephonySettings, f: CallFacts): { activity: boolean; recording: boolean } {
  if (!s.recording.transfer) return { activity: true, recording: false };
  const filter = activeFilter(s, f.direction);
  const used = filter ? filterParams<string>(filter) : new Set<string>();
  if ((used.has('employee_id') || used.has('last_operation_id')) && !s.recording.withFilters) return { activity: false, recording: false };
  return { activity: true, recording: f.answered };
}
