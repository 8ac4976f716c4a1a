-- PostgreSQL dialect of migrations/030_amocrm_pacing.sql (WITHOUT ROWID is SQLite's only: dropped).
-- Several instances, one truth (issue #12): the amoCRM pacing of an account is shared by every
-- instance; one row per amoCRM host (the account's origin): when the last request was let go (ms).
CREATE TABLE amocrm_pacing (
  origin TEXT PRIMARY KEY,
  last_at DOUBLE PRECISION NOT NULL
);
