-- 远程监控平台: public page views per Shanghai day, org, menu and channel, and unique visitors
-- counted through a daily salt that is deleted (with the day's hashes) once the day closes.

CREATE TABLE visits_daily (
    day TEXT NOT NULL,
    org_code TEXT NOT NULL REFERENCES orgs (code),
    menu TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('wechat', 'browser', 'kiosk')),
    count BIGINT NOT NULL,
    PRIMARY KEY (day, org_code, menu, channel)
);
CREATE INDEX visits_daily_org ON visits_daily (org_code, day);

-- The open day's random salt, shared by every instance so a restart keeps uniqueness.
CREATE TABLE visit_salts (
    day TEXT PRIMARY KEY,
    salt BLOB NOT NULL
);

-- HMAC(salt, address + User-Agent) per open day and org: no raw address is ever kept.
CREATE TABLE visit_uniques (
    day TEXT NOT NULL,
    org_code TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (day, org_code, visitor)
);

-- Unique visitors of closed days.
CREATE TABLE visitors_daily (
    day TEXT NOT NULL,
    org_code TEXT NOT NULL,
    visitors BIGINT NOT NULL,
    PRIMARY KEY (day, org_code)
);
