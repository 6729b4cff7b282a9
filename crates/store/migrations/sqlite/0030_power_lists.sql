-- 四张清单: each power item's 责任清单 (who answers for what at each procedure step) and 追责清单
-- (which breach leads to which measure, on which basis). Editing them makes a new version of the
-- item with its own leaf in the publication ledger; earlier leaves keep their version number.

ALTER TABLE power_items ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE power_items ADD COLUMN updated_at BIGINT;

CREATE TABLE power_item_duties (
    item_id BIGINT NOT NULL REFERENCES power_items (id),
    seq BIGINT NOT NULL,
    step_no BIGINT NOT NULL CHECK (step_no > 0),
    bearer TEXT NOT NULL,
    duty TEXT NOT NULL,
    PRIMARY KEY (item_id, seq)
);

CREATE TABLE power_item_accountability (
    item_id BIGINT NOT NULL REFERENCES power_items (id),
    seq BIGINT NOT NULL,
    breach TEXT NOT NULL,
    measure TEXT NOT NULL,
    basis TEXT NOT NULL,
    PRIMARY KEY (item_id, seq)
);
