-- Login attempts are claimed before the password is checked: one counter per (username, client
-- address) and one per username (client '*') for the ceiling on unknown clients, each counting
-- within a fixed window. `known_until` marks a client that has logged in as that username.
CREATE TABLE login_throttle (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    known_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (username, client)
);
DROP TABLE login_attempts;
