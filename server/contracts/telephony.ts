import { z } from 'zod';
import { telephonySettingsSchema } from './telephony-settings';

/**
 * What the «Телефония» tab exchanges with the server besides the settings themselves
 * (telephony-settings.ts): what to configure in UIS («Уведомления»), what has arrived, the
 * reconciliation and lines, and the UIS lists the pickers offer.
 */

/**
 * The UIS notification event types the app reads (docs/facts/telephony.md#notifications), in the order a call produces
 * them. UIS does not publish mnemonics: these are ours and end the notification URL.
 */
export const CALL_EVENT_TYPES = [
  'incoming_call',
  'waiting_for_answer',
  'talk_started',
  'talk_finished',
  'outgoing_call',
  'call_finished',
  'lost_call',
  'call_recorded',
] as const;
export const callEventTypeSchema = z.enum(CALL_EVENT_TYPES);
export type CallEventType = z.infer<typeof callEventTypeSchema>;

/** «Тип события» as the UIS UI names it. */
export const CALL_EVENT_NAMES: Record<CallEventType, string> = {
  incoming_call: 'Входящий звонок на виртуальный номер',
  waiting_for_answer: 'Ожидание ответа',
  talk_started: 'Начало разговора',
  talk_finished: 'Окончание разговора',
  outgoing_call: 'Исходящий звонок',
  call_finished: 'Завершение звонка',
  lost_call: 'Потерянный звонок',
  call_recorded: 'Записанный разговор',
};

const COMMON = ['call_session_id', 'communication_id', 'notification_timestamp', 'virtual_phone_number', 'contact_phone_number', 'contact_full_name', 'direction', 'external_id'];
const EMPLOYEE = ['employee_id', 'employee_full_name', 'extension_phone_number'];

/** The variables the app reads from each event type (anything else a template sends is ignored). */
export const CALL_EVENT_VARIABLES: Record<CallEventType, readonly string[]> = {
  incoming_call: [...COMMON, 'scenario_id', 'scenario_name', 'start_time'],
  waiting_for_answer: [...COMMON, ...EMPLOYEE, 'leg_id'],
  talk_started: [...COMMON, ...EMPLOYEE, 'leg_ids'],
  talk_finished: [...COMMON, ...EMPLOYEE, 'talk_time_duration'],
  outgoing_call: [...COMMON, ...EMPLOYEE, 'start_time'],
  call_finished: [...COMMON, ...EMPLOYEE, 'scenario_id', 'scenario_name', 'start_time', 'talk_time_duration', 'total_time_duration', 'wait_time_duration'],
  lost_call: [...COMMON, 'scenario_id', 'scenario_name', 'start_time', 'employee_ids', 'wait_time_duration'],
  call_recorded: [...COMMON, ...EMPLOYEE, 'file_link', 'file_duration'],
};

/** The body template to paste: JSON, every placeholder unquoted (UIS writes JSON values into JSON bodies). */
export function callEventTemplate(type: CallEventType): string {
  return `{\n${CALL_EVENT_VARIABLES[type].map((v) => `  "${v}": {{${v}}}`).join(',\n')}\n}`;
}

export const callEventSetupSchema = z.object({
  type: callEventTypeSchema,
  /** «Тип события» in the UIS UI */
  name: z.string(),
  method: z.literal('POST'),
  url: z.string(),
  contentType: z.literal('application/json'),
  body: z.string(),
  /** arrived so far (repeats counted), and when last; null = never */
  arrived: z.object({ count: z.number().int(), lastAt: z.string() }).nullable(),
});
export type CallEventSetup = z.infer<typeof callEventSetupSchema>;

/** UIS interactive call processing asks this URL; the parameters to tick; how long UIS should wait. */
export const personalManagerSetupSchema = z.object({
  url: z.string(),
  method: z.literal('POST'),
  params: z.array(z.string()),
  /** «Время ожидания» to set, seconds (we answer within 2 s) */
  waitSeconds: z.number().int(),
  /** whether UIS asks: answers given while the forwarding is on (null = none yet) */
  asked: z.object({ count: z.number().int(), withManager: z.number().int(), lastAt: z.string(), lastOutcome: z.string() }).nullable().optional(),
});
export type PersonalManagerSetup = z.infer<typeof personalManagerSetupSchema>;

export const telephonyViewSchema = z.object({
  settings: telephonySettingsSchema,
  /** False until an admin saved the tab once. */
  saved: z.boolean(),
  updatedAt: z.string().nullable(),
  /** A UIS account is linked: lists, reconciliation and lines need one. */
  linked: z.boolean(),
  /** «Уведомления» to configure in UIS, one per event type (admins only: the URLs carry the secret). */
  notifications: z.array(callEventSetupSchema),
  /** The report's reconciliation. */
  reconcile: z.object({ lastRunAt: z.string().nullable(), recovered: z.number().int(), lastError: z.string().nullable() }),
  /** Bitrix24 external lines kept in step with the account's virtual numbers. */
  lines: z.object({ numbers: z.array(z.object({ number: z.string(), name: z.string() })), syncedAt: z.string().nullable(), lastError: z.string().nullable() }),
  /** Calls followed, by status (pending, waiting, done, failed). */
  calls: z.record(z.string(), z.number().int()),
  /**
   * «Переадресация на персонального менеджера из CRM» (issue #14): what to set in the UIS scenario's
   * «Интерактивная обработка вызова» operation — administrators only (the URL holds the secret).
   */
  personalManager: personalManagerSetupSchema.nullable().optional(),
  /** Calls from Bitrix24 (click-to-call, the callback form, issue #14) that could not start, newest first. */
  startFailures: z
    .array(z.object({ kind: z.enum(['click', 'callback']), phone: z.string(), userId: z.number().int().nullable(), code: z.string(), reason: z.string(), at: z.string() }))
    .optional(),
});
export type TelephonyView = z.infer<typeof telephonyViewSchema>;

const named = z.object({ id: z.number().int(), name: z.string() });

/** Lists loaded live from the linked UIS account for the pickers (filters, rules, numbers). */
export const telephonyListsSchema = z.object({
  virtualNumbers: z.array(z.object({ number: z.string(), name: z.string() })),
  scenarios: z.array(named),
  /** scenario operations («Последняя операция сценария»), with their scenario's name */
  operations: z.array(named.extend({ scenario: z.string() })),
  groups: z.array(named),
  employees: z.array(named),
  campaigns: z.array(named),
  sites: z.array(named),
  sources: z.array(named),
});
export type TelephonyLists = z.infer<typeof telephonyListsSchema>;
