/**
 * The installation plan as data: everything the app registers on a portal.
 * Shared by the server (which runs it with the verified admin token) and the install page
 * (which shows its steps). Imports nothing outside install/.
 *
 * Wire rules behind it (docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#imconnector, docs/facts/bitrix24.md#event-delivery):
 * - connector ids are lower-cased by the portal and may not contain dots;
 * - SETTING_CONNECTOR is bound by imconnector.register's PLACEMENT_HANDLER, never by placement.bind;
 * - bindings vanish on app update, so the plan is re-run on ONAPPUPDATE.
 */
export type Lang = 'ru' | 'en';
export type Text = Record<Lang, string>;

export const CONNECTOR_ID = 'uis_omni';

/**
 * The scopes the app card in the vendor cabinet must have (docs/install.md «Registering the app»): CRM, Open
 * Lines and the connector, chats, the contact center, placements, users, and external telephony
 * (`telephony.externalLine.*`, `telephony.externalCall.*`, docs/facts/telephony.md#b24-telephony).
 */
export const APP_SCOPES = ['crm', 'imopenlines', 'imconnector', 'im', 'contact_center', 'placement', 'user', 'telephony'] as const;

/** Stable handler paths (the vendor cabinet's app card points at these). */
export const HANDLER_PATHS = {
  install: '/b24/install',
  app: '/b24/app',
  leftMenu: '/b24/placements/left-menu',
  crmTab: '/b24/placements/crm-tab',
  connector: '/b24/placements/connector',
  events: '/b24/events',
} as const;

export interface ConnectorStep {
  kind: 'connector';
  id: 'connector';
  label: Text;
  connectorId: string;
  name: string;
  iconSvg: string;
  color: string;
  handlerPath: string;
}

export interface PlacementStep {
  kind: 'placement';
  id: string;
  label: Text;
  placement: string;
  handlerPath: string;
  title: Text;
}

export interface EventBinding {
  event: string;
  type: 'online' | 'offline';
}

export interface EventsStep {
  kind: 'events';
  id: 'events';
  label: Text;
  handlerPath: string;
  bindings: EventBinding[];
}

/**
 * One Bitrix24 external line per virtual number of the linked UIS account (docs/facts/telephony.md#external-lines). The
 * numbers come from UIS, so the server passes the work in (`runInstallPlan` extras); without a
 * linked account yet the step is skipped and the lines follow once one is linked.
 */
export interface LinesStep {
  kind: 'lines';
  id: 'telephony-lines';
  label: Text;
}

export type InstallStep = ConnectorStep | PlacementStep | EventsStep | LinesStep;

const CHATS_TITLE: Text = { ru: 'UIS Чаты', en: 'UIS Чаты' };

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle cx="32" cy="32" r="30" fill="#fff"/>' +
  '<path d="M18 22h28a4 4 0 0 1 4 4v14a4 4 0 0 1-4 4H30l-8 7v-7h-4a4 4 0 0 1-4-4V26a4 4 0 0 1 4-4z" fill="#2fc6f6"/></svg>';

function crmTab(placement: string, entity: Text): PlacementStep {
  return {
    kind: 'placement',
    id: `placement:${placement}`,
    label: { ru: `Вкладка «UIS Чаты» в карточке: ${entity.ru}`, en: `"UIS Чаты" tab in the ${entity.en} card` },
    placement,
    handlerPath: HANDLER_PATHS.crmTab,
    title: CHATS_TITLE,
  };
}

/** Online events the backend handles; the offline twins guarantee delivery for the CRM/Open Lines flows. */
export const ONLINE_EVENTS = [
  'ONAPPUNINSTALL',
  'ONAPPUPDATE',
  'ONCRMLEADADD',
  'ONCRMDEALADD',
  // the personal-manager map (issue #14): any change of the items that decide a caller's manager
  'ONCRMLEADUPDATE',
  'ONCRMLEADDELETE',
  'ONCRMDEALUPDATE',
  'ONCRMDEALDELETE',
  'ONCRMCONTACTADD',
  'ONCRMCONTACTUPDATE',
  'ONCRMCONTACTDELETE',
  'ONCRMCOMPANYADD',
  'ONCRMCOMPANYUPDATE',
  'ONCRMCOMPANYDELETE',
  'ONIMCONNECTORMESSAGEADD',
  'ONIMCONNECTORSTATUSDELETE',
  'ONIMCONNECTORLINEDELETE',
  'ONIMCONNECTORDIALOGFINISH',
  // «Телефония» II (issue #14): a click on a number when the app's line is the outgoing line, the callback form
  'ONEXTERNALCALLSTART',
  'ONEXTERNALCALLBACKSTART',
] as const;

export const OFFLINE_EVENTS = ['ONCRMLEADADD', 'ONCRMDEALADD', 'ONIMCONNECTORMESSAGEADD'] as const;

/** The ordered steps of the plan. */
export const INSTALL_STEPS: readonly InstallStep[] = [
  {
    kind: 'connector',
    id: 'connector',
    label: { ru: 'Коннектор UIS OMNI в контакт-центре', en: 'UIS OMNI connector in the contact center' },
    connectorId: CONNECTOR_ID,
    name: 'UIS OMNI',
    iconSvg: ICON_SVG,
    color: '#2fc6f6',
    handlerPath: HANDLER_PATHS.connector,
  },
  {
    kind: 'placement',
    id: 'placement:LEFT_MENU',
    label: { ru: 'Пункт «UIS Чаты» в левом меню', en: '"UIS Чаты" item in the left menu' },
    placement: 'LEFT_MENU',
    handlerPath: HANDLER_PATHS.leftMenu,
    title: CHATS_TITLE,
  },
  crmTab('CRM_LEAD_DETAIL_TAB', { ru: 'лид', en: 'lead' }),
  crmTab('CRM_DEAL_DETAIL_TAB', { ru: 'сделка', en: 'deal' }),
  crmTab('CRM_CONTACT_DETAIL_TAB', { ru: 'контакт', en: 'contact' }),
  {
    kind: 'events',
    id: 'events',
    label: { ru: 'Подписка на события Битрикс24', en: 'Bitrix24 event subscriptions' },
    handlerPath: HANDLER_PATHS.events,
    bindings: [
      ...ONLINE_EVENTS.map((event): EventBinding => ({ event, type: 'online' })),
      ...OFFLINE_EVENTS.map((event): EventBinding => ({ event, type: 'offline' })),
    ],
  },
  {
    kind: 'lines',
    id: 'telephony-lines',
    label: { ru: 'Линии телефонии по виртуальным номерам UIS', en: 'Telephony lines for the UIS virtual numbers' },
  },
];

/** Absolute URL of a handler path under the app's public base URL (no trailing slash issues). */
export function handlerUrl(appUrl: string, path: string): string {
  return appUrl.replace(/\/+$/, '') + path;
}
