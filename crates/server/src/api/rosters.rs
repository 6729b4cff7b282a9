//! Public rosters (花名册) as data: a place's published, superseded and withdrawn rosters; one
//! roster with its publicity period, versions and, once paid, its differences from the proposed
//! roster; and its entries page by page — names in full, ID numbers masked exactly as the public
//! page shows them, bank accounts never. Drafts and rosters under review answer 404.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xiaowei_core::subsidy::Phase;
use xiaowei_store::{Roster, RosterDifference, RosterEntry};

use super::error::ApiError;
use super::paging::{ApiQuery, Listed, Page, PageQuery, Paging, id_param, int_param};
use super::places::place;
use super::{api_time, leaf_of};
use crate::state::AppState;
use crate::web::error::AppError;

/// A roster in a list.
#[derive(Serialize, ToSchema)]
pub struct RosterSummary {
    pub id: i64,
    pub programme_id: i64,
    #[schema(example = "耕地地力保护补贴")]
    pub programme_name: String,
    /// The village or township that published it.
    pub place_code: String,
    pub year: i64,
    #[schema(example = "2025年")]
    pub period: String,
    /// `proposed` (拟发放公示) or `paid` (发放结果).
    #[schema(example = "proposed")]
    pub phase: String,
    /// `published`, `superseded` (更正后的旧版本) or `withdrawn` (已撤回).
    #[schema(example = "published")]
    pub status: String,
    pub version: i64,
    pub entry_count: i64,
    /// The total in fen (分).
    pub total_fen: i64,
    /// RFC 3339, Asia/Shanghai.
    pub published_at: Option<String>,
}

impl From<&Roster> for RosterSummary {
    fn from(r: &Roster) -> Self {
        Self {
            id: r.id,
            programme_id: r.programme_id,
            programme_name: r.programme_name.clone(),
            place_code: r.org_code.clone(),
            year: r.year,
            period: r.period.clone(),
            phase: r.phase.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            version: r.version,
            entry_count: r.entry_count,
            total_fen: r.total_fen,
            published_at: r.published_at.map(api_time),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterQuery {
    /// The township (9 digits) or village (12 digits) that published the rosters.
    #[param(value_type = String, pattern = "^([0-9]{9}|[0-9]{12})$")]
    place: Option<String>,
    /// Only rosters of this programme.
    #[param(value_type = Option<i64>, minimum = 1)]
    programme: Option<String>,
}

/// The public rosters of a township or village, newest year first.
#[utoipa::path(get, path = "/api/v1/rosters", summary = "花名册列表", tag = "subsidies", params(RosterQuery, PageQuery),
    responses((status = 200, description = "花名册列表", body = Page<RosterSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RosterQuery>,
    paging: Paging,
) -> Result<Listed<RosterSummary>, ApiError> {
    let code = q.place.ok_or_else(|| ApiError::field("place", "地区编码：请填写乡镇或村的编码"))?;
    let programme = int_param(q.programme.as_deref(), "programme", "补贴项目编号", 1, i64::MAX)?;
    let org = place(&state, &code, "place").await?;
    let rosters = state.store().public_rosters_of(&org.code, programme).await?;
    Ok(paging.slice(rosters.iter().map(RosterSummary::from).collect()))
}

/// A public roster (published, superseded or withdrawn); anything else is not found.
async fn public_roster(state: &AppState, id: i64) -> Result<Roster, ApiError> {
    let roster = state.store().find_roster(id).await?.ok_or(AppError::NotFound)?;
    if roster.status.is_public() { Ok(roster) } else { Err(AppError::NotFound.into()) }
}

/// One version of a roster's lineage.
#[derive(Serialize, ToSchema)]
pub struct RosterVersion {
    pub id: i64,
    pub version: i64,
    pub status: String,
    /// Why it was corrected or withdrawn.
    pub reason: Option<String>,
    pub published_at: Option<String>,
}

/// A difference between the paid roster and the proposed one it settles.
#[derive(Serialize, ToSchema)]
pub struct Difference {
    /// `paid_not_proposed`, `proposed_not_paid`, `amount_changed` or `paid_early`.
    pub kind: String,
    /// In Chinese, as the page shows it.
    pub label: String,
    /// Empty for a difference of the whole batch.
    pub name: String,
    pub id_masked: String,
    pub proposed_fen: Option<i64>,
    pub paid_fen: Option<i64>,
    pub reason: Option<String>,
}

impl From<RosterDifference> for Difference {
    fn from(d: RosterDifference) -> Self {
        Self {
            label: d.kind.label().to_owned(),
            kind: d.kind.as_str().to_owned(),
            name: d.name,
            id_masked: d.id_masked,
            proposed_fen: d.proposed_fen,
            paid_fen: d.paid_fen,
            reason: d.reason,
        }
    }
}

/// A roster with everything its public page shows except the entries.
#[derive(Serialize, ToSchema)]
pub struct RosterDetail {
    #[serde(flatten)]
    pub summary: RosterSummary,
    /// Why it was withdrawn, when it was.
    pub status_reason: Option<String>,
    /// The first and last day of the publicity period (公示期), `YYYY-MM-DD`.
    pub publicity_start: Option<String>,
    pub publicity_end: Option<String>,
    pub paid_on: Option<String>,
    /// The proposed roster a paid roster settles.
    pub settles_id: Option<i64>,
    /// The version this one corrects, and why.
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    /// 历史补录: loaded from an archive, not through the online workflow.
    pub backloaded: bool,
    /// The programme's policy basis.
    pub basis: String,
    pub versions: Vec<RosterVersion>,
    /// Paid rosters only: what differs from the proposed roster.
    pub differences: Vec<Difference>,
    /// The newest leaf of the public ledger for this roster (`/ledger/leaves/{index}`).
    pub ledger_leaf: Option<i64>,
}

/// One public roster.
#[utoipa::path(get, path = "/api/v1/rosters/{id}", summary = "花名册详情（含发放差异和版本）", tag = "subsidies",
    params(("id" = i64, Path, description = "花名册编号", minimum = 1)),
    responses((status = 200, description = "花名册", body = RosterDetail)))]
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<RosterDetail>, ApiError> {
    let roster = public_roster(&state, id_param(&id, "id")?).await?;
    let store = state.store();
    let lineage = roster.lineage_id.unwrap_or(roster.id);
    let versions = store
        .roster_versions(lineage)
        .await?
        .iter()
        .filter(|v| v.status.is_public())
        .map(|v| RosterVersion {
            id: v.id,
            version: v.version,
            status: v.status.as_str().to_owned(),
            reason: v.correction_reason.clone().or_else(|| v.status_reason.clone()),
            published_at: v.published_at.map(api_time),
        })
        .collect();
    let differences = if roster.phase == Phase::Paid {
        store.differences(roster.id).await?.into_iter().map(Difference::from).collect()
    } else {
        Vec::new()
    };
    let basis = store.find_programme(roster.programme_id).await?.map(|p| p.basis).unwrap_or_default();
    Ok(axum::Json(RosterDetail {
        summary: RosterSummary::from(&roster),
        ledger_leaf: leaf_of(&state, "roster", roster.id).await?,
        status_reason: roster.status_reason,
        publicity_start: roster.publicity_start,
        publicity_end: roster.publicity_end,
        paid_on: roster.paid_on,
        settles_id: roster.settles_id,
        supersedes_id: roster.supersedes_id,
        correction_reason: roster.correction_reason,
        backloaded: roster.backloaded,
        basis,
        versions,
        differences,
    }))
}

/// An entry as the public page shows it: the ID number masked, no bank account.
#[derive(Serialize, ToSchema)]
pub struct Entry {
    pub row_no: i64,
    #[schema(example = "张建国")]
    pub name: String,
    #[schema(example = "620922********1234")]
    pub id_masked: String,
    /// 村民小组.
    pub group: Option<String>,
    pub amount_fen: i64,
    pub note: Option<String>,
}

impl From<RosterEntry> for Entry {
    fn from(e: RosterEntry) -> Self {
        Self {
            row_no: e.row_no,
            name: e.name,
            id_masked: e.id_masked,
            group: e.group_name,
            amount_fen: e.amount_fen,
            note: e.note,
        }
    }
}

/// The entries of a public roster, in file order.
#[utoipa::path(get, path = "/api/v1/rosters/{id}/entries", summary = "花名册明细", tag = "subsidies",
    params(("id" = i64, Path, description = "花名册编号", minimum = 1), PageQuery),
    responses((status = 200, description = "花名册明细（身份证号已隐藏部分数字）", body = Page<Entry>)))]
pub async fn entries(
    State(state): State<AppState>,
    Path(id): Path<String>,
    paging: Paging,
) -> Result<Listed<Entry>, ApiError> {
    let roster = public_roster(&state, id_param(&id, "id")?).await?;
    let rows = state.store().roster_entries(roster.id, paging.per_page, paging.offset()).await?;
    Ok(paging.listed(rows.into_iter().map(Entry::from).collect(), roster.entry_count))
}
