-- 预警: what the monitoring platform raises for the discipline commission, each pointing at its
-- evidence, with its handling (new → looked at → resolved with a note). A scan raises an alert
-- once per dedup key, so re-scanning never duplicates an alert or resets its handling. Summaries
-- never carry personal data. Timestamps are UTC unix seconds.

CREATE TABLE alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    -- The village or township the alert belongs to (scope).
    org_code TEXT NOT NULL REFERENCES orgs (code),
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    summary TEXT NOT NULL,
    -- The staff page holding the evidence.
    link TEXT NOT NULL,
    -- About a report (举报): visible to the discipline commission only.
    restricted BIGINT NOT NULL DEFAULT 0,
    raised_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'looked_at', 'resolved')),
    looked_at_by BIGINT REFERENCES staff_users (id),
    looked_at BIGINT,
    resolved_by BIGINT REFERENCES staff_users (id),
    resolved_at BIGINT,
    note TEXT
);
CREATE INDEX alerts_org ON alerts (org_code, status);
CREATE INDEX alerts_raised ON alerts (raised_at);
