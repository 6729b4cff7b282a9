-- Village office (村委会): the cadres a village publishes as contacts, who of them is on duty in
-- the office (a weekly pattern plus date-specific overrides), and meeting notices with minutes.
-- Cadre phones are personal data: encrypted, with a keyed blind index. Timestamps are UTC unix
-- seconds; duty dates are calendar dates in Asia/Shanghai (YYYY-MM-DD).

CREATE TABLE village_cadres (
    id INTEGER PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    duties TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_code, phone_idx),
    UNIQUE (org_code, id)
);

-- The weekly pattern: weekday 1 (Monday) … 7 (Sunday). A cadre is on duty only in their own village.
CREATE TABLE village_duty_weekly (
    org_code TEXT NOT NULL,
    weekday BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    cadre_id BIGINT NOT NULL,
    PRIMARY KEY (org_code, weekday),
    FOREIGN KEY (org_code, cadre_id) REFERENCES village_cadres (org_code, id)
);

-- A date-specific override: a substitute, or (cadre_id NULL) no duty that day.
CREATE TABLE village_duty_overrides (
    id INTEGER PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    on_date TEXT NOT NULL,
    cadre_id BIGINT,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_code, on_date),
    FOREIGN KEY (org_code, cadre_id) REFERENCES village_cadres (org_code, id)
);

CREATE TABLE village_meetings (
    id INTEGER PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    starts_at BIGINT NOT NULL,
    place TEXT NOT NULL,
    agenda TEXT NOT NULL,
    audiences TEXT NOT NULL,
    minutes TEXT,
    minutes_at BIGINT,
    minutes_attachment_id BIGINT REFERENCES attachments (id),
    created_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX village_meetings_org_starts ON village_meetings (org_code, starts_at);
