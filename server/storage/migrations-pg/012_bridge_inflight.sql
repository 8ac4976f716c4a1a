-- PostgreSQL dialect of migrations/012_bridge_inflight.sql.
-- Open Lines bridge (issue #3): imconnector.send.messages does not deduplicate by message id.
-- inflight = 1 is written BEFORE a job's message is sent and cleared once the outcome is known
-- (answer read, or the call refused before the portal ran it). A job still marked after a lost
-- answer (5xx, timeout) or a crash/SIGKILL has an unknown outcome: before it is sent again the
-- worker reads what the open line already holds (imopenlines.session.history.get, CONNECTOR_MID)
-- and sends only what is missing.
ALTER TABLE bridge_jobs ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0;
