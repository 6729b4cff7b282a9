-- 办事直通车: link-out tiles to outside services, kept per county or township by the county
-- admin; shown on 我要办事 and on the hall terminals (as a QR code there). Timestamps are UTC
-- unix seconds.

CREATE TABLE service_links (
    id INTEGER PRIMARY KEY,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    name TEXT NOT NULL,
    icon TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES staff_users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_code, name)
);
