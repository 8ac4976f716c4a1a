-- Several instances, one truth (issue #12): work is owned per portal by a lease with its expiry in
-- the database. One row per (portal, area); `owner` is the holding process's random id (fencing:
-- only the owner renews or releases it); an expired row is taken over by the next acquirer, so a
-- SIGKILLed instance's portals continue elsewhere once its leases run out.
CREATE TABLE leases (
  member_id TEXT NOT NULL,
  area TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (member_id, area)
) WITHOUT ROWID;
