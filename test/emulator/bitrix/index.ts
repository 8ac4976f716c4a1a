/**
 * Emulated Bitrix24: an OAuth server plus one or more portals, each on its own 127.0.0.1 port,
 * strict enough to stand in for the real thing in tests (docs/facts/bitrix24.md,
 * docs/facts/bitrix24-frame.md#host-page). Start it, point the app at it, drive the portal like an admin would.
 */
import type { Server } from 'node:http';
import { systemClock, type Clock } from '../../../server/domain/clock';
import { DEFAULT_SCOPES } from './catalog';
import type { Actor } from './crm/store';
import type { CrmActivity, CrmEntity, DirectoryUser, EntityType, Notification, StatusRow, TimelineComment } from './crm/types';
import type { Visitor } from './openlines/livechat';
import type { OperatorFile } from './openlines/operator';
import type { LineConfig } from './openlines/types';
import type { OpenLineChatView } from './openlines/view';
import { oauthApp, type OAuthStats } from './oauth-server';
import type { EventQueueControl, EventQueueOptions } from './events';
import { PortalImpl } from './portal';
import { TokenStore } from './tokens';
import type { ClickResult } from './telephony/events';
import type { TelephonyStore } from './telephony/store';
import type { AppConfig, DeliveryRecord, Shared } from './types';

export interface BitrixEmulatorOptions {
  app: {
    clientId: string;
    clientSecret: string;
    /** the app's public base URL, e.g. http://127.0.0.1:3000 */
    appUrl: string;
    /** default '/b24/install' */
    installPath?: string;
    /** default '/b24/app' */
    mainPath?: string;
    /** default '/b24/events'; the card's install-event handler: ONAPPINSTALL is auto-bound here, ONAPPUPDATE is sent here */
    eventHandlerPath?: string;
    /** default crm,imopenlines,imconnector,im,contact_center,placement,user,telephony */
    scopes?: string[];
  };
  /** default systemClock; drives the bucket and token expiry */
  clock?: Clock;
  /** default {2, 50} */
  rateLimit?: { drainPerSec: number; burst: number };
  /** default 3600 */
  accessTokenTtlSec?: number;
  /**
   * The resource limit (docs/facts/bitrix24.md#rest-limits): seconds of execution per method over 10 minutes before 429
   * OPERATION_TIME_LIMIT (default 480), and how long one call of a method runs (default 0 s: the
   * emulator's methods are instant, and calls of ≤ 0.1 s are not counted).
   */
  operating?: { limitSec?: number; methodTimes?: Record<string, number> };
  /**
   * The cloud event queue (docs/facts/bitrix24.md#event-delivery): delay per delivery on the clock (default 0.5–2.5 s), `reorder`,
   * `dropRate`, `seed`. Every portal also has `eventQueue` to change them and drop/hold deliveries.
   */
  events?: EventQueueOptions;
  /** how many portals to start, default 1 */
  portals?: number;
}

export interface BitrixEmulator {
  /** e.g. 'http://127.0.0.1:41234' (own port) */
  oauthOrigin: string;
  /** oauthOrigin + '/rest/' (SERVER_ENDPOINT / auth[server_endpoint]) */
  serverEndpoint: string;
  portals: EmulatedPortal[];
  addPortal(): Promise<EmulatedPortal>;
  /** counted by the OAuth server */
  stats: OAuthStats;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  userId?: number;
  placement?: string;
  placementOptions?: Record<string, unknown> | '';
  lang?: 'ru' | 'en';
  handlerUrl?: string;
}

export interface OpenedApp {
  url: string;
  form: Record<string, string>;
  appSid: string;
}

export interface PortalState {
  installed: boolean;
  applicationToken: string | null;
  placements: Array<{ placement: string; handler: string; title: string; langAll?: unknown }>;
  events: Array<{ event: string; handler: string; offline: boolean; authType: number }>;
  connectors: Array<{ id: string; name: string; placementHandler: string }>;
  offlineQueue: number;
}

/** The portal's CRM, unfiltered by permissions (crm.*.get shapes: strings, null, multifields when present). */
export interface EmulatedCrm {
  leads(): Array<Record<string, unknown>>;
  /** deals also carry CONTACT_IDS */
  deals(): Array<Record<string, unknown>>;
  contacts(): Array<Record<string, unknown>>;
  companies(): Array<Record<string, unknown>>;
  comments(): TimelineComment[];
  /** CRM_TODO (crm.activity.todo.add) and IMOPENLINES_SESSION (open-line tracker) activities */
  activities(): CrmActivity[];
  /** im.notify.system.add */
  notifications(): Notification[];
  statuses(entityId?: string): StatusRow[];
  /** the user directory (user.get, im.user.list.get): tests add people or change their presence */
  readonly directory: { readonly users: DirectoryUser[] };
  /**
   * A change made in the portal as crm.*.add / update / delete would make it (same rules, the same
   * ONCRM* event): `actor` is whose rights apply (null = system), `causeUserId` whom the event names.
   */
  add(type: EntityType, fields: Record<string, unknown>, actor: Actor | null, causeUserId: number): CrmEntity;
  update(type: EntityType, id: number, fields: Record<string, unknown>, actor: Actor | null, causeUserId: number): true;
  delete(type: EntityType, id: number, actor: Actor | null, causeUserId: number): true;
}

export interface EmulatedOpenLines {
  lines(): LineConfig[];
  /** every open-line chat with its sessions, messages (delivery marks, files, hidden flags), accepted flag */
  chats(): OpenLineChatView[];
  chat(id: number): OpenLineChatView | undefined;
}

export interface EmulatedPortal {
  /** 32 hex */
  memberId: string;
  /** '127.0.0.1:<port>' */
  domain: string;
  /** 'http://127.0.0.1:<port>' */
  origin: string;
  /** origin + '/rest/' */
  clientEndpoint: string;
  /** 1 (ADMIN) */
  adminUserId: number;
  /** 2 (plain employee, not admin) */
  userId: number;
  /** admin clicks "install": INSTALLED=false and a fresh application_token */
  beginInstall(): void;
  /** what the portal POSTs to a handler: url with DOMAIN/PROTOCOL/LANG/APP_SID, the form fields, the APP_SID */
  openApp(o?: OpenAppOptions): OpenedApp;
  /** setInstallFinish: INSTALLED=true, then ONAPPINSTALL (with refresh_token) */
  finishInstall(): Promise<void>;
  /** new app version: drops all event bindings and placements (connectors stay), sends ONAPPUPDATE */
  updateApp(): Promise<void>;
  /** removes everything, revokes all tokens, sends ONAPPUNINSTALL to handlers bound before */
  uninstall(o?: { clean?: boolean }): Promise<void>;
  /** delivers to every bound online handler (if INSTALLED), queues rows for offline bindings */
  fireEvent(event: string, data: Record<string, unknown>, o?: { userId?: number }): Promise<void>;
  /** addition: waits for deliveries queued so far, REST-caused ones too (e.g. imconnector.activate ACTIVE=0); not held ones */
  drainEvents(): Promise<void>;
  /** the event queue's switches: delay, reorder, drop, hold/release (events.ts) */
  eventQueue: EventQueueControl;
  /** every issued access token now answers 401 expired_token */
  expireAccessTokens(): void;
  /** every refresh token now answers invalid_grant */
  revokeRefreshTokens(): void;
  state(): PortalState;
  /** REST HTTP requests that reached /rest */
  stats: { requests: number; limited503: number; byMethod: Record<string, number> };
  /** every event POST attempted (at most once) */
  deliveries: DeliveryRecord[];
  setPlan(p: { drainPerSec: number; burst: number }): void;
  /** Test control: another app on the portal takes what is left of the bucket (it drains as usual). */
  fillBucket(): void;
  /** execution time of one call of `method` on this portal, counted for OPERATION_TIME_LIMIT (docs/facts/bitrix24.md#rest-limits) */
  setMethodTime(method: string, seconds: number): void;
  /** the per-method limit of execution seconds over 10 minutes (default 480) */
  setOperatingLimit(seconds: number): void;
  /**
   * Test control (not portal behaviour): the next `times` calls of `methods` run, then their answer
   * is held until `release()` — a slow network or portal after execution, or a caller that dies
   * before reading the answer. `executed` resolves (with the method) when the first held call ran.
   */
  holdAnswers(methods: string[], times: number): { executed: Promise<string>; release(): void };
  /** addition: the CRM (seeds in README) */
  crm: EmulatedCrm;
  /** addition: open lines */
  openLines: EmulatedOpenLines;
  /**
   * addition: a user clicks a phone number (on a CRM card: with its item). When the user's outgoing line is
   * the app's, the portal registers the call (TYPE 1) and sends ONEXTERNALCALLSTART.
   */
  clickToCall(o: { userId: number; phone: string; entityType?: string; entityId?: number; isMobile?: boolean }): ClickResult;
  /** addition: a site visitor submits the callback form: its lead, then ONEXTERNALCALLBACKSTART when the form's line is the app's */
  submitCallbackForm(o: { name?: string; phone: string }): { leadId: number; started: boolean; data?: Record<string, unknown> };
  /** addition: telephony — external lines, live calls, statistics, call cards, settings (README «Телефония») */
  readonly telephony: TelephonyStore;
  /**
   * An operator writes in an open-line chat (they must have accepted it). For a custom connector
   * the app gets ONIMCONNECTORMESSAGEADD; `files` get public links served by the portal.
   */
  operatorReply(o: { chatId: number; userId: number; text?: string; files?: OperatorFile[] }): { messageId: number };
  /** imopenlines.operator.answer: the operator takes the chat (needed before writing) */
  operatorAccept(chatId: number, userId: number): void;
  /** imopenlines.operator.finish: closes the session (OnImConnectorDialogFinish, OnSessionFinish) */
  operatorClose(chatId: number, userId?: number): void;
  /** imopenlines.config.delete: OnImConnectorLineDelete with the line id */
  deleteLine(lineId: number, userId?: number): void;
  /** a site visitor writes in the livechat widget of line `lineId` (default 1); customData = widget.setCustomData() */
  livechatWrite(o: { visitor: Visitor | string; text: string; customData?: unknown; lineId?: number }): {
    chatId: number;
    sessionId: number;
    userId: number;
    messageId: number;
  };
  /** a client writes through a built-in messenger connector (`telegrambot`, `vkgroup`…) into line `lineId` (default 1) */
  messengerWrite(o: { connector: string; lineId?: number; user: { id: string; name?: string; phone?: string; email?: string }; chatId: string; text: string }): {
    chatId: number;
    sessionId: number;
    userId: number;
    messageId: number;
  };
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

export async function startBitrixEmulator(o: BitrixEmulatorOptions): Promise<BitrixEmulator> {
  const clock = o.clock ?? systemClock;
  const app: AppConfig = {
    clientId: o.app.clientId,
    clientSecret: o.app.clientSecret,
    appUrl: o.app.appUrl,
    installUrl: joinUrl(o.app.appUrl, o.app.installPath ?? '/b24/install'),
    mainUrl: joinUrl(o.app.appUrl, o.app.mainPath ?? '/b24/app'),
    eventHandlerUrl: joinUrl(o.app.appUrl, o.app.eventHandlerPath ?? '/b24/events'),
    scopes: [...(o.app.scopes ?? DEFAULT_SCOPES)],
    name: 'UIS OMNI',
    status: o.app.clientId.startsWith('local.') ? 'L' : 'F',
  };
  const shared: Shared = {
    app,
    clock,
    tokens: new TokenStore(clock, o.accessTokenTtlSec ?? 3600),
    oauthOrigin: '',
    serverEndpoint: '',
  };
  const plan = o.rateLimit ?? { drainPerSec: 2, burst: 50 };
  const portals: PortalImpl[] = [];
  const stats: OAuthStats = { refreshGrants: 0, refreshFailures: 0, grantRequests: [] };

  const server: Server = oauthApp(shared, () => portals, stats).listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('bitrix emulator: OAuth server has no TCP address');
  shared.oauthOrigin = `http://127.0.0.1:${address.port}`;
  shared.serverEndpoint = `${shared.oauthOrigin}/rest/`;

  const addPortal = async (): Promise<EmulatedPortal> => {
    const portal = new PortalImpl(shared, plan, o.operating, o.events);
    await portal.listen();
    portals.push(portal);
    return portal;
  };
  for (let i = 0; i < (o.portals ?? 1); i++) await addPortal();

  return {
    oauthOrigin: shared.oauthOrigin,
    serverEndpoint: shared.serverEndpoint,
    portals,
    addPortal,
    stats,
    async close() {
      await Promise.all(portals.map((p) => p.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { DeliveryRecord } from './types';
export type { EventQueueControl, EventQueueOptions } from './events';
export type { TelephonyStore, LiveCall, StatisticRow, CardState, ExternalLine, OutgoingLine } from './telephony/store';
export type { ClickResult } from './telephony/events';
export type { CrmActivity, Notification, StatusRow, TimelineComment } from './crm/types';
export type { Visitor } from './openlines/livechat';
export type { OperatorFile } from './openlines/operator';
export type { LineConfig } from './openlines/types';
export type { OpenLineChatView, OpenLineMessageView, OpenLineSessionView, OpenLineFileView } from './openlines/view';
