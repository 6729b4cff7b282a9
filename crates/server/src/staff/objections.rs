//! 异议 handling: the township reviewer and the county supervisor see objections raised in their
//! scope (with the objector's phone, audited) and answer them; the objector follows the answer
//! by tracking code on the public site. Everyone else in scope (the village clerk who compiled
//! the roster among them) sees only that an objection exists, where, its status and the answer:
//! never who raised it, the phone, the content or the tracking code (which opens the content).
//! Every row shows the reply deadline and whether it is near or past.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::Permission;
use xiaowei_core::objection::MAX_REPLY_CHARS;
use xiaowei_core::tracked::{ClockState, Satisfaction};

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 30;

struct ObjectionRow {
    id: i64,
    code: String,
    place: String,
    roster_id: Option<i64>,
    name: String,
    phone: String,
    body: String,
    status: &'static str,
    closed: bool,
    reply: String,
    created: String,
    due: String,
    clock: &'static str,
    /// The objector's rating of the last answer (满意/基本满意/不满意), if given.
    rating: &'static str,
    /// Why they were not satisfied: the objector's words, for the commission only.
    rating_comment: String,
}

#[derive(Template)]
#[template(path = "staff/objections.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    objections: Vec<ObjectionRow>,
    page: i64,
    has_more: bool,
    can_answer: bool,
    sees_objector: bool,
    form_key: String,
}

/// Whether the role may see who raised an objection or self-query report: the discipline
/// commission only, as with reports (举报).
pub fn sees_objector(staff: &Staff) -> bool {
    staff.role.is_commission()
}

/// The objector's query code, name, phone and words as the viewer may see them: in full for the
/// commission, blank for everyone else.
pub fn objector(
    state: &AppState,
    sees_objector: bool,
    o: &xiaowei_store::Objection,
) -> Result<(String, String, String, String), AppError> {
    if !sees_objector {
        return Ok(Default::default());
    }
    let phone =
        state.cipher().decrypt(&o.phone_enc).map_err(|e| AppError::Internal(format!("objection {}: {e}", o.id)))?;
    Ok((o.code.clone(), o.name.clone(), phone, o.body.clone()))
}

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<i64>,
    #[serde(default)]
    done: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let mut rows =
        state.store().objections_within(&staff.scope.org_code, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let sees_objector = sees_objector(&staff);
    let now = state.now();
    let mut objections = Vec::with_capacity(rows.len());
    for o in rows {
        let (code, name, phone, body) = objector(&state, sees_objector, &o)?;
        let open = o.status.is_open();
        objections.push(ObjectionRow {
            id: o.id,
            place: crate::web::places::place_name(&state, &o.org_code).await?,
            code,
            roster_id: o.roster_id,
            name,
            phone,
            body,
            status: crate::app::objections::status_label(&o),
            closed: !open,
            due: shanghai_time(o.reply_due),
            clock: if open { ClockState::at(o.reply_due, o.reply_remind_at, now).label() } else { "" },
            rating: o.rating.map_or("", Satisfaction::label),
            rating_comment: if sees_objector { o.rating_comment.clone().unwrap_or_default() } else { String::new() },
            reply: o.reply.unwrap_or_default(),
            created: shanghai_time(o.created_at),
        });
    }
    if sees_objector && !objections.is_empty() {
        let detail = format!("查看异议人手机号 {} 个", objections.len());
        let entry =
            staff.audit_entry(state.now(), "pii.view", "objections".into(), detail, Some(staff.scope.org_code.clone()));
        state.audit(entry).await?;
    }
    let notice = match q.done.as_str() {
        "answered" => "答复已保存，异议人可凭查询码查看。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let page = ListPage {
        nav: staff.nav(),
        notice,
        objections,
        page,
        has_more,
        can_answer: staff.role.allows(Permission::HandleObjections),
        sees_objector,
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reply: String,
    /// `inbox` when answered from the unified inbox.
    #[serde(default)]
    back: String,
}

pub async fn answer(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let objection = state.store().find_objection(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&objection.org_code)?;
    let last = match form.status.as_str() {
        "closed" => true,
        "handling" => false,
        _ => return Err(AppError::invalid("处理状态：请选择处理中或已办结")),
    };
    let reply = form.reply.trim();
    if reply.is_empty() || reply.chars().count() > MAX_REPLY_CHARS {
        return Err(AppError::invalid(format!("答复内容：请填写（不超过{MAX_REPLY_CHARS}字）")));
    }
    let list = if form.back == "inbox" { "/staff/inbox" } else { "/staff/objections" };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("{list}?done=repeat")));
    }
    let now = state.now();
    // The public timeline names the role, not the official.
    let actor = staff.role.label();
    if !crate::app::objections::answer(&state, &objection, (staff.user.id, actor), last, reply, now).await? {
        return Err(AppError::Conflict("该异议已答复，不能再修改".into()));
    }
    let detail = format!("{}：{reply}", if last { "已答复" } else { "处理中" });
    let entry = staff.audit_entry(now, "objection.answer", format!("objection:{id}"), detail, Some(objection.org_code));
    state.audit(entry).await?;
    Ok(see_other(&format!("{list}?done=answered")))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/objections", Permission::ViewObjections, Target::None, list).post(
        "/staff/objections/{objection}/answer",
        Permission::HandleObjections,
        Target::Objection,
        answer,
    )
}
