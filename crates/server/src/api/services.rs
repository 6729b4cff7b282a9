//! The 我要办事 catalogue as data: the active service items (服务事项) by department, and one
//! item's guide — conditions, materials, steps, time limit, fee, the office phone — with its
//! ledger leaf. Items taken off the catalogue answer 404.

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use xiaowei_store::ServiceItem;

use super::error::ApiError;
use super::leaf_of;
use super::paging::{Listed, Page, PageQuery, Paging, id_param};
use crate::state::AppState;
use crate::web::error::AppError;

/// A service item in a list.
#[derive(Serialize, ToSchema)]
pub struct ServiceSummary {
    pub id: i64,
    #[schema(example = "低保申请")]
    pub name: String,
    pub department_id: i64,
    #[schema(example = "县民政局")]
    pub department: String,
    /// The time limit as stored: `15d` (working days) or `48h`.
    #[schema(example = "15d")]
    pub time_limit: String,
    #[schema(example = "15个工作日")]
    pub time_limit_label: String,
    /// Whether an application needs the applicant's ID number.
    pub requires_id: bool,
}

impl From<&ServiceItem> for ServiceSummary {
    fn from(item: &ServiceItem) -> Self {
        Self {
            id: item.id,
            name: item.name.clone(),
            department_id: item.department_id,
            department: item.department_name.clone(),
            time_limit: item.time_limit.as_code(),
            time_limit_label: item.time_limit.label(),
            requires_id: item.requires_id,
        }
    }
}

/// The active service items, by department.
#[utoipa::path(get, path = "/api/v1/service-items", summary = "服务事项列表", tag = "services", params(PageQuery),
    responses((status = 200, description = "服务事项列表", body = Page<ServiceSummary>)))]
pub async fn list(State(state): State<AppState>, paging: Paging) -> Result<Listed<ServiceSummary>, ApiError> {
    let items = state.store().service_items(true).await?;
    Ok(paging.slice(items.iter().map(ServiceSummary::from).collect()))
}

/// A service item's guide.
#[derive(Serialize, ToSchema)]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub summary: ServiceSummary,
    /// 申请条件.
    pub conditions: String,
    pub materials: Vec<String>,
    pub steps: Vec<String>,
    pub fee: String,
    /// The department's office phone for questions.
    pub contact_phone: String,
    /// Where the item can also be applied for online elsewhere.
    pub external_url: Option<String>,
    pub ledger_leaf: Option<i64>,
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// One active service item.
#[utoipa::path(get, path = "/api/v1/service-items/{id}", summary = "服务事项办事指南", tag = "services",
    params(("id" = i64, Path, description = "服务事项编号", minimum = 1)),
    responses((status = 200, description = "服务事项", body = ServiceDetail)))]
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<ServiceDetail>, ApiError> {
    let id = id_param(&id, "id")?;
    let item = state.store().find_service_item(id).await?.filter(|i| i.active).ok_or(AppError::NotFound)?;
    Ok(axum::Json(ServiceDetail {
        summary: ServiceSummary::from(&item),
        ledger_leaf: leaf_of(&state, "service_item", item.id).await?,
        conditions: item.conditions,
        materials: lines(&item.materials),
        steps: lines(&item.steps),
        fee: item.fee,
        contact_phone: item.contact_phone,
        external_url: item.external_url,
    }))
}
