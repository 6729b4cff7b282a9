-- The three timelines of tracked requests (case_events, message_events, objection_events) take
-- one shape, so that one piece of storage code writes and reads them all: messages and
-- objections gain the `method` column cases already had (how a first contact was made). Their
-- existing entries carry no method, which is what NULL says.

ALTER TABLE message_events ADD COLUMN method TEXT;
ALTER TABLE objection_events ADD COLUMN method TEXT;
