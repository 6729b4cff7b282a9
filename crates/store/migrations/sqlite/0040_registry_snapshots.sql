-- The registries as the screening last read them, in sealed parts of a compact binary form, so
-- that a server started again reads them without unpacking every registry row. `tag` names the
-- registry version and personal-data key they were read under; a tag's parts are complete when
-- `parts` of them are present. A cache: an import or a key rotation deletes it.
CREATE TABLE registry_snapshots (
    tag TEXT NOT NULL,
    part BIGINT NOT NULL,
    parts BIGINT NOT NULL,
    records BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (tag, part)
);
