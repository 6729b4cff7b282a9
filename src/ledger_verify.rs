//! `xiaowei ledger verify`: checks the publication ledger against the database as it is now.
//! Every leaf is rebuilt from the published content (and every attachment it names is hashed
//! again from storage), the Merkle tree is recomputed from the leaves, and every public object is
//! checked to have its leaf. Roster leaves in format 2 are checked with the ledger audit key
//! (`XIAOWEI_LEDGER_AUDIT_KEY` or `<data_dir>/keys/ledger-audit.key`), which catches a payment
//! account switched in the database. Reads only; reports every mismatch and never repairs anything.

use anyhow::Result;
use sha2::{Digest, Sha256};
use xiaowei_core::ledger::{
    self, HashCache, hash_from_bytes, leaf_hash, stored_hash_index, stored_hashes_for_record_hash,
};
use xiaowei_server::AppState;

/// Runs every check and prints a report; `Ok(true)` when everything matches.
pub async fn run(state: &AppState) -> Result<bool> {
    // Roster leaves written before a key rotation cover the indexes of the key then in use.
    let retired = xiaowei_server::keyring::retired_keys(state.config())?;
    let store = &state
        .store()
        .clone()
        .with_retired_pii_keys(state.cipher().clone(), retired.into_iter().map(xiaowei_core::PiiCipher::new).collect());
    let mut problems: Vec<String> = Vec::new();
    let cache = HashCache::default();
    let mut expected_hashes: Vec<(u64, ledger::Hash)> = Vec::new();
    let mut count: u64 = 0;
    let mut checked_files = std::collections::HashSet::new();
    if !store.has_audit_key() {
        println!("未取得账本审计密钥：花名册的收款账户摘要（accounts_hmac）无法核对。");
    }
    loop {
        let batch = store.ledger_leaves(count, 500).await?;
        if batch.is_empty() {
            break;
        }
        for leaf in &batch {
            let index = count;
            count += 1;
            if u64::try_from(leaf.idx).ok() != Some(index) {
                problems.push(format!("账本编号不连续：应为 {index}，实为 {}", leaf.idx));
            }
            let hash = leaf_hash(&leaf.content);
            if hash_from_bytes(&leaf.leaf_hash) != Some(hash) {
                problems.push(format!("第 {index} 号记录：保存的哈希与记录原文不符"));
            }
            match store.rederive_leaf(leaf).await? {
                None => println!("第 {index} 号记录（{}）：没有可重建的内容，只核对了哈希", leaf.kind),
                Some(rebuilt) if rebuilt == leaf.content => {}
                Some(rebuilt) if rebuilt.is_empty() => {
                    problems.push(format!("第 {index} 号记录：{} {} 已从数据库中消失", leaf.kind, leaf.object_id));
                }
                Some(rebuilt) => {
                    let old = String::from_utf8_lossy(&leaf.content).into_owned();
                    let new = String::from_utf8_lossy(&rebuilt).into_owned();
                    let changed: Vec<String> = old
                        .lines()
                        .zip(new.lines())
                        .filter(|(a, b)| a != b)
                        .map(|(a, b)| format!("    账本：{a}\n    现在：{b}"))
                        .collect();
                    let accounts = if changed.iter().any(|c| c.contains("accounts_hmac=")) {
                        "\n    （accounts_hmac 不符：收款账户或身份证索引被改动，或所用审计密钥不是写入时的那把）"
                    } else {
                        ""
                    };
                    problems.push(format!(
                        "第 {index} 号记录（{} {}，{}）与数据库现有内容不符，数据库可能被直接改动：\n{}{accounts}",
                        leaf.kind,
                        leaf.object_id,
                        leaf.event,
                        changed.join("\n")
                    ));
                }
            }
            if let Ok(text) = std::str::from_utf8(&leaf.content) {
                for line in text.lines().filter_map(|l| l.strip_prefix("attachment=")) {
                    let sha = line.split(' ').next().unwrap_or_default().to_owned();
                    if !checked_files.insert(sha.clone()) {
                        continue;
                    }
                    match state.attachments().get(&sha).await {
                        Ok(bytes) if hex_sha256(&bytes) == sha => {}
                        Ok(_) => problems.push(format!("第 {index} 号记录的附件 {sha} 文件内容已被改动")),
                        Err(_) => problems.push(format!("第 {index} 号记录的附件 {sha} 文件缺失")),
                    }
                }
            }
            let new = stored_hashes_for_record_hash(index, hash, &cache)?;
            let base = stored_hash_index(0, index);
            for (k, h) in (0u64..).zip(new) {
                cache.insert(base + k, h);
                expected_hashes.push((base + k, h));
            }
        }
    }
    // The stored tree must be exactly the tree of the stored leaves.
    let mut from = 0u64;
    let mut stored_count = 0usize;
    loop {
        let rows = store.ledger_stored_hashes(from, 5000).await?;
        let Some(last) = rows.last() else { break };
        from = last.0 + 1;
        for (idx, bytes) in rows {
            stored_count += 1;
            let want = expected_hashes.get(usize::try_from(idx).unwrap_or(usize::MAX)).map(|(_, h)| *h);
            if want.is_none() || hash_from_bytes(&bytes) != want {
                problems.push(format!("默克尔树第 {idx} 个存储哈希与记录不符"));
            }
        }
    }
    if stored_count != expected_hashes.len() {
        problems.push(format!("默克尔树应有 {} 个存储哈希，实有 {stored_count} 个", expected_hashes.len()));
    }
    let (size, root) = store.ledger_head().await?;
    if size != count {
        problems.push(format!("账本头记录的条数为 {size}，实有 {count} 条记录"));
    } else if ledger::tree_hash(count, &cache)? != root {
        problems.push("账本根哈希与记录重新计算的不符".into());
    }
    for (kind, id, why) in store.ledger_gaps().await? {
        problems.push(format!("{kind} {id}：{why}"));
    }
    if problems.is_empty() {
        println!("账本核验通过：{count} 条记录均与数据库内容和附件一致，根哈希 {}。", ledger::hash_hex(&root));
        Ok(true)
    } else {
        println!("账本核验发现 {} 处不一致：", problems.len());
        for p in &problems {
            println!("- {p}");
        }
        Ok(false)
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
