-- PostgreSQL dialect of migrations/027_rest_buckets.sql (WITHOUT ROWID is SQLite's only: dropped).
-- Several instances, one truth (issue #12): a portal's REST pacing is shared by every instance;
-- one row per portal, taken with one UPSERT … RETURNING per request. `at` in ms.
CREATE TABLE rest_buckets (
  member_id TEXT PRIMARY KEY,
  level DOUBLE PRECISION NOT NULL,
  at DOUBLE PRECISION NOT NULL
);
