-- Open Lines bridge (issue #3), seed «Исходящая коммуникация» 2: an operator writes in an open-line
-- chat whose UIS chat the client or UIS has closed. Where the channel can start chats, the bridge
-- starts a new UIS chat with the client and sends the message there. The new chat continues the
-- same open-line chat: it is sent to Bitrix24 under the first chat's connector chat id
-- (ext_chat_id; NULL means uis_c<uis_chat_id>), and the closed chat names it as its successor, so
-- the operator's next messages in that open-line chat follow it.
ALTER TABLE bridge_chats ADD COLUMN ext_chat_id TEXT;
ALTER TABLE bridge_chats ADD COLUMN successor_uis_chat_id TEXT;
