-- «Источники чатов» (issue #15): Jivo and amoCRM conversations on their way to UIS analytics.

-- per portal and source: the settings (JSON, the contract's schema) and the secret of its webhook URL
CREATE TABLE chat_source_settings (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  source TEXT NOT NULL CHECK (source IN ('jivo', 'amocrm')),
  settings TEXT NOT NULL,
  hook_secret TEXT NOT NULL UNIQUE,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, source)
);

-- what the admin sees: last event, last upload, last error (times in ms since epoch)
CREATE TABLE chat_source_state (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  source TEXT NOT NULL CHECK (source IN ('jivo', 'amocrm')),
  last_event_at BIGINT,
  last_upload_at BIGINT,
  last_error_at BIGINT,
  last_error_code TEXT,
  last_error_message TEXT,
  PRIMARY KEY (member_id, source)
);

-- channels seen in traffic (Jivo widget_id, amoCRM origin), for the messenger mapping
CREATE TABLE chat_source_channels (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  source TEXT NOT NULL CHECK (source IN ('jivo', 'amocrm')),
  channel TEXT NOT NULL,
  last_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, source, channel)
);

-- one row per conversation (Jivo chat or offline message, amoCRM talk): the durable queue and its outcome
CREATE TABLE chat_source_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  source TEXT NOT NULL CHECK (source IN ('jivo', 'amocrm')),
  ext_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('chat', 'request')),
  channel TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'waiting', 'uploaded', 'skipped', 'failed')),
  version BIGINT NOT NULL,
  reopened INTEGER NOT NULL DEFAULT 0,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  attribution TEXT,
  reason TEXT,
  uis_id BIGINT,
  updated_at TEXT NOT NULL,
  UNIQUE (member_id, source, ext_id)
);
CREATE INDEX chat_source_items_due ON chat_source_items (status, due_at);
CREATE INDEX chat_source_items_recent ON chat_source_items (member_id, source, id);

-- the connected amoCRM account: OAuth pair sealed with the portal as context, the refresh lease
CREATE TABLE amocrm_accounts (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  origin TEXT NOT NULL,
  account_id BIGINT NOT NULL,
  access_token TEXT NOT NULL,
  refresh_token TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  refreshed_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'reauth')),
  status_reason TEXT,
  refresh_lease_until BIGINT,
  webhook_mode TEXT NOT NULL CHECK (webhook_mode IN ('api', 'manual')),
  webhook_disabled INTEGER NOT NULL DEFAULT 0,
  webhook_detail TEXT,
  connected_at BIGINT NOT NULL,
  updated_at TEXT NOT NULL
);
