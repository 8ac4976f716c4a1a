-- PostgreSQL dialect of migrations/007_bridge_sessions.sql.
-- Open Lines bridge (issue #3), second step.
-- b24_session_closed: the open-line dialog of this chat was finished in Bitrix24
-- (ONIMCONNECTORDIALOGFINISH); the client's next message starts a new one. Closing in the open
-- line does not close the UIS chat (seed rule), so the UIS chat stays 'open' meanwhile.
ALTER TABLE bridge_chats ADD COLUMN b24_session_closed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX bridge_jobs_prune ON bridge_jobs (status, enqueued_at);
