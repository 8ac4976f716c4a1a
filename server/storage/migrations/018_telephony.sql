-- «Телефония» (issue #13): UIS calls in Bitrix24 external telephony.

-- The tab's settings (server/contracts/telephony-settings.ts); `enabled` is kept beside the JSON so
-- the pollers can list the portals with the tab on without reading JSON in SQL.
CREATE TABLE telephony_settings (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  settings TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);

-- The per-account secret of the notification URL (/uis/calls/<token>/<event>): found by its
-- SHA-256, kept sealed (APP_SECRET_KEY) so the settings page can show the URL again.
CREATE TABLE telephony_hooks (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  token_sealed TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- Every accepted notification, recorded before it is answered; a byte-identical repeat of one is
-- dropped (dedupe_key = hash of the event type and the body). The worker folds a call's rows.
CREATE TABLE telephony_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  session_id BIGINT,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  dedupe_key TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  UNIQUE (member_id, dedupe_key)
);
CREATE INDEX telephony_events_session ON telephony_events (member_id, session_id);

-- Which event types have arrived (the settings page's check), counted per portal.
CREATE TABLE telephony_event_types (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  event_type TEXT NOT NULL,
  received INTEGER NOT NULL DEFAULT 0,
  last_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, event_type)
);

-- One row per UIS call session (call_session_id): a durable job re-opened by every notification
-- and by the report's reconciliation. `state` (JSON) is what was done in Bitrix24 for the call —
-- the CALL_ID, the decision being applied and its operations by idempotency key, the cards shown,
-- finish, recording — so a retry continues where the last run stopped.
-- status: pending (due_at) | waiting (a later event may act) | done | failed
CREATE TABLE telephony_calls (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  session_id BIGINT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  due_at BIGINT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at BIGINT,
  phone TEXT,
  report TEXT,
  state TEXT,
  outcome TEXT,
  reason TEXT,
  -- the open missed-call activity this call left («Не выполненное»), completed by a later answered call («Обработано»)
  missed_activity_id BIGINT,
  missed_open INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, session_id)
);
CREATE INDEX telephony_calls_due ON telephony_calls (status, due_at);
CREATE INDEX telephony_calls_missed ON telephony_calls (member_id, phone, missed_open);

-- The reconciliation's cursor over get.calls_report (ms), and what it last found.
CREATE TABLE telephony_reconcile (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  seen_till BIGINT NOT NULL,
  last_run_at BIGINT,
  recovered INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);

-- The external lines (telephony.externalLine.*) kept in step with the account's virtual numbers.
CREATE TABLE telephony_lines (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  numbers TEXT NOT NULL,
  synced_at BIGINT NOT NULL,
  last_error TEXT
);
