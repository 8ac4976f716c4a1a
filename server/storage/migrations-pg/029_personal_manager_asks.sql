-- PostgreSQL dialect of migrations/029_personal_manager_asks.sql.
-- «Переадресация на персонального менеджера» (issue #14): how many times UIS asked, with how many
-- managers found, and the last answer. One row per portal.
CREATE TABLE pm_asks (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  asked INTEGER NOT NULL DEFAULT 0,
  with_manager INTEGER NOT NULL DEFAULT 0,
  last_at BIGINT NOT NULL,
  last_outcome TEXT NOT NULL
);
