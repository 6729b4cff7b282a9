-- Touch terminals (触摸终端) in the township service halls. The county admin registers a terminal
-- for a township and hands over a one-time enrolment link; the terminal then holds a long-lived
-- device token. Only keyed hashes of both tokens are stored, never the tokens. Heartbeats keep
-- the last-seen time, the version and screen the terminal reported, and its last script error.
-- Timestamps are UTC unix seconds.

CREATE TABLE kiosk_terminals (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    township_code TEXT NOT NULL REFERENCES orgs (code),
    name TEXT NOT NULL,
    idle_seconds BIGINT NOT NULL DEFAULT 60,
    enrol_token_hash TEXT NOT NULL UNIQUE,
    enrol_expires_at BIGINT NOT NULL,
    device_token_hash TEXT UNIQUE,
    enrolled_at BIGINT,
    last_seen_at BIGINT,
    last_version TEXT,
    last_screen TEXT,
    last_error TEXT,
    created_by BIGINT NOT NULL REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX kiosk_terminals_township ON kiosk_terminals (township_code);
