-- PostgreSQL dialect of migrations/014_bridge_jobs_pending.sql.
-- Open Lines bridge (issue #3): the worker's `due` read finds, per chat, the first pending job that
-- is still backing off (a "blocker": later jobs of that chat wait behind it, order per chat). The
-- index serves that search from the portal's pending jobs alone.
CREATE INDEX bridge_jobs_pending ON bridge_jobs (member_id, status, chat_key, due_at);
