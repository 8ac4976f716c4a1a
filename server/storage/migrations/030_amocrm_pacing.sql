-- Several instances, one truth (issue #12): the amoCRM pacing of an account is shared by every
-- instance. amoCRM counts what arrives from the integration per account (7 requests/s), whichever
-- instance sends; one row per amoCRM host (the account's origin): when the last request was let go.
CREATE TABLE amocrm_pacing (
  origin TEXT PRIMARY KEY,
  last_at REAL NOT NULL
) WITHOUT ROWID;
