/**
 * What the portal offers an app: scopes, placement codes and event names, each under the scope
 * that makes it available (placement.bind / event.bind look them up in the token's scopes plus
 * the global scope; docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#event-delivery, docs/facts/bitrix24.md#production-facts). '' is the global scope.
 */

export const ALL_SCOPES = [
  'crm',
  'imopenlines',
  'imconnector',
  'im',
  'contact_center',
  'placement',
  'user',
  'user_brief',
  'user_basic',
  'department',
  'task',
  'telephony',
  'disk',
  'calendar',
  'entity',
] as const;

export const DEFAULT_SCOPES = ['crm', 'imopenlines', 'imconnector', 'im', 'contact_center', 'placement', 'user', 'telephony'];

/** docs/facts/bitrix24.md#production-facts: `user` is satisfied by `user_brief`/`user_basic` and vice versa (RestManager::fillAlternativeScope). */
export function scopeGranted(scope: string, granted: readonly string[]): boolean {
  if (scope === '') return true;
  if (granted.includes(scope)) return true;
  const userFamily = ['user', 'user_brief', 'user_basic'];
  return userFamily.includes(scope) && granted.some((s) => userFamily.includes(s));
}

export interface PlacementInfo {
  scope: string;
  /** ERROR_PLACEMENT_MAX_COUNT beyond this many bindings per app. */
  maxCount?: number;
  /** Only user-mode placements accept USER_ID (else ERROR_PLACEMENT_USER_MODE). */
  userMode?: boolean;
}

const crmEntities = ['LEAD', 'DEAL', 'CONTACT', 'COMPANY', 'QUOTE', 'SMART_INVOICE'];

export const PLACEMENTS: Record<string, PlacementInfo> = {
  // global scope (rest, intranet)
  REST_APP_URI: { scope: '', maxCount: 1 },
  PAGE_BACKGROUND_WORKER: { scope: '', maxCount: 1, userMode: true },
  LEFT_MENU: { scope: '' },
  // contact_center (docs/facts/bitrix24.md#placements)
  CONTACT_CENTER: { scope: 'contact_center' },
  // imconnector registers SETTING_CONNECTOR under its own scope (imopenlines); docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#imconnector-register
  SETTING_CONNECTOR: { scope: 'imopenlines' },
  // crm
  ...Object.fromEntries(
    crmEntities.flatMap((e) => [
      [`CRM_${e}_DETAIL_TAB`, { scope: 'crm' }],
      [`CRM_${e}_DETAIL_TOOLBAR`, { scope: 'crm' }],
      [`CRM_${e}_LIST_TOOLBAR`, { scope: 'crm' }],
      [`CRM_${e}_DETAIL_ACTIVITY`, { scope: 'crm' }],
      [`CRM_${e}_LIST_MENU`, { scope: 'crm' }],
      [`CRM_${e}_ACTIVITY_TIMELINE_MENU`, { scope: 'crm' }],
    ]),
  ),
  CRM_ANALYTICS_MENU: { scope: 'crm' },
  // im
  IM_NAVIGATION: { scope: 'im' },
  IM_CONTEXT_MENU: { scope: 'im' },
  IM_TEXTAREA: { scope: 'im' },
  IM_SIDEBAR: { scope: 'im' },
  IM_SMILES_SELECTOR: { scope: 'im' },
  // telephony, tasks (present on every portal, not used by this app)
  CALL_CARD: { scope: 'telephony' },
  TASK_VIEW_TAB: { scope: 'task' },
  TASK_VIEW_SIDEBAR: { scope: 'task' },
};

export interface EventInfo {
  scope: string;
  /** ONOFFLINEEVENT cannot itself be bound offline ("disableOffline"). */
  disableOffline?: boolean;
  /** Options event.bind keeps for this event (ONOFFLINEEVENT: minTimeout). */
  allowOptions?: Record<string, 'int' | 'str'>;
  /** Events whose auth carries a refresh_token ([SRC] sendRefreshToken). */
  sendRefreshToken?: boolean;
  /** ONAPPUNINSTALL: auth has no tokens at all ([SRC] sendAuth=false). */
  noAuth?: boolean;
}

const crmEvents = ['LEAD', 'DEAL', 'CONTACT', 'COMPANY', 'ACTIVITY', 'QUOTE', 'INVOICE'].flatMap((e) =>
  ['ADD', 'UPDATE', 'DELETE', 'USERFIELDADD', 'USERFIELDUPDATE', 'USERFIELDDELETE'].map(
    (op) => `ONCRM${e}${op}`,
  ),
);

export const EVENTS: Record<string, EventInfo> = {
  // rest_provider.php global events
  ONAPPUNINSTALL: { scope: '', noAuth: true },
  ONAPPINSTALL: { scope: '', sendRefreshToken: true },
  ONAPPUPDATE: { scope: '', sendRefreshToken: true },
  ONAPPPAYMENT: { scope: '' },
  ONSUBSCRIPTIONRENEW: { scope: '', sendRefreshToken: true },
  ONAPPTEST: { scope: '', sendRefreshToken: true },
  ONAPPMETHODCONFIRM: { scope: '', noAuth: true },
  ONOFFLINEEVENT: { scope: '', sendRefreshToken: true, disableOffline: true, allowOptions: { minTimeout: 'int' } },
  // crm (docs/facts/bitrix24.md#crm-events)
  ...Object.fromEntries(crmEvents.map((e) => [e, { scope: 'crm' }])),
  ONCRMDEALMOVETOCATEGORY: { scope: 'crm' },
  ONCRMTIMELINECOMMENTADD: { scope: 'crm' },
  ONCRMTIMELINECOMMENTUPDATE: { scope: 'crm' },
  ONCRMTIMELINECOMMENTDELETE: { scope: 'crm' },
  // imconnector / imopenlines (registered under scope imopenlines; docs/facts/bitrix24.md#imconnector-events, docs/facts/bitrix24.md#openlines-chats)
  ONIMCONNECTORLINEDELETE: { scope: 'imopenlines' },
  ONIMCONNECTORMESSAGEADD: { scope: 'imopenlines' },
  ONIMCONNECTORMESSAGEUPDATE: { scope: 'imopenlines' },
  ONIMCONNECTORMESSAGEDELETE: { scope: 'imopenlines' },
  ONIMCONNECTORSTATUSDELETE: { scope: 'imopenlines' },
  ONIMCONNECTORDIALOGSTART: { scope: 'imopenlines' },
  ONIMCONNECTORDIALOGFINISH: { scope: 'imopenlines' },
  ONSESSIONSTART: { scope: 'imopenlines' },
  ONSESSIONFINISH: { scope: 'imopenlines' },
  ONOPENLINEMESSAGEADD: { scope: 'imopenlines' },
  ONOPENLINEMESSAGEUPDATE: { scope: 'imopenlines' },
  ONOPENLINEMESSAGEDELETE: { scope: 'imopenlines' },
  // telephony (voximplant vi_rest.php: events of REST telephony apps; the docs' examples carry a refresh_token)
  ONEXTERNALCALLSTART: { scope: 'telephony', sendRefreshToken: true },
  ONEXTERNALCALLBACKSTART: { scope: 'telephony', sendRefreshToken: true },
  // im, user
  ONIMBOTMESSAGEADD: { scope: 'im' },
  ONUSERADD: { scope: 'user' },
};

/** Built-in Open Lines connectors every portal has (imconnector.list, contact-center tiles). */
export const BUILTIN_CONNECTORS: Record<string, string> = {
  livechat: 'Онлайн-чат',
  telegrambot: 'Telegram',
  vkgroup: 'ВКонтакте',
  whatsappbyedna: 'WhatsApp',
  avito: 'Авито',
  network: 'Бизнес-чат Битрикс24',
};
