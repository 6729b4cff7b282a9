-- 大数据比对: registries that rosters are screened against, programme screening settings,
-- screening runs, hits and their handling, and 政策找人 leads with their outcomes.
-- ID numbers are stored encrypted (id_enc) with the blind index (person_idx) and a masked form;
-- dates are 'YYYY-MM-DD'. Hits are never public.

CREATE TABLE registry_imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('replace', 'amend')),
    file_name TEXT NOT NULL,
    rows BIGINT NOT NULL,
    actor_id BIGINT REFERENCES staff_users (id),
    actor_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE registry_records (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('deaths', 'payroll', 'cadres', 'households', 'vehicles', 'businesses')),
    person_idx TEXT NOT NULL,
    name TEXT NOT NULL,
    id_enc BLOB NOT NULL,
    id_masked TEXT NOT NULL,
    birth_date TEXT,
    village_code TEXT,
    household_no TEXT,
    members BIGINT,
    relation TEXT,
    detail TEXT,
    event_date TEXT,
    import_id BIGINT NOT NULL REFERENCES registry_imports (id)
);
CREATE INDEX registry_records_person ON registry_records (kind, person_idx);

CREATE TABLE programme_screening (
    programme_id BIGINT PRIMARY KEY REFERENCES programmes (id),
    excludes_payroll BIGINT NOT NULL DEFAULT 0,
    discretionary BIGINT NOT NULL DEFAULT 0,
    min_age BIGINT,
    max_age BIGINT,
    asset_test BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE exclusive_programmes (
    programme_a BIGINT NOT NULL REFERENCES programmes (id),
    programme_b BIGINT NOT NULL REFERENCES programmes (id),
    PRIMARY KEY (programme_a, programme_b),
    CHECK (programme_a < programme_b)
);

CREATE TABLE screening_runs (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    entries BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    new_hits BIGINT NOT NULL,
    cleared BIGINT NOT NULL,
    at BIGINT NOT NULL
);

CREATE TABLE screening_hits (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    entry_id BIGINT NOT NULL REFERENCES roster_entries (id),
    roster_id BIGINT NOT NULL REFERENCES rosters (id),
    programme_id BIGINT NOT NULL REFERENCES programmes (id),
    org_code TEXT NOT NULL,
    person_idx TEXT NOT NULL,
    name TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    year BIGINT NOT NULL,
    period TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('high', 'medium', 'low')),
    evidence TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'verifying', 'confirmed', 'dismissed')),
    note TEXT,
    handled_by BIGINT REFERENCES staff_users (id),
    handled_at BIGINT,
    first_run BIGINT NOT NULL,
    last_run BIGINT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    cleared_at BIGINT,
    UNIQUE (rule, entry_id)
);
CREATE INDEX screening_hits_org ON screening_hits (org_code, status);
CREATE INDEX screening_hits_roster ON screening_hits (roster_id);

CREATE TABLE screening_hit_events (
    id INTEGER PRIMARY KEY,
    hit_id BIGINT NOT NULL REFERENCES screening_hits (id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL,
    actor_id BIGINT REFERENCES staff_users (id),
    actor_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX screening_hit_events_hit ON screening_hit_events (hit_id);

CREATE TABLE outreach_leads (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('age_eligible', 'lapsed')),
    person_idx TEXT NOT NULL,
    name TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    org_code TEXT NOT NULL,
    programme_id BIGINT NOT NULL REFERENCES programmes (id),
    detail TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'enrolled', 'not_eligible', 'unreachable')),
    outcome TEXT,
    handled_by BIGINT REFERENCES staff_users (id),
    handled_at BIGINT,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    UNIQUE (kind, person_idx, programme_id)
);
CREATE INDEX outreach_leads_org ON outreach_leads (org_code, status);
