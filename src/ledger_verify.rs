//! `xiaowei ledger verify`: checks the publication ledger against the database as it is now.
//! Every leaf is rebuilt from the published content (and every attachment it names is hashed
//! again from storage), the Merkle tree is recomputed from the leaves, and every public object is
//! checked to have its leaf. Roster leaves in format 2 are checked with the ledger audit key
//! (`XIAOWEI_LEDGER_AUDIT_KEY` or `<data_dir>/keys/ledger-audit.key`), which catches a payment
//! account switched in the database. Every checkpoint a configured witness cosigned (stored with
//! the log, and the latest each reachable witness serves) must be provable from the tree rebuilt
//! from the leaves, which catches a rewrite whose tree was recomputed. Reads only; reports every
//! mismatch and never repairs anything.

use anyhow::Result;
use sha2::{Digest, Sha256};
use xiaowei_core::ledger::{
    self, Checkpoint, HashCache, hash_from_bytes, leaf_hash, stored_hash_index, stored_hashes_for_record_hash,
};
use xiaowei_core::witness::{self, CosignatureVerifier};
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
    problems.extend(witnessed(state, count, &cache).await?);
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

/// Checks every checkpoint a configured witness cosigned, as stored with the log and as each
/// reachable witness serves its latest: the cosignature must verify with the witness's key, and
/// the witnessed root must be the root of that many leaves of the tree rebuilt from today's
/// leaves. A database rewritten and its tree recomputed fails here, since the witness keeps the
/// old root. Returns the problems found.
async fn witnessed(state: &AppState, count: u64, cache: &HashCache) -> Result<Vec<String>> {
    let witnesses = &state.config().witnesses;
    let mut problems = Vec::new();
    if witnesses.is_empty() {
        println!("未配置见证方：账本没有独立的副署可供核对。");
        return Ok(problems);
    }
    let log = state.ledger_key().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let check = |who: &str, size: u64, root: ledger::Hash, source: &str| {
        if size > count {
            Some(format!("见证方「{who}」确认过 {size} 条记录（{source}），数据库只有 {count} 条：账本被删减或回退过"))
        } else if ledger::tree_hash(size, cache).ok() != Some(root) {
            Some(format!(
                "数据库与见证方「{who}」确认的检查点不一致（{source}：{size} 条，根哈希 {}）：账本记录被改写过",
                ledger::hash_hex(&root)
            ))
        } else {
            None
        }
    };
    let stored = state.store().all_cosignatures().await?;
    for w in witnesses {
        let verifier = CosignatureVerifier::new(&w.vkey)?;
        let mut newest = 0;
        for c in stored.iter().filter(|c| c.witness == w.vkey) {
            let body = Checkpoint::new(log.origin(), c.size, c.root, "")
                .map_err(|_| anyhow::anyhow!("账本名称无效：{}", log.origin()))?
                .to_bytes();
            match verifier.find(&body, &c.signature) {
                Ok(Some(_)) => {
                    newest = newest.max(c.size);
                    problems.extend(check(&w.name, c.size, c.root, "本站保存的副署"));
                }
                _ => problems.push(format!("见证方「{}」对第 {} 条检查点的副署签名无效", w.name, c.size)),
            }
        }
        match fetch_witness_checkpoint(&w.url, log.origin(), log.vkey(), &verifier).await {
            Ok((size, root)) => {
                newest = newest.max(size);
                problems.extend(check(&w.name, size, root, "见证方当前保存的检查点"));
            }
            Err(why) => println!("未能向见证方「{}」取得其最新检查点（{why}），只核对了本站保存的副署。", w.name),
        }
        println!("见证方「{}」：已确认到第 {newest} 条记录。", w.name);
    }
    Ok(problems)
}

/// The latest checkpoint a witness cosigned for this log (`GET <url>/<origin hash>/checkpoint`),
/// checked against the log's key and the witness's key.
async fn fetch_witness_checkpoint(
    url: &str,
    origin: &str,
    log_vkey: &str,
    verifier: &CosignatureVerifier,
) -> Result<(u64, ledger::Hash), String> {
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let address = format!("{}/{}/checkpoint", url.trim_end_matches('/'), witness::origin_hash(origin));
    let response = client.get(&address).send().await.map_err(|e| format!("无法连接：{e}"))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    let body = ledger::open_checkpoint(&text, log_vkey).map_err(|e| e.to_string())?;
    let note = witness::note_body(&text).ok_or("检查点格式不正确")?;
    match verifier.find(note.as_bytes(), &text) {
        Ok(Some(_)) => Ok((body.size(), *body.hash())),
        _ => Err("见证方的副署签名无法验证".into()),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
