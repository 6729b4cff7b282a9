-- 公开账本 (publication ledger): an append-only Merkle log of every publication, correction,
-- withdrawal and catalogue change. `ledger_leaves` holds each leaf's canonical bytes and its
-- RFC 6962 leaf hash; `ledger_hashes` holds every stored tree hash (Go sumdb/tlog layout, by
-- stored-hash index); `ledger_head` is the one row every append locks, so appends form one
-- sequence. Leaves and hashes refuse UPDATE and DELETE. Depends only on 0001.

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
    leaf_hash BLOB NOT NULL,
    content BLOB NOT NULL,
    UNIQUE (kind, object_id, version, event)
);
CREATE INDEX ledger_leaves_object ON ledger_leaves (kind, object_id, idx);

CREATE TABLE ledger_hashes (
    idx BIGINT PRIMARY KEY,
    hash BLOB NOT NULL
);

CREATE TRIGGER ledger_leaves_no_update BEFORE UPDATE ON ledger_leaves
BEGIN
    SELECT RAISE(ABORT, 'ledger_leaves is append-only');
END;
CREATE TRIGGER ledger_leaves_no_delete BEFORE DELETE ON ledger_leaves
BEGIN
    SELECT RAISE(ABORT, 'ledger_leaves is append-only');
END;
CREATE TRIGGER ledger_hashes_no_update BEFORE UPDATE ON ledger_hashes
BEGIN
    SELECT RAISE(ABORT, 'ledger_hashes is append-only');
END;
CREATE TRIGGER ledger_hashes_no_delete BEFORE DELETE ON ledger_hashes
BEGIN
    SELECT RAISE(ABORT, 'ledger_hashes is append-only');
END;
