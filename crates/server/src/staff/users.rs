//! Staff account management: county admins manage every account; township admins manage the
//! reviewers and clerks of their own township. Every change is audited.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::{OrgLevel, Permission, Role};
use xiaowei_store::{Department, NewStaffUser, StaffUser};

use super::auth::{check_password_rules, hash_password};
use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::random_token;

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role_label: &'static str,
    org_name: String,
    disabled: bool,
    manageable: bool,
}

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage {
    nav: Nav,
    notice: String,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    orgs: Vec<(String, String)>,
    departments: Vec<Department>,
    form_key: String,
}

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    done: String,
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "created" => "账号已创建。",
        "disabled" => "账号已停用，其登录状态已全部退出。",
        "enabled" => "账号已启用。",
        "password" => "密码已重置，该账号需用新密码重新登录。",
        "phone" => "已保存短信接收手机号。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<Notice>,
) -> Result<Html<String>, AppError> {
    let store = state.store();
    let mut users = Vec::new();
    for u in store.staff_within(&staff.scope.org_code).await? {
        let role = u.role;
        let org_name =
            store.find_org(&u.org_code).await?.map_or_else(|| u.org_code.clone(), |o| o.display_name().to_owned());
        users.push(UserRow {
            id: u.id,
            manageable: staff.role.may_grant(role) && u.id != staff.user.id,
            role_label: role.label(),
            disabled: u.disabled,
            username: u.username,
            display_name: u.display_name,
            org_name,
        });
    }
    let roles = Role::ALL.into_iter().filter(|r| staff.role.may_grant(*r)).map(|r| (r.as_str(), r.label())).collect();
    let mut orgs = Vec::new();
    if let Some(root) = store.find_org(&staff.scope.org_code).await? {
        orgs.push((root.code.clone(), root.display_name().to_owned()));
        for child in store.child_orgs(&root.code).await? {
            orgs.push((child.code.clone(), child.display_name().to_owned()));
            if child.level == OrgLevel::Township {
                for village in store.child_orgs(&child.code).await? {
                    orgs.push((village.code.clone(), format!("{} · {}", child.display_name(), village.display_name())));
                }
            }
        }
    }
    let departments = if staff.role == Role::CountyAdmin { store.departments().await? } else { Vec::new() };
    let page = UsersPage {
        nav: staff.nav(),
        notice: notice_text(&q.done).to_owned(),
        users,
        roles,
        orgs,
        departments,
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    password: String,
}

/// Checks a username: 3 to 32 letters, digits, `_`, `.` or `-`.
pub fn check_username(username: &str) -> Result<(), AppError> {
    let ok = (3..=32).contains(&username.len())
        && username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid("用户名应为3-32位字母、数字、下划线、点或短横线"))
    }
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<NewUserForm>,
) -> Result<Response, AppError> {
    staff.require_org(form.org_code.trim())?;
    let role = Role::parse(&form.role).ok_or_else(|| AppError::invalid("请选择身份"))?;
    if !staff.role.may_grant(role) {
        return Err(AppError::Forbidden);
    }
    let username = form.username.trim().to_owned();
    check_username(&username)?;
    let display_name = form.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 32 {
        return Err(AppError::invalid("请填写姓名（不超过32个字）"));
    }
    check_password_rules(&form.password)?;
    let store = state.store();
    let org = store.find_org(form.org_code.trim()).await?.ok_or_else(|| AppError::invalid("所属单位不存在"))?;
    if org.level != role.org_level() {
        return Err(AppError::invalid(format!(
            "“{}”应属于{}，请重新选择所属单位",
            role.label(),
            role.org_level().label()
        )));
    }
    let department_id = match (role, form.department_id.trim()) {
        (Role::DepartmentOfficer, "") => return Err(AppError::invalid("县直部门业务人员必须选择所属部门")),
        (Role::DepartmentOfficer, id) => {
            let id: i64 = id.parse().map_err(|_| AppError::invalid("所属部门无效"))?;
            store.find_department(id).await?.ok_or_else(|| AppError::invalid("所属部门不存在"))?;
            Some(id)
        }
        _ => None,
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/users?done=repeat"));
    }
    if store.find_staff_by_username(&username).await?.is_some() {
        return Err(AppError::Conflict(format!("用户名“{username}”已被使用，请换一个")));
    }
    let password_hash = hash_password(form.password).await?;
    let new = NewStaffUser {
        username: username.clone(),
        display_name,
        password_hash,
        role,
        org_code: org.code.clone(),
        department_id,
    };
    let id = store.create_staff_user(&new, state.now()).await?;
    let detail = format!("创建账号 {username}（{}）", role.label());
    state
        .audit(staff.audit_entry(state.now(), "staff.create", format!("staff_user:{id}"), detail, Some(org.code)))
        .await?;
    Ok(see_other("/staff/users?done=created"))
}

/// Loads an account the current staff member may manage.
async fn manageable(state: &AppState, staff: &Staff, id: i64) -> Result<StaffUser, AppError> {
    let target = state.store().find_staff(id).await?.ok_or(AppError::NotFound)?;
    let role = target.role;
    if !staff.scope.covers_org(&target.org_code) || !staff.role.may_grant(role) || target.id == staff.user.id {
        return Err(AppError::Forbidden);
    }
    Ok(target)
}

async fn set_disabled(
    state: AppState,
    staff: Staff,
    id: i64,
    form_key: &str,
    disabled: bool,
) -> Result<Response, AppError> {
    let target = manageable(&state, &staff, id).await?;
    if !first_submit(&state, &staff, form_key).await? {
        return Ok(see_other("/staff/users?done=repeat"));
    }
    state.store().set_staff_disabled(id, disabled).await?;
    let (action, done) = if disabled { ("staff.disable", "disabled") } else { ("staff.enable", "enabled") };
    let detail = format!("{}账号 {}", if disabled { "停用" } else { "启用" }, target.username);
    state
        .audit(staff.audit_entry(state.now(), action, format!("staff_user:{id}"), detail, Some(target.org_code)))
        .await?;
    Ok(see_other(&format!("/staff/users?done={done}")))
}

pub async fn disable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<KeyedForm>,
) -> Result<Response, AppError> {
    set_disabled(state, staff, id, &f.form_key, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<KeyedForm>,
) -> Result<Response, AppError> {
    set_disabled(state, staff, id, &f.form_key, false).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let target = manageable(&state, &staff, id).await?;
    check_password_rules(&form.password)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/users?done=repeat"));
    }
    let hash = hash_password(form.password).await?;
    state.store().set_staff_password(id, &hash).await?;
    let detail = format!("重置账号 {} 的密码", target.username);
    state
        .audit(staff.audit_entry(
            state.now(),
            "staff.password",
            format!("staff_user:{id}"),
            detail,
            Some(target.org_code),
        ))
        .await?;
    Ok(see_other("/staff/users?done=password"))
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    phone: String,
}

/// Sets (or, when empty, clears) the phone an account receives escalation texts on; county
/// supervisors with a phone are texted when a case is overdue or rated 不满意.
pub async fn set_phone(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<PhoneForm>,
) -> Result<Response, AppError> {
    let target = manageable(&state, &staff, id).await?;
    let phone = match form.phone.trim() {
        "" => None,
        text => Some(xiaowei_core::Phone::parse(text).map_err(|e| AppError::invalid(format!("手机号：{e}")))?),
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/users?done=repeat"));
    }
    let sealed =
        phone.as_ref().map(|p| (state.cipher().encrypt(p.expose()), state.cipher().blind_index("phone", p.expose())));
    state.store().set_staff_phone(id, sealed.as_ref().map(|(enc, idx)| (enc.as_slice(), idx.as_str()))).await?;
    let detail = match &phone {
        Some(p) => format!("设置账号 {} 的短信接收手机号（{}）", target.username, p.masked()),
        None => format!("清除账号 {} 的短信接收手机号", target.username),
    };
    state
        .audit(staff.audit_entry(state.now(), "staff.phone", format!("staff_user:{id}"), detail, Some(target.org_code)))
        .await?;
    Ok(see_other("/staff/users?done=phone"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/users", Permission::ManageStaff, Target::None, list)
        .post("/staff/users", Permission::ManageStaff, Target::Org, create)
        .post("/staff/users/{user}/disable", Permission::ManageStaff, Target::User, disable)
        .post("/staff/users/{user}/enable", Permission::ManageStaff, Target::User, enable)
        .post("/staff/users/{user}/password", Permission::ManageStaff, Target::User, reset_password)
        .post("/staff/users/{user}/phone", Permission::ManageStaff, Target::User, set_phone)
}
