//! 公示公开 as data: a township's or village's public disclosures, optionally of one category,
//! and one disclosure with its Markdown text, finance lines and totals, versions and the ledger
//! leaf. Drafts answer 404, as on the pages.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xiaowei_core::disclosure::Category;
use xiaowei_core::subsidy::RosterStatus;
use xiaowei_store::Disclosure;

use super::error::ApiError;
use super::paging::{ApiQuery, Listed, Page, PageQuery, Paging, id_param};
use super::places::place;
use super::{api_time, leaf_of};
use crate::state::AppState;
use crate::web::error::AppError;

/// Disclosures of one place the list reads at most (the public page shows 200).
const LIST_LIMIT: i64 = 1000;

/// A disclosure in a list.
#[derive(Serialize, ToSchema)]
pub struct DisclosureSummary {
    pub id: i64,
    pub place_code: String,
    /// `party`, `village_affairs`, `finance`, `major_matter`, `major_expenditure`, `project`
    /// or `other`.
    pub category: String,
    #[schema(example = "财务公开")]
    pub category_label: String,
    pub title: String,
    #[schema(example = "2025年第三季度")]
    pub period: String,
    /// `published`, `superseded` or `withdrawn`.
    pub status: String,
    pub version: i64,
    pub published_at: Option<String>,
}

impl From<&Disclosure> for DisclosureSummary {
    fn from(d: &Disclosure) -> Self {
        Self {
            id: d.id,
            place_code: d.org_code.clone(),
            category: d.category.as_str().to_owned(),
            category_label: d.category.label().to_owned(),
            title: d.title.clone(),
            period: d.period_label.clone(),
            status: d.status.as_str().to_owned(),
            version: d.version,
            published_at: d.published_at.map(api_time),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisclosureQuery {
    /// The township (9 digits) or village (12 digits) that published them.
    #[param(value_type = String, pattern = "^([0-9]{9}|[0-9]{12})$")]
    place: Option<String>,
    /// Only this category.
    #[param(value_type = Option<String>,
        pattern = "^(party|village_affairs|finance|major_matter|major_expenditure|project|other)$")]
    category: Option<String>,
}

/// The public disclosures of a township or village, newest first.
#[utoipa::path(get, path = "/api/v1/disclosures", summary = "公示公开列表", tag = "disclosures", params(DisclosureQuery, PageQuery),
    responses((status = 200, description = "公示公开列表", body = Page<DisclosureSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DisclosureQuery>,
    paging: Paging,
) -> Result<Listed<DisclosureSummary>, ApiError> {
    let code = q.place.ok_or_else(|| ApiError::field("place", "地区编码：请填写乡镇或村的编码"))?;
    let category = match q.category.as_deref() {
        None => None,
        Some(text) => Some(Category::parse(text).ok_or_else(|| {
            ApiError::field(
                "category",
                "公开类别：应为 party、village_affairs、finance、major_matter、major_expenditure、project 或 other",
            )
        })?),
    };
    let org = place(&state, &code, "place").await?;
    let rows = state.store().public_disclosures_of(&org.code, category, LIST_LIMIT).await?;
    Ok(paging.slice(rows.iter().map(DisclosureSummary::from).collect()))
}

/// One line of a finance disclosure; amounts in fen.
#[derive(Serialize, ToSchema)]
pub struct FinanceLine {
    pub row_no: i64,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub summary: String,
    pub income_fen: i64,
    pub expense_fen: i64,
    pub note: Option<String>,
}

/// One version of a disclosure's lineage.
#[derive(Serialize, ToSchema)]
pub struct DisclosureVersion {
    pub id: i64,
    pub version: i64,
    pub status: String,
    pub reason: Option<String>,
    pub published_at: Option<String>,
}

/// A disclosure with its text and lines.
#[derive(Serialize, ToSchema)]
pub struct DisclosureDetail {
    #[serde(flatten)]
    pub summary: DisclosureSummary,
    /// The text as the clerk wrote it (Markdown).
    pub body: String,
    pub status_reason: Option<String>,
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    /// Finance disclosures: the lines, and the totals in fen.
    pub lines: Vec<FinanceLine>,
    pub income_fen: i64,
    pub expense_fen: i64,
    pub versions: Vec<DisclosureVersion>,
    pub ledger_leaf: Option<i64>,
}

/// One public disclosure.
#[utoipa::path(get, path = "/api/v1/disclosures/{id}", summary = "公开事项详情", tag = "disclosures",
    params(("id" = i64, Path, description = "公开事项编号", minimum = 1)),
    responses((status = 200, description = "公开事项", body = DisclosureDetail)))]
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<DisclosureDetail>, ApiError> {
    let store = state.store();
    let d = store.find_disclosure(id_param(&id, "id")?).await?.ok_or(AppError::NotFound)?;
    let public = |status: &RosterStatus| status.is_public();
    if !public(&d.status) {
        return Err(AppError::NotFound.into());
    }
    let versions = store
        .disclosure_versions(d.lineage_id.unwrap_or(d.id))
        .await?
        .iter()
        .filter(|v| public(&v.status))
        .map(|v| DisclosureVersion {
            id: v.id,
            version: v.version,
            status: v.status.as_str().to_owned(),
            reason: v.correction_reason.clone().or_else(|| v.status_reason.clone()),
            published_at: v.published_at.map(api_time),
        })
        .collect();
    let lines = store
        .finance_lines(d.id)
        .await?
        .into_iter()
        .map(|l| FinanceLine {
            row_no: l.row_no,
            date: l.line_date,
            summary: l.summary,
            income_fen: l.income_fen,
            expense_fen: l.expense_fen,
            note: l.note,
        })
        .collect();
    Ok(axum::Json(DisclosureDetail {
        summary: DisclosureSummary::from(&d),
        ledger_leaf: leaf_of(&state, "disclosure", d.id).await?,
        body: d.body,
        status_reason: d.status_reason,
        supersedes_id: d.supersedes_id,
        correction_reason: d.correction_reason,
        lines,
        income_fen: d.income_fen,
        expense_fen: d.expense_fen,
        versions,
    }))
}
