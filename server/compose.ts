import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOAuthClient } from './bitrix/oauth';
import { createBitrixGateway } from './bitrix/rest-client';
import type { Config, UisEndpointOverrides } from './config';
import { systemClock, type Clock } from './domain/clock';
import { createApp } from './http/app';
import { uisCallbackListener } from './http/uis-callback-listener';
import type { AppDeps } from './http/deps';
import { createDistRenderer, type PageRenderer } from './http/page-renderer';
import { createSessionSigner } from './http/session';
import { createLogger, type Logger } from './logging';
import { createMetrics } from './metrics';
import { createBackground } from './services/background';
import { atomically, type Db } from './storage/db';
import { callbackChainOf, createPgIntake, openPostgresStore, openSqliteStore } from './compose-store';
import { createSecretBox } from './storage/secret-box';
import { createLeaseKeeper } from './services/leases';
import { createWorkspaceAdapters } from './compose-workspace';
import { createAnalyticsWorker } from './services/analytics/worker';
import { resolveUisEndpoints } from './uis/endpoints';
import { createBridgeWorker, type BridgeWorkerOptions } from './services/bridge/worker';
import { createFileSigner } from './services/bridge/file-links';
import { createCrmRulesWorker, type CrmRulesWorkerOptions } from './services/crm-rules/worker';
import { createCallbackIntake } from './services/callback-intake';
import { onMessageAdd } from './services/bridge/on-bitrix-event';
import { bitrixEventFanout } from './services/event-fanout';
import { CONNECTOR_ID } from '../install/plan';
import { createUisManagement } from './uis/management-client';
import { createBridgeRecovery } from './services/bridge/recovery';
import { createDataApiBudget } from './uis/data-api-budget';
import { createEmployeeSyncWorker } from './services/employee-sync/worker';
import { createOpenLines } from './compose-open-lines';
import { createChatSources, type AmoCredentials } from './compose-chat-sources';
import type { ChatSourcesWorkerOptions } from './services/chat-sources/worker';
import { createTelephony, TELEPHONY_RECONCILE_MS } from './compose-telephony';
import type { TelephonyWorkerOptions } from './services/telephony/worker';
import { createPersonalManager, PERSONAL_MANAGER_UPKEEP_MS, type PersonalManagerOptions } from './compose-personal-manager';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bitrix24 app credentials and trusted OAuth servers, known only once the server listens in sandbox mode. */
export interface Credentials {
  clientId: string;
  clientSecret: string;
  oauthServers: string[];
  /** UIS endpoints overriding the configured/real ones (sandbox: the emulated platform). */
  uis?: UisEndpointOverrides;
  /** amoCRM integration overriding AMOCRM_* (sandbox and tests: the emulated amoCRM). */
  amocrm?: AmoCredentials;
}

export interface StartOptions {
  config: Config;
  log?: Logger;
  clock?: Clock;
  fetch?: typeof fetch;
  renderer?: PageRenderer;
  dev?: AppDeps['dev'];
  analytics?: import('./services/analytics/worker').AnalyticsWorkerOptions;
  bridge?: BridgeWorkerOptions;
  crmRules?: CrmRulesWorkerOptions;
  openLines?: import('./services/open-lines/worker').OpenLinesWorkerOptions;
  chatSources?: ChatSourcesWorkerOptions;
  telephony?: TelephonyWorkerOptions;
  personalManager?: PersonalManagerOptions;
  /** Called after listen() with the app's public URL; returns the credentials to use (sandbox: starts the emulator). */
  credentials(appUrl: string): Promise<Credentials>;
}

export interface RunningServer {
  url: string;
  deps: AppDeps;
  /** The SQLite database (tests read it); throws when the server runs on PostgreSQL. */
  readonly db: Db;
  storeKind: 'sqlite' | 'postgres';
  /**
   * Resolves once every UIS callback this server acknowledged has been handled (tests). SQLite
   * handles a callback before its 204; PostgreSQL acknowledges it from the inbox and handles it
   * right after, on any instance.
   */
  callbacksHandled(): Promise<void>;
  server: Server;
  /** Stop at once (tests): connections cut, runs in flight awaited, database closed. */
  close(): Promise<void>;
  /** Readiness off (`/readyz` 503, responses say `Connection: close`); everything still served. */
  beginDraining(): void;
  /**
   * Graceful stop: draining; no new runs or polls; the listener closed (requests in flight are
   * answered); then waits for the HTTP requests, the job runs and the background work in flight,
   * at most `timeoutMs`. Resolves true when all finished (the database is then closed), false when
   * the bound was hit: what is still running is left to the next start, which resumes it (durable
   * jobs, in-flight marks).
   */
  shutdown(timeoutMs: number): Promise<boolean>;
}

/** Composition root: config → db → adapters → createApp → listen. The only place wiring concrete classes. */
export async function startServer(o: StartOptions): Promise<RunningServer> {
  const { config } = o;
  const clock = o.clock ?? systemClock;
  const log = o.log ?? createLogger({ level: config.logLevel });
  const server = createServer();
  let draining = false;
  // while draining every answer closes its connection, so clients reconnect to another instance
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  server.on('request', (req, res) => {
    if (draining) res.setHeader('Connection', 'close');
    if (handler) return handler(req, res);
    // listening before the database is open and migrated (PostgreSQL: seconds): answer, never hang
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' }).end('{"status":"starting"}');
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(config.port, config.host, ok));
  const { port } = server.address() as AddressInfo;
  const appUrl = config.appUrl ?? `http://${config.host}:${port}`;
  const creds = await o.credentials(appUrl);

  const secret = config.appSecretKey ?? sandboxSecret(config.postgres ? ':memory:' : config.databasePath);
  const box = createSecretBox(secret);
  const now = () => clock.now();
  // DATABASE_URL: file: → SQLite (the embedded default), postgres:// → PostgreSQL (issue #12)
  const store = config.postgres ? await openPostgresStore(config.postgres, box, now, log) : openSqliteStore(config.databasePath, box, now);
  const { stores } = store;
  const portals = stores.portals;
  const oauth = createOAuthClient({ clientId: creds.clientId, clientSecret: creds.clientSecret, trustedOrigins: creds.oauthServers, fetch: o.fetch });
  const links = stores.links;
  const analytics = stores.analytics;
  const uisEndpoints = (project: Parameters<typeof resolveUisEndpoints>[0]) => resolveUisEndpoints(project, { ...config.uis, ...creds.uis });
  const workspace = createWorkspaceAdapters({ channels: stores.channels, clock, fetch: o.fetch, uisEndpoints });
  const metrics = createMetrics({ defaultMetrics: true });
  // several instances may share the database: portal work and token refreshes are leased (issue #12)
  const leaseStore = stores.leases;
  const leases = createLeaseKeeper({ store: leaseStore, log, ttlMs: config.leaseTtlMs, instance: `${hostname()}:${port}` });
  // the personal manager's live-lookup slots: freed at once (no linger), so another instance may take one
  const liveSlots = createLeaseKeeper({ store: leaseStore, log, ttlMs: config.leaseTtlMs, instance: `${hostname()}:${port}`, owner: leases.owner, lingerMs: 0 });
  const dropped = await leases.dropEarlier();
  if (dropped) log.info({ dropped }, 'leases of this instance\'s previous start dropped');
  const sharedBuckets = stores.restBuckets;
  const gateway = createBitrixGateway({ portals, oauth, clock, rateLimit: config.rateLimit, log, metrics, fetch: o.fetch, leases, sharedBuckets });
  const bridge = stores.bridge;
  const bridgeFiles = createFileSigner({ secret, appUrl, now: () => clock.now() });
  const employeeSync = stores.employeeSync;
  const bridgeWorker = createBridgeWorker({ bridge, gateway, links, workspace, employees: employeeSync, uisEndpoints, files: bridgeFiles, clock, log, fetch: o.fetch }, o.bridge);
  const bridgeEventDeps = {
    bridge,
    now: () => clock.now(),
    wake: (gatherMs?: number) => bridgeWorker.wake(gatherMs),
    connectorActive: async (memberId: string, lineId: string) =>
      (await gateway.client(memberId).call<{ STATUS?: unknown }>('imconnector.status', { CONNECTOR: CONNECTOR_ID, LINE: lineId })).result.STATUS === true,
  };
  const bridgeRecoveryStore = stores.bridgeRecovery;
  const bridgeRecovery = createBridgeRecovery({
    bridge,
    recovery: bridgeRecoveryStore,
    links,
    channels: workspace.channels,
    gateway,
    uisEndpoints,
    budget: createDataApiBudget({ clock }),
    clock,
    log,
    fetch: o.fetch,
    wake: () => bridgeWorker.wake(),
    counted: (area, n) => metrics.bridgeRepairs.inc({ area }, n),
    lease: leases,
  });
  bridgeWorker.onMessageAdd = async (memberId, data) => (await onMessageAdd(bridgeEventDeps, memberId, data)) > 0;
  const employeeSyncWorker = createEmployeeSyncWorker({ employeeSync, gateway, links, uisEndpoints, clock, log, fetch: o.fetch });
  const ol = createOpenLines({ openLines: stores.openLines, clock, gateway, links, bridge, channels: workspace.channels, uisEndpoints, log, fetch: o.fetch, options: o.openLines });
  const analyticsWorker = createAnalyticsWorker({ analytics, gateway, links, uisEndpoints, clock, log, fetch: o.fetch, leadDealConsumers: [ol.leadDealConsumer] }, o.analytics);
  const amo = creds.amocrm ?? (config.amocrm ? { clientId: config.amocrm.clientId, clientSecret: config.amocrm.clientSecret, trustedHosts: config.amocrm.domains } : null);
  const chatSources = createChatSources({ sources: stores.chatSources, amoAccounts: stores.amoAccounts, amoPacing: stores.amoPacing, clock, log, fetch: o.fetch, appUrl, stateSecret: secret, amo, analytics, links, uisEndpoints, worker: o.chatSources, lease: leases });
  const crmRules = stores.crmRules;
  const crmRequests = stores.crmRequests;
  const crmWorker = createCrmRulesWorker({ requests: crmRequests, crmRules, gateway, links, uisEndpoints, bridge, channels: workspace.channels, employees: employeeSync, clock, log, fetch: o.fetch, crmWritten: (m, refs) => void pm.worker.touch(m, refs) }, o.crmRules);
  const tel = createTelephony({ telephony: stores.telephony, starts: stores.telephonyStarts, clock, gateway, links, uisEndpoints, employees: employeeSync, log, fetch: o.fetch, options: o.telephony, rateLimit: config.rateLimit, crmWritten: (m, refs) => void pm.worker.touch(m, refs) });
  const pm = createPersonalManager({ map: stores.personalManager, clock, gateway, links, uisEndpoints, employees: employeeSync, telephony: tel.telephony, log, fetch: o.fetch, options: o.personalManager, liveSlots });
  const callbackChain = callbackChainOf({
    now,
    log,
    bridgeWake: () => bridgeWorker.wake(),
    reconcileSoon: (m) => bridgeRecovery.soon(m),
    crmWake: (d) => crmWorker.wake(d),
    crmGatherMs: crmWorker.gatherMs,
    committedBridge: store.kind === 'postgres' ? bridge : undefined,
  });
  const intake = store.kind === 'sqlite' ? { uisCallbacks: createCallbackIntake(callbackChain(store.sync, (fn) => fn()), atomically(store.db)), consumer: undefined, uisInbox: stores.uisInbox } : createPgIntake(store, callbackChain, log);
  const deps: AppDeps = {
    appUrl,
    log,
    metrics,
    clock,
    portals,
    inbox: stores.events,
    gateway,
    oauth,
    sessions: createSessionSigner(secret, () => clock.now()),
    renderer: o.renderer ?? createDistRenderer(join(PROJECT_ROOT, 'dist')),
    background: createBackground(log),
    assetsDir: join(PROJECT_ROOT, 'dist', 'assets'),
    dev: o.dev,
    healthCheck: store.ping,
    isDraining: () => draining,
    fetch: o.fetch,
    http: { fetch: o.fetch },
    links,
    analytics,
    analyticsWorker,
    openLines: ol.openLines,
    openLinesWorker: ol.openLinesWorker,
    health: { store: stores.health, restBurst: config.rateLimit.burst },
    chatSources: chatSources.deps,
    chatSourcesWorker: chatSources.worker,
    // the record of UIS callbacks: uis_inbox on SQLite, the callback inbox on PostgreSQL (compose-store.ts)
    uisInbox: intake.uisInbox,
    uisCallbacks: intake.uisCallbacks,
    bridge,
    bridgeWorker,
    bridgeRecovery,
    bridgeRecoveryStore,
    bridgeFiles,
    crmRules,
    crmRequests,
    crmWorker,
    employeeSync,
    employeeSyncWorker,
    employeeDirectory: employeeSync,
    telephony: tel.telephony,
    telephonyWorker: tel.telephonyWorker,
    telephonyReconcile: tel.telephonyReconcile,
    personalManager: pm,
    installLines: tel.installLines,
    telephonyStarts: tel.startsRepo,
    workspace,
    uis: createUisManagement({ fetch: o.fetch }),
    portalDomain: async (memberId) => (await portals.get(memberId))?.domain ?? memberId,
    uisEndpoints,
  };
  deps.onEvent = bitrixEventFanout({ log, analytics: deps, openLines: deps, bridge: bridgeEventDeps, telephonyStarts: tel.starts, personalManager: pm });
  deps.analyticsWorker.wake();
  deps.openLinesWorker.wake();
  deps.chatSourcesWorker.wake();
  deps.bridgeWorker.wake();
  deps.crmWorker.wake(0);
  deps.telephonyWorker.wake(0);
  pm.worker.wake(0);
  intake.consumer?.start();
  // UIS callbacks are served ahead of Express (uis-callback-listener.ts); everything else by the app
  handler = uisCallbackListener(deps, createApp(deps));
  log.info({ appUrl, sandbox: config.sandbox }, 'UIS OMNI listening');

  return {
    url: appUrl,
    deps,
    get db(): Db {
      if (store.kind !== 'sqlite') throw new Error('this server runs on PostgreSQL: there is no SQLite database');
      return store.db;
    },
    storeKind: store.kind,
    async callbacksHandled() {
      const consumer = intake.consumer;
      if (!consumer) return;
      for (let i = 0; i < 2000; i++) {
        await consumer.idle();
        if (!(await consumer.drain()) && !(await consumer.pending())) return;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('UIS callbacks acknowledged but not handled after 10 s');
    },
    server,
    async close() {
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      deps.analyticsWorker.stop();
      deps.openLinesWorker.stop();
      deps.chatSourcesWorker.stop();
      deps.bridgeWorker.stop();
      deps.bridgeRecovery.stop();
      deps.employeeSyncWorker.stop();
      deps.crmWorker.stop();
      deps.telephonyWorker.stop();
      deps.telephonyReconcile.stop();
      pm.worker.stop();
      intake.consumer?.stop();
      await deps.bridgeWorker.drainInFlight();
      await intake.consumer?.idle();
      await deps.chatSourcesWorker.idle();
      await deps.openLinesWorker.idle();
      await deps.bridgeRecovery.idle();
      await deps.crmWorker.idle();
      await deps.telephonyWorker.idle();
      await deps.telephonyReconcile.idle();
      await pm.worker.idle();
      await deps.employeeSyncWorker.idle();
      await deps.background.idle();
      await store.close();
    },
    beginDraining() {
      draining = true;
    },
    async shutdown(timeoutMs) {
      draining = true;
      for (const w of [deps.analyticsWorker, deps.openLinesWorker, deps.chatSourcesWorker, deps.bridgeWorker, deps.bridgeRecovery, deps.employeeSyncWorker, deps.crmWorker, deps.telephonyWorker, deps.telephonyReconcile, pm.worker]) w.stop();
      // (PostgreSQL: callbacks acknowledged but not yet handled stay in the inbox for any instance)
      intake.consumer?.stop();
      const httpDone = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      const inFlight = Promise.all([
        httpDone,
        deps.analyticsWorker.idle(),
        deps.openLinesWorker.idle(),
        deps.chatSourcesWorker.idle(),
        deps.bridgeWorker.drainInFlight(),
        deps.bridgeRecovery.idle(),
        deps.crmWorker.idle(),
        deps.telephonyWorker.idle(),
        deps.telephonyReconcile.idle(),
        pm.worker.idle(),
        deps.employeeSyncWorker.idle(),
        intake.consumer?.idle(),
      ]).then(() => deps.background.idle());
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([inFlight.then(() => true), new Promise<false>((ok) => (timer = setTimeout(() => ok(false), timeoutMs)))]);
      clearTimeout(timer);
      if (drained) await store.close();
      else server.closeAllConnections();
      return drained;
    },
  };
}

/** Sandbox mode needs no APP_SECRET_KEY: a random one is kept next to the database. */
function sandboxSecret(databasePath: string): string {
  if (databasePath === ':memory:') return randomBytes(32).toString('hex');
  const file = join(dirname(resolve(databasePath)), '.sandbox-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/**
 * The background work of a running instance (server/main.ts; the restart suite's child process):
 * the offline-event catch-up of analytics and the bridge, the employee sync, and the CRM rules'
 * pollers. `bridgeOfflinePollMs` shortens the bridge's offline-event polling (the restart suite).
 */
export function startBackgroundWork(deps: AppDeps, o: { bridgeOfflinePollMs?: number } = {}): void {
  deps.analyticsWorker.startOfflinePolling(5 * 60_000);
  // amoCRM: a refresh token unused for 3 months dies, and amoCRM disables failing webhooks
  deps.chatSourcesWorker.startKeepAlive(6 * 3600_000);
  // an operator's reply whose online event was lost (at most once, docs/facts/bitrix24.md#event-delivery) waits for this poll: every minute
  deps.bridgeWorker.startOfflinePolling(o.bridgeOfflinePollMs ?? 60_000, () => deps.bridge.boundPortals());
  // UIS never retries a callback: what clients wrote while we were down (or a callback failed, or
  // UIS had the channel disabled) is read from the Data API report — at start-up, before the
  // inbound relay goes on, then every 5 minutes; the loss audit every 30 minutes
  deps.bridgeRecovery.start({ portals: () => deps.bridge.boundPortals(), reconcileMs: 5 * 60_000, auditMs: 30 * 60_000, hold: deps.bridgeWorker });
  deps.employeeSyncWorker.start();
  // «Оффлайн заявки»: UIS sends no callback for them, the report is polled
  deps.crmWorker.startOfflinePolling(60_000);
  // «Чаты»: what the callbacks missed (our downtime, VK) — at start-up and every 5 minutes
  deps.crmWorker.startChatReconcile(5 * 60_000);
  // «Телефония»: UIS promises nothing about notifications — the calls report every minute (and the lines)
  deps.telephonyReconcile.start(TELEPHONY_RECONCILE_MS);
  // «Переадресация на персонального менеджера»: rows events never refreshed, the employees' numbers
  deps.personalManager?.worker.start(PERSONAL_MANAGER_UPKEEP_MS);
}
