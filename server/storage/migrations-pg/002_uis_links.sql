-- PostgreSQL dialect of migrations/002_uis_links.sql.
CREATE TABLE uis_links (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  project TEXT NOT NULL CHECK (project IN ('uis', 'comagic')),
  login TEXT NOT NULL,
  password_enc TEXT NOT NULL,
  data_api_token_enc TEXT NOT NULL,
  account_id TEXT NOT NULL,
  account_name TEXT,
  adapter_id TEXT,
  connection_id TEXT,
  adapter_login TEXT NOT NULL,
  adapter_password_enc TEXT NOT NULL,
  hook_id TEXT NOT NULL UNIQUE,
  webhook_secret_enc TEXT NOT NULL,
  linked_at TEXT NOT NULL,
  last_error TEXT
);
