//! Places and programmes: the townships, each township's villages, and the subsidy programmes
//! (补贴项目) that have public rosters in a place — what a client needs to find the codes the
//! other operations take.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xiaowei_core::OrgLevel;
use xiaowei_store::Org;

use super::error::ApiError;
use super::paging::{ApiQuery, Listed, Page, PageQuery, Paging, code_param, is_org_code};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::places::townships_with_villages;

/// A township (乡镇).
#[derive(Serialize, ToSchema)]
pub struct Township {
    /// 9-digit code.
    #[schema(example = "620922100")]
    pub code: String,
    #[schema(example = "渊泉镇")]
    pub name: String,
    /// Villages in the township.
    pub villages: i64,
}

/// A village (村 or 社区).
#[derive(Serialize, ToSchema)]
pub struct Village {
    /// 12-digit code.
    #[schema(example = "620922100200")]
    pub code: String,
    /// The name villagers use (`南岔村`, not `南岔村委会`).
    #[schema(example = "南岔村")]
    pub name: String,
    pub township_code: String,
}

impl From<Org> for Village {
    fn from(org: Org) -> Self {
        Self { name: org.display_name().to_owned(), township_code: org.parent_code.unwrap_or_default(), code: org.code }
    }
}

/// The org of `code` when it is a township or a village, else not found (`field` names the
/// parameter when the code is not even shaped like one).
pub async fn place(state: &AppState, code: &str, field: &str) -> Result<Org, ApiError> {
    if !is_org_code(code) || code.len() == 6 {
        return Err(ApiError::field(field, "地区编码：应为9位乡镇编码或12位村编码"));
    }
    match state.org(code).await? {
        Some(org) if matches!(org.level, OrgLevel::Township | OrgLevel::Village) => Ok(org),
        _ => Err(AppError::NotFound.into()),
    }
}

/// The townships.
#[utoipa::path(get, path = "/api/v1/townships", summary = "乡镇列表", tag = "places", params(PageQuery),
    responses((status = 200, description = "乡镇列表", body = Page<Township>)))]
pub async fn townships(State(state): State<AppState>, paging: Paging) -> Result<Listed<Township>, ApiError> {
    let all = townships_with_villages(&state)
        .await?
        .into_iter()
        .map(|(t, villages)| Township { villages, name: t.display_name().to_owned(), code: t.code })
        .collect();
    Ok(paging.slice(all))
}

/// The villages of a township.
#[utoipa::path(get, path = "/api/v1/townships/{code}/villages", summary = "乡镇下的村", tag = "places",
    params(("code" = String, Path, description = "乡镇编码（9位）", pattern = "^[0-9]{9}$"), PageQuery),
    responses((status = 200, description = "村列表", body = Page<Village>)))]
pub async fn villages(
    State(state): State<AppState>,
    Path(code): Path<String>,
    paging: Paging,
) -> Result<Listed<Village>, ApiError> {
    if code.len() != 9 || !is_org_code(&code) {
        return Err(ApiError::field("code", "乡镇编码：应为9位数字"));
    }
    let township = place(&state, &code, "code").await?;
    if township.level != OrgLevel::Township {
        return Err(AppError::NotFound.into());
    }
    let all = state.store().child_orgs(&township.code).await?.into_iter().map(Village::from).collect();
    Ok(paging.slice(all))
}

/// A subsidy programme with public rosters.
#[derive(Serialize, ToSchema)]
pub struct Programme {
    pub id: i64,
    #[schema(example = "耕地地力保护补贴")]
    pub name: String,
    /// Public rosters of the programme in the place asked about.
    pub rosters: i64,
    /// The newest year with a public roster.
    pub latest_year: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgrammeQuery {
    /// A county, township or village code: programmes with public rosters there (default:
    /// everywhere).
    #[param(value_type = Option<String>, pattern = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$")]
    place: Option<String>,
}

/// Subsidy programmes with public rosters.
#[utoipa::path(get, path = "/api/v1/programmes", summary = "补贴项目列表", tag = "subsidies", params(ProgrammeQuery, PageQuery),
    responses((status = 200, description = "补贴项目列表", body = Page<Programme>)))]
pub async fn programmes(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProgrammeQuery>,
    paging: Paging,
) -> Result<Listed<Programme>, ApiError> {
    let prefix = code_param(q.place.as_deref(), "place")?.unwrap_or_default();
    let all = state
        .store()
        .public_programmes_within(&prefix)
        .await?
        .into_iter()
        .map(|p| Programme { id: p.id, name: p.name, rosters: p.rosters, latest_year: p.latest_year })
        .collect();
    Ok(paging.slice(all))
}
