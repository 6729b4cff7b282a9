//! 接口密钥 in the back office: the county admin issues a key for an outside system (the county's
//! 12345 hotline, a 政务服务 platform) scoped to an org subtree and to cases, messages or both,
//! valid for a number of days. The key is shown once on the answer that issues it; only its
//! keyed hash is stored. Keys are listed with their use count and last use, and revoked here.
//! Every use is audited by the Open311 interface (`crate::open311`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::open311::{KEY_PREFIX, Kinds, MAX_VALID_DAYS, key_hint, valid_days};
use xiaowei_core::{OrgLevel, Permission};
use xiaowei_store::{IntegratorToken, NewIntegratorToken};

use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

struct Row {
    id: i64,
    name: String,
    scope: String,
    kinds: &'static str,
    hint: String,
    state: &'static str,
    live: bool,
    created: String,
    expires: String,
    last_used: String,
    uses: i64,
}

fn row(t: IntegratorToken, now: i64) -> Row {
    let state = match t.revoked_at {
        Some(_) => "已吊销",
        None if t.expires_at <= now => "已过期",
        None => "有效",
    };
    Row {
        id: t.id,
        name: t.name,
        scope: xiaowei_core::org::display_name(&t.org_name).to_owned(),
        kinds: t.kinds.label(),
        hint: t.key_hint,
        live: state == "有效",
        state,
        created: shanghai_time(t.created_at),
        expires: shanghai_time(t.expires_at),
        last_used: t.last_used_at.map(shanghai_time).unwrap_or_else(|| "从未".to_owned()),
        uses: t.uses,
    }
}

struct Place {
    code: String,
    name: String,
}

/// A key just issued: shown on this one answer only.
struct Issued {
    name: String,
    key: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "staff/integrators.html")]
struct Page {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
    places: Vec<Place>,
    issued: Option<Issued>,
    form_key: String,
    max_days: i64,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    notice: &'static str,
    issued: Option<Issued>,
) -> Result<Html<String>, AppError> {
    let now = state.now();
    let store = state.store();
    let rows = store.integrator_tokens(&staff.scope.org_code).await?.into_iter().map(|t| row(t, now)).collect();
    let mut places = Vec::new();
    for level in [OrgLevel::County, OrgLevel::Township] {
        places.extend(
            store
                .orgs_at_level(level)
                .await?
                .into_iter()
                .filter(|o| staff.scope.covers_org(&o.code))
                .map(|o| Place { name: o.display_name().to_owned(), code: o.code }),
        );
    }
    let page =
        Page { nav: staff.nav(), notice, rows, places, issued, form_key: random_token(), max_days: MAX_VALID_DAYS };
    Ok(Html(page.render()?))
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_str() {
        "revoked" => "密钥已吊销，使用该密钥的请求将被拒绝。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    render(&state, &staff, notice, None).await
}

struct IssueForm {
    form_key: String,
    org_code: String,
    name: String,
    kinds: Vec<String>,
    days: String,
}

pub async fn issue(
    State(state): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = IssueForm::from_pairs(pairs);
    staff.require_org(&form.org_code)?;
    let Some(org) = state.store().find_org(&form.org_code).await? else {
        return Err(AppError::invalid("范围：请选择县或乡镇"));
    };
    let name = xiaowei_core::text::compact(&form.name);
    if name.is_empty() || name.chars().count() > 40 {
        return Err(AppError::invalid("对接系统名称：请填写1至40个字，如“县12345政务服务便民热线”"));
    }
    let kinds = Kinds::parse(&form.kinds.join(","))
        .ok_or_else(|| AppError::invalid("可见类别：请至少勾选“办件”或“留言”之一"))?;
    let days = valid_days(&form.days)
        .ok_or_else(|| AppError::invalid(format!("有效期：请填写1至{MAX_VALID_DAYS}之间的天数")))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/integrators?done=repeat"));
    }
    let now = state.now();
    let key = format!("{KEY_PREFIX}{}", random_token());
    let token = NewIntegratorToken {
        name: name.clone(),
        org_code: org.code.clone(),
        kinds,
        key_hash: crate::open311::key_hash(&state, &key),
        key_hint: key_hint(&key),
        created_by: staff.user.id,
        expires_at: now + days * 86_400,
    };
    let id = state.store().create_integrator_token(&token, now).await?;
    state
        .audit(staff.audit_entry(
            now,
            "integrator.issue",
            format!("integrator:{id}"),
            format!("签发接口密钥“{name}”（{}，{}，{days}天）", org.display_name(), kinds.label()),
            Some(org.code.clone()),
        ))
        .await?;
    let issued = Issued { name, key, expires: shanghai_time(token.expires_at) };
    let mut response = render(&state, &staff, "", Some(issued)).await?.into_response();
    // The key is a secret shown once: no cache may keep this answer.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

impl IssueForm {
    /// Reads the form's fields; `kinds` is a group of checkboxes, so it may repeat.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self {
            form_key: String::new(),
            org_code: String::new(),
            name: String::new(),
            kinds: Vec::new(),
            days: String::new(),
        };
        for (k, v) in pairs {
            match k.as_str() {
                "form_key" => form.form_key = v,
                "org_code" => form.org_code = v,
                "name" => form.name = v,
                "kinds" => form.kinds.push(v),
                "days" => form.days = v,
                _ => {}
            }
        }
        form
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(flatten)]
    keyed: KeyedForm,
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, AppError> {
    let token = state.store().find_integrator_token(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&token.org_code)?;
    if form.confirm != "1" {
        return Err(AppError::invalid("吊销确认：请勾选“确认吊销该密钥”后再提交"));
    }
    if !first_submit(&state, &staff, &form.keyed.form_key).await? {
        return Ok(see_other("/staff/integrators?done=repeat"));
    }
    let now = state.now();
    if state.store().revoke_integrator_token(id, staff.user.id, now).await? {
        state
            .audit(staff.audit_entry(
                now,
                "integrator.revoke",
                format!("integrator:{id}"),
                format!("吊销接口密钥“{}”（{}）", token.name, token.key_hint),
                Some(token.org_code.clone()),
            ))
            .await?;
    }
    Ok(see_other("/staff/integrators?done=revoked"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/integrators", Permission::ManageIntegrators, Target::None, list)
        .post("/staff/integrators", Permission::ManageIntegrators, Target::Org, issue)
        .post("/staff/integrators/{integrator}/revoke", Permission::ManageIntegrators, Target::Integrator, revoke)
}
