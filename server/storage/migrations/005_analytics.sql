CREATE TABLE analytics_settings (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  settings TEXT NOT NULL,
  hook_id TEXT NOT NULL UNIQUE,
  updated_at TEXT NOT NULL
);

CREATE TABLE analytics_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL CHECK (entity_type IN ('lead', 'deal')),
  entity_id INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'uploaded', 'skipped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  chat_id INTEGER,
  attribution TEXT,
  reason TEXT,
  recheck_at INTEGER,
  updated_at TEXT NOT NULL,
  UNIQUE (member_id, entity_type, entity_id)
);
CREATE INDEX analytics_jobs_due ON analytics_jobs (status, due_at);
