-- PostgreSQL dialect of migrations/013_crm_poll_cursor.sql.
-- The Data API reports the CRM rules poll (offline requests, and chats for what callbacks missed):
-- one cursor per portal and report, replacing the offline-only cursor of migration 009.
CREATE TABLE crm_poll_cursor (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  report TEXT NOT NULL CHECK (report IN ('offline', 'chats')),
  seen_till BIGINT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, report)
);
INSERT INTO crm_poll_cursor (member_id, report, seen_till, updated_at) SELECT member_id, 'offline', seen_till, updated_at FROM crm_offline_cursor;
DROP TABLE crm_offline_cursor;
