-- «Телефония II» (issue #14): calls started from Bitrix24 — a click on a number (ONEXTERNALCALLSTART,
-- registered by the portal itself) and the contact-center callback form (ONEXTERNALCALLBACKSTART,
-- registered by us as TYPE 4). `correlation_id` is the external_id we give the UIS Call API; the
-- notifications of that session carry it back, and the worker finishes the call on `call_id`.
-- Failed starts stay with their reason: the tab lists the last ones.
CREATE TABLE telephony_starts (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  correlation_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('click', 'callback')),
  call_id TEXT,
  user_id INTEGER,
  phone TEXT NOT NULL,
  session_id BIGINT,
  status TEXT NOT NULL CHECK (status IN ('started', 'failed')),
  error_code TEXT,
  error TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, correlation_id)
);
CREATE INDEX telephony_starts_recent ON telephony_starts (member_id, created_at);
