import type { Clock } from '../domain/clock';
import type { Logger } from '../logging';
import type { Metrics } from '../metrics';
import type { HandleEventDeps } from '../services/handle-event';
import type { LinkUisDeps } from '../services/link-uis';
import type { AnalyticsWorker } from '../services/analytics/worker';
import type { AnalyticsRepository } from '../services/ports';
import type { Background } from '../services/background';
import type { BitrixGateway, EventInbox, OAuthClient, PortalRepository, UisInbox } from '../services/ports';
import type { AsyncPort } from '../services/async-port';
import type { CallbackIntake } from '../services/callback-intake';
import type { WorkspaceAdapters } from '../services/workspace-ports';
import type { PageRenderer } from './page-renderer';
import type { SessionSigner } from './session';

/** Everything the HTTP layer is given by the composition root (server/main.ts). */
export interface AppDeps extends HandleEventDeps, LinkUisDeps {
  appUrl: string;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  portals: AsyncPort<PortalRepository>;
  inbox: AsyncPort<EventInbox>;
  gateway: BitrixGateway;
  oauth: OAuthClient;
  sessions: SessionSigner;
  renderer: PageRenderer;
  background: Background;
  /** Directory with the built assets (dist/assets), served at /assets. */
  assetsDir?: string;
  /** Dev mode: Vite middlewares are mounted and the CSP is relaxed for HMR. */
  dev?: { middlewares: import('express').RequestHandler };
  uisInbox: AsyncPort<UisInbox>;
  analytics: import('../services/async-port').AsyncPort<AnalyticsRepository>;
  analyticsWorker: AnalyticsWorker;
  /** «Источники чатов» (issue #15): Jivo and amoCRM through the analytics pipeline; its worker. */
  chatSources: import('../services/chat-sources/deps').ChatSourcesDeps;
  chatSourcesWorker: import('../services/chat-sources/worker').ChatSourcesWorker;
  /** Verified UIS callbacks, committed in groups before they are answered. */
  uisCallbacks: CallbackIntake;
  /** The operator workspace feature's adapters (channels, UIS runtime, Data API, probe). */
  workspace: WorkspaceAdapters;
  /** The Open Lines bridge (issue #3): bindings, mappings, queue; its worker; signed file links. */
  bridge: import('../services/async-port').AsyncPort<import('../services/bridge/ports').BridgeRepository>;
  bridgeWorker: import('../services/bridge/worker').BridgeWorker;
  /** What callbacks missed and what the open line lacks (issue #11): reconcile and loss audit. */
  bridgeRecovery: import('../services/bridge/recovery').BridgeRecovery;
  bridgeRecoveryStore: import('../services/async-port').AsyncPort<import('../services/bridge/ports').BridgeRecoveryRepository>;
  bridgeFiles: import('../services/bridge/file-links').FileSigner;
  /** «Чаты» / «Оффлайн заявки» rules and the cached CRM directory (issue #6). */
  crmRules: import('../services/async-port').AsyncPort<import('../services/crm-rules/ports').CrmRulesRepository>;
  /** Chats/offline requests the rules follow, and the worker applying their decisions. */
  crmRequests: import('../services/async-port').AsyncPort<import('../services/crm-rules/ports').CrmRequestRepository>;
  crmWorker: import('../services/crm-rules/worker').CrmRulesWorker;
  /** «Синхронизация сотрудников» (issue #6): settings, mapping and runs; its worker (ticks started by main.ts). */
  employeeSync: import('../services/async-port').AsyncPort<import('../services/employee-sync/ports').EmployeeSyncRepository>;
  employeeSyncWorker: import('../services/employee-sync/worker').EmployeeSyncWorker;
  /** Bitrix24 user ⇄ UIS employee as the last sync found it (for other services). */
  employeeDirectory: import('../services/async-port').AsyncPort<import('../services/employee-sync/ports').EmployeeDirectory>;
  /** «Телефония» (issue #13): settings, notifications, calls; the worker applying them; the report's reconciliation. */
  telephony: import('../services/telephony/ports').TelephonyRepository;
  /** calls started from Bitrix24 (issue #14); the tab lists the failed ones */
  telephonyStarts?: import('../services/telephony/start-ports').TelephonyStartRepository;
  telephonyWorker: import('../services/telephony/worker').TelephonyWorker;
  /** «Переадресация на персонального менеджера из CRM» (issue #14): the lookup UIS asks, the map's worker. */
  personalManager?: import('../services/personal-manager/ports').PersonalManager;
  telephonyReconcile: import('../services/telephony/reconcile').TelephonyReconcile;
  /** «Открытые линии» (issue #16): the tab's settings and the jobs writing «Доп. поля»; its worker. */
  openLines: import('../services/open-lines/ports').OpenLinesRepository;
  openLinesWorker: import('../services/open-lines/worker').OpenLinesWorker;
  /** «Состояние» (issue #16): figures over the job tables; the portals' REST bucket size (B24_RATE_LIMIT burst). */
  health: { store: import('../services/health/ports').HealthRepository; restBurst: number };
  /** Throws (or rejects) when the database does not answer. */
  healthCheck(): void | Promise<void>;
  /** True once a graceful shutdown began: `/readyz` answers 503 (server/lifecycle.ts). */
  isDraining?(): boolean;
  fetch?: typeof fetch;
}
