-- PostgreSQL dialect of migrations/016_bridge_jobs_due_portal.sql.
-- Open Lines bridge (issue #3): "which portals have due jobs" answered from the due index alone.
DROP INDEX bridge_jobs_due;
CREATE INDEX bridge_jobs_due ON bridge_jobs (status, due_at, member_id);
