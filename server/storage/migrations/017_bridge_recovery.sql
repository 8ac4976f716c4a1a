-- Open Lines bridge, issue #11 (items 2–4): UIS promises no callback retries, so what clients wrote
-- while we were down (or while UIS had the channel disabled) is found in the Data API report
-- get.chat_messages_report and relayed; a loss audit compares what UIS has with what the open line
-- holds (CONNECTOR_MID) and sends again what Bitrix24 lacks.

-- When the channel was bound to the line (ms): messages before it are not the line's.
ALTER TABLE bridge_lines ADD COLUMN bound_at INTEGER;
-- The channel's UIS messages up to here (ms) were compared with what the bridge holds; the next
-- reconcile reads from here (less an overlap). It does not move while the channel or the
-- connection is disabled in UIS, so what came meanwhile is read once it is active again.
ALTER TABLE bridge_lines ADD COLUMN reconciled_till INTEGER;

-- The open-line session a relayed message went into (the send.messages answer): the audit reads
-- that session's history.
ALTER TABLE bridge_messages ADD COLUMN b24_session_id TEXT;

-- When the loss audit last compared the chat (ISO, like updated_at: a chat is due again when it
-- changed after that).
ALTER TABLE bridge_chats ADD COLUMN audited_at TEXT;

-- The adapter's connection ("account" in Chat API words) as UIS reports it (POST/PATCH/DELETE
-- /account callbacks): active | disabled | removed.
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
  recovered INTEGER NOT NULL DEFAULT 0,          -- UIS messages no callback brought, relayed from the report
  repaired INTEGER NOT NULL DEFAULT 0,           -- relayed messages the open line did not hold, sent again
  last_reconcile_at TEXT,
  last_audit_at TEXT,
  last_repair_at TEXT,
  last_error TEXT,                               -- why the last check did not finish (UIS unreachable, point budget …)
  updated_at TEXT NOT NULL
);
