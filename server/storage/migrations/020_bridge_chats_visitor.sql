-- Open Lines bridge (issue #16): a client's name that comes after their open-line chat was created
-- (UIS «Карточка посетителя», /visitor/card) renames their open chats; they are found by visitor.
CREATE INDEX bridge_chats_visitor ON bridge_chats (member_id, visitor_id, status);
