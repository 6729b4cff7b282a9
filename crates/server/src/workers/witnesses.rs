//! 见证方 on the log's side: submits every new checkpoint to the configured witnesses (C2SP
//! tlog-witness `add-checkpoint`, with a consistency proof from the size each witness last
//! acknowledged), keeps the cosignatures they return, serves the checkpoint with them, and raises
//! an alert when a witness has not cosigned the newest checkpoint in time.
//!
//! Publication never waits for a witness: the submitter runs in the workers loop, a witness that
//! is down only delays its own cosignature, and it is retried with backoff.
//!
//! ## Ledger witnesses (见证方)
//!
//! A witness (`xiaowei witness serve`) is a separate process with its own Ed25519 cosigner key
//! (signed-note type 0x04) and its own SQLite file (`store::WitnessDb`, schema created on open, not
//! the platform's migrations). It speaks C2SP tlog-witness: `POST /add-checkpoint` (old size,
//! consistency proof, checkpoint) is decided by the pure `core::witness::check_add` (404 unknown
//! origin, 403 no valid log signature, 400 malformed or old > size, 409 with `text/x.tlog.size` when
//! the old size is not its latest, 422 when the proof or root does not match) and accepted by a
//! compare-and-swap on the stored (size, root), so concurrent submissions cannot roll it back;
//! `GET /<sha256(origin)>/checkpoint` serves the latest cosigned checkpoint. The platform side
//! (`server::witnesses`, tables `ledger_cosignatures` and `ledger_witness_heads` from migration 0020)
//! runs in the workers loop: it submits the current checkpoint to each configured witness with a proof
//! from the size that witness last acknowledged (a 409 resets that size and resubmits), verifies and
//! stores the returned cosignature, retries with `notify::backoff_secs`, and raises
//! `AlertKind::WitnessLagging` once the first leaf a witness has not cosigned is older than
//! `witness_alert_secs`. Ed25519 signatures are deterministic, so the served checkpoint is
//! byte-identical to the one cosigned and the stored lines are appended to it. `ledger verify`
//! requires every witnessed root (stored, and each reachable witness's own latest) to be the root of
//! that many leaves of the tree rebuilt from the leaves. The cosignature format is proven by a known
//! answer (RFC 8032 key, the spec's example message), by WebCrypto in `ledger-key.test.mjs`, and by
//! Go's `sumdb/note` with a `crypto/ed25519` verifier in `tests/tlog-go` over a real witness's output.

use std::collections::HashMap;

use xiaowei_core::alert::{self, AlertKind, SubjectKind};
use xiaowei_core::ledger::Hash;
use xiaowei_core::witness::{AddCheckpoint, CosignatureVerifier, note_body, parse_size};
use xiaowei_store::{NewAlert, StoredCosignature};

use crate::config::WitnessSettings;
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

/// Submits checkpoints to the witnesses, with a backoff per witness kept in memory.
pub struct Submitter {
    client: reqwest::Client,
    /// Per witness (verifier key): failed attempts in a row, when to try next, the last error.
    retry: HashMap<String, (i64, i64, String)>,
}

impl Submitter {
    pub fn new() -> Result<Self, AppError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| AppError::Internal(format!("witness client: {e}")))?;
        Ok(Self { client, retry: HashMap::new() })
    }

    /// One round at `now`: submits the current checkpoint to each witness that has not cosigned
    /// it and is due, then raises an alert for each witness that has left a published leaf
    /// uncosigned for longer than `witness_alert_secs`. Returns how many cosignatures arrived.
    pub async fn tick(&mut self, state: &AppState, now: i64) -> Result<usize, AppError> {
        let configured = state.config().witnesses.clone();
        if configured.is_empty() {
            return Ok(0);
        }
        let (size, root, text) = crate::app::ledger::current_checkpoint(state).await?;
        if size == 0 {
            return Ok(0);
        }
        let keys: Vec<String> = configured.iter().map(|w| w.vkey.clone()).collect();
        let latest = state.store().latest_cosignatures(&keys).await?;
        let mut arrived = 0;
        for w in &configured {
            let covered = latest.iter().find(|c| c.witness == w.vkey);
            if covered.is_some_and(|c| c.size == size && c.root == root) {
                self.retry.remove(&w.vkey);
                continue;
            }
            if self.retry.get(&w.vkey).is_some_and(|(_, next, _)| *next > now) {
                continue;
            }
            match self.submit(state, w, (size, root), &text, now).await {
                Ok(()) => {
                    self.retry.remove(&w.vkey);
                    arrived += 1;
                }
                Err(why) => {
                    tracing::warn!(witness = %w.name, %why, "witness did not cosign the checkpoint");
                    let attempts = self.retry.get(&w.vkey).map_or(0, |r| r.0) + 1;
                    self.retry
                        .insert(w.vkey.clone(), (attempts, now + crate::workers::notify::backoff_secs(attempts), why));
                }
            }
        }
        let latest = state.store().latest_cosignatures(&keys).await?;
        for w in &configured {
            let covered = latest.iter().find(|c| c.witness == w.vkey).map_or(0, |c| c.size);
            let why = self.retry.get(&w.vkey).map(|r| r.2.clone()).unwrap_or_default();
            raise_if_late(state, w, covered, size, &why, now).await?;
        }
        Ok(arrived)
    }

    /// Submits the checkpoint `text` (of `size` leaves with `root`) to one witness and records its
    /// cosignature; a 409 moves the starting size to the witness's and submits again.
    async fn submit(
        &self,
        state: &AppState,
        w: &WitnessSettings,
        (size, root): (u64, Hash),
        text: &str,
        now: i64,
    ) -> Result<(), String> {
        let verifier = CosignatureVerifier::new(&w.vkey).map_err(|e| e.to_string())?;
        let body = note_body(text).ok_or("检查点格式不正确")?;
        let store = state.store();
        let mut old = store.witness_head(&w.vkey).await.map_err(|e| e.to_string())?;
        for _ in 0..3 {
            if old > size {
                return Err(format!("见证方已确认 {old} 条记录，多于本站账本现有的 {size} 条：账本可能被回退"));
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                store.ledger_consistency_proof(size, old).await.map_err(|e| e.to_string())?
            };
            let request = AddCheckpoint { old, proof, checkpoint: text.as_bytes().to_vec() };
            let url = format!("{}/add-checkpoint", w.url.trim_end_matches('/'));
            let response = self
                .client
                .post(&url)
                .body(request.to_bytes())
                .send()
                .await
                .map_err(|e| format!("无法连接见证方：{e}"))?;
            let status = response.status().as_u16();
            let answer = response.text().await.map_err(|e| format!("见证方应答不完整：{e}"))?;
            match status {
                200 => {
                    let c = verifier
                        .find(body.as_bytes(), &answer)
                        .map_err(|_| "见证方的副署签名无法用其公钥验证".to_owned())?
                        .ok_or("见证方应答中没有其公钥的副署签名")?;
                    store
                        .record_cosignature(&StoredCosignature {
                            witness: w.vkey.clone(),
                            size,
                            root,
                            signature: c.line,
                            signed_at: i64::try_from(c.timestamp).unwrap_or(i64::MAX),
                            received_at: now,
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                    tracing::info!(witness = %w.name, size, "checkpoint cosigned");
                    return Ok(());
                }
                409 => {
                    old = parse_size(&answer).ok_or("见证方的冲突应答格式不正确")?;
                    store.set_witness_head(&w.vkey, old, now).await.map_err(|e| e.to_string())?;
                }
                422 => return Err("见证方拒绝：检查点与它上次确认的不一致（账本可能被改写）".into()),
                403 => return Err("见证方拒绝：它不认可本站的签名公钥".into()),
                404 => return Err("见证方拒绝：它没有登记本站账本".into()),
                other => return Err(format!("见证方应答 HTTP {other}：{}", answer.trim())),
            }
        }
        Err("见证方多次应答冲突".into())
    }
}

/// Raises the alert that witness `w` has cosigned only `covered` of `size` leaves for longer than
/// allowed, counted from the publication of the first leaf it has not cosigned. One alert per
/// witness and covered size.
async fn raise_if_late(
    state: &AppState,
    w: &WitnessSettings,
    covered: u64,
    size: u64,
    why: &str,
    now: i64,
) -> Result<(), AppError> {
    if covered >= size {
        return Ok(());
    }
    let Some(first) = state.store().ledger_leaf(covered).await? else { return Ok(()) };
    if now - first.at < state.config().witness_alert_secs {
        return Ok(());
    }
    let Some(county) = state.store().orgs_at_level(xiaowei_core::OrgLevel::County).await?.into_iter().next() else {
        tracing::warn!(witness = %w.name, "no county to raise the witness alert in");
        return Ok(());
    };
    let why = if why.is_empty() { String::new() } else { format!("；最近一次：{why}") };
    let alert = NewAlert {
        kind: AlertKind::WitnessLagging,
        org_code: county.code.clone(),
        subject_kind: SubjectKind::Witness,
        subject_id: w.vkey.clone(),
        dedup_key: alert::dedup_key(
            AlertKind::WitnessLagging,
            SubjectKind::Witness,
            &w.vkey,
            Some(&covered.to_string()),
        ),
        summary: format!(
            "账本见证方「{}」自 {} 起未确认新的检查点（已确认 {covered} 条，账本现有 {size} 条）{why}",
            w.name,
            shanghai_time(first.at)
        ),
        link: "/ledger".into(),
        restricted: false,
    };
    if state.store().raise_alert(&alert, now).await? {
        state.live().changed(&county.code);
    }
    Ok(())
}

/// Runs the submitter every `every` until the process ends.
pub fn spawn(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut submitter = match Submitter::new() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "witness submitter not started");
                return;
            }
        };
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = submitter.tick(&state, state.now()).await {
                tracing::warn!(error = %e, "witness round failed");
            }
        }
    });
}
