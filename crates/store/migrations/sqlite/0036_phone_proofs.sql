-- Phones proven by SMS code before a public filing. `phone_proofs` holds each code sent: the
-- phone sealed and indexed, a keyed tag of the code (never the code), the wrong tries and when it
-- matched; `token_idx` is a keyed hash of the handle the confirming form carries. A matched code
-- opens a `phone_sessions` row, found by a keyed hash of the browser's cookie, until it expires.
-- `proven_households` marks a household one of whose proven phones has used the platform (it
-- counts as covered on the monitor); it holds no phone. Timestamps are UTC unix seconds.

CREATE TABLE phone_proofs (
    id INTEGER PRIMARY KEY,
    token_idx TEXT NOT NULL UNIQUE,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    code_tag TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0 CHECK (tries >= 0),
    proven_at BIGINT
);
CREATE INDEX phone_proofs_sent ON phone_proofs (sent_at);

CREATE TABLE phone_sessions (
    token_idx TEXT PRIMARY KEY,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    proven_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX phone_sessions_expires ON phone_sessions (expires_at);

CREATE TABLE proven_households (
    household_id BIGINT PRIMARY KEY REFERENCES households (id),
    first_at BIGINT NOT NULL
);
