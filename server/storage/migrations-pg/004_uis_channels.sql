-- PostgreSQL dialect of migrations/004_uis_channels.sql.
-- UIS adapter channels as UIS announces them (Chat API callbacks POST/PATCH/DELETE /channel):
-- the runtime channel_id, its type and name, and for WABA the message templates
-- (context.message_templates). Used to start outbound chats from Bitrix24 (issue #5).
CREATE TABLE uis_channels (
  member_id TEXT NOT NULL REFERENCES portals(member_id) ON DELETE CASCADE,
  channel_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  chat_channel_id TEXT,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  templates TEXT NOT NULL DEFAULT '[]',
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_id, channel_id)
);

-- Links made before this table existed: replay the announcements already in the inbox.
-- SQLite's json_valid/json_extract: the body parsed by a session-local helper (NULL when it is not
-- JSON; PostgreSQL 15 has no IS JSON) as json, not jsonb, so a nested value (message_templates)
-- keeps its text as sent, as json_extract gives it for a compact body; INSERT OR REPLACE in id
-- order: the newest announcement per channel (DISTINCT ON) upserted.
CREATE FUNCTION pg_temp.migration_004_json(t TEXT) RETURNS JSON LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN t::json;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;

INSERT INTO uis_channels (member_id, channel_id, account_id, chat_channel_id, type, name, status, templates, updated_at)
SELECT DISTINCT ON (member_id, channel_id) member_id, channel_id, account_id, chat_channel_id, type, name, status, templates, received_at
FROM (
  SELECT i.id, i.member_id, i.received_at,
         j ->> 'id' AS channel_id,
         j ->> 'account_id' AS account_id,
         j #>> '{context,chat_channel_id}' AS chat_channel_id,
         COALESCE(j ->> 'type', '') AS type,
         COALESCE(j ->> 'name', '') AS name,
         COALESCE(j ->> 'status', 'active') AS status,
         COALESCE(j #>> '{context,message_templates}', '[]') AS templates
  FROM uis_inbox i, LATERAL (SELECT pg_temp.migration_004_json(i.body) AS j) parsed
  WHERE (i.path = 'POST /channel' OR i.path LIKE 'PATCH /channel%') AND j IS NOT NULL AND j ->> 'id' IS NOT NULL
) announced
ORDER BY member_id, channel_id, id DESC
ON CONFLICT (member_id, channel_id) DO UPDATE SET
  account_id = excluded.account_id, chat_channel_id = excluded.chat_channel_id, type = excluded.type,
  name = excluded.name, status = excluded.status, templates = excluded.templates, updated_at = excluded.updated_at;

UPDATE uis_channels SET status = 'removed'
WHERE EXISTS (
  SELECT 1 FROM uis_inbox i
  WHERE i.member_id = uis_channels.member_id AND i.path = 'DELETE /channel/' || uis_channels.channel_id
    AND i.id > (
      SELECT MAX(a.id) FROM uis_inbox a
      WHERE a.member_id = i.member_id AND (a.path = 'POST /channel' OR a.path LIKE 'PATCH /channel%')
        AND pg_temp.migration_004_json(a.body) ->> 'id' = uis_channels.channel_id
    )
);

DROP FUNCTION pg_temp.migration_004_json(TEXT);
