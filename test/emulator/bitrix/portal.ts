/**
 * One emulated portal on its own 127.0.0.1 port: REST under /rest, the portal chrome (host page)
 * everywhere else, and the app's lifecycle as the portal runs it (docs/facts/bitrix24.md#install, docs/facts/bitrix24.md#event-delivery):
 * install row with INSTALLED=false → install page → installFinish → ONAPPINSTALL; update;
 * uninstall with ONAPPUNINSTALL; events only once INSTALLED.
 */
import type { Server } from 'node:http';
import express from 'express';
import { LeakyBucket, type RatePlan } from './bucket';
import { OperatingMeter } from './operating';
import { EVENTS, type EventInfo } from './catalog';
import { seedCrm } from './crm/seed';
import { CrmStore } from './crm/store';
import { EventDispatcher, type Delivery, type EventQueueOptions } from './events';
import { hostPageRouter } from './host-page';
import { connectorPlacementOptions } from './methods/imconnector';
import { titleOf } from './methods/placement';
import { livechatWrite, messengerWrite, type Visitor } from './openlines/livechat';
import { deleteLine, operatorAccept, operatorClose, operatorReply, type OperatorFile } from './openlines/operator';
import { OpenLinesStore } from './openlines/store';
import { chatsView, chatView, lineView } from './openlines/view';
import { md5, randomHex, type Params } from './php';
import { restRouter, type AnswerHold, type RestHost, type RestStats } from './rest-router';
import { clickToCall, submitCallbackForm, type ClickResult } from './telephony/events';
import { telephonyUploadRouter } from './telephony/host';
import { telephonyOf, type TelephonyStore } from './telephony/store';
import type { EmulatedOpenLines, EmulatedPortal, OpenAppOptions, OpenedApp, PortalState } from './index';
import type {
  ConnectorRow,
  DeliveryRecord,
  EventRow,
  FrameSession,
  InstallRow,
  LineStatus,
  OfflineRow,
  PlacementRow,
  Shared,
  User,
} from './types';

const ADMIN_ID = 1;
const EMPLOYEE_ID = 2;
const LANGUAGE_ID = 'ru';

function makeUsers(): Map<number, User> {
  return new Map([
    [ADMIN_ID, { id: ADMIN_ID, name: 'Анна', lastName: 'Админова', email: 'admin@portal.example', admin: true }],
    [EMPLOYEE_ID, { id: EMPLOYEE_ID, name: 'Иван', lastName: 'Сотрудников', email: 'ivan@portal.example', admin: false }],
  ]);
}

export class PortalImpl implements EmulatedPortal, RestHost {
  readonly memberId = randomHex(16);
  domain = '';
  origin = '';
  clientEndpoint = '';
  readonly adminUserId = ADMIN_ID;
  readonly userId = EMPLOYEE_ID;
  readonly users: ReadonlyMap<number, User> = makeUsers();

  install: InstallRow | null = null;
  placements: PlacementRow[] = [];
  events: EventRow[] = [];
  connectors = new Map<string, ConnectorRow>();
  lines = new Map<string, LineStatus>();
  offline: OfflineRow[] = [];
  readonly operating: OperatingMeter;
  readonly frames = new Map<string, FrameSession>();
  readonly crm: CrmStore;
  readonly ol: OpenLinesStore;
  readonly openLines: EmulatedOpenLines;

  readonly stats: RestStats = { requests: 0, limited503: 0, byMethod: {} };
  readonly answerHolds: AnswerHold[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly bucket: LeakyBucket;

  /** the cloud event queue between this portal and the handlers (events.ts, docs/facts/bitrix24.md#event-delivery) */
  readonly eventQueue: EventDispatcher;
  private readonly appRowId = 7 + Math.floor(Math.random() * 90);
  private appVersion = 1;
  private seq = 100;
  private server: Server | null = null;
  private readonly offlinePings = new Map<number, number>();

  constructor(
    readonly shared: Shared,
    plan: RatePlan,
    operating: { limitSec?: number; methodTimes?: Record<string, number> } = {},
    events: EventQueueOptions = {},
  ) {
    this.bucket = new LeakyBucket(shared.clock, plan);
    this.eventQueue = new EventDispatcher(this.deliveries, shared.clock, events);
    this.operating = new OperatingMeter(shared.clock, operating.limitSec, operating.methodTimes);
    this.crm = new CrmStore(shared.clock, (event, data, userId) => this.emit(event, data, userId));
    seedCrm(this.crm);
    this.ol = new OpenLinesStore(shared.clock.now());
    this.openLines = {
      lines: () => [...this.ol.lines.values()].map(lineView),
      chats: () => chatsView(this),
      chat: (id: number) => {
        const chat = this.ol.chats.get(id);
        return chat ? chatView(this, chat) : undefined;
      },
    };
  }

  /** addition: telephony (external lines, calls, cards, statistics) */
  get telephony(): TelephonyStore {
    return telephonyOf(this);
  }

  async listen(): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(telephonyUploadRouter(this)); // attachRecord's uploadUrl, a multipart POST under /rest
    app.use(restRouter(this));
    app.use(hostPageRouter(this));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('portal: no TCP address');
    this.server = server;
    this.domain = `127.0.0.1:${address.port}`;
    this.origin = `http://${this.domain}`;
    this.clientEndpoint = `${this.origin}/rest/`;
  }

  /** Does not wait for event deliveries: a slow app handler must not hold the test run. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  nextId(): number {
    return ++this.seq;
  }

  private nowSec(): number {
    return Math.floor(this.shared.clock.now() / 1000);
  }

  appInfo(): Params {
    const install = this.install;
    return {
      ID: this.appRowId,
      CODE: this.shared.app.clientId,
      VERSION: install?.version ?? this.appVersion,
      STATUS: this.shared.app.status,
      INSTALLED: install?.installed ?? false,
      PAYMENT_EXPIRED: 'N',
      DAYS: null,
      LANGUAGE_ID,
      LICENSE: 'ru_project',
      LICENSE_TYPE: 'project',
      LICENSE_FAMILY: 'project',
    };
  }

  // ---------------- lifecycle (docs/facts/bitrix24.md#install) ----------------

  beginInstall(): void {
    if (this.install?.installed) throw new Error('bitrix emulator: the app is already installed; call uninstall() first');
    if (this.install) return; // install started earlier and not finished: the admin just comes back to it
    this.install = {
      appId: this.appRowId,
      installed: false,
      applicationToken: randomHex(16), // a new secret on every (re)install
      version: this.appVersion,
      appOptions: {},
      userOptions: new Map(),
      setInstallSeen: new Set(),
    };
    // [SRC] marketplace/application.php binds the card's install handler as an ONAPPINSTALL row
    this.events.push({
      id: this.nextId(),
      event: 'ONAPPINSTALL',
      handler: this.shared.app.eventHandlerUrl,
      userId: 0,
      connectorId: '',
      offline: false,
      options: {},
    });
  }

  openApp(o: OpenAppOptions = {}): OpenedApp {
    const install = this.install;
    if (!install) throw new Error('bitrix emulator: the app is not installed on this portal (call beginInstall() first)');
    const userId = o.userId ?? ADMIN_ID;
    const user = this.users.get(userId);
    if (!user) throw new Error(`bitrix emulator: no user ${userId} on this portal`);
    const placement = (o.placement ?? 'DEFAULT').toUpperCase();
    let handler: string;
    let placementOptions: Params | '' = o.placementOptions ?? '';
    if (placement === 'DEFAULT') {
      // an explicit handlerUrl is a deliberate (negative-test) launch, so it skips this gate
      if (!install.installed && !user.admin && o.handlerUrl === undefined) {
        throw new Error('bitrix emulator: the app is not fully installed — a non-admin sees a notice, not the app (docs/facts/bitrix24.md#install-finish)');
      }
      handler = o.handlerUrl ?? (install.installed ? this.shared.app.mainUrl : this.shared.app.installUrl);
    } else {
      if (!install.installed) throw new Error(`bitrix emulator: placement ${placement} is invisible until installFinish (docs/facts/bitrix24.md#install-finish)`);
      const row = this.visiblePlacements(placement).find((r) => o.handlerUrl === undefined || r.handler === o.handlerUrl);
      if (!row) throw new Error(`bitrix emulator: placement ${placement} is not bound${o.handlerUrl ? ` to ${o.handlerUrl}` : ''}`);
      handler = row.handler;
      if (o.placementOptions === undefined) placementOptions = this.defaultPlacementOptions(row);
    }
    const tokens = this.shared.tokens.issue(this.memberId, userId, true);
    const appSid = randomHex(16);
    const lang = o.lang ?? LANGUAGE_ID;
    this.frames.set(appSid, {
      sid: appSid,
      userId,
      placement,
      placementOptions,
      handler,
      lang,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? '',
      expiresIn: tokens.expiresIn,
      install: !install.installed,
      firstRun: !install.setInstallSeen.has(userId),
    });
    const url = `${handler}${handler.includes('?') ? '&' : '?'}DOMAIN=${this.domain}&PROTOCOL=0&LANG=${lang}&APP_SID=${appSid}`;
    const form: Record<string, string> = {
      AUTH_ID: tokens.accessToken,
      AUTH_EXPIRES: String(tokens.expiresIn),
      REFRESH_ID: tokens.refreshToken ?? '',
      SERVER_ENDPOINT: this.shared.serverEndpoint,
      APPLICATION_TOKEN: install.applicationToken,
      APPLICATION_SCOPE: this.shared.app.scopes.join(','),
      member_id: this.memberId,
      status: this.shared.app.status,
      PLACEMENT: placement,
    };
    // app.layout template.php renders PLACEMENT_OPTIONS only when there are any
    if (placementOptions !== '' && Object.keys(placementOptions).length > 0) {
      form.PLACEMENT_OPTIONS = JSON.stringify(placementOptions);
    }
    return { url, form, appSid };
  }

  /** Placement rows the portal shows for a code: SETTING_CONNECTOR only through a registered connector (docs/facts/bitrix24.md#placements). */
  visiblePlacements(placement: string): PlacementRow[] {
    if (!this.install?.installed) return [];
    if (placement === 'SETTING_CONNECTOR') {
      const ids = new Set([...this.connectors.values()].map((c) => c.placementId));
      return this.placements.filter((r) => r.placement === placement && ids.has(r.id));
    }
    return this.placements.filter((r) => r.placement === placement);
  }

  /** docs/facts/bitrix24-frame.md#placement-options: what each placement passes by default. */
  defaultPlacementOptions(row: PlacementRow): Params | '' {
    const p = row.placement;
    if (p === 'LEFT_MENU') return { URI: `/marketplace/placement/${row.id}/` };
    if (p === 'CONTACT_CENTER') return { ID: String(row.id), URI: '/contact_center/' };
    const tab = /^CRM_(LEAD|DEAL|CONTACT|COMPANY)_DETAIL_TAB$/.exec(p);
    if (tab) return { ID: '1', URI: `/crm/${(tab[1] ?? '').toLowerCase()}/details/1/` };
    if (p === 'SETTING_CONNECTOR') {
      const connector = [...this.connectors.values()].find((c) => c.placementId === row.id);
      return connectorPlacementOptions(this.lines, connector?.id ?? '', 1);
    }
    return '';
  }

  placementTitle(row: PlacementRow, lang: string): string {
    return titleOf(row, lang);
  }

  async finishInstall(): Promise<void> {
    const install = this.install;
    if (!install) throw new Error('bitrix emulator: finishInstall() before beginInstall()');
    if (install.installed) return;
    install.installed = true;
    const rows = this.events.filter((r) => r.event === 'ONAPPINSTALL' && !r.offline);
    const data = { VERSION: String(install.version), ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID };
    await this.eventQueue.send(rows.map((r) => this.delivery('ONAPPINSTALL', r.id, r.handler, data, r.userId || ADMIN_ID)));
  }

  async updateApp(): Promise<void> {
    const install = this.install;
    if (!install) throw new Error('bitrix emulator: updateApp() on a portal without the app');
    const previous = install.version;
    this.appVersion = previous + 1;
    install.version = this.appVersion;
    install.setInstallSeen.clear(); // FIRST_RUN is remembered per app version
    const bound = this.events.filter((r) => r.event === 'ONAPPUPDATE' && !r.offline);
    // bindings vanish on update (docs/facts/bitrix24.md#event-delivery); connectors stay, their SETTING_CONNECTOR rows go with the placements
    this.events = [];
    this.placements = [];
    if (!install.installed) return;
    const data = { VERSION: String(install.version), PREVIOUS_VERSION: String(previous), LANGUAGE_ID };
    const targets = new Map<string, number>(bound.map((r) => [r.handler, r.id]));
    if (!targets.has(this.shared.app.eventHandlerUrl)) targets.set(this.shared.app.eventHandlerUrl, this.nextId());
    await this.eventQueue.send(
      [...targets].map(([url, id]) => this.delivery('ONAPPUPDATE', id, url, data, ADMIN_ID)),
    );
  }

  async uninstall(o: { clean?: boolean } = {}): Promise<void> {
    const install = this.install;
    if (!install) throw new Error('bitrix emulator: uninstall() on a portal without the app');
    const bound = this.events.filter((r) => r.event === 'ONAPPUNINSTALL' && !r.offline);
    const applicationToken = install.applicationToken;
    this.shared.tokens.revokeAll(this.memberId);
    this.install = null;
    this.events = [];
    this.placements = [];
    this.connectors.clear();
    this.lines.clear();
    telephonyOf(this).forgetApp(install.appId); // Helper::onRestAppDelete drops the app's lines
    this.offline = [];
    this.frames.clear();
    if (!install.installed) return; // nothing is delivered to an app that never finished installing
    const data = { LANGUAGE_ID, CLEAN: o.clean ? 1 : 0 };
    await this.eventQueue.send(
      bound.map((r) => ({ event: 'ONAPPUNINSTALL', handlerId: r.id, url: r.handler, data, ts: this.nowSec(), auth: this.bareAuth(applicationToken) })),
    );
  }

  // ---------------- events (docs/facts/bitrix24.md#event-delivery) ----------------

  /** ONAPPUNINSTALL-style auth: no tokens ([SRC] sendAuth=false), also what automation-caused events carry. */
  private bareAuth(applicationToken: string): Params {
    return {
      domain: this.domain,
      server_endpoint: this.shared.serverEndpoint,
      client_endpoint: this.clientEndpoint,
      member_id: this.memberId,
      application_token: applicationToken,
    };
  }

  private eventAuth(info: EventInfo, userId: number): Params {
    const applicationToken = this.install?.applicationToken ?? '';
    if (info.noAuth || userId <= 0) return this.bareAuth(applicationToken);
    const t = this.shared.tokens.issue(this.memberId, userId, info.sendRefreshToken === true);
    const auth: Params = {
      access_token: t.accessToken,
      expires: t.expires,
      expires_in: t.expiresIn,
      scope: this.shared.app.scopes.join(','),
      domain: this.domain,
      server_endpoint: this.shared.serverEndpoint,
      status: this.shared.app.status,
      client_endpoint: this.clientEndpoint,
      member_id: this.memberId,
      user_id: userId,
    };
    if (info.sendRefreshToken && t.refreshToken) auth.refresh_token = t.refreshToken;
    auth.application_token = applicationToken;
    return auth;
  }

  private delivery(event: string, handlerId: number, url: string, data: unknown, userId: number): Delivery {
    return { event, handlerId, url, data, ts: this.nowSec(), auth: this.eventAuth(EVENTS[event] ?? { scope: '' }, userId) };
  }

  async fireEvent(event: string, data: Record<string, unknown>, o: { userId?: number } = {}): Promise<void> {
    await this.dispatch(event.toUpperCase(), data, o.userId ?? ADMIN_ID);
  }

  emit(event: string, data: unknown, userId: number): void {
    void this.dispatch(event.toUpperCase(), data, userId);
  }

  /** Waits for every delivery started so far (including ones caused by REST calls). */
  drainEvents(): Promise<void> {
    return this.eventQueue.idle();
  }

  private dispatch(name: string, data: unknown, causeUserId: number): Promise<void> {
    if (!this.install?.installed) return Promise.resolve(); // never before installFinish (docs/facts/bitrix24.md#install-finish)
    const online = this.events.filter((r) => r.event === name && !r.offline);
    const deliveries = online.map((r) => this.delivery(name, r.id, r.handler, data, r.userId > 0 ? r.userId : causeUserId));
    if (this.events.some((r) => r.event === name && r.offline)) {
      this.queueOffline(name, data, causeUserId);
      deliveries.push(...this.offlinePingDeliveries(causeUserId));
    }
    return this.eventQueue.send(deliveries);
  }

  /** docs/facts/bitrix24.md#event-delivery: one row per (event, data) — MESSAGE_ID = md5(EVENT|json(data)); a repeat just touches the row. */
  private queueOffline(name: string, data: unknown, userId: number): void {
    const messageId = md5(`${name}|${JSON.stringify(data ?? [])}`);
    const now = this.shared.clock.now();
    const existing = this.offline.find((r) => r.messageId === messageId && r.processId === '');
    if (existing) {
      existing.ts = now;
      return;
    }
    this.offline.push({
      id: this.nextId(),
      ts: now,
      event: name,
      data: data ?? [],
      additional: userId > 0 ? { user_id: userId } : [],
      messageId,
      processId: '',
      error: 0,
    });
  }

  /** ONOFFLINEEVENT pings bound handlers when rows arrive, at most once per minTimeout (default 1 s). */
  private offlinePingDeliveries(causeUserId: number): Delivery[] {
    const out: Delivery[] = [];
    const now = this.shared.clock.now();
    for (const r of this.events) {
      if (r.event !== 'ONOFFLINEEVENT' || r.offline) continue;
      const minTimeout = typeof r.options.minTimeout === 'number' ? r.options.minTimeout : 1;
      const last = this.offlinePings.get(r.id);
      if (minTimeout > 0 && last !== undefined && now - last < minTimeout * 1000) continue;
      this.offlinePings.set(r.id, now);
      out.push(this.delivery('ONOFFLINEEVENT', r.id, r.handler, [], r.userId > 0 ? r.userId : causeUserId));
    }
    return out;
  }

  // ---------------- open lines: the operator and the site visitor ----------------

  operatorReply(o: { chatId: number; userId: number; text?: string; files?: OperatorFile[] }): { messageId: number } {
    return { messageId: operatorReply(this, o).id };
  }

  operatorAccept(chatId: number, userId: number): void {
    operatorAccept(this, chatId, userId);
  }

  operatorClose(chatId: number, userId = ADMIN_ID): void {
    operatorClose(this, chatId, userId);
  }

  deleteLine(lineId: number, userId = ADMIN_ID): void {
    if (!deleteLine(this, lineId, userId)) throw new Error(`bitrix emulator: no open line ${lineId}`);
  }

  livechatWrite(o: { visitor: Visitor | string; text: string; customData?: unknown; lineId?: number }) {
    return livechatWrite(this, o);
  }

  messengerWrite(o: Parameters<EmulatedPortal['messengerWrite']>[0]) {
    return messengerWrite(this, o);
  }

  // ---------------- telephony: a person clicks a number, a visitor fills in the callback form ----------------

  clickToCall(o: Parameters<EmulatedPortal['clickToCall']>[0]): ClickResult {
    return clickToCall(this, o);
  }

  submitCallbackForm(o: { name?: string; phone: string }) {
    return submitCallbackForm(this, o);
  }

  // ---------------- test controls ----------------

  expireAccessTokens(): void {
    this.shared.tokens.expireAccess(this.memberId);
  }

  revokeRefreshTokens(): void {
    this.shared.tokens.revokeRefresh(this.memberId);
  }

  setPlan(p: RatePlan): void {
    this.bucket.setPlan(p);
  }

  fillBucket(): void {
    while (this.bucket.take());
  }

  setMethodTime(method: string, seconds: number): void {
    this.operating.setMethodTime(method, seconds);
  }

  setOperatingLimit(seconds: number): void {
    this.operating.limitSec = seconds;
  }

  holdAnswers(methods: string[], times: number): { executed: Promise<string>; release(): void } {
    let release!: () => void;
    let executed!: (name: string) => void;
    const done = new Promise<string>((r) => (executed = r));
    const hold: AnswerHold = { methods: methods.map((m) => m.toLowerCase()), remaining: times, executed: (n) => executed(n), released: new Promise<void>((r) => (release = r)) };
    this.answerHolds.push(hold);
    return {
      executed: done,
      release: () => {
        hold.remaining = 0;
        release();
      },
    };
  }

  state(): PortalState {
    return {
      installed: this.install?.installed ?? false,
      applicationToken: this.install?.applicationToken ?? null,
      // rows placement.bind made; the SETTING_CONNECTOR row imconnector.register creates is reported under `connectors`
      placements: this.placements
        .filter((r) => ![...this.connectors.values()].some((c) => c.placementId === r.id))
        .map((r) => ({ placement: r.placement, handler: r.handler, title: r.title, langAll: r.langAll })),
      events: this.events.map((r) => ({ event: r.event, handler: r.handler, offline: r.offline, authType: r.userId })),
      connectors: [...this.connectors.values()].map((c) => ({ id: c.id, name: c.name, placementHandler: c.placementHandler })),
      offlineQueue: this.offline.length,
    };
  }

  /** Frame session helpers for the host page's ajax endpoint (app.layout lazyload.ajax.php). */
  refreshFrame(sid: string): FrameSession | null {
    const f = this.frames.get(sid);
    if (!f || !this.install) return null;
    const t = this.shared.tokens.issue(this.memberId, f.userId, true);
    f.accessToken = t.accessToken;
    f.refreshToken = t.refreshToken ?? '';
    f.expiresIn = t.expiresIn;
    return f;
  }
}
