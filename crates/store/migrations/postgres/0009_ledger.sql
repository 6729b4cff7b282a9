-- 公开账本 (publication ledger): an append-only Merkle log of every publication, correction,
-- withdrawal and catalogue change. `ledger_leaves` holds each leaf's canonical bytes and its
-- RFC 6962 leaf hash; `ledger_hashes` holds every stored tree hash (Go sumdb/tlog layout, by
-- stored-hash index); `ledger_head` is the one row every append locks (SELECT … FOR UPDATE), so
-- appends from several servers form one sequence. Leaves and hashes refuse UPDATE and DELETE.
-- Depends only on 0001.

CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO ledger_head (id, size) VALUES (1, 0);

CREATE TABLE ledger_leaves (
    idx BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    event TEXT NOT NULL,
    org_code TEXT,
    at BIGINT NOT NULL,
    leaf_hash BYTEA NOT NULL,
    content BYTEA NOT NULL,
    UNIQUE (kind, object_id, version, event)
);
CREATE INDEX ledger_leaves_object ON ledger_leaves (kind, object_id, idx);

CREATE TABLE ledger_hashes (
    idx BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_leaves_no_change BEFORE UPDATE OR DELETE ON ledger_leaves
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_hashes_no_change BEFORE UPDATE OR DELETE ON ledger_hashes
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
