import type { Kysely } from 'kysely';
import type { SecretBox } from '../secret-box';
import type { Stores } from '../stores';
import { createPgAmoAccountStore } from './amocrm-account-store';
import { createPgAmoPacingStore } from './amocrm-pacing-store';
import { createPgAnalyticsStore } from './analytics-store';
import { createPgBridgeRecoveryStore } from './bridge-recovery-store';
import { createPgBridgeStore } from './bridge-store';
import { createPgChatSourceStore } from './chat-source-store';
import { createPgCrmRequestStore } from './crm-requests-store';
import { createPgCrmRulesStore } from './crm-rules-store';
import { createPgEmployeeSyncStore } from './employee-sync-store';
import { createPgHealthStore } from './health-store';
import { createPgEventInbox, createPgUisInbox } from './inbox-stores';
import { createPgLeaseStore } from './lease-store';
import { createPgOpenLinesStore } from './open-lines-store';
import { createPgPersonalManagerStore } from './personal-manager-store';
import { createPgPortalStore } from './portal-store';
import { createPgRestBucketStore } from './rest-bucket-store';
import type { PgSchema } from './schema';
import { createPgTelephonyStartStore } from './telephony-starts-store';
import { createPgTelephonyStore } from './telephony-store';
import { createPgUisChannelStore } from './uis-channel-store';
import { createPgUisLinkStore } from './uis-link-store';

/**
 * Every repository on PostgreSQL. `db` is the pool's Kysely, or a transaction's: the UIS callback
 * chain runs over `pgStores(trx, …)` so a callback's writes commit together with its inbox row.
 */
export function pgStores(db: Kysely<PgSchema>, box: SecretBox, now: () => number): Stores {
  return {
    portals: createPgPortalStore(db, box, now),
    events: createPgEventInbox(db, now),
    links: createPgUisLinkStore(db, box),
    uisInbox: createPgUisInbox(db, now),
    channels: createPgUisChannelStore(db, now),
    analytics: createPgAnalyticsStore(db, now),
    bridge: createPgBridgeStore(db, now),
    bridgeRecovery: createPgBridgeRecoveryStore(db, now),
    crmRules: createPgCrmRulesStore(db, now),
    crmRequests: createPgCrmRequestStore(db, now),
    employeeSync: createPgEmployeeSyncStore(db, now),
    openLines: createPgOpenLinesStore(db, now),
    telephony: createPgTelephonyStore(db, box, now),
    telephonyStarts: createPgTelephonyStartStore(db),
    personalManager: createPgPersonalManagerStore(db),
    chatSources: createPgChatSourceStore(db, now),
    amoAccounts: createPgAmoAccountStore(db, box, now),
    amoPacing: createPgAmoPacingStore(db, now),
    health: createPgHealthStore(db),
    leases: createPgLeaseStore(db, now),
    restBuckets: createPgRestBucketStore(db, now),
  };
}
