-- PostgreSQL dialect of migrations/028_personal_manager_warmup.sql.
-- The personal-manager map (issue #14) reads every contact, company, lead and deal once, in ID
-- order. Where each type's read has got to.
CREATE TABLE pm_warmup (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL CHECK (entity_type IN ('contact', 'company', 'lead', 'deal')),
  after_id BIGINT NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, entity_type)
);
