-- An expected echo is taken for one Bitrix24 message (issue #12): the online ONIMCONNECTORMESSAGEADD
-- and its offline twin (or a repeat) can be handled at once by two instances; the one that comes
-- second finds the mark taken by the same message and drops its copy too instead of queueing the
-- echo for UIS. A taken mark stays until the echo retention prunes it.
ALTER TABLE bridge_echoes ADD COLUMN taken_by TEXT;
