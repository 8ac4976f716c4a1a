-- bridge_jobs_chat (member_id, chat_key, status) repeated bridge_jobs_pending (member_id, status,
-- chat_key, due_at): every query by chat key asks for status = 'pending' and takes the latter. Each
-- queued message wrote both, at its chat's place in each (issue #12: the intake's pages per callback).
DROP INDEX IF EXISTS bridge_jobs_chat;
