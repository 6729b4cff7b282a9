//! County departments and their contacts. Contact phones are personal data: stored encrypted,
//! shown in full only here, and every view is written to the audit log.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::service::Recipient;
use xiaowei_core::{Permission, Phone, Role};
use xiaowei_store::{Department, NewContact};

use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::random_token;

/// 主要领导 / 分管领导 / 业务人员
pub fn position_label(position: Recipient) -> &'static str {
    match position {
        Recipient::DepartmentHead => "主要领导",
        Recipient::LeaderInCharge => "分管领导",
        _ => "业务人员",
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "created" => "部门已新增。",
        "contact" => "联系人已新增。",
        "removed" => "联系人已删除。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "staff/departments.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    departments: Vec<Department>,
    can_manage: bool,
    form_key: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let departments: Vec<Department> = state
        .store()
        .departments()
        .await?
        .into_iter()
        .filter(|d| staff.scope.covers_department(staff.role, d.id))
        .collect();
    let page = ListPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        departments,
        can_manage: staff.role.allows(Permission::ManageDepartments),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct DepartmentForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(AppError::invalid("请填写部门名称（不超过40个字）"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/departments?done=repeat"));
    }
    let id = state.store().ensure_department(name, state.now()).await?;
    state
        .audit(staff.audit_entry(
            state.now(),
            "department.create",
            format!("department:{id}"),
            format!("新增部门 {name}"),
            None,
        ))
        .await?;
    Ok(see_other("/staff/departments?done=created"))
}

struct ContactRow {
    id: i64,
    position_label: &'static str,
    name: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "staff/department.html")]
struct ShowPage {
    nav: Nav,
    notice: &'static str,
    id: i64,
    name: String,
    contacts: Vec<ContactRow>,
    can_manage: bool,
    form_key: String,
}

async fn department_in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<Department, AppError> {
    staff.require_department(id)?;
    state.store().find_department(id).await?.ok_or(AppError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let department = department_in_scope(&state, &staff, id).await?;
    let mut contacts = Vec::new();
    for c in state.store().contacts_of(id).await? {
        let phone =
            state.cipher().decrypt(&c.phone_enc).map_err(|e| AppError::Internal(format!("contact {}: {e}", c.id)))?;
        contacts.push(ContactRow { id: c.id, position_label: position_label(c.position), name: c.name, phone });
    }
    if !contacts.is_empty() {
        let detail = format!("查看 {} 联系人手机号 {} 个", department.name, contacts.len());
        state.audit(staff.audit_entry(state.now(), "pii.view", format!("department:{id}"), detail, None)).await?;
    }
    let page = ShowPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        id,
        name: department.name,
        contacts,
        can_manage: staff.role == Role::CountyAdmin,
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

pub async fn add_contact(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let department = department_in_scope(&state, &staff, id).await?;
    let Some(position) = Recipient::parse(&form.position).filter(|p| Recipient::POSTS.contains(p)) else {
        return Err(AppError::invalid("职务：请选择"));
    };
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(AppError::invalid("请填写联系人姓名（不超过32个字）"));
    }
    let phone = Phone::parse(&form.phone).map_err(|e| AppError::invalid(format!("手机号：{e}")))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/departments/{id}?done=repeat")));
    }
    let contact = NewContact {
        department_id: id,
        position,
        name: name.to_owned(),
        phone_enc: state.cipher().encrypt(phone.expose()),
        phone_idx: state.cipher().blind_index("phone", phone.expose()),
    };
    state.store().add_contact(&contact, state.now()).await?;
    let detail = format!("为 {} 新增{} {name}（{}）", department.name, position_label(position), phone.masked());
    state
        .audit(staff.audit_entry(state.now(), "department.add_contact", format!("department:{id}"), detail, None))
        .await?;
    Ok(see_other(&format!("/staff/departments/{id}?done=contact")))
}

pub async fn remove_contact(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, contact_id)): Path<(i64, i64)>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let department = department_in_scope(&state, &staff, id).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/departments/{id}?done=repeat")));
    }
    state.store().remove_contact(id, contact_id).await?;
    let detail = format!("删除 {} 的联系人 #{contact_id}", department.name);
    state
        .audit(staff.audit_entry(state.now(), "department.remove_contact", format!("department:{id}"), detail, None))
        .await?;
    Ok(see_other(&format!("/staff/departments/{id}?done=removed")))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/departments", Permission::ViewDepartments, Target::None, list)
        .post("/staff/departments", Permission::ManageDepartments, Target::None, create)
        .get("/staff/departments/{dept}", Permission::ViewDepartments, Target::Department, show)
        .post("/staff/departments/{dept}/contacts", Permission::ManageDepartments, Target::Department, add_contact)
        .post(
            "/staff/departments/{dept}/contacts/{contact}/delete",
            Permission::ManageDepartments,
            Target::Department,
            remove_contact,
        )
}
