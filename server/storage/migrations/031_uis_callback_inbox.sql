-- The durable inbox of the PostgreSQL callback intake (issue #12, server/storage/pg/callback-inbox.ts):
-- one multi-row INSERT of the raw verified callbacks per group acknowledges them (idempotent on
-- (member_id, dedupe_key)); the handlers claim the rows afterwards (claimed_by / claimed_until: a
-- lease, ms) and mark them done (done_at, ms; the row stays so a late repeat is still a repeat).
-- Only the PostgreSQL store uses it: SQLite keeps its synchronous group commit
-- (services/callback-intake.ts). The table exists here too because both dialects carry the same
-- schema (test/storage/pg-migrations.test.ts compares them).
CREATE TABLE uis_callback_inbox (
  id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL,
  path TEXT NOT NULL,
  body TEXT NOT NULL,
  dedupe_key TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  claimed_by TEXT,
  claimed_until INTEGER,
  done_at INTEGER,
  UNIQUE (member_id, dedupe_key)
);
-- the rows still to handle, in arrival order (claim)
CREATE INDEX uis_callback_inbox_pending ON uis_callback_inbox (id) WHERE done_at IS NULL;
