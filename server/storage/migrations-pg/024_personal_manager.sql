-- PostgreSQL dialect of migrations/024_personal_manager.sql.
-- «Переадресация на персонального менеджера из CRM» (issue #14): a per-portal map of the CRM items
-- that decide the caller's manager, their phones (E.164 digits) and links.
CREATE TABLE pm_entities (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL CHECK (entity_type IN ('contact', 'company', 'lead', 'deal')),
  entity_id BIGINT NOT NULL,
  responsible_id BIGINT,
  closed INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL DEFAULT 0,
  contact_id BIGINT,
  company_id BIGINT,
  lead_id BIGINT,
  -- 1 = Bitrix24 no longer lists it (a tombstone, so an older read arriving later cannot revive it)
  deleted INTEGER NOT NULL DEFAULT 0,
  -- when the read that produced this row started (ms): a row is replaced only by a newer read
  read_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, entity_type, entity_id)
);
CREATE INDEX pm_entities_contact ON pm_entities (member_id, contact_id);
CREATE INDEX pm_entities_company ON pm_entities (member_id, company_id);
CREATE INDEX pm_entities_lead ON pm_entities (member_id, lead_id);
CREATE INDEX pm_entities_read ON pm_entities (member_id, read_at);

CREATE TABLE pm_phones (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  phone TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id BIGINT NOT NULL,
  PRIMARY KEY (member_id, phone, entity_type, entity_id)
);
CREATE INDEX pm_phones_entity ON pm_phones (member_id, entity_type, entity_id);

-- items to read again (a CRM event, our own write, a stale row): one row per item, durable
CREATE TABLE pm_dirty (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL,
  entity_id BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (member_id, entity_type, entity_id)
);
CREATE INDEX pm_dirty_due ON pm_dirty (due_at);

-- phones a live lookup found in no CRM item, until when that is trusted
CREATE TABLE pm_misses (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  phone TEXT NOT NULL,
  until_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, phone)
);

-- the numbers UIS rings for an employee (get.employees), read ahead of the calls
CREATE TABLE pm_employee_phones (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  uis_employee_id BIGINT NOT NULL,
  phones TEXT NOT NULL,
  read_at BIGINT NOT NULL,
  PRIMARY KEY (member_id, uis_employee_id)
);
