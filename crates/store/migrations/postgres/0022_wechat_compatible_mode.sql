-- 兼容模式 (compatible mode) becomes an explicit per-account setting. An account with an
-- EncodingAESKey is in safe mode (encrypted messages only) unless this is set, when it also
-- accepts plaintext messages while the platform switches over.
ALTER TABLE wechat_accounts ADD COLUMN compatible BIGINT NOT NULL DEFAULT 0;
