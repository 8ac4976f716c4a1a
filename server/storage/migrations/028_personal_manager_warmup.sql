-- The personal-manager map (issue #14) learns what existed before the forwarding was switched on
-- (events of a portal that does not use it are not followed): every contact, company, lead and deal
-- is read once, in ID order, a few batches per upkeep pass. Where each type's read has got to.
CREATE TABLE pm_warmup (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL CHECK (entity_type IN ('contact', 'company', 'lead', 'deal')),
  after_id INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (member_id, entity_type)
);
