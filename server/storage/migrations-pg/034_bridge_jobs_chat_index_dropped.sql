-- PostgreSQL dialect of migrations/034_bridge_jobs_chat_index_dropped.sql.
DROP INDEX IF EXISTS bridge_jobs_chat;
