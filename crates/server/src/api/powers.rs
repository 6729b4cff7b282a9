//! The 小微权力清单 as data: the items that apply in a township or village (county items
//! everywhere, local items in their subtree), and one item with its basis, materials, procedure
//! (办理流程) and risk points (廉政风险点) with how each is supervised.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xiaowei_store::PowerItem;

use super::error::ApiError;
use super::leaf_of;
use super::paging::{ApiQuery, Listed, Page, PageQuery, Paging, id_param};
use super::places::place;
use crate::state::AppState;
use crate::web::error::AppError;

/// A catalogue item in a list.
#[derive(Serialize, ToSchema)]
pub struct PowerSummary {
    pub id: i64,
    #[schema(example = "村级工程项目建设")]
    pub name: String,
    /// The category code (`major_decision`, `project`, `asset`, `finance`, `personnel`,
    /// `homestead`, `relief`, `certificate`).
    pub category: String,
    /// The category in Chinese.
    #[schema(example = "工程项目")]
    pub category_label: String,
    /// 村级公共权力 or 便民服务.
    pub kind_label: String,
    /// The county (6 digits) for county-wide items, else the township or village that added it.
    pub org_code: String,
    /// Calendar days the whole procedure may take.
    pub total_days: i64,
}

impl From<&PowerItem> for PowerSummary {
    fn from(item: &PowerItem) -> Self {
        let category = item.category;
        Self {
            id: item.id,
            name: item.name.clone(),
            category: category.as_str().to_owned(),
            category_label: category.label().to_owned(),
            kind_label: category.kind().label().to_owned(),
            org_code: item.org_code.clone(),
            total_days: item.total_days,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PowerQuery {
    /// The township (9 digits) or village (12 digits) whose catalogue to list.
    #[param(value_type = String, pattern = "^([0-9]{9}|[0-9]{12})$")]
    place: Option<String>,
}

/// The power items that apply in a township or village, by category.
#[utoipa::path(get, path = "/api/v1/powers", summary = "小微权力清单", tag = "powers", params(PowerQuery, PageQuery),
    responses((status = 200, description = "小微权力清单", body = Page<PowerSummary>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PowerQuery>,
    paging: Paging,
) -> Result<Listed<PowerSummary>, ApiError> {
    let code = q.place.ok_or_else(|| ApiError::field("place", "地区编码：请填写乡镇或村的编码"))?;
    let org = place(&state, &code, "place").await?;
    let mut items = state.store().power_items_for(&org.code).await?;
    items.sort_by_key(|i| (i.category, i.id));
    Ok(paging.slice(items.iter().map(PowerSummary::from).collect()))
}

/// One step of an item's procedure.
#[derive(Serialize, ToSchema)]
pub struct Step {
    /// Who acts (办理主体).
    pub actor: String,
    pub action: String,
    /// Calendar days allowed, counted from the previous step.
    pub limit_days: u16,
    /// What is made public at this step (empty: nothing).
    pub publishes: String,
}

/// A risk point (廉政风险点) and how it is supervised.
#[derive(Serialize, ToSchema)]
pub struct Risk {
    pub risk: String,
    pub supervision: String,
}

/// An item with its lists.
#[derive(Serialize, ToSchema)]
pub struct PowerDetail {
    #[serde(flatten)]
    pub summary: PowerSummary,
    /// The legal and policy basis (办理依据).
    pub basis: String,
    /// Required materials, one per entry.
    pub materials: Vec<String>,
    /// Who is responsible (责任主体).
    pub responsible: String,
    pub steps: Vec<Step>,
    pub risks: Vec<Risk>,
    /// The newest leaf of the public ledger for this item.
    pub ledger_leaf: Option<i64>,
}

/// One power item with its procedure and risk points.
#[utoipa::path(get, path = "/api/v1/powers/{id}", summary = "权力事项详情（办理流程、廉政风险点）", tag = "powers",
    params(("id" = i64, Path, description = "权力事项编号", minimum = 1)),
    responses((status = 200, description = "权力事项", body = PowerDetail)))]
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<PowerDetail>, ApiError> {
    let store = state.store();
    let item = store.find_power_item(id_param(&id, "id")?).await?.ok_or(AppError::NotFound)?;
    let steps = store
        .power_item_steps(item.id)
        .await?
        .into_iter()
        .map(|s| Step { actor: s.actor, action: s.action, limit_days: s.limit_days, publishes: s.publishes })
        .collect();
    let risks = store
        .power_item_risks(item.id)
        .await?
        .into_iter()
        .map(|r| Risk { risk: r.risk, supervision: r.supervision })
        .collect();
    Ok(axum::Json(PowerDetail {
        summary: PowerSummary::from(&item),
        ledger_leaf: leaf_of(&state, "power_item", item.id).await?,
        materials: item.materials.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        basis: item.basis,
        responsible: item.responsible,
        steps,
        risks,
    }))
}
