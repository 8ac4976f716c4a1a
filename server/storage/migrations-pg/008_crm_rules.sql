-- PostgreSQL dialect of migrations/008_crm_rules.sql.
-- «Чаты» and «Оффлайн заявки» (issue #6): the rules of each tab, and the portal's CRM directory
-- (funnels, stages, users, text fields) the settings page offers, cached until refreshed.
CREATE TABLE crm_rules_settings (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('chats', 'offline')),
  settings TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, kind)
);

CREATE TABLE crm_directory (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  data TEXT NOT NULL,
  fetched_at TEXT NOT NULL
);
