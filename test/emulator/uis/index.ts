/**
 * Emulated UIS (CoMagic) platform: one HTTP server on 127.0.0.1 with the auth login, the Chat API
 * Management API (/mgmt) and runtime API (/runtime), the Data API (/dataapi/v2.0), callbacks to
 * the connected adapter, and pages for people (/visitor, /workspace, /analytics). Written from the
 * public docs (comagic/comagic.github.io: chat_api/, data_api/, javascript_api/) and
 * docs/facts/uis.md; where the docs are silent the choice is stated where it is made.
 * See README.md.
 */
import type { Server } from 'node:http';
import express from 'express';
import { systemClock, type Clock } from '../../../server/domain/clock';
import { AccountImpl, type FileInput, type VisitorIdentity } from './account';
import { authRouter } from './auth-api';
import { dataApiRouter } from './dataapi/router';
import { managementRouter } from './management-api';
import { analyticsRouter } from './pages/analytics-page';
import { visitorRouter } from './pages/visitor-page';
import { workspaceRouter } from './pages/workspace-page';
import { runtimeRouter } from './runtime-api';
import { callApiRouter } from './pbx/call-api';
import { pbxPageRouter } from './pbx/pbx-page';
import { recordingRouter } from './pbx/recording';
import type { Pbx } from './pbx/pbx';
import type {
  CallbackRecord,
  Campaign,
  ChannelType,
  ChatChannel,
  CloseReason,
  Employee,
  MessageTemplate,
  Site,
  Source,
  UisMessage,
  UploadedChat,
  UploadedOfflineMessage,
  VisitorSession,
} from './types';
import { World, type WorldConfig } from './world';
import type { OfflineRequest } from './dataapi/offline-report';

export type { OfflineRequest } from './dataapi/offline-report';
export type { ChannelType, MessageTemplate, UisMessage, CallbackRecord, Employee, UploadedChat, UploadedOfflineMessage, CloseReason, VisitorSession, ChatChannel, Site, Source, Campaign } from './types';
export type { FileInput, VisitorIdentity } from './account';
export type { Pbx, CallHandle, Behaviour, Who } from './pbx/pbx';
export type { EventType, NotificationConfig, NotificationFaults, SentNotification } from './pbx/notify';
export type { InteractiveLogEntry } from './pbx/interactive';
export type { CallSession, Leg } from './pbx/types';

export interface UisEmulatorOptions {
  /** default systemClock; token expiry, Data API budgets, status delays and retry backoff run on it */
  clock?: Clock;
  /** addition: extra attempts for a failed callback (default 0 — the docs promise no retries) */
  callbackRetries?: number;
  /** addition: first retry delay, doubled per attempt (default 1000 ms) */
  callbackBackoffMs?: number;
  /** addition: lifetime of the auth jwt (default 3600 s) */
  jwtTtlSec?: number;
  /** addition: lifetime of the runtime access_token (default 86 400 s) */
  runtimeTokenTtlSec?: number;
  /** addition: delays before the accepted / sent / delivered status callbacks (default 50 / 200 / 600 ms) */
  statusDelaysMs?: Partial<WorldConfig['statusDelaysMs']>;
}

export interface UisEmulator {
  /** 'http://127.0.0.1:<port>' — one HTTP server for everything below */
  origin: string;
  /** origin + '/api/auth/json_rpc' (JSON-RPC `login`; `?method=login` accepted too) */
  authUrl: string;
  /** origin + '/mgmt' (then /v1/integration/adapter | account | channel) */
  managementUrl: string;
  /** origin + '/runtime' (then /v1/adapter/login | chat | chat/close | chat/transfer | message | resource) */
  runtimeUrl: string;
  /** origin + '/dataapi/v2.0' */
  dataApiUrl: string;
  /** origin + '/workspace' (operator workspace, frameable) */
  workspaceUrl: string;
  /** origin + '/callapi/v4.0' (Call API JSON-RPC; telephony, pbx/README) */
  callApiUrl: string;
  addAccount(o?: { project?: 'uis' | 'comagic'; name?: string }): UisAccount;
  accounts: UisAccount[];
  /** every endpoint answers 503; callbacks are held and flushed when back up */
  setDown(down: boolean): void;
  /** the next `times` requests whose path starts with `path` (e.g. '/runtime/v1/adapter/message') answer `status` (default 500) */
  failNext(path: string, times: number, status?: number): void;
  /**
   * Test observation, not UIS behaviour: after an account's `settle()` saw its callbacks answered,
   * also wait for this (the harness: until the app has handled what it acknowledged — on PostgreSQL
   * that happens after the 204).
   */
  afterSettle(fn: (() => Promise<void>) | null): void;
  close(): Promise<void>;
}

export interface AdapterView {
  id: number;
  type: string;
  name: string;
  webhookUrl: string;
  webhookAuth: unknown;
  webhookVersion: 'v1' | 'v2';
  login: string;
  supportedChannelTypes: string[];
}

export interface ChatView {
  id: number;
  channelType: ChannelType;
  /** addition */
  chatChannelId: number;
  visitorId: number;
  status: 'active' | 'closed';
  operatorId: number | null;
  /** addition */
  initiator: 'visitor' | 'operator';
  /** addition */
  closeReason: CloseReason | null;
  messages: UisMessage[];
}

export interface UisAccount {
  /** UIS `app_id` */
  appId: number;
  name: string;
  /** the account's zone (`get.account` `timezone`): Data API date-times are written and read in it */
  readonly timezone: string;
  /** set the account's zone: an IANA name and its UTC offset (a zone without DST) */
  setTimeZone(name: string, utcOffsetMin: number): void;
  project: 'uis' | 'comagic';
  /** an admin user of the account (auth login; also Data API login.user) */
  login: string;
  password: string;
  /** a permanent Data API key */
  dataApiToken: string;
  /** `status` uses the Data API enum (available, break, do_not_disturb, not_at_workplace, not_at_work, unknown) */
  employees: Employee[];
  /** addition: the create.employees / update.employees calls the account accepted, in order */
  employeeWrites: Array<{ method: 'create.employees' | 'update.employees'; id: number; params: Record<string, unknown> }>;
  sites: Site[];
  sources: Source[];
  campaigns: Campaign[];
  /** `id` is the management channel id (= `context.chat_channel_id` in callbacks) */
  channels: ChatChannel[];
  /** addition: visitor sessions (JS API Comagic.getSessionId()), the anchors upload.chats checks */
  sessions: VisitorSession[];
  /** the adapter of the active connection, null before our backend registered + connected */
  adapter(): AdapterView | null;
  /** the active connection ("account" in Chat API words): its id is the runtime `account_id` */
  connection(): { id: number; adapterId: number; name: string; channels: number[]; status: 'active' | 'disabled' } | null;
  /** addition: the adapter channels of the connection — their ids are the runtime `channel_id`; `status` is the chat channel's */
  adapterChannels(): Array<{ id: number; accountId: number; chatChannelId: number; type: ChannelType; name: string; status: 'active' | 'disabled' }>;
  /**
   * A visitor writes on a channel. Creates the chat on the first message (and after the previous
   * chat closed); delivers POST /chat (new chat), POST /message, and for a new visitor with a name
   * or e-mail POST /visitor/card; resolves after those deliveries (not while down).
   */
  visitorWrite(o: { channelType: ChannelType; visitor: VisitorIdentity; text?: string; file?: FileInput }): Promise<{ chatId: number; messageId: number; visitorId: number; sessionId: number | null }>;
  /** POST /visitor/card */
  visitorCard(chatId: number, card: { name?: string; phones?: string[]; emails?: string[]; company?: string; comment?: string }): Promise<void>;
  /** addition: the visitor edits a message; a v2 adapter gets «Обновление сообщения» (POST /message, same id, no source/status/operator_id) */
  visitorEdit(messageId: number, text: string): Promise<void>;
  /** addition: UIS renames, disables/enables a chat channel or changes its WABA templates → PATCH /channel/{id}; a disabled channel keeps taking messages, without callbacks */
  updateChannel(
    channel: ChannelType | number,
    change: { name?: string; status?: 'active' | 'disabled'; statusReason?: string; templates?: MessageTemplate[] },
  ): Promise<void>;
  /** addition: UIS renames or disables/enables the adapter's connection → PATCH /account/{id} (whole Account); disabled = no callbacks, runtime refuses */
  updateConnection(change: { name?: string; status?: 'active' | 'disabled' }): Promise<void>;
  /** addition: an operator answers in the UIS workspace (РМО): the chat is his, the adapter gets POST /message source=operator */
  workspaceReply(chatId: number, operatorId: number, text: string): Promise<void>;
  /** POST /chat/close with reason closed_by_visitor */
  closeChatByVisitor(chatId: number): Promise<void>;
  /** addition: UIS closes the chat for any documented reason (closed_by_timeout, visitor_disconnected …) */
  closeChat(chatId: number, reason: CloseReason, operatorId?: number): Promise<void>;
  /** addition: the visitor has read the operator's messages → /message/status read */
  visitorRead(chatId: number): Promise<void>;
  /** addition: the next `times` operator messages in the chat end with status `error` */
  failDelivery(chatId: number, times?: number): void;
  /** addition: a site session (default: first site, its first basic campaign, now) */
  addSession(o?: { id?: number; siteId?: number; campaignId?: number; startedAt?: number; utm?: VisitorSession['utm'] }): VisitorSession;
  /** addition: Data API budgets (default 10 000/day, 100/minute) */
  setDataApiLimits(o: { day?: number; minute?: number }): void;
  chats(): ChatView[];
  /** every callback attempted (each retry is a record) */
  callbacks: CallbackRecord[];
  /** what upload.chats accepted (one entry per ext_id) */
  uploadedChats(): UploadedChat[];
  /** what upload.offline_messages accepted (one entry per ext_id) */
  uploadedOfflineMessages(): UploadedOfflineMessage[];
  /** addition: a visitor sends an offline request (site form); listed by get.offline_messages_report, no callback */
  offlineRequest(o: { name?: string; phone?: string; email?: string; text: string; formName?: string; sessionId?: number }): OfflineRequest;
  readonly offlineRequests: readonly OfflineRequest[];
  /** resolves when no callback delivery is in flight or scheduled (status callbacks sleep on the clock) */
  settle(): Promise<void>;
  /** addition: the account's virtual PBX — calls, notifications, Call API switches (README «Телефония») */
  readonly pbx: Pbx;
}

const NGINX_503 = '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

function nginxPage(status: number): string {
  if (status === 503) return NGINX_503;
  const title = `${status} ${status === 502 ? 'Bad Gateway' : status === 504 ? 'Gateway Time-out' : status === 429 ? 'Too Many Requests' : 'Internal Server Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

export async function startUisEmulator(o: UisEmulatorOptions = {}): Promise<UisEmulator> {
  const world = new World(o.clock ?? systemClock, {
    jwtTtlSec: o.jwtTtlSec ?? 3600,
    runtimeTokenTtlSec: o.runtimeTokenTtlSec ?? 86_400,
    callbackRetries: o.callbackRetries ?? 0,
    callbackBackoffMs: o.callbackBackoffMs ?? 1000,
    statusDelaysMs: { accepted: 50, sent: 200, delivered: 600, ...o.statusDelaysMs },
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Outages first: "UIS is down" and injected failures answer like the nginx in front of it.
  app.use((req, res, next) => {
    const fault = world.down ? { status: 503 } : world.faults.find((f) => f.remaining > 0 && req.path.startsWith(f.path));
    if (!fault) return next();
    if ('remaining' in fault) (fault as { remaining: number }).remaining -= 1;
    res.status(fault.status).type('text/html').send(nginxPage(fault.status));
  });
  app.use(authRouter(world));
  app.use('/mgmt', managementRouter(world));
  app.use('/runtime', runtimeRouter(world));
  app.use('/dataapi/v2.0', dataApiRouter(world));
  app.use('/callapi/v4.0', callApiRouter(world));
  app.use(recordingRouter(world));
  app.use(pbxPageRouter(world));
  app.use(visitorRouter(world));
  app.use(workspaceRouter(world));
  app.use(analyticsRouter(world));

  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('uis emulator: server has no TCP address');
  world.origin = `http://127.0.0.1:${address.port}`;

  const accounts: UisAccount[] = [];
  const addAccount = (ao?: { project?: 'uis' | 'comagic'; name?: string }): UisAccount => {
    const account = new AccountImpl(world, ao);
    world.accounts.push(account);
    accounts.push(account);
    return account;
  };
  addAccount();

  return {
    origin: world.origin,
    authUrl: `${world.origin}/api/auth/json_rpc`,
    managementUrl: `${world.origin}/mgmt`,
    runtimeUrl: `${world.origin}/runtime`,
    dataApiUrl: `${world.origin}/dataapi/v2.0`,
    workspaceUrl: `${world.origin}/workspace`,
    callApiUrl: `${world.origin}/callapi/v4.0`,
    addAccount,
    accounts,
    setDown(down: boolean) {
      world.down = down;
      if (!down) world.callbacks.release();
    },
    afterSettle(fn) {
      world.callbacks.afterSettle = fn;
    },
    failNext(path: string, times: number, status = 500) {
      world.faults.push({ path, remaining: times, status });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
