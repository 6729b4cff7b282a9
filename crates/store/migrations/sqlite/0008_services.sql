-- 我要办事: the service catalogue, applications (办件) with their clocks and timeline, extension
-- requests, the working-day calendar, and the durable notification outbox. Phones are personal
-- data: encrypted, with a keyed blind index. Timestamps are UTC unix seconds; calendar dates are
-- Asia/Shanghai (YYYY-MM-DD).

-- Staff accounts may carry a phone, so that escalations reach the county supervisor.
ALTER TABLE staff_users ADD COLUMN phone_enc BLOB;
ALTER TABLE staff_users ADD COLUMN phone_idx TEXT;

CREATE TABLE service_items (
    id INTEGER PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    name TEXT NOT NULL,
    conditions TEXT NOT NULL,
    materials TEXT NOT NULL,
    steps TEXT NOT NULL,
    time_limit TEXT NOT NULL,
    fee TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    external_url TEXT,
    requires_id BIGINT NOT NULL DEFAULT 0,
    officer_id BIGINT REFERENCES department_contacts (id),
    active BIGINT NOT NULL DEFAULT 1,
    -- Each public change is a new version with its own leaf in the publication ledger.
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (department_id, name)
);

-- 乡镇经办人: who handles an item in each township.
CREATE TABLE service_handlers (
    item_id BIGINT NOT NULL REFERENCES service_items (id),
    township_code TEXT NOT NULL REFERENCES orgs (code),
    name TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    PRIMARY KEY (item_id, township_code)
);

CREATE TABLE service_cases (
    id INTEGER PRIMARY KEY,
    tracking TEXT NOT NULL UNIQUE,
    submit_key TEXT NOT NULL UNIQUE,
    item_id BIGINT NOT NULL REFERENCES service_items (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    org_code TEXT NOT NULL REFERENCES orgs (code),
    applicant_name TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    resident_id_enc BLOB,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    filed_by BIGINT REFERENCES staff_users (id),
    submitted_at BIGINT NOT NULL,
    contact_due BIGINT NOT NULL,
    contact_remind_at BIGINT NOT NULL,
    completion_due BIGINT NOT NULL,
    completion_remind_at BIGINT NOT NULL,
    deadline_basis TEXT NOT NULL,
    contact_reminded_at BIGINT,
    contact_overdue_at BIGINT,
    completion_reminded_at BIGINT,
    completion_overdue_at BIGINT,
    contacted_at BIGINT,
    completed_at BIGINT,
    reply TEXT,
    rating TEXT,
    rating_comment TEXT,
    rated_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX service_cases_org ON service_cases (org_code, submitted_at);
CREATE INDEX service_cases_department ON service_cases (department_id, submitted_at);
CREATE INDEX service_cases_phone ON service_cases (phone_idx);
CREATE INDEX service_cases_open ON service_cases (status, contact_due, completion_due);

-- The timeline of a case. `public` events are shown to the applicant.
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES service_cases (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    staff_user_id BIGINT REFERENCES staff_users (id),
    method TEXT,
    note TEXT NOT NULL,
    public BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE case_extensions (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES service_cases (id),
    days BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES staff_users (id),
    requested_at BIGINT NOT NULL,
    decided_by BIGINT REFERENCES staff_users (id),
    decided_at BIGINT,
    decision_note TEXT,
    basis TEXT
);
CREATE INDEX case_extensions_case ON case_extensions (case_id);
-- One pending request per case at a time.
CREATE UNIQUE INDEX case_extensions_pending ON case_extensions (case_id) WHERE status = 'requested';

CREATE TABLE case_photos (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES service_cases (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    original_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_photos_case ON case_photos (case_id);

-- The working-day calendar: holidays and make-up working days; other days follow the weekday rule.
CREATE TABLE calendar_days (
    on_date TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The State Council's holiday calendar for 2025 and 2026 (administrators add later years).
INSERT INTO calendar_days (on_date, kind, name, updated_at) VALUES
    ('2025-01-01', 'holiday', '元旦', 0),
    ('2025-01-26', 'workday', '调休上班（春节）', 0),
    ('2025-01-28', 'holiday', '春节', 0),
    ('2025-01-29', 'holiday', '春节', 0),
    ('2025-01-30', 'holiday', '春节', 0),
    ('2025-01-31', 'holiday', '春节', 0),
    ('2025-02-01', 'holiday', '春节', 0),
    ('2025-02-02', 'holiday', '春节', 0),
    ('2025-02-03', 'holiday', '春节', 0),
    ('2025-02-04', 'holiday', '春节', 0),
    ('2025-02-08', 'workday', '调休上班（春节）', 0),
    ('2025-04-04', 'holiday', '清明节', 0),
    ('2025-04-05', 'holiday', '清明节', 0),
    ('2025-04-06', 'holiday', '清明节', 0),
    ('2025-04-27', 'workday', '调休上班（劳动节）', 0),
    ('2025-05-01', 'holiday', '劳动节', 0),
    ('2025-05-02', 'holiday', '劳动节', 0),
    ('2025-05-03', 'holiday', '劳动节', 0),
    ('2025-05-04', 'holiday', '劳动节', 0),
    ('2025-05-05', 'holiday', '劳动节', 0),
    ('2025-05-31', 'holiday', '端午节', 0),
    ('2025-06-01', 'holiday', '端午节', 0),
    ('2025-06-02', 'holiday', '端午节', 0),
    ('2025-09-28', 'workday', '调休上班（国庆节）', 0),
    ('2025-10-01', 'holiday', '国庆节', 0),
    ('2025-10-02', 'holiday', '国庆节', 0),
    ('2025-10-03', 'holiday', '国庆节', 0),
    ('2025-10-04', 'holiday', '国庆节', 0),
    ('2025-10-05', 'holiday', '国庆节', 0),
    ('2025-10-06', 'holiday', '中秋节', 0),
    ('2025-10-07', 'holiday', '国庆节', 0),
    ('2025-10-08', 'holiday', '国庆节', 0),
    ('2025-10-11', 'workday', '调休上班（国庆节）', 0),
    ('2026-01-01', 'holiday', '元旦', 0),
    ('2026-01-02', 'holiday', '元旦', 0),
    ('2026-01-03', 'holiday', '元旦', 0),
    ('2026-01-04', 'workday', '调休上班（元旦）', 0),
    ('2026-02-14', 'workday', '调休上班（春节）', 0),
    ('2026-02-15', 'holiday', '春节', 0),
    ('2026-02-16', 'holiday', '春节', 0),
    ('2026-02-17', 'holiday', '春节', 0),
    ('2026-02-18', 'holiday', '春节', 0),
    ('2026-02-19', 'holiday', '春节', 0),
    ('2026-02-20', 'holiday', '春节', 0),
    ('2026-02-21', 'holiday', '春节', 0),
    ('2026-02-22', 'holiday', '春节', 0),
    ('2026-02-23', 'holiday', '春节', 0),
    ('2026-02-28', 'workday', '调休上班（春节）', 0),
    ('2026-04-04', 'holiday', '清明节', 0),
    ('2026-04-05', 'holiday', '清明节', 0),
    ('2026-04-06', 'holiday', '清明节', 0),
    ('2026-05-01', 'holiday', '劳动节', 0),
    ('2026-05-02', 'holiday', '劳动节', 0),
    ('2026-05-03', 'holiday', '劳动节', 0),
    ('2026-05-04', 'holiday', '劳动节', 0),
    ('2026-05-05', 'holiday', '劳动节', 0),
    ('2026-05-09', 'workday', '调休上班（劳动节）', 0),
    ('2026-06-19', 'holiday', '端午节', 0),
    ('2026-06-20', 'holiday', '端午节', 0),
    ('2026-06-21', 'holiday', '端午节', 0),
    ('2026-09-20', 'workday', '调休上班（国庆节）', 0),
    ('2026-09-25', 'holiday', '中秋节', 0),
    ('2026-09-26', 'holiday', '中秋节', 0),
    ('2026-09-27', 'holiday', '中秋节', 0),
    ('2026-10-01', 'holiday', '国庆节', 0),
    ('2026-10-02', 'holiday', '国庆节', 0),
    ('2026-10-03', 'holiday', '国庆节', 0),
    ('2026-10-04', 'holiday', '国庆节', 0),
    ('2026-10-05', 'holiday', '国庆节', 0),
    ('2026-10-06', 'holiday', '国庆节', 0),
    ('2026-10-07', 'holiday', '国庆节', 0),
    ('2026-10-10', 'workday', '调休上班（国庆节）', 0);

-- Notifications, written in the same transaction as the change that causes them and delivered by
-- a background worker. `dedup_key` makes every notification exist once.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    notice TEXT NOT NULL,
    case_id BIGINT REFERENCES service_cases (id),
    recipient TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_idx TEXT NOT NULL,
    params TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    provider_id TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_case ON outbox (case_id);
