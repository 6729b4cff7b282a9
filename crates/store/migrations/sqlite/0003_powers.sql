-- 小微权力: the power catalogue (county items apply everywhere; township and village items apply
-- in their own subtree), each item's procedure steps and risk points, and power exercises
-- (权力运行记录) with the steps recorded as they happen and their documents.
-- Dates are 'YYYY-MM-DD' in Asia/Shanghai.

CREATE TABLE power_items (
    id INTEGER PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    basis TEXT NOT NULL,
    materials TEXT NOT NULL,
    responsible TEXT NOT NULL,
    total_days BIGINT NOT NULL CHECK (total_days > 0),
    created_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (org_code, name)
);

CREATE TABLE power_item_steps (
    item_id BIGINT NOT NULL REFERENCES power_items (id),
    step_no BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    limit_days BIGINT NOT NULL CHECK (limit_days > 0),
    publishes TEXT NOT NULL,
    PRIMARY KEY (item_id, step_no)
);

CREATE TABLE power_item_risks (
    item_id BIGINT NOT NULL REFERENCES power_items (id),
    seq BIGINT NOT NULL,
    risk TEXT NOT NULL,
    supervision TEXT NOT NULL,
    PRIMARY KEY (item_id, seq)
);

CREATE TABLE power_exercises (
    id INTEGER PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES power_items (id),
    org_code TEXT NOT NULL REFERENCES orgs (code),
    title TEXT NOT NULL,
    started_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    created_by BIGINT NOT NULL REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT,
    UNIQUE (org_code, item_id, title)
);
CREATE INDEX power_exercises_org ON power_exercises (org_code, status);

CREATE TABLE power_exercise_steps (
    id INTEGER PRIMARY KEY,
    exercise_id BIGINT NOT NULL REFERENCES power_exercises (id),
    step_no BIGINT NOT NULL,
    done_on TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    decision TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (exercise_id, step_no)
);

CREATE TABLE power_documents (
    id INTEGER PRIMARY KEY,
    exercise_id BIGINT NOT NULL REFERENCES power_exercises (id),
    step_id BIGINT REFERENCES power_exercise_steps (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    original_name TEXT NOT NULL,
    uploaded_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (exercise_id, sha256)
);
