//! The public ledger's leaves (公开账本) as data, in log order: each leaf's place in the log, what
//! it records and its canonical text, so a client can rebuild the hashes itself (the format is in
//! the module docs of `public::ledger`; proofs come from `/ledger/checkpoint` and the tiles).

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use xiaowei_store::LedgerLeaf;

use super::api_time;
use super::error::ApiError;
use super::paging::{Listed, Page, PageQuery, Paging, int_param};
use crate::state::AppState;
use crate::web::error::AppError;

/// One leaf of the ledger.
#[derive(Serialize, ToSchema)]
pub struct LedgerEntry {
    /// Position in the log, from 0.
    pub index: i64,
    /// `roster`, `disclosure`, `power_exercise`, `power_item` or `service_item`.
    pub kind: String,
    /// The id of the record it is about (e.g. `/api/v1/rosters/{id}`).
    pub object_id: i64,
    pub version: i64,
    /// `publish`, `correct`, `withdraw`, `update`, `add`, `restore`.
    pub event: String,
    pub org_code: Option<String>,
    /// RFC 3339, Asia/Shanghai.
    pub time: String,
    /// The RFC 6962 leaf hash, hex.
    pub hash: String,
    /// The canonical leaf text (`xiaowei-ledger-leaf/…`).
    pub text: String,
}

impl From<LedgerLeaf> for LedgerEntry {
    fn from(leaf: LedgerLeaf) -> Self {
        Self {
            hash: leaf.hash_hex(),
            index: leaf.idx,
            kind: leaf.kind,
            object_id: leaf.object_id,
            version: leaf.version,
            event: leaf.event,
            org_code: leaf.org_code,
            time: api_time(leaf.at),
            text: String::from_utf8_lossy(&leaf.content).into_owned(),
        }
    }
}

/// The ledger's leaves in log order; page `n` holds indexes from `(n - 1) × per_page`.
#[utoipa::path(get, path = "/api/v1/ledger/entries", summary = "公开账本记录列表", tag = "ledger", params(PageQuery),
    responses((status = 200, description = "公开账本记录", body = Page<LedgerEntry>)))]
pub async fn list(State(state): State<AppState>, paging: Paging) -> Result<Listed<LedgerEntry>, ApiError> {
    let store = state.store();
    let (size, _) = store.ledger_head().await?;
    let from = u64::try_from(paging.offset()).unwrap_or(0);
    let leaves = if from < size { store.ledger_leaves(from, paging.per_page).await? } else { Vec::new() };
    Ok(paging.listed(leaves.into_iter().map(LedgerEntry::from).collect(), i64::try_from(size).unwrap_or(i64::MAX)))
}

/// One leaf by its index.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{index}", summary = "公开账本记录", tag = "ledger",
    params(("index" = i64, Path, description = "账本记录序号（从0起）", minimum = 0)),
    responses((status = 200, description = "公开账本记录", body = LedgerEntry)))]
pub async fn detail(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<axum::Json<LedgerEntry>, ApiError> {
    let index = int_param(Some(&index), "index", "账本记录序号", 0, i64::MAX)?.unwrap_or(0);
    let leaf = state.store().ledger_leaf(index.unsigned_abs()).await?.ok_or(AppError::NotFound)?;
    Ok(axum::Json(LedgerEntry::from(leaf)))
}
