-- Foundation: org tree, households, departments, staff, sessions, audit log.
-- Timestamps are UTC unix seconds.

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('county', 'township', 'village', 'group')),
    parent_code TEXT REFERENCES orgs (code),
    created_at BIGINT NOT NULL
);
CREATE INDEX orgs_parent ON orgs (parent_code);

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    household_no TEXT NOT NULL UNIQUE,
    head_name TEXT NOT NULL,
    members BIGINT NOT NULL CHECK (members > 0),
    created_at BIGINT NOT NULL
);
CREATE INDEX households_org ON households (org_code);

CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE department_contacts (
    id INTEGER PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    position TEXT NOT NULL CHECK (position IN ('head', 'leader', 'officer')),
    name TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (department_id, phone_idx)
);

CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    department_id BIGINT REFERENCES departments (id),
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES staff_users (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    at BIGINT NOT NULL,
    success BIGINT NOT NULL
);
CREATE INDEX login_attempts_user_at ON login_attempts (username, at);

CREATE TABLE form_submissions (
    form_key TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    ip TEXT NOT NULL,
    org_code TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
