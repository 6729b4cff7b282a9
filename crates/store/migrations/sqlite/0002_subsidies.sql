-- Subsidy funds: programmes, rosters (one row per version), entries, paid-vs-proposed
-- differences, scans, objections, staged imports and rate-limit events.
-- ID and account numbers are stored encrypted (_enc) with a keyed blind index (_idx) and a
-- masked form for public pages (_masked). Dates are 'YYYY-MM-DD' in Asia/Shanghai.

CREATE TABLE programmes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    department_id BIGINT REFERENCES departments (id),
    basis TEXT NOT NULL,
    unit TEXT NOT NULL CHECK (unit IN ('person', 'household', 'mu')),
    standard_fen BIGINT CHECK (standard_fen > 0),
    rule TEXT NOT NULL,
    recurring BIGINT NOT NULL,
    from_year BIGINT,
    to_year BIGINT,
    publicity_days BIGINT NOT NULL CHECK (publicity_days BETWEEN 1 AND 365),
    created_at BIGINT NOT NULL
);

CREATE TABLE rosters (
    id INTEGER PRIMARY KEY,
    programme_id BIGINT NOT NULL REFERENCES programmes (id),
    org_code TEXT NOT NULL REFERENCES orgs (code),
    year BIGINT NOT NULL,
    period TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('proposed', 'paid')),
    settles_id BIGINT REFERENCES rosters (id),
    version BIGINT NOT NULL,
    lineage_id BIGINT,
    supersedes_id BIGINT REFERENCES rosters (id),
    correction_reason TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    paid_on TEXT,
    publicity_start TEXT,
    publicity_end TEXT,
    entry_count BIGINT NOT NULL,
    total_fen BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES staff_users (id),
    reviewed_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX rosters_org_year ON rosters (org_code, year);
CREATE INDEX rosters_batch ON rosters (programme_id, year, period, phase);
CREATE UNIQUE INDEX rosters_one_successor ON rosters (supersedes_id);
CREATE INDEX rosters_lineage ON rosters (lineage_id);

CREATE TABLE roster_entries (
    id INTEGER PRIMARY KEY,
    roster_id BIGINT NOT NULL REFERENCES rosters (id),
    row_no BIGINT NOT NULL,
    name TEXT NOT NULL,
    id_enc BLOB NOT NULL,
    id_idx TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    group_name TEXT,
    account_enc BLOB,
    account_idx TEXT,
    account_masked TEXT,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    note TEXT,
    UNIQUE (roster_id, id_idx)
);
CREATE INDEX roster_entries_person ON roster_entries (id_idx);
CREATE INDEX roster_entries_account ON roster_entries (account_idx);

CREATE TABLE roster_differences (
    id INTEGER PRIMARY KEY,
    roster_id BIGINT NOT NULL REFERENCES rosters (id),
    kind TEXT NOT NULL,
    person_idx TEXT NOT NULL,
    name TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    proposed_fen BIGINT,
    paid_fen BIGINT,
    reason TEXT,
    UNIQUE (roster_id, kind, person_idx)
);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    roster_id BIGINT REFERENCES rosters (id),
    programme_id BIGINT REFERENCES programmes (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    original_name TEXT NOT NULL,
    uploaded_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_roster ON attachments (roster_id);

CREATE TABLE objections (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    roster_id BIGINT REFERENCES rosters (id),
    entry_id BIGINT REFERENCES roster_entries (id),
    programme_id BIGINT REFERENCES programmes (id),
    name TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'handling', 'closed')),
    reply TEXT,
    handled_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX objections_org ON objections (org_code, status);

CREATE TABLE staged_imports (
    token TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES staff_users (id),
    params TEXT NOT NULL,
    file_enc BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE rate_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_key ON rate_events (kind, key, at);
