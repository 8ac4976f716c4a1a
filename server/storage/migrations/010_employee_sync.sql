-- «Синхронизация сотрудников» (issue #6): settings, the Bitrix24 user ⇄ UIS employee mapping of the
-- last sync, and the sync runs (the page polls the latest; the result is kept with the run).
CREATE TABLE employee_sync_settings (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  settings TEXT NOT NULL,
  next_daily_at INTEGER,
  status_import TEXT,
  updated_at TEXT NOT NULL
);

CREATE TABLE employee_map (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  b24_user_id INTEGER NOT NULL,
  uis_employee_id INTEGER NOT NULL,
  matched_by TEXT NOT NULL CHECK (matched_by IN ('email', 'name', 'created')),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, b24_user_id),
  UNIQUE (member_id, uis_employee_id)
);

CREATE TABLE employee_sync_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'daily')),
  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  progress_done INTEGER NOT NULL DEFAULT 0,
  progress_total INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  error TEXT,
  result TEXT
);
CREATE INDEX employee_sync_runs_member ON employee_sync_runs (member_id, id);
