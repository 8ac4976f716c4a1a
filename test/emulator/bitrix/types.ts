/**
 * Internal model of the emulated portals: what the portal stores for our app (installation row,
 * placements, event bindings, connectors, offline queue) and what REST methods may touch.
 */
import type { Clock } from '../../../server/domain/clock';
import type { CrmStore } from './crm/store';
import type { OperatingMeter } from './operating';
import type { OpenLinesStore } from './openlines/store';
import type { Params } from './php';
import type { TokenStore } from './tokens';

export interface AppConfig {
  clientId: string;
  clientSecret: string;
  appUrl: string;
  installUrl: string;
  mainUrl: string;
  eventHandlerUrl: string;
  scopes: string[];
  name: string;
  /** `L` for local apps (client id `local.…`), `F` for a free marketplace app (docs/facts/bitrix24.md#app-page-post `status`). */
  status: 'L' | 'F';
}

export interface Shared {
  app: AppConfig;
  clock: Clock;
  tokens: TokenStore;
  oauthOrigin: string;
  serverEndpoint: string;
}

export interface User {
  id: number;
  name: string;
  lastName: string;
  email: string;
  admin: boolean;
}

export interface InstallRow {
  /** app row id on this portal (app.info ID) */
  appId: number;
  installed: boolean;
  applicationToken: string;
  version: number;
  appOptions: Params;
  userOptions: Map<number, Params>;
  /** users that already answered FIRST_RUN with setInstall (docs/facts/bitrix24-frame.md#frame-commands) */
  setInstallSeen: Set<number>;
}

export interface LangItem {
  TITLE: string;
  DESCRIPTION: string;
  GROUP_NAME: string;
}

export interface PlacementRow {
  id: number;
  placement: string;
  handler: string;
  userId: number;
  options: Params | unknown[];
  title: string;
  description: string;
  langAll: Record<string, LangItem>;
}

export interface EventRow {
  id: number;
  event: string;
  /** '' for offline bindings */
  handler: string;
  /** auth_type: whose token the handler gets; 0 = the user who caused the event */
  userId: number;
  connectorId: string;
  offline: boolean;
  options: Params;
}

export interface ConnectorRow {
  id: string;
  name: string;
  icon: Params;
  iconDisabled: Params | null;
  placementHandler: string;
  /** the SETTING_CONNECTOR placement row imconnector.register created (docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#imconnector-register) */
  placementId: number;
  flags: Params;
}

export interface LineStatus {
  active: boolean;
  connection: boolean;
  register: boolean;
  error: boolean;
  data: Params;
}

export interface OfflineRow {
  id: number;
  ts: number;
  event: string;
  data: unknown;
  additional: Params | unknown[];
  messageId: string;
  processId: string;
  error: number;
}

export interface FrameSession {
  sid: string;
  userId: number;
  placement: string;
  placementOptions: Params | '';
  handler: string;
  lang: 'ru' | 'en';
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  install: boolean;
  firstRun: boolean;
}

export interface DeliveryRecord {
  event: string;
  url: string;
  /** the handler's HTTP status, `network-error`, or `dropped` (lost in the queue: never sent) */
  status: number | 'network-error' | 'dropped';
  body: string;
}

/** What REST methods may see and change on a portal. */
export interface PortalCore {
  readonly memberId: string;
  readonly domain: string;
  readonly origin: string;
  readonly clientEndpoint: string;
  readonly shared: Shared;
  readonly users: ReadonlyMap<number, User>;
  install: InstallRow | null;
  placements: PlacementRow[];
  events: EventRow[];
  connectors: Map<string, ConnectorRow>;
  lines: Map<string, LineStatus>;
  offline: OfflineRow[];
  /** the resource limit per method (operating.ts, docs/facts/bitrix24.md#rest-limits) */
  readonly operating: OperatingMeter;
  /** the portal's CRM (legacy crm.* semantics, docs/facts/bitrix24.md#crm) */
  readonly crm: CrmStore;
  /** open lines: configs, chats, sessions, messages (docs/facts/bitrix24.md#imconnector, docs/facts/bitrix24.md#openlines-chats) */
  readonly ol: OpenLinesStore;
  nextId(): number;
  /**
   * An event caused on the portal (REST call, UI action): delivered asynchronously (docs/facts/bitrix24.md#event-delivery).
   * userId 0 = an automated change (open-line tracker): the auth block carries no tokens.
   */
  emit(event: string, data: unknown, userId: number): void;
  appInfo(): Params;
}
