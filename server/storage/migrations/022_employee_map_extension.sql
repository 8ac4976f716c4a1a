-- Employee sync (issue #13): a Bitrix24 user and a UIS employee also pair by the internal number —
-- the user's UF_PHONE_INNER equal to the employee's extension — so calls find their Bitrix24 user.
-- The matched_by check gains 'extension' (the table is rebuilt: a CHECK cannot be altered in place).
CREATE TABLE employee_map_next (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  b24_user_id INTEGER NOT NULL,
  uis_employee_id INTEGER NOT NULL,
  matched_by TEXT NOT NULL CHECK (matched_by IN ('email', 'extension', 'name', 'created')),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, b24_user_id),
  UNIQUE (member_id, uis_employee_id)
);
INSERT INTO employee_map_next (member_id, b24_user_id, uis_employee_id, matched_by, updated_at)
  SELECT member_id, b24_user_id, uis_employee_id, matched_by, updated_at FROM employee_map;
DROP TABLE employee_map;
ALTER TABLE employee_map_next RENAME TO employee_map;
