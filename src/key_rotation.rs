//! `xiaowei keys rotate`: replaces the personal-data key while the server keeps running.
//!
//! 1. The new key (generated, or `--new-key FILE`) is written to `keys/pii.key.next`; running
//!    servers load it within a second and from then on seal with it and read with both keys.
//! 2. Every table of [`xiaowei_store::ROTATED_TABLES`] is re-sealed and re-indexed in batches, one
//!    transaction each, the progress kept in the database: an interrupted run (or `--max-batches`)
//!    resumes where it stopped, and a re-run changes nothing already done.
//! 3. When no sealed value is left under the old key, the old key file is kept as
//!    `pii.key.retired-<date>` and the new key becomes `pii.key`. Start, every finished table and
//!    the end are written to the audit log.
//!
//! ## Rotating the personal-data key
//!
//! Every sealed value starts with `xw1` and the 4-byte id of its key (older values, without, are
//! opened by trying each key). `crates/server/src/keyring.rs` is the one place that knows the key
//! files: `pii.key`, and during a rotation `pii.key.next`; the server's `PiiCipher` is then a ring of
//! both (seal and index with the new, open with either, `blind_indexes` gives new then old for
//! look-ups such as the self-query), and a watcher re-reads the files every second so a running
//! server follows. `xiaowei keys rotate` (`src/key_rotation.rs`) walks `xiaowei_store::ROTATED_TABLES`
//! (`crates/store/src/pii_rotation.rs`) a batch per transaction, re-sealing by compare-and-set and
//! recording a per-table cursor (`pii_key_rotation_progress`, migration 0023), so it resumes; ID
//! indexes without a sealed value beside them (differences, hits, leads) are recomputed first, from
//! the entries and registry records that still hold the old index. It finishes only when no value is
//! sealed under the old key, keeps the old file as `pii.key.retired-<date>` and audits start, tables
//! and end. Hashes of secrets (query passwords, kiosk tokens, link and cookie tags) use a token key
//! (`keys/token.key`, the first key's index half) that rotations keep. Roster ledger leaves cover the
//! ID and account indexes of their time under the audit key, and the differences of a published
//! roster keep their index (it orders the public `differences_sha256`); `ledger verify` re-derives
//! `accounts_hmac` with each retired key when the current indexes do not reproduce it. Screening is
//! refused while a rotation runs, since it compares indexes across tables.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xiaowei_core::{PiiCipher, PiiKey};
use xiaowei_server::Config;
use xiaowei_server::keyring;
use xiaowei_store::{NewAuditEntry, ROTATED_TABLES, Store};

/// How often the tables are walked again for values a server sealed under the old key before it
/// loaded the new one.
const PASSES: usize = 3;

/// What the operator asked for.
pub struct Options {
    pub new_key: Option<PathBuf>,
    pub batch_size: i64,
    pub max_batches: Option<u64>,
    pub wait: Duration,
}

/// Runs (or resumes) a rotation; a run stopped by `--max-batches` also succeeds.
pub async fn run(config: &Config, store: &Store, options: &Options) -> Result<ExitCode> {
    if config.pii_key.is_some() {
        bail!("个人信息密钥由 XIAOWEI_PII_KEY 提供，无法就地轮换：请改用密钥文件 keys/pii.key");
    }
    if options.batch_size < 1 {
        bail!("--batch-size 至少为 1");
    }
    let key_path = config.key_path();
    let old =
        keyring::read_key(&key_path)?.with_context(|| format!("没有个人信息密钥 {}，无需轮换", key_path.display()))?;
    let next_path = keyring::next_key_path(config);
    let new = match (keyring::read_key(&next_path)?, &options.new_key) {
        (Some(next), Some(file)) if read_given(file)?.id() != next.id() => {
            bail!(
                "已有一次未完成的轮换（新密钥 {}），--new-key 给出的是另一把密钥；请先不带 --new-key 完成它",
                next.id()
            )
        }
        (Some(next), _) => next,
        (None, given) => {
            let key = match given {
                Some(file) => read_given(file)?,
                None => PiiKey::generate(),
            };
            if key.id() == old.id() {
                bail!("新密钥与现用密钥相同");
            }
            if let Some(open) = store.unfinished_pii_rotation().await? {
                bail!("数据库记录着一次未完成的轮换（新密钥 {}），但没有找到 {}", open.new_key_id, next_path.display());
            }
            keyring::keep_token_key(config, &old)?;
            keyring::write_key(&next_path, &key)?;
            key
        }
    };
    let (old_id, new_id) = (old.id(), new.id());
    let started = store.begin_pii_rotation(&old_id, &new_id, now()).await.map_err(|e| match e {
        xiaowei_store::StoreError::Stale(_) => {
            anyhow::anyhow!("数据库中有另一次未完成的轮换，与 {} 不符", next_path.display())
        }
        other => other.into(),
    })?;
    let action = if started { "pii_key.rotate.start" } else { "pii_key.rotate.resume" };
    audit(store, action, &new_id, format!("个人信息密钥轮换：{old_id} → {new_id}")).await?;
    println!(
        "个人信息密钥轮换：{old_id} → {new_id}{}。新密钥已写入 {}。",
        if started { "" } else { "（继续上次未完成的轮换）" },
        next_path.display()
    );
    if !options.wait.is_zero() {
        println!("等待运行中的服务载入新密钥（{} 秒）……", options.wait.as_secs());
        tokio::time::sleep(options.wait).await;
    }
    let cipher = PiiCipher::rotating(new.clone(), old);
    let mut batches: u64 = 0;
    let mut left_over = 0;
    for pass in 0..PASSES {
        for table in ROTATED_TABLES {
            if store.pii_rotation_progress(&new_id, table.name).await?.finished {
                continue;
            }
            let total = store.pii_rotation_total(table).await?;
            loop {
                if options.max_batches.is_some_and(|max| batches >= max) {
                    println!("已按 --max-batches 暂停：再次运行 xiaowei keys rotate 即从中断处继续。");
                    return Ok(ExitCode::SUCCESS);
                }
                let outcome = store.rotate_pii_batch(&new_id, table, &cipher, options.batch_size, now()).await?;
                batches += 1;
                left_over += outcome.left_over;
                println!("  {}：{}/{} 行", table.name, outcome.rows_done, total.max(outcome.rows_done));
                if outcome.finished {
                    break;
                }
            }
            let rows = store.pii_rotation_progress(&new_id, table.name).await?.rows_done;
            audit(store, "pii_key.rotate.table", &new_id, format!("{}：{rows} 行已改用新密钥 {new_id}", table.name))
                .await?;
        }
        let mut stale = Vec::new();
        for table in ROTATED_TABLES {
            let count = store.sealed_under_other_keys(table, &cipher).await?;
            if count > 0 {
                store.restart_pii_rotation_table(&new_id, table.name).await?;
                stale.push(format!("{} {count} 个", table.name));
            }
        }
        if stale.is_empty() {
            break;
        }
        if pass + 1 == PASSES {
            bail!("仍有值由旧密钥加密（{}）：请确认所有服务都已载入新密钥后再运行一次", stale.join("，"));
        }
        println!("轮换期间仍有值以旧密钥写入（{}），再处理一遍。", stale.join("，"));
    }
    if left_over > 0 {
        println!("注意：{left_over} 个派生的身份证索引找不到对应的身份证号（其记录已被删除），保持原值。");
    }
    let retired = retire(config, &key_path, &next_path)?;
    println!("正在按新索引重建各账户的领取人名单（历史花名册多时需要几分钟）……");
    store.finish_pii_rotation(&new_id, now()).await?;
    audit(store, "pii_key.rotate.finish", &new_id, format!("个人信息密钥已轮换为 {new_id}，旧密钥 {old_id} 停用"))
        .await?;
    println!("轮换完成：全部个人信息已改由新密钥 {new_id} 加密并重建索引。");
    println!("旧密钥已改名保存为 {}（只用于打开轮换前的备份和核对轮换前的账本记录）。", retired.display());
    println!("请立即运行 xiaowei keys export 为新密钥另做托管副本：旧的托管副本打不开轮换后的数据。");
    Ok(ExitCode::SUCCESS)
}

/// Keeps the old key as `pii.key.retired-<date>` and moves the new key into `pii.key`. The copy
/// comes first, so at every moment `pii.key` holds a key that opens what it must.
fn retire(config: &Config, key_path: &Path, next_path: &Path) -> Result<PathBuf> {
    let date = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y%m%d").to_string();
    let retired = keyring::retired_key_path(config, &date);
    std::fs::copy(key_path, &retired).with_context(|| format!("无法保存旧密钥到 {}", retired.display()))?;
    std::fs::rename(next_path, key_path).with_context(|| format!("无法把新密钥移入 {}", key_path.display()))?;
    Ok(retired)
}

fn read_given(file: &Path) -> Result<PiiKey> {
    let text = std::fs::read_to_string(file).with_context(|| format!("无法读取 {}", file.display()))?;
    PiiKey::from_hex(&text).with_context(|| format!("{} 不是个人信息密钥（应为128位十六进制字符）", file.display()))
}

async fn audit(store: &Store, action: &str, new_id: &str, detail: String) -> Result<()> {
    let operator = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    store
        .append_audit(&NewAuditEntry {
            at: now(),
            actor_id: None,
            actor_name: format!("命令行:{operator}"),
            action: action.into(),
            target: format!("pii_key:{new_id}"),
            detail,
            ip: "local".into(),
            org_code: None,
        })
        .await?;
    Ok(())
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}
