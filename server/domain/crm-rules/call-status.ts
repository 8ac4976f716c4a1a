import type { CallFacts } from './call-types';

/**
 * Bitrix24 STATUS_CODE of a finished call (docs/facts/telephony.md#finish, docs/facts/telephony.md#call-sequence). Answered → `200` («Выполнено»).
 * Incoming not answered → `304`, the only code that leaves the call activity open («Не выполненное»,
 * seed 002 line 63) and starts Bitrix24's missed-call trigger. Outgoing not answered → the code of
 * UIS's `finish_reason` (get.calls_report «Причины окончания сессии звонка»); outgoing activities
 * are always completed. The code is always sent: without it a call with DURATION 0 is "missed"
 * (docs/facts/telephony.md#gotcha-2).
 */
const OUTGOING_CODES: Record<string, { code: string; reason: string }> = {};
const add = (code: string, reason: string, mnemonics: string[]) => mnemonics.forEach((m) => (OUTGOING_CODES[m] = { code, reason }));
add('486', 'Абонент занят', ['subscriber_busy']);
add('480', 'Абонент не ответил', ['subscriber_not_responsible', 'timeout', 'no_success_subscriber_call', 'action_interval_exceeded']);
add('603', 'Абонент отклонил вызов', ['subscriber_disconnects']);
add('603-S', 'Вызов отменён сотрудником', ['operator_disconnects', 'disconnect_before_call_processing', 'no_operator_confirmation']);
add('404', 'Неверный номер', ['subscriber_number_problems']);
add('484', 'Направление недоступно', ['communication_unavailable']);
add('402', 'Недостаточно средств', ['not_enough_money', 'no_money', 'limit_exceeded']);
add('423', 'Номер заблокирован', ['locked_numb', 'net_lock', 'sip_trunk_is_locked', 'fmc_is_locked']);
add('403', 'Звонок запрещён', [
  'call_not_allowed_on_tp', 'out_call_not_allowed', 'out_call_not_allowed_by_status', 'external_call_not_allowed',
  'external_call_not_allowed_by_status', 'internal_call_not_allowed', 'internal_call_not_allowed_by_status',
  'api_permission_denied', 'component_is_inactive', 'phone_protocol_not_allowed_by_status', 'auto_out_calls_not_allowed_by_status',
]);
add('503', 'Нет свободных линий', ['max_out_call_reached', 'no_resources', 'operator_channels_busy', 'locked_phone']);

export function finishStatus(f: CallFacts): { statusCode: string; failedReason: string | null } {
  if (f.answered) return { statusCode: '200', failedReason: null };
  if (f.direction === 'in') return { statusCode: '304', failedReason: 'Пропущенный звонок' };
  const known = f.finishReason ? OUTGOING_CODES[f.finishReason] : undefined;
  if (known) return { statusCode: known.code, failedReason: known.reason };
  return { statusCode: 'OTHER', failedReason: f.finishReason ? `Звонок не состоялся (${f.finishReason})` : 'Звонок не состоялся' };
}

/** The file name `attachRecord` gets: UIS links have no extension and Bitrix24 takes only .mp3/.wav (docs/facts/telephony.md#gotcha-9). */
export function recordingFileName(sessionId: number, recordId: string | number): string {
  return `uis-${sessionId}-${String(recordId).replace(/[^\w-]/g, '_')}.mp3`;
}
