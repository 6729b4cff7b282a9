//! `xiaowei backup` and `xiaowei restore`: a consistent copy of a running installation and its
//! return into an empty data folder. A backup folder holds the database (a SQLite copy made with
//! `VACUUM INTO`, or a `pg_dump` custom-format archive of an exported snapshot), the attachment
//! files, and `manifest.json` with every file's SHA-256, the schema version and the ledger head
//! the copy contains. Keys are never in a backup: they travel as a separate escrow file.
//!
//! The database is copied first and the attachments after: attachments are content-addressed and
//! never rewritten, so every file the copied database names is already on disk when it is copied.
//!
//! ## Operations: backup, restore, keys, files
//!
//! - `xiaowei backup` (`src/backup.rs`) copies the database first and the attachments after. SQLite:
//!   `VACUUM INTO` gives a consistent, compacted copy while the server writes; the ledger head and
//!   schema version are read from that copy. PostgreSQL: a repeatable-read transaction exports its
//!   snapshot, the ledger head is read inside it, and `pg_dump --snapshot` dumps exactly that state,
//!   so the manifest's ledger checkpoint is the dump's. Attachments are content-addressed and never
//!   rewritten, so everything the copied database names is on disk when the files are copied.
//!   `manifest.json` lists each file's SHA-256; `xiaowei restore` refuses a backup whose files do not
//!   match, restores only into an empty data folder (and an empty PostgreSQL database, through
//!   `pg_restore`), migrates to the running version, runs the `ledger verify` check, confirms the
//!   ledger root at the manifest's size, and prints row counts (`Store::row_counts`).
//! - Keys never enter a backup. `xiaowei keys export` (`src/keys.rs`) seals the keys with argon2id
//!   (64 MiB, 3 passes) and AES-256-GCM, the two primitives the platform already trusts for passwords
//!   and personal data, rather than adding the `age` stack for one file; the header with the KDF
//!   parameters is authenticated, so it cannot be weakened. The manifest carries a keyed hash of a
//!   fixed text (`pii_key_check`) so a restore refuses a key that does not belong to the data.
//! - Files (`src/files.rs`): the process sets umask 077 at start, so every file it or SQLite or the
//!   attachment store creates is private; the SQLite file is created 0600 before SQLite opens it (its
//!   `-wal`/`-shm` take the same mode), and at every start the data folder is walked and group/other
//!   bits removed. The systemd unit sets `UMask=0077` as well.
//! - Migrations: `crates/store/migrations/CHECKSUMS` lists the SHA-256 of every migration file; a
//!   store test fails when a listed file changes or a new file is not appended. An upgrade test
//!   migrates a fixture database made by migrations 0001–0017 with demo data (`tests/fixtures/`) to
//!   the current head on both engines and reads it through the store.
//! - Tests: `tests/it/backup.rs` (backup while writing, escrow, restore, refusals, file modes under
//!   umask 0000 and 0022, both engines), `tests/it/upgrade.rs`, `crates/store/src/migrations_frozen.rs`,
//!   and `scripts/restore-drill` (run by `scripts/test`: the same drill over HTTP on a served copy).
//! - Rotating the personal-data key: see `key_rotation`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xiaowei_core::PiiCipher;
use xiaowei_server::Config;
use xiaowei_store::{Backend, Store};

pub const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "xiaowei.db";
const PG_FILE: &str = "xiaowei.pgdump";
const ATTACHMENTS: &str = "attachments";
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// The newest migration applied in the copied database.
    pub schema_version: i64,
    pub ledger: LedgerHead,
    /// A keyed hash of a fixed text under the personal-data key: tells a restore whether the key
    /// it has is the one this database was sealed with, and reveals nothing about the key.
    pub pii_key_check: Option<String>,
    /// `local` (files copied) or `s3` (files stay in the bucket and are not in this backup).
    pub attachments: String,
    pub files: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
pub struct LedgerHead {
    pub size: u64,
    /// Root hash, lowercase hex.
    pub root: String,
}

#[derive(Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the backup folder, with `/`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

fn key_check(cipher: &PiiCipher) -> String {
    cipher.blind_index("backup-key-check", "xiaowei")
}

fn attachments_dir(config: &Config) -> PathBuf {
    config.attachments.dir.clone().unwrap_or_else(|| config.attachments_dir())
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(!dir.exists() || std::fs::read_dir(dir)?.next().is_none())
}

fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).with_context(|| format!("无法读取 {}", path.display()))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Every regular file under `dir`, relative, sorted; files being written (`name#n`) are skipped.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else { continue };
        for entry in entries {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !entry.file_name().to_string_lossy().contains('#') {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn slash(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// `xiaowei backup DEST`: works while the server runs.
pub async fn backup(config: &Config, dest: &Path) -> Result<()> {
    let started = Instant::now();
    // Mid-rotation the data is sealed under two keys, and the manifest can name only one.
    if xiaowei_server::keyring::next_key_path(config).exists() {
        bail!("个人信息密钥轮换尚未完成：请先运行 xiaowei keys rotate 完成轮换，再备份");
    }
    if !is_empty_dir(dest)? {
        bail!("备份目录 {} 不是空目录：请指定新目录", dest.display());
    }
    crate::files::secure_dir(dest)?;
    let store = Store::connect(config.database_url().expose_secret()).await.context("无法连接数据库")?;
    let mut files = Vec::new();
    let (engine, schema_version, ledger) = match store.backend() {
        Backend::Sqlite => {
            let copy = dest.join(SQLITE_FILE);
            store.vacuum_into(&copy).await.context("复制 SQLite 数据库失败")?;
            crate::files::create_private_file(&copy)?;
            let snapshot = Store::connect(&format!("sqlite://{}?mode=rw", copy.display())).await?;
            let head = snapshot.ledger_head().await?;
            let version = snapshot.schema_version().await?;
            snapshot.close().await;
            files.push(PathBuf::from(SQLITE_FILE));
            ("sqlite", version, head)
        }
        Backend::Postgres => {
            let snapshot = store.export_snapshot().await.context("无法建立数据库快照")?;
            let out = dest.join(PG_FILE);
            let status = Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--no-owner")
                .arg(format!("--snapshot={}", snapshot.id))
                .arg(format!("--file={}", out.display()))
                .arg(format!("--dbname={}", config.database_url().expose_secret()))
                .status()
                .context("无法运行 pg_dump：请安装与数据库同版本的 PostgreSQL 客户端")?;
            let head = snapshot.ledger;
            snapshot.release().await?;
            if !status.success() {
                bail!("pg_dump 失败（{status}）");
            }
            crate::files::create_private_file(&out)?;
            files.push(PathBuf::from(PG_FILE));
            ("postgres", store.schema_version().await?, head)
        }
    };
    store.close().await;
    let attachments = if config.attachments.backend == "local" {
        let from = attachments_dir(config);
        for rel in files_under(&from)? {
            let to = dest.join(ATTACHMENTS).join(&rel);
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(from.join(&rel), &to).with_context(|| format!("无法复制附件 {}", rel.display()))?;
            files.push(Path::new(ATTACHMENTS).join(rel));
        }
        "local"
    } else {
        eprintln!("附件存放在 S3 存储桶中，不在本备份内：请按存储桶的方式另行备份。");
        "s3"
    };
    let mut entries = Vec::with_capacity(files.len());
    for rel in &files {
        let (bytes, sha256) = sha256_file(&dest.join(rel))?;
        entries.push(FileEntry { path: slash(rel), bytes, sha256 });
    }
    let pii_key_check = crate::keys::existing_pii_key(config)?.map(|k| key_check(&PiiCipher::new(k)));
    let manifest = Manifest {
        format: FORMAT,
        created_at: jiff::Timestamp::now().to_string(),
        engine: engine.into(),
        schema_version,
        ledger: LedgerHead { size: ledger.0, root: xiaowei_core::ledger::hash_hex(&ledger.1) },
        pii_key_check,
        attachments: attachments.into(),
        files: entries,
    };
    let path = dest.join(MANIFEST);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?)?;
    crate::files::secure_dir(dest)?;
    let total: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "备份完成：{}，数据库结构版本 {}，账本 {} 条（根哈希 {}），{} 个文件共 {:.1} MB，用时 {:.1} 秒。",
        dest.display(),
        manifest.schema_version,
        manifest.ledger.size,
        manifest.ledger.root,
        manifest.files.len(),
        total as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );
    println!("备份中不含密钥：请确认已用 xiaowei keys export 另行保管托管密钥。");
    Ok(())
}

/// Reads the manifest and checks every file it lists against its size and SHA-256.
pub fn check(src: &Path) -> Result<Manifest> {
    let text = std::fs::read(src.join(MANIFEST))
        .with_context(|| format!("{} 中没有 {MANIFEST}：这不是小微的备份目录", src.display()))?;
    let manifest: Manifest = serde_json::from_slice(&text).context("manifest.json 已损坏")?;
    if manifest.format != FORMAT {
        bail!("不认识的备份格式 {}", manifest.format);
    }
    let mut problems = Vec::new();
    for entry in &manifest.files {
        if entry.path.split('/').any(|part| part == ".." || part.is_empty()) {
            bail!("manifest.json 中的路径无效：{}", entry.path);
        }
        match sha256_file(&src.join(&entry.path)) {
            Ok((bytes, sha)) if bytes == entry.bytes && sha == entry.sha256 => {}
            Ok(_) => problems.push(format!("{} 的内容与清单不符", entry.path)),
            Err(_) => problems.push(format!("缺少 {}", entry.path)),
        }
    }
    if !problems.is_empty() {
        bail!("备份已损坏，未恢复任何数据：\n{}", problems.join("\n"));
    }
    Ok(manifest)
}

/// The SQLite file a `sqlite:` URL names.
pub fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// `xiaowei restore SRC`: into an empty data folder (only `keys/` may be there already) and, on
/// PostgreSQL, an empty database. Returns whether the restored ledger verifies.
pub async fn restore(config: &Config, src: &Path) -> Result<bool> {
    let started = Instant::now();
    let manifest = check(src)?;
    println!("备份校验通过：{} 个文件与清单一致。", manifest.files.len());
    let data_dir = &config.data_dir;
    if data_dir.exists() {
        for entry in std::fs::read_dir(data_dir)? {
            let name = entry?.file_name();
            if name != "keys" {
                bail!(
                    "数据目录 {} 不是空目录（有 {}）：恢复只能在空的数据目录中进行",
                    data_dir.display(),
                    name.to_string_lossy()
                );
            }
        }
    }
    let key = crate::keys::existing_pii_key(config)?
        .context("找不到个人信息密钥：请先用 xiaowei keys import 导入托管密钥（或设置 XIAOWEI_PII_KEY），再恢复")?;
    if let Some(expected) = &manifest.pii_key_check
        && key_check(&PiiCipher::new(key)) != *expected
    {
        bail!("现有的个人信息密钥不是此备份所用的密钥：请导入对应的托管密钥");
    }
    let engine = if config.uses_sqlite() { "sqlite" } else { "postgres" };
    if engine != manifest.engine {
        bail!("此备份来自 {}，而当前配置的数据库是 {engine}：恢复只能用于同一种数据库", manifest.engine);
    }
    crate::files::secure_dir(data_dir)?;
    let url = config.database_url();
    match engine {
        "sqlite" => {
            let target = sqlite_path(url.expose_secret());
            if target.exists() {
                bail!("数据库文件 {} 已存在", target.display());
            }
            crate::files::create_private_file(&target)?;
            std::fs::copy(src.join(SQLITE_FILE), &target).context("复制数据库失败")?;
        }
        _ => {
            let store = Store::connect(url.expose_secret()).await.context("无法连接数据库")?;
            let empty = store.is_empty().await?;
            store.close().await;
            if !empty {
                bail!("目标数据库不是空库：请新建一个空数据库再恢复");
            }
            let status = Command::new("pg_restore")
                .arg("--no-owner")
                .arg("--exit-on-error")
                .arg(format!("--dbname={}", url.expose_secret()))
                .arg(src.join(PG_FILE))
                .status()
                .context("无法运行 pg_restore：请安装与数据库同版本的 PostgreSQL 客户端")?;
            if !status.success() {
                bail!("pg_restore 失败（{status}）");
            }
        }
    }
    if manifest.attachments == "local" {
        let to = attachments_dir(config);
        for entry in manifest.files.iter().filter(|f| f.path.starts_with("attachments/")) {
            let target = to.join(entry.path.trim_start_matches("attachments/"));
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(src.join(&entry.path), &target)?;
        }
    }
    crate::files::secure_dir(data_dir)?;
    let state = crate::open(config).await?;
    let store = state.store();
    let (size, _) = store.ledger_head().await?;
    let expected = manifest.ledger.root.clone();
    let root_then = if size >= manifest.ledger.size {
        xiaowei_core::ledger::hash_hex(&store.ledger_root(manifest.ledger.size).await?)
    } else {
        String::new()
    };
    let mut clean = crate::ledger_verify::run(&state).await?;
    if root_then != expected {
        println!("- 恢复后的账本与备份清单记录的账本（{} 条，根哈希 {expected}）不符", manifest.ledger.size);
        clean = false;
    }
    println!("恢复后的数据（数据库结构版本 {} → {}）：", manifest.schema_version, store.schema_version().await?);
    for (label, count) in store.row_counts().await? {
        println!("  {label}：{count}");
    }
    store.close().await;
    println!(
        "恢复{}，用时 {:.1} 秒。",
        if clean { "完成" } else { "完成，但账本核验未通过" },
        started.elapsed().as_secs_f64()
    );
    Ok(clean)
}
