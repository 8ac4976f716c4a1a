-- A callback of the PostgreSQL inbox whose handler failed (issue #12, pg/callback-consumer.ts): it
-- was acknowledged already, so it is not retried forever; done_at is set and the reason kept here.
ALTER TABLE uis_callback_inbox ADD COLUMN failure TEXT;
