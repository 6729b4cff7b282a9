//! 公开账本 pages and files: the signed checkpoint and the tiles (C2SP tlog-checkpoint and
//! tlog-tiles, static and cacheable), the per-leaf 核验 page whose script checks the inclusion
//! proof in the browser, the printable checkpoint sheet and the consistency check of an old
//! checkpoint. Also owns the signing key file. Never changes the log: appends happen in the
//! store, inside the transactions that publish.
//!
//! ## Publication ledger (公开账本)
//!
//! Every publication, correction, withdrawal and catalogue change is a leaf of one append-only
//! Merkle log in the form of Go's checksum database and Certificate Transparency: RFC 6962 hashing,
//! checkpoints in C2SP **tlog-checkpoint** form signed as a C2SP **signed-note** (Ed25519), served as
//! C2SP **tlog-tiles** (`/ledger/checkpoint`, `/ledger/tile/<L>/<N>[.p/<W>]`,
//! `/ledger/tile/entries/<N>[.p/<W>]`; tiles are immutable and cached for a year). The Merkle
//! arithmetic, tile hashing, checkpoint and note code come from the `tlog_tiles` and `signed_note`
//! crates (Cloudflare's ports of Go's `sumdb/tlog` and `sumdb/note`); our own code is the canonical
//! leaf text, the C2SP tile paths (the crate speaks Go's `tile/8/…` spelling) and entry bundles
//! (`core::ledger`, property-tested), and the storage.
//!
//! **Canonical leaf.** UTF-8 text, one `key=value` per line, values escaped (`\` → `\\`, newline →
//! `\n`, CR → `\r`), fields in a fixed order. The header is always
//! `xiaowei-ledger-leaf/1`, `kind`, `object` (row id), `version`, `event`, `org` (org code), `time`
//! (UTC, RFC 3339 seconds). Then per kind:
//!
//! | kind | events | fields |
//! | --- | --- | --- |
//! | `roster` | `publish`, `correct` (a new version), `withdraw` | `programme`, `year`, `period`, `phase`, `settles`, `lineage`, `supersedes`, `correction_reason`, `paid_on`, `publicity_start`, `publicity_end`, `entries`, `total_fen`, `entries_sha256`, `differences_sha256`, one `attachment=<sha256> <file name>` per scan, and `withdraw_reason` on withdrawal |
//! | `disclosure` | `publish`, `correct`, `withdraw` | `category`, `title`, `period`, `period_start`, `period_end`, `lineage`, `supersedes`, `correction_reason`, `body_sha256`, `lines`, `income_fen`, `expense_fen`, `lines_sha256`, `attachment=…`, `withdraw_reason` |
//! | `power_exercise` | `publish`, `update` (a step or file added after publication) | `item`, `title`, `started_on`, `steps`, `documents`, `steps_sha256`, `attachment=…`; the version is the number of steps plus files |
//! | `power_item` | `add` (catalogue change), `update` (责任清单 or 追责清单 edited; the version counts them) | `category`, `name`, `basis`, `materials`, `responsible`, `total_days`, `steps_sha256`, `risks_sha256`, then, once the item has either list, `duties_sha256` (seq, step, bearer, duty) and `accountability_sha256` (seq, breach, measure, basis); leaves written before the lists existed are unchanged and still rebuild |
//! | `service_item` | `add`, `update`, `withdraw` (taken off the catalogue), `restore`; the version counts public changes | `department`, `name`, `conditions`, `materials`, `steps`, `time_limit`, `fee`, `contact_phone`, `external_url`, `requires_id`, `active` (org empty: county-wide) |
//!
//! **Leaf format 2** (`xiaowei-ledger-leaf/2`): a roster leaf written by a server holding the
//! **ledger audit key** (`core::ledger::AuditKey`; `<data_dir>/keys/ledger-audit.key`, generated on
//! first start, or `XIAOWEI_LEDGER_AUDIT_KEY`) adds `accounts_hmac` after `differences_sha256`: the
//! HMAC-SHA256 under that key of the rows (row no, ID blind index, account blind index), so that
//! the public cannot test guesses against it but `xiaowei ledger verify`, run by the county
//! discipline commission with the key, catches an account switched to another person's. The key is
//! unrelated to the signing key and never published. Rotation: install the new key on every server
//! (rosters published from then on use it) and hand it to the commission, which keeps the old key
//! for older leaves; verify checks with the key it is given. Format-1 leaves stay as they are and
//! are rebuilt in format 1 (`same_format` in `store::ledger`); a format-2 leaf rebuilt without the
//! key keeps its stored `accounts_hmac` unchecked (verify says so). The keyed rows never enter a
//! page's copy. Limits: the HMAC covers the account's blind index, so an insider who writes another
//! person's ciphertext without also writing its index is not caught by it.
//!
//! A `*_sha256` field is the SHA-256 (hex) of rows, each row being its cells escaped as above (and tab
//! as `\t`), joined by a tab and ended by a newline: roster entries are (row no, name, masked ID,
//! group, amount in fen, note) in row order — only what the public page shows, never a clear ID;
//! differences (kind, name, masked ID, proposed fen, paid fen, reason); finance lines (row no, date,
//! summary, income fen, expense fen, note); a disclosure body is one row of one cell. Bulky lists are
//! digested so that a leaf stays far below the 65,535-byte limit of an entry bundle.
//!
//! **Tables** (migration `0009_ledger.sql`, both engines): `ledger_leaves` (index, kind, object id,
//! version, event, org, time, leaf hash, canonical bytes; unique on kind+object+version+event),
//! `ledger_hashes` (every stored tree hash by its Go `tlog` stored-hash index), `ledger_head` (one
//! row: the size). Leaves and hashes refuse UPDATE and DELETE by trigger.
//!
//! **Append path.** `Store::publish_roster`, `publish_disclosure`, the withdrawal branch of the
//! shared compare-and-set, `publish_power_exercise`, `record_power_step` / `add_power_document` on
//! a published record, `add_power_item`, and the service catalogue's `upsert_service_item`,
//! `update_service_item` and `set_service_item_active` build their leaf from the rows they just wrote and call
//! `append_leaf_in` **inside the same transaction**: it locks `ledger_head` (`SELECT … FOR UPDATE`
//! on PostgreSQL; SQLite transactions are `BEGIN IMMEDIATE`), returns the existing leaf if the same
//! (kind, object, version, event) is already there, computes the new stored hashes and bumps the
//! size. So several servers on one database write one gapless sequence, and a publication without
//! its leaf cannot be committed. The signing key is generated on first start into
//! `<data_dir>/keys/ledger.key` (or given as `XIAOWEI_LEDGER_KEY`; every server of one database
//! needs the same key); checkpoints are signed on request (Ed25519 is deterministic, so one tree
//! always gets the same checkpoint).
//!
//! **Adding a kind** (e.g. the service catalogue): build the text with
//! `xiaowei_core::ledger::LeafText::new(kind, id, version, event, org, now)` plus `.field(…)` /
//! `.digest(…)`, and either append it in your store transaction with `append_leaf_in` or call
//! `xiaowei_server::public::ledger::append(&state, NewLeaf { … })` right after the change (idempotent, so a
//! retry is safe). Add a re-derivation arm to `Store::rederive_leaf` (and a line to `ledger_gaps`)
//! so `xiaowei ledger verify` checks it, a label in `server::ledger::kind_label`, and the badge
//! (`ledger::badge` + `{% include "ledger_badge.html" %}`) on the public page.
//!
//! **Checking.** `xiaowei ledger verify` rebuilds every leaf from the database and re-hashes every
//! attachment it names, recomputes the tree from the leaves, and lists every public object without
//! its leaf; it exits 1 on any mismatch. Public pages show their newest leaf and link to
//! `/ledger/leaves/{index}`, where `static/ledger-verify.js` checks, in the browser, the checkpoint's
//! Ed25519 signature (WebCrypto; the verifier key `name+hash+base64` is split on its first two `+`
//! only, as the base64 may hold `+`), the leaf from its entry bundle, and the inclusion proof rebuilt
//! from hash tiles against the checkpoint root (RFC 9162 §2.1.3.2).
//!
//! **核验本页.** Every page with a badge (rosters, disclosures, power records, service items) carries
//! `<script type="application/json" id="ledger-copy">`: the leaf text rebuilt from the rows the page
//! was rendered from (`Store::rebuild_leaf`, the same builders the append path uses) and the rows
//! behind each `*_sha256` digest. The page's 核验本页 button runs the leaf check above, then
//! recomputes every digest from the copy with WebCrypto and compares the rebuilt text byte for byte
//! with the leaf from the entry bundle, then compares the text the page displays with the copy:
//! elements marked `data-ledger-field="<leaf field>"` (optionally `data-ledger-format="yuan"` for fen)
//! and tables marked `data-ledger-rows="<digest>" data-ledger-offset data-ledger-cells` (one copy
//! cell index per column, `-` to skip). Any difference says 「本页内容与公开账本记录不一致」 and shows
//! 反映问题 (for a roster, its objection form prefilled with the leaf number). The copy is part of
//! the rendered HTML, so a cached page carries the same bytes it was checked with.
//!
//! `/ledger/sheet` prints the checkpoint with a QR code for the notice board;
//! `/ledger/consistency?checkpoint=…` checks the pasted checkpoint's signature, then rebuilds the
//! whole tree from the leaves' own bytes (`Store::ledger_tree_from_leaves`, O(n), never the stored
//! tree hashes, which could be left alone while a leaf is rewritten), requires today's stored root to
//! equal it, and checks an RFC 6962 §2.1.2 consistency proof (`tlog_tiles::prove_tree`/`check_tree`)
//! from the old checkpoint to that tree. `scripts/test` also checks the demo's log
//! with Go's own `golang.org/x/mod/sumdb/tlog` and `sumdb/note` (`tests/tlog-go/`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::ledger::{self, TilePath, check_tree, hash_base64, hash_hex};
use xiaowei_store::{LeafRef, LedgerLeaf, NewLeaf};

use crate::app::ledger::{WitnessView, short_hash};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ledger", get(overview))
        .route("/ledger/checkpoint", get(checkpoint))
        .route("/ledger/tile/{*path}", get(tile))
        .route("/ledger/leaves/{index}", get(verify_page))
        .route("/ledger/sheet", get(sheet))
        .route("/ledger/sheet/qr.svg", get(sheet_qr))
        .route("/ledger/consistency", get(consistency))
}

/// Appends a leaf for a state change made outside the store's own publishing use cases (e.g.
/// a service catalogue item): build `content` with `xiaowei_core::ledger::LeafText`, call this
/// right after the change. Idempotent: the same (kind, object, version, event) is logged once.
///
/// ```ignore
/// let mut text = LeafText::new("service_item", id, version, "publish", Some(&org), now)?;
/// text.field("name", &item.name).field("phone", &item.phone);
/// ledger::append(&state, NewLeaf { kind: "service_item".into(), object_id: id, version,
///     event: "publish".into(), org_code: Some(org), at: now, content: text.finish()?,
///     rows: Vec::new() }).await?;
/// ```
pub async fn append(state: &AppState, leaf: NewLeaf) -> Result<LeafRef, AppError> {
    Ok(state.store().append_leaf(&leaf).await?)
}

/// What a public page shows about its newest leaf, with the machine-readable copy of what the
/// page shows that 核验 checks against the leaf.
pub struct LeafBadge {
    pub index: i64,
    pub hash: String,
    pub time: String,
    /// JSON, safe inside `<script type="application/json">`: `index`, `lines` (the leaf text
    /// rebuilt from the published rows, line by line) and `rows` (the rows behind each digest).
    pub copy: String,
    /// Where 反映问题 leads when the page and the ledger disagree.
    pub report: String,
    /// The log's public key, which 核验 checks the checkpoint with.
    pub vkey: String,
    /// The configured witnesses (JSON `[{name, vkey}]`), whose cosignatures 核验 checks.
    pub witnesses: String,
}

/// The newest leaf of a public object, for its page.
pub async fn badge(state: &AppState, kind: &str, object_id: i64) -> Result<Option<LeafBadge>, AppError> {
    let Some(leaf) = state.store().latest_leaf_of(kind, object_id).await? else {
        return Ok(None);
    };
    let rebuilt = state.store().rebuild_leaf(&leaf).await?.flatten();
    let copy = page_copy(leaf.idx, rebuilt.as_ref());
    let report = match kind {
        "roster" => format!("/rosters/{object_id}/objection?ledger={}", leaf.idx),
        _ => match &leaf.org_code {
            Some(org) => match state.org(org).await? {
                Some(o) if o.level == xiaowei_core::OrgLevel::Village => {
                    format!("/t/{}/messages/new?kind=complaint&ledger={}", o.parent_code.unwrap_or_default(), leaf.idx)
                }
                Some(o) => format!("/t/{}/messages/new?kind=complaint&ledger={}", o.code, leaf.idx),
                None => String::new(),
            },
            None => String::new(),
        },
    };
    let vkey = state.ledger_key().await?.vkey().to_owned();
    let witnesses = witness_keys_json(state);
    Ok(Some(LeafBadge {
        index: leaf.idx,
        hash: leaf.hash_hex(),
        time: shanghai_time(leaf.at),
        copy,
        report,
        vkey,
        witnesses,
    }))
}

/// The configured witnesses as JSON (`[{name, vkey}]`) for 核验's data attribute.
fn witness_keys_json(state: &AppState) -> String {
    let keys: Vec<serde_json::Value> =
        state.config().witnesses.iter().map(|w| serde_json::json!({ "name": w.name, "vkey": w.vkey })).collect();
    serde_json::Value::Array(keys).to_string()
}

/// The machine-readable copy of a page: the leaf text rebuilt from what the page shows, and the
/// rows behind its digests. `<` is escaped so the JSON cannot end its script element.
fn page_copy(index: i64, rebuilt: Option<&NewLeaf>) -> String {
    let (lines, rows) = match rebuilt {
        Some(leaf) => {
            let text = String::from_utf8_lossy(&leaf.content);
            let rows: serde_json::Map<String, serde_json::Value> =
                leaf.rows.iter().map(|(key, rows)| (key.clone(), serde_json::json!(rows))).collect();
            (text.lines().map(str::to_owned).collect::<Vec<_>>(), rows)
        }
        None => (Vec::new(), serde_json::Map::new()),
    };
    serde_json::json!({ "index": index, "lines": lines, "rows": rows }).to_string().replace('<', "\\u003c")
}

/// The current checkpoint with the cosignature lines of the witnesses that cosigned it.
async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let text = crate::app::ledger::witnessed_checkpoint(&state).await?.text;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache, max-age=0")], text)
        .into_response())
}

async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> Result<Response, AppError> {
    let parsed = TilePath::parse(&path).map_err(|_| {
        AppError::invalid("瓦片路径无效：应为 tile/<层>/<编号>[.p/<宽度>] 或 tile/entries/<编号>[.p/<宽度>]")
    })?;
    let (size, _) = state.store().ledger_head().await?;
    let bytes = state.store().ledger_tile(parsed, size).await?.ok_or(AppError::NotFound)?;
    // A tile's bytes never change once the log has grown past it, partial or full.
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

/// A leaf as listed on the overview.
struct LeafRow {
    index: i64,
    kind: &'static str,
    event: &'static str,
    link: String,
    time: String,
    hash: String,
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "roster" => "惠农资金花名册",
        "disclosure" => "公示公开",
        "power_exercise" => "小微权力运行记录",
        "power_item" => "小微权力清单事项",
        "service_item" => "办事服务事项",
        _ => "其他",
    }
}

fn event_label(event: &str) -> &'static str {
    match event {
        "publish" => "公开",
        "correct" => "更正（新版本）",
        "withdraw" => "撤回",
        "update" => "补充",
        "add" => "新增",
        _ => "变更",
    }
}

fn public_link(leaf: &LedgerLeaf) -> String {
    match leaf.kind.as_str() {
        "roster" => format!("/rosters/{}", leaf.object_id),
        "disclosure" => format!("/disclosures/{}", leaf.object_id),
        "power_exercise" => format!("/power-records/{}", leaf.object_id),
        "power_item" => format!("/powers/{}", leaf.object_id),
        _ => String::new(),
    }
}

impl From<&LedgerLeaf> for LeafRow {
    fn from(l: &LedgerLeaf) -> Self {
        Self {
            index: l.idx,
            kind: kind_label(&l.kind),
            event: event_label(&l.event),
            link: public_link(l),
            time: shanghai_time(l.at),
            hash: l.hash_hex(),
        }
    }
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct OverviewPage {
    size: u64,
    root_hex: String,
    checkpoint: String,
    vkey: String,
    origin: String,
    recent: Vec<LeafRow>,
    witnesses: Vec<WitnessView>,
    confirmed: usize,
}

async fn overview(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let key = state.ledger_key().await?;
    let witnessed = crate::app::ledger::witnessed_checkpoint(&state).await?;
    let confirmed = witnessed.confirmed();
    let (size, root, checkpoint) = (witnessed.size, witnessed.root, witnessed.text);
    let from = size.saturating_sub(20);
    let mut recent: Vec<LeafRow> = state.store().ledger_leaves(from, 20).await?.iter().map(LeafRow::from).collect();
    recent.reverse();
    let page = OverviewPage {
        size,
        root_hex: hash_hex(&root),
        checkpoint,
        vkey: key.vkey().to_owned(),
        origin: key.origin().to_owned(),
        recent,
        witnesses: witnessed.witnesses,
        confirmed,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "ledger_verify.html")]
struct VerifyPage {
    leaf: LeafRow,
    text: String,
    vkey: String,
    witnesses: String,
}

async fn verify_page(State(state): State<AppState>, Path(index): Path<String>) -> Result<Html<String>, AppError> {
    let index: u64 = index.trim().parse().map_err(|_| AppError::invalid("账本记录编号应为数字"))?;
    let leaf = state.store().ledger_leaf(index).await?.ok_or(AppError::NotFound)?;
    let key = state.ledger_key().await?;
    let page = VerifyPage {
        leaf: LeafRow::from(&leaf),
        text: String::from_utf8_lossy(&leaf.content).into_owned(),
        vkey: key.vkey().to_owned(),
        witnesses: witness_keys_json(&state),
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "ledger_sheet.html")]
struct SheetPage {
    size: u64,
    root_hex: String,
    root_base64: String,
    date: String,
    checkpoint: String,
    vkey: String,
    /// The newest checkpoint a witness cosigned: size, short root hash, who.
    witnessed: Option<(u64, String, String)>,
    witness_count: usize,
}

async fn sheet(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let key = state.ledger_key().await?;
    let w = crate::app::ledger::witnessed_checkpoint(&state).await?;
    let witness_count = w.witnesses.len();
    let witnessed = w.newest.map(|(size, root, names)| (size, short_hash(&root), names.join("、")));
    let (size, root, checkpoint) = (w.size, w.root, w.text);
    let page = SheetPage {
        size,
        root_hex: hash_hex(&root),
        root_base64: hash_base64(&root),
        date: shanghai_time(state.now()),
        checkpoint,
        vkey: key.vkey().to_owned(),
        witnessed,
        witness_count,
    };
    Ok(Html(page.render()?))
}

/// The QR code of the current checkpoint text, so that a photo of the notice board can be
/// pasted into the consistency check years later.
async fn sheet_qr(State(state): State<AppState>) -> Result<Response, AppError> {
    let checkpoint = crate::app::ledger::witnessed_checkpoint(&state).await?.text;
    let code = qrcode::QrCode::with_error_correction_level(checkpoint.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).quiet_zone(true).build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-cache")], svg).into_response())
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    #[serde(default)]
    checkpoint: String,
}

/// The outcome of checking an old checkpoint against today's.
struct Verdict {
    ok: bool,
    headline: String,
    detail: String,
    old_size: u64,
    old_root: String,
    proof: Vec<String>,
}

#[derive(Template)]
#[template(path = "ledger_consistency.html")]
struct ConsistencyPage {
    pasted: String,
    size: u64,
    root_hex: String,
    error: String,
    verdict: Option<Verdict>,
}

async fn consistency(State(state): State<AppState>, Query(q): Query<ConsistencyQuery>) -> Result<Response, AppError> {
    let key = state.ledger_key().await?;
    let (size, root) = state.store().ledger_head().await?;
    let pasted = q.checkpoint.chars().take(4000).collect::<String>();
    let mut page = ConsistencyPage {
        pasted: pasted.clone(),
        size,
        root_hex: hash_hex(&root),
        error: String::new(),
        verdict: None,
    };
    if pasted.trim().is_empty() {
        return Ok(Html(page.render()?).into_response());
    }
    let old = match ledger::open_checkpoint(&pasted, key.vkey()) {
        Ok(old) => old,
        Err(e) => {
            page.error = e.to_string();
            return Ok((axum::http::StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
    };
    let (old_size, old_root) = (old.size(), *old.hash());
    let mut verdict = Verdict {
        ok: false,
        headline: String::new(),
        detail: String::new(),
        old_size,
        old_root: hash_hex(&old_root),
        proof: Vec::new(),
    };
    // Measured against the tree of the leaves as they are now, not the stored tree hashes,
    // which can be left untouched while a leaf is rewritten.
    let rebuilt = match state.store().ledger_tree_from_leaves().await {
        Ok((count, cache)) => ledger::tree_hash(count, &cache).ok().map(|r| (count, r, cache)),
        Err(xiaowei_store::StoreError::Ledger(why)) => {
            tracing::warn!(%why, "ledger leaves cannot be rebuilt into a tree");
            None
        }
        Err(e) => return Err(e.into()),
    };
    match rebuilt {
        Some((count, leaf_root, _)) if count != size || leaf_root != root => {
            verdict.headline = "不一致：今天的账本记录与它的哈希树对不上".into();
            verdict.detail =
                "按账本记录原文重新计算的根哈希与本站今天签发的不同：记录或哈希曾被直接改动。请向县纪委监委反映。"
                    .into();
        }
        None => {
            verdict.headline = "不一致：今天的账本记录无法重建哈希树".into();
            verdict.detail = "账本记录的编号不连续或数据损坏：记录曾被直接改动或删除。请向县纪委监委反映。".into();
        }
        Some(_) if old_size > size => {
            verdict.headline = "不一致：这份检查点记录的条数比今天的账本还多".into();
            verdict.detail = format!("旧检查点有 {old_size} 条记录，今天只有 {size} 条：账本被删减或回退过。");
        }
        Some(_) if old_size == 0 => {
            verdict.ok = true;
            verdict.headline = "一致：旧检查点是空账本，今天的账本由它只追加而来".into();
        }
        Some((_, _, cache)) => {
            let proof =
                ledger::prove_tree(size, old_size, &cache).map_err(|e| AppError::Internal(format!("proof: {e}")))?;
            verdict.proof = proof.iter().map(hash_hex).collect();
            if check_tree(&proof, size, root, old_size, old_root).is_ok() {
                verdict.ok = true;
                verdict.headline = "一致：账本自那时起只追加过，从未改写".into();
                verdict.detail = format!(
                    "旧检查点的前 {old_size} 条记录原样保留在今天的 {size} 条记录中（下面的一致性证明由账本记录原文重新计算，已在服务器上按 RFC 6962 核对，您也可以用任何独立工具复核）。"
                );
            } else {
                verdict.headline = "不一致：今天的账本与这份检查点对不上".into();
                verdict.detail =
                    "这份检查点的签名是真的，但它记录的根哈希与今天账本的前几条记录不符：账本曾被改写。请向县纪委监委反映。".into();
            }
        }
    }
    page.verdict = Some(verdict);
    Ok(Html(page.render()?).into_response())
}
