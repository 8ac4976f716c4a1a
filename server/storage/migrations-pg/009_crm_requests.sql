-- PostgreSQL dialect of migrations/009_crm_requests.sql.
-- «Чаты» / «Оффлайн заявки» applied (issue #6): one job row per UIS chat or offline request
-- (re-opened by every new event), the chat's messages as UIS called them in, what the app did for
-- the request (its link to CRM entities), and every applied operation by its idempotency key.

-- status: pending (due_at) | waiting (a later event may act) | done | failed
-- version grows with every event, so a run finishing an older version leaves the newer one pending.
-- plan: a decision being applied (JSON), kept until every one of its operations is done, so a
-- retry finishes the same plan instead of deciding again over half-written CRM data.
CREATE TABLE crm_requests (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('chat', 'offline')),
  request_id TEXT NOT NULL,
  event TEXT NOT NULL,
  channel_id TEXT,
  visitor_id TEXT,
  started_at BIGINT,
  facts TEXT,
  status TEXT NOT NULL DEFAULT 'pending',
  due_at BIGINT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  attempts INTEGER NOT NULL DEFAULT 0,
  plan TEXT,
  outcome TEXT,
  reason TEXT,
  link TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, kind, request_id)
);
CREATE INDEX crm_requests_due ON crm_requests (status, due_at);
CREATE INDEX crm_requests_visitor ON crm_requests (member_id, visitor_id);

CREATE TABLE crm_request_messages (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  request_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL,
  author TEXT,
  PRIMARY KEY (member_id, request_id, message_id)
);

-- state: sent (outcome unknown until answered) | done (result_id = what Bitrix24 returned)
CREATE TABLE crm_ops (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  op_key TEXT NOT NULL,
  state TEXT NOT NULL,
  result_id BIGINT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, op_key)
);

-- Offline requests: the newest report row seen per portal (polling cursor).
CREATE TABLE crm_offline_cursor (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  seen_till BIGINT NOT NULL,
  updated_at TEXT NOT NULL
);
