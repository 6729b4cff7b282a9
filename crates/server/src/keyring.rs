//! The key ring: the one place that knows where the keys live — the personal-data keys and
//! which of them a [`PiiCipher`] holds, and the ledger's signing and audit keys.
//!
//! The key is `XIAOWEI_PII_KEY`, else `<data_dir>/keys/pii.key` (generated on first start).
//! `xiaowei keys rotate` writes the new key to `keys/pii.key.next` first; while that file exists
//! the ring is the new key (sealing and indexing) plus the current one (still opening and
//! found by look-ups). Finishing, the rotation keeps the old file as `pii.key.retired-<date>`
//! and moves the new key into `pii.key`; the ring is then the new key alone. A running server
//! follows these files (`workers::keys`), so it reads both keys for as long as a rotation lasts.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use xiaowei_core::{PiiCipher, PiiKey, TokenKey};

use xiaowei_core::ledger::{AuditKey, LogKey};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("XIAOWEI_PII_KEY 无效")]
    BadEnvKey,
    #[error("密钥文件 {0} 已损坏")]
    Corrupt(PathBuf),
    #[error("无法读写密钥文件 {0}：{1}")]
    Io(PathBuf, std::io::Error),
    /// The ledger's signing or audit key is missing, damaged or cannot be written.
    #[error("{0}")]
    Ledger(String),
}

/// The file holding the new key while a rotation is in progress.
pub fn next_key_path(config: &Config) -> PathBuf {
    path_beside(&config.key_path(), ".next")
}

/// The token key's file, next to the personal-data key.
pub fn token_key_path(config: &Config) -> PathBuf {
    config.key_path().with_file_name("token.key")
}

/// The token key from its file, if there is one.
pub fn read_token_key(config: &Config) -> Result<Option<TokenKey>, KeyError> {
    let path = token_key_path(config);
    match std::fs::read_to_string(&path) {
        Ok(text) => TokenKey::from_hex(&text).map(Some).map_err(|_| KeyError::Corrupt(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Io(path, e)),
    }
}

/// Where the key retired on `date` (`YYYYMMDD`) is kept; `-2`, `-3`… when one exists already.
pub fn retired_key_path(config: &Config, date: &str) -> PathBuf {
    let key = config.key_path();
    let mut n = 1;
    loop {
        let suffix = if n == 1 { format!(".retired-{date}") } else { format!(".retired-{date}-{n}") };
        let path = path_beside(&key, &suffix);
        if !path.exists() {
            return path;
        }
        n += 1;
    }
}

/// Every retired key kept in the keys folder, oldest name first.
pub fn retired_keys(config: &Config) -> Result<Vec<PiiKey>, KeyError> {
    let key = config.key_path();
    let (Some(dir), Some(name)) = (key.parent(), key.file_name()) else { return Ok(Vec::new()) };
    let prefix = format!("{}.retired-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| read_key(p).transpose()).collect()
}

fn path_beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

/// The key in `path`, `None` when there is no such file.
pub fn read_key(path: &Path) -> Result<Option<PiiKey>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => PiiKey::from_hex(&text).map(Some).map_err(|_| KeyError::Corrupt(path.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Io(path.to_owned(), e)),
    }
}

/// The configured key: `XIAOWEI_PII_KEY`, else the key file, if there is one.
pub fn current_key(config: &Config) -> Result<Option<PiiKey>, KeyError> {
    if let Some(hex) = &config.pii_key {
        return PiiKey::from_hex(hex.expose_secret()).map(Some).map_err(|_| KeyError::BadEnvKey);
    }
    read_key(&config.key_path())
}

/// The ring as configured now: the current key (generated into its file when there is none),
/// and the new key of a rotation in progress.
pub fn load(config: &Config) -> Result<PiiCipher, KeyError> {
    let current = match current_key(config)? {
        Some(key) => key,
        None => {
            let path = config.key_path();
            let key = PiiKey::generate();
            write_key(&path, &key)?;
            tracing::warn!(path = %path.display(), "generated a new personal-data key: back it up, data encrypted with it is unreadable without it");
            key
        }
    };
    let cipher = PiiCipher::new(current.clone());
    let (key, previous, tokens) = ring_in_files(config, current)?;
    cipher.install(key, previous, tokens);
    Ok(cipher)
}

/// The ring the key files describe, `current` being the configured key.
fn ring_in_files(config: &Config, current: PiiKey) -> Result<(PiiKey, Option<PiiKey>, Option<TokenKey>), KeyError> {
    let tokens = read_token_key(config)?;
    Ok(match rotation_key(config)? {
        Some(next) => (next, Some(current), tokens),
        None => (current, None, tokens),
    })
}

/// The new key of a rotation in progress (only with key files: a key set in the environment is
/// not rotated in place).
fn rotation_key(config: &Config) -> Result<Option<PiiKey>, KeyError> {
    if config.pii_key.is_some() {
        return Ok(None);
    }
    read_key(&next_key_path(config))
}

/// Brings `cipher` in line with the key files; `Ok(true)` when its keys changed.
pub fn refresh(config: &Config, cipher: &PiiCipher) -> Result<bool, KeyError> {
    let Some(current) = current_key(config)? else { return Ok(false) };
    let (key, previous, tokens) = ring_in_files(config, current)?;
    let token_hex = tokens.as_ref().map_or_else(|| key.token_key().to_hex(), TokenKey::to_hex);
    if cipher.key_id() == key.id()
        && cipher.previous_key_id() == previous.as_ref().map(PiiKey::id)
        && cipher.token_key().to_hex() == token_hex
    {
        return Ok(false);
    }
    tracing::warn!(key = %key.id(), previous = ?previous.as_ref().map(PiiKey::id), "personal-data key ring changed");
    cipher.install(key, previous, tokens);
    Ok(true)
}

/// Writes a key file readable by its owner only; never over an existing file.
pub fn write_key(path: &Path, key: &PiiKey) -> Result<(), KeyError> {
    write_private(path, &key.to_hex())
}

/// Keeps `old`'s token key in `keys/token.key` unless a token key is kept already.
pub fn keep_token_key(config: &Config, old: &PiiKey) -> Result<(), KeyError> {
    let path = token_key_path(config);
    if path.exists() {
        return Ok(());
    }
    write_private(&path, &old.token_key().to_hex())
}

fn write_private(path: &Path, text: &str) -> Result<(), KeyError> {
    use std::io::Write;
    let io = |e| KeyError::Io(path.to_owned(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// The ledger signing key: configuration, else the key file, else a new key written to the key file.
pub fn load_or_create_ledger_key(config: &Config) -> Result<LogKey, KeyError> {
    use secrecy::ExposeSecret;
    if let Some(skey) = &config.ledger_key {
        return LogKey::from_private(skey.expose_secret())
            .map_err(|_| KeyError::Ledger("XIAOWEI_LEDGER_KEY is not a valid signed-note private key".into()));
    }
    let path = config.ledger_key_path();
    if let Ok(text) = std::fs::read_to_string(&path) {
        return LogKey::from_private(&text)
            .map_err(|_| KeyError::Ledger(format!("ledger key file {} is damaged", path.display())));
    }
    let (skey, key) = LogKey::generate(&config.ledger_origin())
        .map_err(|_| KeyError::Ledger("ledger origin is not a valid key name".into()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Ledger(format!("ledger key folder: {e}")))?;
    }
    match write_new_private(&path, &skey) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "generated a new ledger signing key: back it up");
            Ok(key)
        }
        // Another server on the same data folder wrote it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path).map_err(|e| KeyError::Ledger(format!("ledger key: {e}")))?;
            LogKey::from_private(&text).map_err(|_| KeyError::Ledger("ledger key file is damaged".into()))
        }
        Err(e) => Err(KeyError::Ledger(format!("ledger key: {e}"))),
    }
}

/// The ledger audit key (see `core::ledger::AuditKey`): `XIAOWEI_LEDGER_AUDIT_KEY` (hex), else
/// `<data_dir>/keys/ledger-audit.key`, else a new key written there. Kept apart from the
/// signing key: the commission that holds it can check payment accounts, nobody else can.
pub fn load_or_create_audit_key(config: &Config) -> Result<AuditKey, KeyError> {
    if let Ok(hex) = std::env::var("XIAOWEI_LEDGER_AUDIT_KEY") {
        return AuditKey::from_hex(&hex)
            .map_err(|_| KeyError::Ledger("XIAOWEI_LEDGER_AUDIT_KEY is not 64 hex digits".into()));
    }
    let path = config.ledger_audit_key_path();
    let damaged = |_| KeyError::Ledger(format!("ledger audit key file {} is damaged", path.display()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return AuditKey::from_hex(&text).map_err(damaged);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Ledger(format!("ledger key folder: {e}")))?;
    }
    let key = AuditKey::generate();
    match write_new_private(&path, &key.to_hex()) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "generated a new ledger audit key: give a copy to the discipline commission");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| KeyError::Ledger(format!("ledger audit key: {e}")))?;
            AuditKey::from_hex(&text).map_err(damaged)
        }
        Err(e) => Err(KeyError::Ledger(format!("ledger audit key: {e}"))),
    }
}

/// Writes a new private key file readable by its owner only; fails if the file exists.
pub fn write_new_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_follows_the_files_through_a_rotation() {
        let dir = std::env::temp_dir().join(format!("xiaowei-keyring-{}-{}", std::process::id(), rand_suffix()));
        let config = Config { data_dir: dir.clone(), ..Config::default() };
        let cipher = load(&config).unwrap();
        let old = read_key(&config.key_path()).unwrap().unwrap();
        assert_eq!((cipher.key_id(), cipher.previous_key_id()), (old.id(), None), "a first start generates the key");
        let tag = cipher.token_tag("kiosk_device", "t");
        assert!(!refresh(&config, &cipher).unwrap(), "nothing changed");

        let new = PiiKey::generate();
        keep_token_key(&config, &old).unwrap();
        write_key(&next_key_path(&config), &new).unwrap();
        assert!(refresh(&config, &cipher).unwrap());
        assert_eq!((cipher.key_id(), cipher.previous_key_id()), (new.id(), Some(old.id())), "both keys meanwhile");
        let restarted = load(&config).unwrap();
        assert_eq!(restarted.previous_key_id(), Some(old.id()), "a restart mid-rotation reads both keys too");

        let retired = retired_key_path(&config, "20261206");
        std::fs::copy(config.key_path(), &retired).unwrap();
        std::fs::rename(next_key_path(&config), config.key_path()).unwrap();
        assert!(refresh(&config, &cipher).unwrap());
        assert_eq!((cipher.key_id(), cipher.previous_key_id()), (new.id(), None), "the old key is retired");
        assert_eq!(cipher.token_tag("kiosk_device", "t"), tag, "tags handed out before still verify");
        assert_eq!(retired_keys(&config).unwrap().iter().map(PiiKey::id).collect::<Vec<_>>(), [old.id()]);
        assert_ne!(retired_key_path(&config, "20261206"), retired, "a second retirement that day gets its own name");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn rand_suffix() -> String {
        PiiKey::generate().id()
    }
}
