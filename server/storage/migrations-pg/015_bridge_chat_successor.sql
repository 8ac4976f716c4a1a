-- PostgreSQL dialect of migrations/015_bridge_chat_successor.sql.
-- Open Lines bridge (issue #3), seed «Исходящая коммуникация» 2: a closed UIS chat's successor
-- continues the same open-line chat under the first chat's connector chat id (ext_chat_id; NULL
-- means uis_c<uis_chat_id>); the closed chat names it as its successor.
ALTER TABLE bridge_chats ADD COLUMN ext_chat_id TEXT;
ALTER TABLE bridge_chats ADD COLUMN successor_uis_chat_id TEXT;
