CREATE TABLE portals (
  member_id TEXT PRIMARY KEY,
  domain TEXT NOT NULL,
  client_endpoint TEXT NOT NULL,
  server_endpoint TEXT NOT NULL,
  access_token_enc TEXT,
  refresh_token_enc TEXT,
  expires_at INTEGER,
  application_token_enc TEXT,
  scopes TEXT NOT NULL DEFAULT '',
  installed_by INTEGER,
  status TEXT NOT NULL CHECK (status IN ('installing', 'active', 'reauth-required', 'deleted')),
  status_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  installed_at TEXT
);

CREATE TABLE event_inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  data TEXT NOT NULL,
  ts INTEGER,
  dedupe_key TEXT NOT NULL,
  received_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'new',
  UNIQUE (member_id, dedupe_key)
);
