-- Integrator keys (接口密钥) for outside systems such as the county's 12345 hotline: issued by the
-- county admin, scoped like a staff account (an org subtree and the kinds of request it may see:
-- `cases`, `messages` or both, comma-separated), expiring and revocable. Only a keyed hash of the
-- key is stored; `key_hint` keeps its first characters so that staff can tell keys apart. Each use
-- bumps `uses` and `last_used_at` (the audit log holds the detail).
-- Timestamps are UTC unix seconds.

CREATE TABLE integrator_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    kinds TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    key_hint TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by BIGINT REFERENCES staff_users (id),
    last_used_at BIGINT,
    uses BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX integrator_tokens_org ON integrator_tokens (org_code);
