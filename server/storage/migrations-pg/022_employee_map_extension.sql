-- PostgreSQL dialect of migrations/022_employee_map_extension.sql.
-- Employee sync (issue #13): a Bitrix24 user and a UIS employee also pair by the internal number.
-- The matched_by check gains 'extension'. SQLite rebuilds the table (a CHECK cannot be altered
-- there); PostgreSQL replaces the named constraint in place (migration 010 names it).
ALTER TABLE employee_map DROP CONSTRAINT employee_map_matched_by_check;
ALTER TABLE employee_map ADD CONSTRAINT employee_map_matched_by_check CHECK (matched_by IN ('email', 'extension', 'name', 'created'));
