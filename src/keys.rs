//! `xiaowei keys`: the escrow copy of the keys (the personal-data key and the ledger signing key),
//! sealed with a passphrase, and its import into a data folder. Backups never hold the keys;
//! this file is kept apart from them (another place, another custodian).
//!
//! The escrow is argon2id (64 MiB, 3 passes) deriving an AES-256-GCM key, both already used by the
//! platform for passwords and personal data, so no second cryptographic stack is trusted; the
//! header (format and KDF parameters) is authenticated as associated data.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, Result, bail};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use xiaowei_core::PiiKey;
use xiaowei_server::Config;

const MAGIC: &str = "xiaowei-key-escrow 1";
const MIN_PASSPHRASE_CHARS: usize = 12;
/// argon2id memory (KiB), passes and lanes.
const KDF: (u32, u32, u32) = (65_536, 3, 1);

/// The environment variable a script sets instead of answering the prompt.
pub const PASSPHRASE_ENV: &str = "XIAOWEI_ESCROW_PASSPHRASE";

/// What an escrow file holds.
#[derive(Serialize, Deserialize)]
pub struct Keys {
    /// The personal-data key, 128 hex characters.
    pub pii: String,
    /// The ledger's signed-note private key, when one exists.
    pub ledger: Option<String>,
    /// The ledger audit key (payment details in roster leaves), when one exists; escrows made
    /// before it existed lack it.
    #[serde(default)]
    pub ledger_audit: Option<String>,
    /// The token key (`keys/token.key`), once a key rotation has written it.
    #[serde(default)]
    pub token: Option<String>,
}

/// Where the passphrase comes from: a file (first line), the environment, else a prompt.
pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<SecretString> {
    let text = if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("无法读取口令文件 {}", path.display()))?;
        text.lines().next().unwrap_or_default().to_owned()
    } else if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
        text
    } else {
        let first = rpassword::prompt_password("托管口令：")
            .context("无法读取口令（可用 --passphrase-file 或环境变量 XIAOWEI_ESCROW_PASSPHRASE）")?;
        if confirm && rpassword::prompt_password("再输入一次：").context("无法读取口令")? != first {
            bail!("两次输入的口令不一致");
        }
        first
    };
    if confirm && text.chars().count() < MIN_PASSPHRASE_CHARS {
        bail!("托管口令至少需要 {MIN_PASSPHRASE_CHARS} 个字符");
    }
    if text.is_empty() {
        bail!("托管口令为空");
    }
    Ok(SecretString::from(text))
}

/// The keys this configuration uses, read without generating any.
pub fn current(config: &Config) -> Result<Option<Keys>> {
    let Some(pii) = existing_pii_key(config)? else { return Ok(None) };
    let ledger = match &config.ledger_key {
        Some(key) => Some(key.expose_secret().trim().to_owned()),
        None => std::fs::read_to_string(config.ledger_key_path()).ok().map(|t| t.trim().to_owned()),
    };
    let ledger_audit = match std::env::var("XIAOWEI_LEDGER_AUDIT_KEY") {
        Ok(hex) => Some(hex.trim().to_owned()),
        Err(_) => std::fs::read_to_string(config.ledger_audit_key_path()).ok().map(|t| t.trim().to_owned()),
    };
    let token = xiaowei_server::keyring::read_token_key(config)?.map(|k| k.to_hex());
    Ok(Some(Keys { pii: pii.to_hex(), ledger, ledger_audit, token }))
}

/// The personal-data key from configuration or its file, if there is one.
pub fn existing_pii_key(config: &Config) -> Result<Option<PiiKey>> {
    Ok(xiaowei_server::keyring::current_key(config)?)
}

fn derive(passphrase: &SecretString, salt: &[u8], (m, t, p): (u32, u32, u32)) -> Result<Aes256Gcm> {
    let params = argon2::Params::new(m, t, p, Some(32)).map_err(|e| anyhow::anyhow!("密钥派生参数无效：{e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, &mut key)
        .map_err(|e| anyhow::anyhow!("密钥派生失败：{e}"))?;
    Ok(Aes256Gcm::new(&key.into()))
}

/// Seals `keys` with the passphrase into the escrow file's text.
pub fn seal(keys: &Keys, passphrase: &SecretString) -> Result<String> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let header = format!("{MAGIC}\nargon2id m={} t={} p={}\nsalt {}\n", KDF.0, KDF.1, KDF.2, hex::encode(salt));
    let plain = serde_json::to_vec(keys)?;
    let sealed = derive(passphrase, &salt, KDF)?
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: header.as_bytes() })
        .map_err(|_| anyhow::anyhow!("加密失败"))?;
    Ok(format!("{header}{}{}\n", hex::encode(nonce), hex::encode(sealed)))
}

/// Opens an escrow file's text; a wrong passphrase and a damaged file read alike.
pub fn open(text: &str, passphrase: &SecretString) -> Result<Keys> {
    let mut lines = text.lines();
    let not_escrow = || anyhow::anyhow!("这不是小微的密钥托管文件");
    if lines.next() != Some(MAGIC) {
        return Err(not_escrow());
    }
    let kdf = lines.next().ok_or_else(not_escrow)?;
    let salt_line = lines.next().ok_or_else(not_escrow)?;
    let body = hex::decode(lines.next().ok_or_else(not_escrow)?.trim()).map_err(|_| not_escrow())?;
    let mut params = kdf
        .strip_prefix("argon2id ")
        .ok_or_else(not_escrow)?
        .split(' ')
        .map(|part| part.split_once('=').and_then(|(_, v)| v.parse::<u32>().ok()).ok_or_else(not_escrow));
    let mut next = || params.next().unwrap_or_else(|| Err(not_escrow()));
    let kdf_params = (next()?, next()?, next()?);
    let salt = hex::decode(salt_line.strip_prefix("salt ").ok_or_else(not_escrow)?).map_err(|_| not_escrow())?;
    if body.len() < 12 {
        return Err(not_escrow());
    }
    let header = format!("{MAGIC}\n{kdf}\n{salt_line}\n");
    let (nonce, sealed) = body.split_at(12);
    let plain = derive(passphrase, &salt, kdf_params)?
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: header.as_bytes() })
        .map_err(|_| anyhow::anyhow!("口令不正确，或托管文件已损坏"))?;
    let keys: Keys = serde_json::from_slice(&plain).map_err(|_| not_escrow())?;
    PiiKey::from_hex(&keys.pii).map_err(|_| not_escrow())?;
    Ok(keys)
}

/// `xiaowei keys export FILE`.
pub fn export(config: &Config, file: &Path, passphrase_file: Option<&Path>) -> Result<()> {
    let keys = current(config)?.context("还没有个人信息密钥：数据目录中没有 keys/pii.key，也未设置 XIAOWEI_PII_KEY")?;
    let passphrase = passphrase(passphrase_file, true)?;
    let text = seal(&keys, &passphrase)?;
    write_new(file, &text)?;
    println!(
        "已写入密钥托管文件 {}（个人信息密钥{}{}{}）。请与备份分开保管，并另行记下口令。",
        file.display(),
        if keys.ledger.is_some() { "、账本签名密钥" } else { "" },
        if keys.ledger_audit.is_some() { "、账本审计密钥" } else { "" },
        if keys.token.is_some() { "、令牌密钥" } else { "" }
    );
    Ok(())
}

/// `xiaowei keys import FILE`: writes the keys into the data folder, never over other keys.
pub fn import(config: &Config, file: &Path, passphrase_file: Option<&Path>) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let passphrase = passphrase(passphrase_file, false)?;
    let keys = open(&text, &passphrase)?;
    crate::files::secure_dir(&config.data_dir)?;
    let mut written = Vec::new();
    let targets = [
        (config.key_path(), Some(keys.pii.as_str())),
        (config.ledger_key_path(), keys.ledger.as_deref()),
        (config.ledger_audit_key_path(), keys.ledger_audit.as_deref()),
        (xiaowei_server::keyring::token_key_path(config), keys.token.as_deref()),
    ];
    for (path, value) in targets {
        let Some(value) = value else { continue };
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing.trim() == value => {}
            Ok(_) => bail!("{} 已有另一把密钥，未作任何改动", path.display()),
            Err(_) => written.push((path, value)),
        }
    }
    for (path, value) in written {
        if let Some(dir) = path.parent() {
            crate::files::secure_dir(dir)?;
        }
        write_new(&path, value)?;
        println!("已导入 {}", path.display());
    }
    Ok(())
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(path).with_context(|| format!("无法创建 {}（文件已存在则不会覆盖）", path.display()))?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys() -> Keys {
        Keys {
            pii: PiiKey::generate().to_hex(),
            ledger: Some("PRIVATE+KEY+x+1+abc".into()),
            ledger_audit: Some("ab".repeat(32)),
            token: Some("cd".repeat(32)),
        }
    }

    #[test]
    fn an_escrow_opens_with_its_passphrase_only() {
        let k = keys();
        let text = seal(&k, &SecretString::from("长长的托管口令2026")).unwrap();
        assert!(!text.contains(&k.pii), "the key is not in clear");
        let back = open(&text, &SecretString::from("长长的托管口令2026")).unwrap();
        assert_eq!((back.pii, back.ledger, back.ledger_audit, back.token), (k.pii, k.ledger, k.ledger_audit, k.token));
        let wrong = open(&text, &SecretString::from("另一个口令另一个口令")).err().unwrap();
        assert!(wrong.to_string().contains("口令不正确"));
    }

    #[test]
    fn weakened_kdf_parameters_in_the_header_are_refused() {
        let text = seal(&keys(), &SecretString::from("长长的托管口令2026")).unwrap();
        let weakened = text.replace("t=3", "t=1");
        assert!(open(&weakened, &SecretString::from("长长的托管口令2026")).is_err());
        assert!(open("hello", &SecretString::from("x")).err().unwrap().to_string().contains("不是"));
    }
}
