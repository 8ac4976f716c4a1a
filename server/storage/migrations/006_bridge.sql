-- Open Lines bridge (issue #3).

-- One UIS adapter channel per open line and one line per channel (both unique).
-- chats_rules_off: enabling the line for a channel turns the Chats CRM rules off for it (seed rule).
CREATE TABLE bridge_lines (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  line_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active',            -- active | off (connector switched off in Bitrix24)
  chats_rules_off INTEGER NOT NULL DEFAULT 1,
  last_error TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, line_id),
  UNIQUE (member_id, channel_id)
);

-- Bridge settings per portal: the UIS employee used when a Bitrix24 operator has no match by e-mail.
CREATE TABLE bridge_settings (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  default_operator_id INTEGER,
  updated_at TEXT NOT NULL
);

-- UIS visitors as UIS told us (POST /chat, POST /visitor/card).
CREATE TABLE bridge_visitors (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  visitor_id TEXT NOT NULL,
  phone TEXT,
  email TEXT,
  name TEXT,
  b24_user_id TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, visitor_id)
);

-- UIS chat ⇄ Bitrix24 open-line chat and session (from the send.messages answer).
CREATE TABLE bridge_chats (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  uis_chat_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  visitor_id TEXT,
  initiator TEXT,
  operator_id TEXT,
  line_id TEXT,
  b24_chat_id TEXT,
  b24_session_id TEXT,
  status TEXT NOT NULL DEFAULT 'open',              -- open | closed
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, uis_chat_id)
);
CREATE INDEX bridge_chats_b24 ON bridge_chats (member_id, b24_chat_id);

-- Message links: dedupe, loop prevention and loss audit (CONNECTOR_MID ⇄ UIS message id).
CREATE TABLE bridge_messages (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  origin TEXT NOT NULL,                              -- uis (inbound) | b24 (outbound)
  key TEXT NOT NULL,                                 -- uis message id (origin uis) | Bitrix24 message id (origin b24)
  uis_chat_id TEXT,
  uis_message_id TEXT,
  b24_chat_id TEXT,
  b24_message_id TEXT,
  b24_user_id TEXT,
  state TEXT NOT NULL,                               -- queued | relayed | delivered | failed | skipped
  error TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, origin, key)
);
CREATE INDEX bridge_messages_uis ON bridge_messages (member_id, uis_message_id);

-- Texts we wrote into an open-line chat as an operator: their ONIMCONNECTORMESSAGEADD echo is ignored.
CREATE TABLE bridge_echoes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  ext_chat_id TEXT NOT NULL,
  text_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX bridge_echoes_key ON bridge_echoes (member_id, ext_chat_id, text_hash);

-- Durable per-portal work queue; idem_key makes enqueueing a repeat a no-op.
CREATE TABLE bridge_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  kind TEXT NOT NULL,                                -- in | out | delivery | notice | close-uis
  chat_key TEXT NOT NULL,                            -- UIS chat id (in) or external chat id (out): order is kept per chat
  idem_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',            -- pending | done | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  last_error TEXT,
  UNIQUE (member_id, idem_key)
);
CREATE INDEX bridge_jobs_due ON bridge_jobs (status, due_at);
CREATE INDEX bridge_jobs_chat ON bridge_jobs (member_id, chat_key, status);
