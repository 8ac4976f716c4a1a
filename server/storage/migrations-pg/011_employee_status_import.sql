-- PostgreSQL dialect of migrations/011_employee_status_import.sql.
-- «Импорт статусов» (issue #6): the status last written to UIS for each synced Bitrix24 user. A
-- user's UIS status is written only when his Bitrix24 state changed since, so a status an operator
-- set in UIS himself (a break) stands until his Bitrix24 state changes.
CREATE TABLE employee_status_import (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  b24_user_id BIGINT NOT NULL,
  mnemonic TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, b24_user_id)
);
