import type { AmoPacingStore } from '../amocrm/client';
import type { AsyncPort } from '../services/async-port';
import { asyncPort } from '../services/async-port';
import type { BridgeRecoveryRepository, BridgeRepository } from '../services/bridge/ports';
import type { AmoAccountRepository, ChatSourceRepository } from '../services/chat-sources/ports';
import type { CrmRequestRepository, CrmRulesRepository } from '../services/crm-rules/ports';
import type { EmployeeSyncRepository } from '../services/employee-sync/ports';
import type { HealthRepository } from '../services/health/ports';
import type { LeaseStore } from '../services/lease-ports';
import type { OpenLinesRepository } from '../services/open-lines/ports';
import type { PersonalManagerRepository } from '../services/personal-manager/ports';
import type { AnalyticsRepository, EventInbox, PortalRepository, UisInbox, UisLinkRepository } from '../services/ports';
import type { RestBucketStore } from '../services/rest-bucket-ports';
import type { TelephonyRepository } from '../services/telephony/ports';
import type { TelephonyStartRepository } from '../services/telephony/start-ports';
import type { UisChannelRepository } from '../services/workspace-ports';
import { createSqliteAmoAccountRepository } from './amocrm-account-repository';
import { createSqliteAmoPacingStore } from './amocrm-pacing-repository';
import { createSqliteAnalyticsRepository } from './analytics-repository';
import { createSqliteBridgeRecoveryRepository } from './bridge-recovery-repository';
import { createSqliteBridgeRepository } from './bridge-repository';
import { createSqliteChatSourceRepository } from './chat-source-repository';
import { createSqliteCrmRequestRepository } from './crm-requests-repository';
import { createSqliteCrmRulesRepository } from './crm-rules-repository';
import type { Db } from './db';
import { createSqliteEmployeeSyncRepository } from './employee-sync-repository';
import { createSqliteEventInbox } from './event-inbox';
import { createSqliteHealthRepository } from './health-repository';
import { createSqliteLeaseStore } from './lease-repository';
import { createSqliteOpenLinesRepository } from './open-lines-repository';
import { createSqlitePersonalManagerRepository } from './personal-manager-repository';
import { createSqlitePortalRepository } from './portal-repository';
import { createSqliteRestBucketStore } from './rest-bucket-repository';
import type { SecretBox } from './secret-box';
import { createSqliteTelephonyRepository } from './telephony-repository';
import { createSqliteTelephonyStartRepository } from './telephony-starts-repository';
import { createSqliteUisChannelRepository } from './uis-channel-repository';
import { createSqliteUisInbox } from './uis-inbox';
import { createSqliteUisLinkRepository } from './uis-link-repository';

/**
 * Every repository the server uses, in the form the services call them (issue #12): the same for
 * SQLite (`sqliteStores`) and PostgreSQL (`pgStores`, server/storage/pg/stores.ts), so the
 * composition root wires the services once.
 */
export interface Stores {
  portals: AsyncPort<PortalRepository>;
  events: AsyncPort<EventInbox>;
  links: AsyncPort<UisLinkRepository>;
  uisInbox: AsyncPort<UisInbox>;
  channels: AsyncPort<UisChannelRepository>;
  analytics: AsyncPort<AnalyticsRepository>;
  bridge: AsyncPort<BridgeRepository>;
  bridgeRecovery: AsyncPort<BridgeRecoveryRepository>;
  crmRules: AsyncPort<CrmRulesRepository>;
  crmRequests: AsyncPort<CrmRequestRepository>;
  employeeSync: AsyncPort<EmployeeSyncRepository>;
  openLines: OpenLinesRepository;
  telephony: TelephonyRepository;
  telephonyStarts: TelephonyStartRepository;
  personalManager: PersonalManagerRepository;
  chatSources: ChatSourceRepository;
  amoAccounts: AmoAccountRepository;
  amoPacing: AmoPacingStore;
  health: HealthRepository;
  leases: LeaseStore;
  restBuckets: RestBucketStore;
}

/** The repositories the UIS callback chain writes inside the SQLite intake's transaction: synchronous. */
export interface SqliteCallbackStores {
  uisInbox: UisInbox;
  channels: UisChannelRepository;
  bridge: BridgeRepository;
  bridgeRecovery: BridgeRecoveryRepository;
  crmRules: CrmRulesRepository;
  crmRequests: CrmRequestRepository;
}

export function sqliteStores(db: Db, box: SecretBox, now: () => number): Stores & { sync: SqliteCallbackStores } {
  const sync: SqliteCallbackStores = {
    uisInbox: createSqliteUisInbox(db, now),
    channels: createSqliteUisChannelRepository(db, now),
    bridge: createSqliteBridgeRepository(db, now),
    bridgeRecovery: createSqliteBridgeRecoveryRepository(db, now),
    crmRules: createSqliteCrmRulesRepository(db, now),
    crmRequests: createSqliteCrmRequestRepository(db, now),
  };
  return {
    sync,
    portals: asyncPort(createSqlitePortalRepository(db, box, now)),
    events: asyncPort(createSqliteEventInbox(db, now)),
    links: asyncPort(createSqliteUisLinkRepository(db, box)),
    uisInbox: asyncPort(sync.uisInbox),
    channels: asyncPort(sync.channels),
    analytics: asyncPort(createSqliteAnalyticsRepository(db, now)),
    bridge: asyncPort(sync.bridge),
    bridgeRecovery: asyncPort(sync.bridgeRecovery),
    crmRules: asyncPort(sync.crmRules),
    crmRequests: asyncPort(sync.crmRequests),
    employeeSync: asyncPort(createSqliteEmployeeSyncRepository(db, now)),
    openLines: createSqliteOpenLinesRepository(db, now),
    telephony: createSqliteTelephonyRepository(db, box, now),
    telephonyStarts: createSqliteTelephonyStartRepository(db),
    personalManager: createSqlitePersonalManagerRepository(db),
    chatSources: createSqliteChatSourceRepository(db, now),
    amoAccounts: createSqliteAmoAccountRepository(db, box, now),
    amoPacing: createSqliteAmoPacingStore(db, now),
    health: createSqliteHealthRepository(db),
    leases: createSqliteLeaseStore(db, now),
    restBuckets: createSqliteRestBucketStore(db, now),
  };
}
