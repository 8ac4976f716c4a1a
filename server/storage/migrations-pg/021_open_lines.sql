-- PostgreSQL dialect of migrations/021_open_lines.sql.
-- «Открытые линии» tab (issue #16): the switch and «Доп. поля», and one job per such lead or deal.

-- `enabled` is kept beside the JSON so the pollers list the portals with the tab on without reading JSON in SQL.
CREATE TABLE open_lines_settings (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  settings TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);

-- ONCRMLEADADD / ONCRMDEALADD (online or from the offline queue) of a portal with the tab on.
-- status: pending (due_at) | done | skipped | failed; times in ms since epoch.
CREATE TABLE open_lines_jobs (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL CHECK (entity_type IN ('lead', 'deal')),
  entity_id BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'skipped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  uis_chat_id TEXT,
  written TEXT,
  reason TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, entity_type, entity_id)
);
CREATE INDEX open_lines_jobs_due ON open_lines_jobs (status, due_at);
CREATE INDEX open_lines_jobs_recent ON open_lines_jobs (member_id, updated_at);
