import type { Generated } from 'kysely';

/**
 * The PostgreSQL schema (server/storage/migrations-pg) as Kysely sees it: one interface per table,
 * the same columns as the SQLite schema (test/storage/pg-migrations.test.ts checks the migrations
 * against each other). Row values are what the SQLite code reads: TEXT → string, INTEGER/BIGINT →
 * number (openPg parses int8 to number), REAL/DOUBLE PRECISION → number; `Generated` marks a column
 * with a default or an identity (optional in INSERT). Add the columns of a new migration here too.
 */
export interface AmocrmAccountsTable {
  member_id: string;
  name: string;
  origin: string;
  account_id: number;
  access_token: string;
  refresh_token: string;
  expires_at: number;
  refreshed_at: number;
  status: string;
  status_reason: string | null;
  refresh_lease_until: number | null;
  webhook_mode: string;
  webhook_disabled: Generated<number>;
  webhook_detail: string | null;
  connected_at: number;
  updated_at: string;
}

export interface AmocrmPacingTable {
  origin: string;
  last_at: number;
}

export interface AnalyticsJobsTable {
  id: Generated<number>;
  member_id: string;
  entity_type: string;
  entity_id: number;
  status: string;
  attempts: Generated<number>;
  due_at: number;
  created_at: number;
  chat_id: number | null;
  attribution: string | null;
  reason: string | null;
  recheck_at: number | null;
  updated_at: string;
}

export interface AnalyticsSettingsTable {
  member_id: string;
  settings: string;
  hook_id: string;
  updated_at: string;
}

export interface BridgeChatsTable {
  member_id: string;
  uis_chat_id: string;
  channel_id: string;
  visitor_id: string | null;
  initiator: string | null;
  operator_id: string | null;
  line_id: string | null;
  b24_chat_id: string | null;
  b24_session_id: string | null;
  status: Generated<string>;
  updated_at: string;
  b24_session_closed: Generated<number>;
  ext_chat_id: string | null;
  successor_uis_chat_id: string | null;
  audited_at: string | null;
}

export interface BridgeEchoesTable {
  id: Generated<number>;
  member_id: string;
  ext_chat_id: string;
  text_hash: string;
  created_at: number;
  /** The Bitrix24 message that took it (migration 033); null while it waits for its echo. */
  taken_by: string | null;
}

export interface BridgeJobsTable {
  id: Generated<number>;
  member_id: string;
  kind: string;
  chat_key: string;
  idem_key: string;
  payload: string;
  status: Generated<string>;
  attempts: Generated<number>;
  due_at: number;
  enqueued_at: number;
  last_error: string | null;
  inflight: Generated<number>;
}

export interface BridgeLinesTable {
  member_id: string;
  line_id: string;
  channel_id: string;
  status: Generated<string>;
  chats_rules_off: Generated<number>;
  last_error: string | null;
  updated_at: string;
  bound_at: number | null;
  reconciled_till: number | null;
}

export interface BridgeMessagesTable {
  member_id: string;
  origin: string;
  key: string;
  uis_chat_id: string | null;
  uis_message_id: string | null;
  b24_chat_id: string | null;
  b24_message_id: string | null;
  b24_user_id: string | null;
  state: string;
  error: string | null;
  updated_at: string;
  b24_session_id: string | null;
}

export interface BridgeRecoveryTable {
  member_id: string;
  recovered: Generated<number>;
  repaired: Generated<number>;
  last_reconcile_at: string | null;
  last_audit_at: string | null;
  last_repair_at: string | null;
  last_error: string | null;
  updated_at: string;
}

export interface BridgeSettingsTable {
  member_id: string;
  default_operator_id: number | null;
  updated_at: string;
}

export interface BridgeVisitorsTable {
  member_id: string;
  visitor_id: string;
  phone: string | null;
  email: string | null;
  name: string | null;
  b24_user_id: string | null;
  updated_at: string;
}

export interface ChatSourceChannelsTable {
  member_id: string;
  source: string;
  channel: string;
  last_at: number;
}

export interface ChatSourceItemsTable {
  id: Generated<number>;
  member_id: string;
  source: string;
  ext_id: string;
  kind: string;
  channel: string | null;
  status: string;
  version: number;
  reopened: Generated<number>;
  payload: string;
  attempts: Generated<number>;
  due_at: number;
  created_at: number;
  attribution: string | null;
  reason: string | null;
  uis_id: number | null;
  updated_at: string;
}

export interface ChatSourceSettingsTable {
  member_id: string;
  source: string;
  settings: string;
  hook_secret: string;
  updated_at: string;
}

export interface ChatSourceStateTable {
  member_id: string;
  source: string;
  last_event_at: number | null;
  last_upload_at: number | null;
  last_error_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
}

export interface CrmDirectoryTable {
  member_id: string;
  data: string;
  fetched_at: string;
}

export interface CrmOpsTable {
  member_id: string;
  op_key: string;
  state: string;
  result_id: number | null;
  updated_at: string;
}

export interface CrmPollCursorTable {
  member_id: string;
  report: string;
  seen_till: number;
  updated_at: string;
}

export interface CrmRequestMessagesTable {
  member_id: string;
  request_id: string;
  message_id: string;
  at: number;
  source: string;
  text: string;
  author: string | null;
}

export interface CrmRequestsTable {
  member_id: string;
  kind: string;
  request_id: string;
  event: string;
  channel_id: string | null;
  visitor_id: string | null;
  started_at: number | null;
  facts: string | null;
  status: Generated<string>;
  due_at: number;
  version: Generated<number>;
  attempts: Generated<number>;
  plan: string | null;
  outcome: string | null;
  reason: string | null;
  link: string | null;
  updated_at: string;
}

export interface CrmRulesSettingsTable {
  member_id: string;
  kind: string;
  settings: string;
  updated_at: string;
}

export interface EmployeeMapTable {
  member_id: string;
  b24_user_id: number;
  uis_employee_id: number;
  matched_by: string;
  updated_at: string;
}

export interface EmployeeStatusImportTable {
  member_id: string;
  b24_user_id: number;
  mnemonic: string;
  updated_at: string;
}

export interface EmployeeSyncRunsTable {
  id: Generated<number>;
  member_id: string;
  trigger: string;
  status: string;
  progress_done: Generated<number>;
  progress_total: Generated<number>;
  started_at: string;
  finished_at: string | null;
  error: string | null;
  result: string | null;
}

export interface EmployeeSyncSettingsTable {
  member_id: string;
  settings: string;
  next_daily_at: number | null;
  status_import: string | null;
  updated_at: string;
}

export interface EventInboxTable {
  id: Generated<number>;
  member_id: string;
  event: string;
  data: string;
  ts: number | null;
  dedupe_key: string;
  received_at: string;
  status: Generated<string>;
}

export interface LeasesTable {
  member_id: string;
  area: string;
  owner: string;
  expires_at: number;
}

export interface OpenLinesJobsTable {
  member_id: string;
  entity_type: string;
  entity_id: number;
  status: string;
  attempts: Generated<number>;
  due_at: number;
  created_at: number;
  uis_chat_id: string | null;
  written: string | null;
  reason: string | null;
  updated_at: number;
}

export interface OpenLinesSettingsTable {
  member_id: string;
  settings: string;
  enabled: Generated<number>;
  updated_at: string;
}

export interface PmAsksTable {
  member_id: string;
  asked: Generated<number>;
  with_manager: Generated<number>;
  last_at: number;
  last_outcome: string;
}

export interface PmDirtyTable {
  member_id: string;
  entity_type: string;
  entity_id: number;
  due_at: number;
  attempts: Generated<number>;
}

export interface PmEmployeePhonesTable {
  member_id: string;
  uis_employee_id: number;
  phones: string;
  read_at: number;
}

export interface PmEntitiesTable {
  member_id: string;
  entity_type: string;
  entity_id: number;
  responsible_id: number | null;
  closed: Generated<number>;
  created_at: Generated<number>;
  contact_id: number | null;
  company_id: number | null;
  lead_id: number | null;
  deleted: Generated<number>;
  read_at: number;
}

export interface PmMissesTable {
  member_id: string;
  phone: string;
  until_at: number;
}

export interface PmPhonesTable {
  member_id: string;
  phone: string;
  entity_type: string;
  entity_id: number;
}

export interface PmWarmupTable {
  member_id: string;
  entity_type: string;
  after_id: Generated<number>;
  done: Generated<number>;
  updated_at: number;
}

export interface PortalsTable {
  member_id: string;
  domain: string;
  client_endpoint: string;
  server_endpoint: string;
  access_token_enc: string | null;
  refresh_token_enc: string | null;
  expires_at: number | null;
  application_token_enc: string | null;
  scopes: Generated<string>;
  installed_by: number | null;
  status: string;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  installed_at: string | null;
}

export interface RestBucketsTable {
  member_id: string;
  level: number;
  at: number;
}

export interface SchemaMigrationsTable {
  version: string;
  applied_at: string;
}

export interface TelephonyCallsTable {
  member_id: string;
  session_id: number;
  status: Generated<string>;
  due_at: number;
  version: Generated<number>;
  attempts: Generated<number>;
  started_at: number | null;
  phone: string | null;
  report: string | null;
  state: string | null;
  outcome: string | null;
  reason: string | null;
  missed_activity_id: number | null;
  missed_open: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface TelephonyEventTypesTable {
  member_id: string;
  event_type: string;
  received: Generated<number>;
  last_at: number;
}

export interface TelephonyEventsTable {
  id: Generated<number>;
  member_id: string;
  session_id: number | null;
  event_type: string;
  body: string;
  dedupe_key: string;
  received_at: number;
}

export interface TelephonyHooksTable {
  member_id: string;
  token_hash: string;
  token_sealed: string;
  created_at: string;
}

export interface TelephonyLinesTable {
  member_id: string;
  numbers: string;
  synced_at: number;
  last_error: string | null;
}

export interface TelephonyReconcileTable {
  member_id: string;
  seen_till: number;
  last_run_at: number | null;
  recovered: Generated<number>;
  last_error: string | null;
}

export interface TelephonySettingsTable {
  member_id: string;
  settings: string;
  enabled: Generated<number>;
  updated_at: string;
}

export interface TelephonyStartsTable {
  member_id: string;
  correlation_id: string;
  kind: string;
  call_id: string | null;
  user_id: number | null;
  phone: string;
  session_id: number | null;
  status: string;
  error_code: string | null;
  error: string | null;
  created_at: number;
}

export interface UisChannelsTable {
  member_id: string;
  channel_id: string;
  account_id: string;
  chat_channel_id: string | null;
  type: string;
  name: string;
  status: string;
  templates: Generated<string>;
  updated_at: string;
}

export interface UisConnectionsTable {
  member_id: string;
  connection_id: string;
  name: string | null;
  status: string;
  updated_at: string;
}

export interface UisCallbackInboxTable {
  id: Generated<number>;
  member_id: string;
  path: string;
  body: string;
  dedupe_key: string;
  received_at: number;
  claimed_by: string | null;
  claimed_until: number | null;
  done_at: number | null;
  failure: string | null;
}

export interface UisInboxTable {
  id: Generated<number>;
  member_id: string;
  path: string;
  body: string;
  dedupe_key: string;
  received_at: string;
  status: Generated<string>;
}

export interface UisLinksTable {
  member_id: string;
  project: string;
  login: string;
  password_enc: string;
  data_api_token_enc: string;
  account_id: string;
  account_name: string | null;
  adapter_id: string | null;
  connection_id: string | null;
  adapter_login: string;
  adapter_password_enc: string;
  hook_id: string;
  webhook_secret_enc: string;
  linked_at: string;
  last_error: string | null;
}

export interface PgSchema {
  amocrm_accounts: AmocrmAccountsTable;
  amocrm_pacing: AmocrmPacingTable;
  analytics_jobs: AnalyticsJobsTable;
  analytics_settings: AnalyticsSettingsTable;
  bridge_chats: BridgeChatsTable;
  bridge_echoes: BridgeEchoesTable;
  bridge_jobs: BridgeJobsTable;
  bridge_lines: BridgeLinesTable;
  bridge_messages: BridgeMessagesTable;
  bridge_recovery: BridgeRecoveryTable;
  bridge_settings: BridgeSettingsTable;
  bridge_visitors: BridgeVisitorsTable;
  chat_source_channels: ChatSourceChannelsTable;
  chat_source_items: ChatSourceItemsTable;
  chat_source_settings: ChatSourceSettingsTable;
  chat_source_state: ChatSourceStateTable;
  crm_directory: CrmDirectoryTable;
  crm_ops: CrmOpsTable;
  crm_poll_cursor: CrmPollCursorTable;
  crm_request_messages: CrmRequestMessagesTable;
  crm_requests: CrmRequestsTable;
  crm_rules_settings: CrmRulesSettingsTable;
  employee_map: EmployeeMapTable;
  employee_status_import: EmployeeStatusImportTable;
  employee_sync_runs: EmployeeSyncRunsTable;
  employee_sync_settings: EmployeeSyncSettingsTable;
  event_inbox: EventInboxTable;
  leases: LeasesTable;
  open_lines_jobs: OpenLinesJobsTable;
  open_lines_settings: OpenLinesSettingsTable;
  pm_asks: PmAsksTable;
  pm_dirty: PmDirtyTable;
  pm_employee_phones: PmEmployeePhonesTable;
  pm_entities: PmEntitiesTable;
  pm_misses: PmMissesTable;
  pm_phones: PmPhonesTable;
  pm_warmup: PmWarmupTable;
  portals: PortalsTable;
  rest_buckets: RestBucketsTable;
  schema_migrations: SchemaMigrationsTable;
  telephony_calls: TelephonyCallsTable;
  telephony_event_types: TelephonyEventTypesTable;
  telephony_events: TelephonyEventsTable;
  telephony_hooks: TelephonyHooksTable;
  telephony_lines: TelephonyLinesTable;
  telephony_reconcile: TelephonyReconcileTable;
  telephony_settings: TelephonySettingsTable;
  telephony_starts: TelephonyStartsTable;
  uis_channels: UisChannelsTable;
  uis_connections: UisConnectionsTable;
  uis_callback_inbox: UisCallbackInboxTable;
  uis_inbox: UisInboxTable;
  uis_links: UisLinksTable;
}

