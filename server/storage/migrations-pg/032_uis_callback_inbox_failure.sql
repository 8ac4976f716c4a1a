-- PostgreSQL dialect of migrations/032_uis_callback_inbox_failure.sql.
ALTER TABLE uis_callback_inbox ADD COLUMN failure TEXT;
