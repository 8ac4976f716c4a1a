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
INSERT OR REPLACE INTO uis_channels (member_id, channel_id, account_id, chat_channel_id, type, name, status, templates, updated_at)
SELECT member_id,
       CAST(json_extract(body, '$.id') AS TEXT),
       CAST(json_extract(body, '$.account_id') AS TEXT),
       CAST(json_extract(body, '$.context.chat_channel_id') AS TEXT),
       COALESCE(json_extract(body, '$.type'), ''),
       COALESCE(json_extract(body, '$.name'), ''),
       COALESCE(json_extract(body, '$.status'), 'active'),
       COALESCE(json_extract(body, '$.context.message_templates'), '[]'),
       received_at
FROM uis_inbox
WHERE (path = 'POST /channel' OR path LIKE 'PATCH /channel%') AND json_valid(body) AND json_extract(body, '$.id') IS NOT NULL
ORDER BY id;

UPDATE uis_channels SET status = 'removed'
WHERE EXISTS (
  SELECT 1 FROM uis_inbox i
  WHERE i.member_id = uis_channels.member_id AND i.path = 'DELETE /channel/' || uis_channels.channel_id
    AND i.id > (
      SELECT MAX(a.id) FROM uis_inbox a
      WHERE a.member_id = i.member_id AND (a.path = 'POST /channel' OR a.path LIKE 'PATCH /channel%')
        AND json_valid(a.body) AND CAST(json_extract(a.body, '$.id') AS TEXT) = uis_channels.channel_id
    )
);
