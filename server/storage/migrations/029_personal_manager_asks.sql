-- «Переадресация на персонального менеджера» (issue #14): whether UIS asks at all — the tab shows
-- how many times, with how many managers found, and the last answer (like the notifications'
-- arrival check). One row per portal, counted while the forwarding is on.
CREATE TABLE pm_asks (
  member_id TEXT PRIMARY KEY REFERENCES portals(member_id) ON DELETE CASCADE,
  asked INTEGER NOT NULL DEFAULT 0,
  with_manager INTEGER NOT NULL DEFAULT 0,
  last_at INTEGER NOT NULL,
  last_outcome TEXT NOT NULL
);
