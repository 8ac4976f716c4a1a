-- PostgreSQL dialect of migrations/020_bridge_chats_visitor.sql.
-- Open Lines bridge (issue #16): a client's late name renames their open chats, found by visitor.
CREATE INDEX bridge_chats_visitor ON bridge_chats (member_id, visitor_id, status);
