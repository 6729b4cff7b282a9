-- WeChat official accounts (公众号): one per township at most, its followers (关注用户) and
-- their bindings to households, menu visits per item per day, replay protection for callbacks,
-- the shared access-token cache, and text messages waiting for the message box. Secrets and
-- cached tokens are sealed with the personal-data key by the server; never stored in clear.
-- Timestamps are UTC unix seconds; days are Asia/Shanghai (YYYY-MM-DD).

CREATE TABLE wechat_accounts (
    township_code TEXT PRIMARY KEY REFERENCES orgs (code),
    appid TEXT NOT NULL UNIQUE,
    secret_enc BYTEA NOT NULL,
    token_enc BYTEA NOT NULL,
    aes_key_enc BYTEA,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One cached access token per account, shared by every instance. A refresh is claimed by
-- compare-and-set on refresh_until, so instances do not all ask for a new token at once.
CREATE TABLE wechat_tokens (
    township_code TEXT PRIMARY KEY REFERENCES wechat_accounts (township_code),
    token_enc BYTEA,
    expires_at BIGINT NOT NULL DEFAULT 0,
    refresh_until BIGINT NOT NULL DEFAULT 0
);

-- Messages and events already handled (MsgId, or follower + CreateTime + event), so that the
-- platform's redeliveries and replays are ignored on every instance.
CREATE TABLE wechat_seen (
    township_code TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (township_code, dedup_key)
);
CREATE INDEX wechat_seen_at ON wechat_seen (seen_at);

CREATE TABLE wechat_followers (
    township_code TEXT NOT NULL REFERENCES wechat_accounts (township_code),
    openid TEXT NOT NULL,
    subscribed BIGINT NOT NULL,
    first_subscribed_at BIGINT NOT NULL,
    subscribed_at BIGINT,
    unsubscribed_at BIGINT,
    household_id BIGINT REFERENCES households (id),
    bound_at BIGINT,
    PRIMARY KEY (township_code, openid)
);
CREATE INDEX wechat_followers_household ON wechat_followers (household_id);

CREATE TABLE wechat_menu_visits (
    township_code TEXT NOT NULL REFERENCES orgs (code),
    item TEXT NOT NULL,
    day TEXT NOT NULL,
    visits BIGINT NOT NULL,
    PRIMARY KEY (township_code, item, day)
);

-- Text messages no keyword matched, kept for the message box (留言箱) to take over.
CREATE TABLE wechat_inbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    township_code TEXT NOT NULL REFERENCES orgs (code),
    openid TEXT NOT NULL,
    content TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    routed_at BIGINT
);
CREATE INDEX wechat_inbox_unrouted ON wechat_inbox (routed_at, id);

-- 我要办事 cases submitted inside WeChat remember the follower, for 我的办件 and notices.
ALTER TABLE service_cases ADD COLUMN wechat_account TEXT;
ALTER TABLE service_cases ADD COLUMN wechat_openid TEXT;
CREATE INDEX service_cases_wechat ON service_cases (wechat_account, wechat_openid);
