-- Rotations of the personal-data key (`xiaowei keys rotate`): one row per rotation, named by the
-- ids of the old and new keys, and per table how far re-sealing has come (the last row key done),
-- so an interrupted rotation resumes where it stopped. Timestamps are UTC unix seconds.
CREATE TABLE pii_key_rotations (
    new_key_id TEXT PRIMARY KEY,
    old_key_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE pii_key_rotation_progress (
    new_key_id TEXT NOT NULL REFERENCES pii_key_rotations (new_key_id),
    table_name TEXT NOT NULL,
    last_key TEXT,
    rows_done BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT,
    PRIMARY KEY (new_key_id, table_name)
);
