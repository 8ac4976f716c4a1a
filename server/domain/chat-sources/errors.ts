/**
 * What can go wrong with a chat source, with what the admin does about it (shown as «последняя
 * ошибка» with its fix; the page words the fix by code, the health view may use `fix` as is).
 */
export const SOURCE_ERROR_FIXES = {
  UIS_NOT_LINKED: 'Link a UIS account on the «Главная» tab; conversations wait meanwhile.',
  UIS_REJECTED: 'UIS refused a conversation: check that the employee, sites, sources and campaigns chosen here still exist in UIS. The list of conversations names each refusal; saving the settings sends the refused ones again.',
  UIS_UNAVAILABLE: 'UIS was not reachable or limited the calls; uploads are retried automatically.',
  AMO_REAUTH: 'amoCRM access was lost (the integration was disconnected or the grant expired): connect the account again.',
  AMO_FORBIDDEN: 'The connected amoCRM user may not read some talks: connect the account again as an administrator; the talks it could not read then go again.',
  AMO_UNAVAILABLE: 'amoCRM was not reachable or limited the requests; reads are retried automatically.',
  AMO_WEBHOOK_MANUAL: 'amoCRM did not let us create the «Беседа изменена» webhook: create it by hand in amoCRM (Настройки → Интеграции → Web hooks) with the Webhook url shown here.',
  AMO_WEBHOOK_DISABLED: 'amoCRM switched the webhook off after failed deliveries; it is registered again automatically (or create it by hand).',
} as const;

export type SourceErrorCode = keyof typeof SOURCE_ERROR_FIXES;

export function fixFor(code: string): string {
  return (SOURCE_ERROR_FIXES as Record<string, string>)[code] ?? 'See the message; the conversations list names each problem.';
}

/**
 * Errors whose cause is outside any one conversation and that a later success proves gone: the
 * state stops showing them (a refusal of a conversation stays: its fix is the admin's).
 */
export const RESOLVED_BY = {
  /** a conversation of the source reached UIS */
  upload: ['UIS_NOT_LINKED', 'UIS_UNAVAILABLE'],
  /** amoCRM answered the reads (or the keep-alive) */
  amoRead: ['AMO_UNAVAILABLE', 'AMO_REAUTH'],
  /** a genuine «Беседа изменена» arrived: the webhook exists and is on */
  amoHook: ['AMO_WEBHOOK_MANUAL', 'AMO_WEBHOOK_DISABLED'],
} as const satisfies Record<string, readonly SourceErrorCode[]>;
