-- Several instances, one truth (issue #12): a portal's REST pacing is shared by every instance.
-- Bitrix24 keeps one leaky bucket per portal and app (+1 per request, drains at a fixed rate); the
-- client-side mirror of it lives here, one row per portal, taken with one UPSERT … RETURNING per
-- request, so instances sharing the database pace the portal together as one would.
CREATE TABLE rest_buckets (
  member_id TEXT PRIMARY KEY,
  level REAL NOT NULL,
  at REAL NOT NULL
) WITHOUT ROWID;
