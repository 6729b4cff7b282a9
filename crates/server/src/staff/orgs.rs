//! Browsing the org tree inside one's scope, adding village groups and registering households.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::{DivisionCode, OrgLevel, Permission};
use xiaowei_store::{Household, NewHousehold, NewOrg, Org, OrgCounts};

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "staff/org.html")]
struct OrgPage {
    nav: Nav,
    notice: String,
    crumbs: Vec<(String, String)>,
    org_code: String,
    org_name: String,
    level_label: &'static str,
    counts: OrgCounts,
    children: Vec<(String, String)>,
    holds_households: bool,
    is_village: bool,
    households: Vec<Household>,
    page: i64,
    has_more: bool,
    can_manage: bool,
    form_key: String,
}

#[derive(Deserialize)]
pub struct OrgQuery {
    page: Option<i64>,
    #[serde(default)]
    done: String,
}

async fn load_in_scope(state: &AppState, staff: &Staff, code: &str) -> Result<Org, AppError> {
    staff.require_org(code)?;
    state.store().find_org(code).await?.ok_or(AppError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<OrgQuery>,
) -> Result<Html<String>, AppError> {
    let org = load_in_scope(&state, &staff, &code).await?;
    let store = state.store();
    let level = org.level;
    let mut crumbs = Vec::new();
    let mut parent = org.parent_code.clone();
    while let Some(p) = parent.filter(|p| staff.scope.covers_org(p)) {
        let Some(o) = store.find_org(&p).await? else { break };
        parent = o.parent_code.clone();
        crumbs.insert(0, (o.code.clone(), o.display_name().to_owned()));
    }
    let children =
        store.child_orgs(&org.code).await?.into_iter().map(|c| (c.code.clone(), c.display_name().to_owned())).collect();
    let holds_households = matches!(level, OrgLevel::Village | OrgLevel::Group);
    let page = q.page.unwrap_or(1).max(1);
    let mut households = if holds_households {
        store.households_of(&org.code, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?
    } else {
        Vec::new()
    };
    let has_more = households.len() as i64 > PAGE_SIZE;
    households.truncate(PAGE_SIZE as usize);
    let notice = match q.done.as_str() {
        "group" => "村民小组已新增。",
        "household" => "农户已登记。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let page = OrgPage {
        nav: staff.nav(),
        notice: notice.to_owned(),
        crumbs,
        counts: store.org_counts(&org.code).await?,
        org_name: org.display_name().to_owned(),
        org_code: org.code,
        level_label: level.label(),
        children,
        holds_households,
        is_village: level == OrgLevel::Village,
        households,
        page,
        has_more,
        can_manage: staff.role.allows(Permission::ManageOrgs),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    group_no: String,
    #[serde(default)]
    name: String,
}

pub async fn add_group(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    let village = load_in_scope(&state, &staff, &code).await?;
    if village.level != OrgLevel::Village {
        return Err(AppError::invalid("只能在村（社区）下新增村民小组"));
    }
    let group_no = xiaowei_core::text::compact(&form.group_no);
    let group_code = DivisionCode::parse(&format!("{}{group_no}", village.code), OrgLevel::Group)
        .map_err(|_| AppError::invalid("小组编号应为3位数字，如 001"))?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(AppError::invalid("请填写小组名称（不超过32个字）"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/orgs/{code}?done=repeat")));
    }
    if state.store().find_org(group_code.as_str()).await?.is_some() {
        return Err(AppError::Conflict(format!("小组编号 {group_no} 已存在")));
    }
    let org = NewOrg {
        code: group_code.to_string(),
        name: name.to_owned(),
        level: OrgLevel::Group,
        parent_code: Some(village.code.clone()),
    };
    state.store().import_orgs(&[org], state.now()).await?;
    let detail = format!("新增村民小组 {name}");
    state
        .audit(staff.audit_entry(state.now(), "org.add_group", format!("org:{group_code}"), detail, Some(village.code)))
        .await?;
    Ok(see_other(&format!("/staff/orgs/{code}?done=group")))
}

#[derive(Deserialize)]
pub struct HouseholdForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    household_no: String,
    #[serde(default)]
    head_name: String,
    #[serde(default)]
    members: String,
}

pub async fn add_household(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<HouseholdForm>,
) -> Result<Response, AppError> {
    let org = load_in_scope(&state, &staff, &code).await?;
    if !matches!(org.level, OrgLevel::Village | OrgLevel::Group) {
        return Err(AppError::invalid("农户只能登记在村（社区）或村民小组下"));
    }
    let household_no = xiaowei_core::text::compact(&form.household_no);
    if household_no.is_empty() || household_no.chars().count() > 32 {
        return Err(AppError::invalid("请填写户号（不超过32个字符）"));
    }
    let head_name = form.head_name.trim().to_owned();
    if head_name.is_empty() || head_name.chars().count() > 32 {
        return Err(AppError::invalid("请填写户主姓名（不超过32个字）"));
    }
    let members: i64 = xiaowei_core::text::compact(&form.members)
        .parse()
        .ok()
        .filter(|m| (1..=50).contains(m))
        .ok_or_else(|| AppError::invalid("家庭人口应为1到50之间的整数"))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/orgs/{code}?done=repeat")));
    }
    let household = NewHousehold { org_code: org.code.clone(), household_no: household_no.clone(), head_name, members };
    state.store().add_household(&household, state.now()).await?;
    let detail = format!("登记农户 {household_no}");
    state
        .audit(staff.audit_entry(
            state.now(),
            "household.add",
            format!("household:{household_no}"),
            detail,
            Some(org.code),
        ))
        .await?;
    Ok(see_other(&format!("/staff/orgs/{code}?done=household")))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/orgs/{org}", Permission::ViewOrgs, Target::Org, show)
        .post("/staff/orgs/{org}/groups", Permission::ManageOrgs, Target::Org, add_group)
        .post("/staff/orgs/{org}/households", Permission::ManageOrgs, Target::Org, add_household)
}
