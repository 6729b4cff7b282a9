//! 办事直通车 in the back office: the county admin keeps the link-out tiles of the county (shown
//! in every township) and of each township (shown there only): name, icon from the fixed set,
//! http(s) address, one line of description and order. `core::service_links` checks each tile;
//! removal asks for confirmation; every change is audited.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::service_links::{self, Icon, LinkInput};
use xiaowei_core::{OrgLevel, Permission};
use xiaowei_store::{NewServiceLink, ServiceLinkRow};

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::places::place_name;
use crate::web::security::random_token;

struct Row {
    link: ServiceLinkRow,
    place: String,
}

struct Place {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "staff/service_links.html")]
struct Page {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
    places: Vec<Place>,
    icons: Vec<(&'static str, &'static str)>,
    form_key: String,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let store = state.store();
    let notice = match q.done.as_str() {
        "added" => "直通车链接已添加，已在我要办事和触摸终端上显示。",
        "saved" => "直通车链接已保存。",
        "deleted" => "直通车链接已删除。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let mut rows = Vec::new();
    for link in store.service_links_within(&staff.scope.org_code).await? {
        rows.push(Row { place: place_name(&state, &link.org_code).await?, link });
    }
    let mut places = Vec::new();
    if let Some(county) = store.county().await?.filter(|c| staff.scope.covers_org(&c.code)) {
        places.push(Place { name: format!("{}（全县）", county.display_name()), code: county.code });
    }
    for t in store.orgs_at_level(OrgLevel::Township).await? {
        if staff.scope.covers_org(&t.code) {
            places.push(Place { name: t.display_name().to_owned(), code: t.code });
        }
    }
    let page = Page {
        nav: staff.nav(),
        notice,
        rows,
        places,
        icons: Icon::ALL.into_iter().map(|i| (i.as_str(), i.label())).collect(),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    icon: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    position: String,
}

/// Reads the form into a tile for a county or township in scope, naming the field at fault.
async fn link_from_form(state: &AppState, staff: &Staff, form: &LinkForm) -> Result<NewServiceLink, AppError> {
    let org_code = form.org_code.trim();
    staff.require_org(org_code)?;
    let org = state.store().find_org(org_code).await?.ok_or_else(|| AppError::invalid("显示范围：请选择"))?;
    if !matches!(org.level, OrgLevel::County | OrgLevel::Township) {
        return Err(AppError::invalid("显示范围：只能是全县或某个乡镇"));
    }
    let checked = service_links::check(&LinkInput {
        name: &form.name,
        icon: &form.icon,
        url: &form.url,
        description: &form.description,
    })
    .map_err(|e| AppError::invalid(e.to_string()))?;
    let position = match form.position.trim() {
        "" => 0,
        p => p
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=99).contains(n))
            .ok_or_else(|| AppError::invalid("排序：请填写0至99之间的数字，数字小的在前"))?,
    };
    Ok(NewServiceLink {
        org_code: org.code,
        name: checked.name,
        icon: checked.icon,
        url: checked.url,
        description: checked.description,
        position,
        created_by: staff.user.id,
    })
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<LinkForm>,
) -> Result<Response, AppError> {
    let link = link_from_form(&state, &staff, &form).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/service-links?done=repeat"));
    }
    let now = state.now();
    let id = state.store().add_service_link(&link, now).await?;
    let detail = format!("新增办事直通车 {}（{}）", link.name, link.url);
    state
        .audit(staff.audit_entry(now, "service_link.add", format!("service_link:{id}"), detail, Some(link.org_code)))
        .await?;
    Ok(see_other("/staff/service-links?done=added"))
}

/// Loads a tile and checks that its org is inside the account's scope (404 otherwise).
async fn link_in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<ServiceLinkRow, AppError> {
    let link = state.store().find_service_link(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&link.org_code)?;
    Ok(link)
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<LinkForm>,
) -> Result<Response, AppError> {
    link_in_scope(&state, &staff, id).await?;
    let link = link_from_form(&state, &staff, &form).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/service-links?done=repeat"));
    }
    let now = state.now();
    state.store().update_service_link(id, &link, now).await?;
    let detail = format!("修改办事直通车 {}（{}）", link.name, link.url);
    state
        .audit(staff.audit_entry(now, "service_link.save", format!("service_link:{id}"), detail, Some(link.org_code)))
        .await?;
    Ok(see_other("/staff/service-links?done=saved"))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    confirm: String,
}

pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let link = link_in_scope(&state, &staff, id).await?;
    if form.confirm != "1" {
        return Err(AppError::invalid("删除确认：请勾选“确认删除该链接”后再提交"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/service-links?done=repeat"));
    }
    let now = state.now();
    if state.store().delete_service_link(id).await? {
        let detail = format!("删除办事直通车 {}", link.name);
        state
            .audit(staff.audit_entry(
                now,
                "service_link.delete",
                format!("service_link:{id}"),
                detail,
                Some(link.org_code),
            ))
            .await?;
    }
    Ok(see_other("/staff/service-links?done=deleted"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/service-links", Permission::ManageServiceLinks, Target::None, list)
        .post("/staff/service-links", Permission::ManageServiceLinks, Target::Org, create)
        .post("/staff/service-links/{link}", Permission::ManageServiceLinks, Target::ServiceLink, update)
        .post("/staff/service-links/{link}/delete", Permission::ManageServiceLinks, Target::ServiceLink, delete)
}
