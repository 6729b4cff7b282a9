-- 留言箱: questions, complaints, suggestions and reports (举报) left by villagers, with their
-- reply clock, timeline and photos. The author's phone is personal data (encrypted, with a keyed
-- blind index); an anonymous reporter follows their report with a query password of which only
-- a keyed hash is kept. Timestamps are UTC unix seconds.

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    tracking TEXT NOT NULL UNIQUE,
    submit_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('question', 'complaint', 'suggestion', 'report')),
    -- The village or township the message is addressed to.
    org_code TEXT NOT NULL REFERENCES orgs (code),
    author_name TEXT NOT NULL DEFAULT '',
    phone_enc BLOB,
    phone_idx TEXT,
    secret_idx TEXT,
    body TEXT NOT NULL,
    allow_public BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    assigned_to BIGINT REFERENCES staff_users (id),
    submitted_at BIGINT NOT NULL,
    reply_due BIGINT NOT NULL,
    reply_remind_at BIGINT NOT NULL,
    deadline_basis TEXT NOT NULL,
    reminded_at BIGINT,
    overdue_at BIGINT,
    reply TEXT,
    reply_public BIGINT NOT NULL DEFAULT 0,
    replied_by BIGINT REFERENCES staff_users (id),
    replied_at BIGINT,
    merged_into BIGINT REFERENCES messages (id),
    hidden_reason TEXT,
    rating TEXT,
    rating_comment TEXT,
    rated_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX messages_org ON messages (org_code, submitted_at);
CREATE INDEX messages_open ON messages (status, reply_due);
CREATE INDEX messages_public ON messages (org_code, replied_at) WHERE allow_public = 1 AND reply_public = 1;

-- The timeline of a message. `public` events are shown to the author.
CREATE TABLE message_events (
    id INTEGER PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    staff_user_id BIGINT REFERENCES staff_users (id),
    note TEXT NOT NULL,
    public BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, id);

CREATE TABLE message_photos (
    id INTEGER PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    original_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX message_photos_message ON message_photos (message_id);

-- Texts about a message share the outbox with texts about cases.
ALTER TABLE outbox ADD COLUMN message_id BIGINT REFERENCES messages (id);
CREATE INDEX outbox_message ON outbox (message_id);
