-- PostgreSQL dialect of migrations/033_bridge_echo_taken_by.sql.
ALTER TABLE bridge_echoes ADD COLUMN taken_by TEXT;
