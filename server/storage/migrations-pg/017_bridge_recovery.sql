-- PostgreSQL dialect of migrations/017_bridge_recovery.sql.
-- Open Lines bridge, issue #11 (items 2–4): what clients wrote while we were down is found in the
-- Data API report and relayed; a loss audit sends again what Bitrix24 lacks.

-- When the channel was bound to the line (ms): messages before it are not the line's.
ALTER TABLE bridge_lines ADD COLUMN bound_at BIGINT;
-- The channel's UIS messages up to here (ms) were compared with what the bridge holds.
ALTER TABLE bridge_lines ADD COLUMN reconciled_till BIGINT;

-- The open-line session a relayed message went into (the send.messages answer).
ALTER TABLE bridge_messages ADD COLUMN b24_session_id TEXT;

-- When the loss audit last compared the chat (ISO, like updated_at).
ALTER TABLE bridge_chats ADD COLUMN audited_at TEXT;

-- The adapter's connection as UIS reports it: active | disabled | removed.
CREATE TABLE uis_connections (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  connection_id TEXT NOT NULL,
  name TEXT,
  status TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, connection_id)
);

-- What the reconcile and the audit found and repaired, per portal (shown on the main page).
CREATE TABLE bridge_recovery (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  recovered INTEGER NOT NULL DEFAULT 0,
  repaired INTEGER NOT NULL DEFAULT 0,
  last_reconcile_at TEXT,
  last_audit_at TEXT,
  last_repair_at TEXT,
  last_error TEXT,
  updated_at TEXT NOT NULL
);
