-- PostgreSQL dialect of migrations/026_leases.sql (WITHOUT ROWID is SQLite's only: dropped).
-- Several instances, one truth (issue #12): work is owned per portal by a lease with its expiry in
-- the database (ms). One row per (portal, area); `owner` is the holding process's random id.
CREATE TABLE leases (
  member_id TEXT NOT NULL,
  area TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, area)
);
