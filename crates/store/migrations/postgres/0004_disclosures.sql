-- 公示公开 (disclosures): one row per version, linked by lineage like rosters; village finance
-- lines in integer fen; files linked to the shared attachments table (a file may be linked to
-- several versions of one disclosure). Depends only on 0001 and 0002.

CREATE TABLE disclosures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    category TEXT NOT NULL CHECK (category IN
        ('party', 'village_affairs', 'finance', 'major_matter', 'major_expenditure', 'project', 'other')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    period_label TEXT NOT NULL,
    period_start TEXT,
    period_end TEXT,
    version BIGINT NOT NULL,
    lineage_id BIGINT,
    supersedes_id BIGINT REFERENCES disclosures (id),
    correction_reason TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    line_count BIGINT NOT NULL DEFAULT 0,
    income_fen BIGINT NOT NULL DEFAULT 0,
    expense_fen BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL REFERENCES staff_users (id),
    reviewed_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX disclosures_org ON disclosures (org_code, category, status);
CREATE UNIQUE INDEX disclosures_one_successor ON disclosures (supersedes_id);
CREATE INDEX disclosures_lineage ON disclosures (lineage_id);

CREATE TABLE disclosure_lines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    disclosure_id BIGINT NOT NULL REFERENCES disclosures (id),
    row_no BIGINT NOT NULL,
    line_date TEXT,
    summary TEXT NOT NULL,
    income_fen BIGINT NOT NULL CHECK (income_fen >= 0),
    expense_fen BIGINT NOT NULL CHECK (expense_fen >= 0),
    note TEXT
);
CREATE INDEX disclosure_lines_disclosure ON disclosure_lines (disclosure_id, row_no);

CREATE TABLE disclosure_attachments (
    disclosure_id BIGINT NOT NULL REFERENCES disclosures (id),
    attachment_id BIGINT NOT NULL REFERENCES attachments (id),
    PRIMARY KEY (disclosure_id, attachment_id)
);
CREATE INDEX disclosure_attachments_attachment ON disclosure_attachments (attachment_id);
