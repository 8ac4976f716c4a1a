-- PostgreSQL dialect of migrations/023_telephony_starts.sql.
-- «Телефония II» (issue #14): calls started from Bitrix24 (click on a number, callback form).
-- `correlation_id` is the external_id we give the UIS Call API. Failed starts stay with their reason.
CREATE TABLE telephony_starts (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  correlation_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('click', 'callback')),
  call_id TEXT,
  user_id BIGINT,
  phone TEXT NOT NULL,
  session_id BIGINT,
  status TEXT NOT NULL CHECK (status IN ('started', 'failed')),
  error_code TEXT,
  error TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, correlation_id)
);
CREATE INDEX telephony_starts_recent ON telephony_starts (member_id, created_at);
