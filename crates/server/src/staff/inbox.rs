//! The unified inbox (留言与异议): messages left in the 留言箱, objections raised on rosters and
//! problems reported from the self-query, in the account's scope. Staff assign a message, reply
//! (publicly or privately), close it, merge a duplicate into the message it repeats, or hide
//! abusive content with a reason the author sees.
//!
//! Reports (举报) and their authors are visible only to the discipline commission: the county
//! supervisors and the township's discipline secretary. To everyone else a report does not exist
//! (404), and no list, export or text shows who left it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::Permission;
use xiaowei_core::message::{self, MessageKind, MessageStatus};
use xiaowei_store::{Message, MessageFilter, RequestKind};

use super::tracked::{self, EventRow, PhoneView, TextRow};
use super::{Nav, Staff, StaffRoutes, Target};
use crate::app::messages;
use crate::app::tracked::Outcome;
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 30;

/// The message of `tracking` if it lies in the account's reach. Outside the scope,
/// or a report to anyone outside the commission: not found.
pub async fn message_in_scope(state: &AppState, staff: &Staff, tracking: &str) -> Result<Message, AppError> {
    let tracking = message::normalize_tracking(tracking).ok_or(AppError::NotFound)?;
    let m = state.store().find_message_by_tracking(&tracking).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&m.org_code)?;
    if m.kind == MessageKind::Report && !staff.role.is_commission() {
        return Err(AppError::NotFound);
    }
    Ok(m)
}

struct MessageRow {
    tracking: String,
    kind: &'static str,
    place: String,
    status: &'static str,
    overdue: bool,
    submitted: String,
    due: String,
    assignee: String,
    excerpt: String,
}

struct ObjectionRow {
    id: i64,
    code: String,
    place: String,
    roster_id: Option<i64>,
    entry_id: Option<i64>,
    source: &'static str,
    name: String,
    phone: String,
    body: String,
    status: &'static str,
    closed: bool,
    reply: String,
    created: String,
}

#[derive(Template)]
#[template(path = "staff/inbox.html")]
struct InboxPage {
    nav: Nav,
    notice: &'static str,
    rows: Vec<MessageRow>,
    total: i64,
    objections: Vec<ObjectionRow>,
    page: i64,
    has_more: bool,
    kind: String,
    status: String,
    overdue: bool,
    kinds: Vec<MessageKind>,
    statuses: [MessageStatus; 7],
    can_answer: bool,
    sees_objector: bool,
    form_key: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<i64>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    done: String,
}

fn filter_of(staff: &Staff, q: &ListQuery) -> MessageFilter {
    MessageFilter {
        org_prefix: staff.scope.org_code.clone(),
        include_reports: staff.role.is_commission(),
        kind: MessageKind::parse(&q.kind),
        status: MessageStatus::parse(&q.status),
        overdue_only: q.overdue == "1",
        open_only: false,
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let only_objections = q.kind == "objection";
    let filter = filter_of(&staff, &q);
    let (messages, total) = if only_objections {
        (Vec::new(), 0)
    } else {
        state.store().messages(&filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?
    };
    let mut rows = Vec::with_capacity(messages.len());
    for m in messages {
        rows.push(MessageRow {
            place: crate::web::places::place_name(&state, &m.org_code).await?,
            kind: m.kind.label(),
            status: m.status.label(),
            overdue: m.overdue_at.is_some(),
            submitted: shanghai_time(m.submitted_at),
            due: shanghai_time(m.reply_due),
            assignee: m.assignee_name.unwrap_or_default(),
            excerpt: if m.hidden_reason.is_some() {
                "（已屏蔽）".to_owned()
            } else {
                let mut s: String = m.body.chars().take(40).collect();
                if m.body.chars().count() > 40 {
                    s.push('…');
                }
                s
            },
            tracking: m.tracking,
        });
    }
    // Objections and self-query reports: shown with the whole list, or alone when asked for.
    let show_objections = staff.role.allows(Permission::ViewObjections)
        && (only_objections || (filter.kind.is_none() && filter.status.is_none() && !filter.overdue_only));
    let sees_objector = super::objections::sees_objector(&staff);
    let mut objections = Vec::new();
    let mut more_objections = false;
    if show_objections {
        let offset = if only_objections { (page - 1) * PAGE_SIZE } else { 0 };
        let mut found = state.store().objections_within(&staff.scope.org_code, PAGE_SIZE + 1, offset).await?;
        more_objections = only_objections && found.len() as i64 > PAGE_SIZE;
        found.truncate(PAGE_SIZE as usize);
        for o in found {
            let (code, name, phone, body) = super::objections::objector(&state, sees_objector, &o)?;
            objections.push(ObjectionRow {
                id: o.id,
                place: crate::web::places::place_name(&state, &o.org_code).await?,
                code,
                roster_id: o.roster_id,
                entry_id: o.entry_id,
                source: if o.roster_id.is_some() { "花名册异议" } else { "自助查询反映" },
                name,
                phone,
                body,
                status: crate::app::objections::status_label(&o),
                closed: !o.status.is_open(),
                reply: o.reply.unwrap_or_default(),
                created: shanghai_time(o.created_at),
            });
        }
        if sees_objector && !objections.is_empty() {
            let detail = format!("查看异议人手机号 {} 个", objections.len());
            let entry = staff.audit_entry(
                state.now(),
                "pii.view",
                "objections".into(),
                detail,
                Some(staff.scope.org_code.clone()),
            );
            state.audit(entry).await?;
        }
    }
    let notice = match q.done.as_str() {
        "answered" => "答复已保存，异议人可凭查询码查看。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let kinds =
        MessageKind::ALL.into_iter().filter(|k| *k != MessageKind::Report || staff.role.is_commission()).collect();
    let page = InboxPage {
        nav: staff.nav(),
        notice,
        has_more: page * PAGE_SIZE < total || more_objections,
        rows,
        total,
        objections,
        page,
        kind: if only_objections { "objection" } else { filter.kind.map_or("", MessageKind::as_str) }.to_owned(),
        status: filter.status.map_or("", MessageStatus::as_str).to_owned(),
        overdue: filter.overdue_only,
        kinds,
        statuses: MessageStatus::ALL,
        can_answer: staff.role.allows(Permission::HandleObjections),
        sees_objector,
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

/// The inbox as CSV, for reports to the county: numbers, kinds, places, dates and ratings. It
/// never carries names, phones or content, whoever exports it.
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = filter_of(&staff, &q);
    let (messages, _) = state.store().messages(&filter, 10_000, 0).await?;
    let mut csv = String::from("\u{feff}留言编号,类别,留言对象,状态,提交时间,答复期限,是否逾期,答复时间,评价\n");
    for m in messages {
        let place = crate::web::places::place_name(&state, &m.org_code).await?;
        let rating = m.rating.map_or("", |r| r.label());
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            m.tracking,
            m.kind.label(),
            place.replace(',', " "),
            m.status.label(),
            shanghai_time(m.submitted_at),
            shanghai_time(m.reply_due),
            if m.overdue_at.is_some() { "是" } else { "否" },
            m.replied_at.map(shanghai_time).unwrap_or_default(),
            rating
        ));
    }
    let entry = staff.audit_entry(state.now(), "message.export", "messages".into(), "导出留言统计".into(), None);
    state.audit(entry).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"messages.csv\"".to_owned()),
        ],
        csv,
    )
        .into_response())
}

struct Assignable {
    id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "staff/message.html")]
struct MessagePage {
    nav: Nav,
    m: Message,
    kind: MessageKind,
    place: String,
    author: String,
    phone: String,
    status: &'static str,
    submitted: String,
    due: String,
    replied: String,
    rating: String,
    merged_into: String,
    can_handle: bool,
    open: bool,
    can_mark_handled: bool,
    may_be_public: bool,
    assignable: Vec<Assignable>,
    photos: Vec<xiaowei_store::Photo>,
    events: Vec<EventRow>,
    texts: Vec<TextRow>,
    form_key: String,
    notice: &'static str,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    let (kind, status) = (m.kind, m.status);
    let can_handle = staff.role.allows(Permission::HandleMessages);
    // Those who answer see the phone to call (audited); others see it masked.
    let phone = match &m.phone_enc {
        Some(sealed) => {
            let view = PhoneView {
                sealed,
                target: format!("message:{}", m.id),
                detail: format!("查看留言{}的联系电话", m.tracking),
                org_code: &m.org_code,
            };
            tracked::contact_phone(&state, &staff, view, can_handle).await?
        }
        None => String::new(),
    };
    let author = if m.author_name.is_empty() {
        if kind == MessageKind::Report && m.phone_enc.is_none() { "匿名" } else { "未留称呼" }.to_owned()
    } else {
        m.author_name.clone()
    };
    let assignable = if can_handle && status.is_open() {
        state
            .store()
            .staff_covering(&m.org_code, messages::assignable_roles(kind))
            .await?
            .into_iter()
            .filter(|u| staff.scope.covers_org(&u.org_code) || u.id == staff.user.id)
            .map(|u| Assignable { id: u.id, label: format!("{}（{}）", u.display_name, u.role.label()) })
            .collect()
    } else {
        Vec::new()
    };
    let events = tracked::timeline(&state, RequestKind::Message, m.id).await?;
    let texts = state.store().message_outbox(m.id).await?.into_iter().map(TextRow::from).collect();
    let merged_into = match m.merged_into {
        Some(id) => state.store().find_message(id).await?.map(|k| k.tracking).unwrap_or_default(),
        None => String::new(),
    };
    let notice = match q.done.as_str() {
        "assigned" => "已交办。",
        "replied" => "已答复，已短信通知留言人查看并评价。",
        "handled" => "已标记办结。",
        "merged" => "已合并，重复留言已关闭。",
        "hidden" => "已屏蔽，屏蔽原因已告知留言人。",
        "repeat" => "该操作已处理过，无需重复提交。",
        _ => "",
    };
    let page = MessagePage {
        nav: staff.nav(),
        place: crate::web::places::place_name(&state, &m.org_code).await?,
        kind,
        author,
        phone,
        status: status.label(),
        submitted: shanghai_time(m.submitted_at),
        due: shanghai_time(m.reply_due),
        replied: m.replied_at.map(shanghai_time).unwrap_or_default(),
        rating: tracked::rating_line(m.rating, m.rating_comment.as_deref()),
        merged_into,
        can_handle,
        open: status.is_open(),
        can_mark_handled: can_handle && status == MessageStatus::Replied,
        may_be_public: kind.may_be_public() && m.allow_public,
        assignable,
        photos: state.store().photos(RequestKind::Message, m.id).await?,
        events,
        texts,
        form_key: random_token(),
        notice,
        m,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    user_id: String,
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    reply: String,
    #[serde(default)]
    public: String,
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    into: String,
}

/// Where a staff action on a message leads: back to the message, saying what was done.
fn done(m: &Message, outcome: Outcome, what: &str) -> Response {
    tracked::done(&format!("/staff/inbox/{}", m.tracking), outcome, what)
}

pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    let outcome = messages::assign(&state, &m, &staff.official(), &form.form_key, &form.user_id, state.now()).await?;
    Ok(done(&m, outcome, "assigned"))
}

pub async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    let (by, public) = (staff.official(), form.public == "1");
    let outcome = messages::reply(&state, &m, &by, &form.form_key, &form.reply, public, state.now()).await?;
    Ok(done(&m, outcome, "replied"))
}

pub async fn mark_handled(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    let outcome =
        messages::mark_handled(&state, &m, &staff.official(), &form.form_key, &form.note, state.now()).await?;
    Ok(done(&m, outcome, "handled"))
}

pub async fn merge(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    let into = message::normalize_tracking(&form.into)
        .ok_or_else(|| AppError::invalid("合并到：请填写要保留的留言编号，如 LY20251009123456"))?;
    if into == m.tracking {
        return Err(AppError::invalid("合并到：不能合并到本条留言自身"));
    }
    let kept = match message_in_scope(&state, &staff, &into).await {
        Ok(kept) => kept,
        Err(AppError::NotFound | AppError::Forbidden) => {
            return Err(AppError::invalid("合并到：本辖区内没有这条留言"));
        }
        Err(e) => return Err(e),
    };
    let outcome = messages::merge(&state, &m, &kept, &staff.official(), &form.form_key, state.now()).await?;
    Ok(done(&m, outcome, "merged"))
}

pub async fn hide(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    let outcome = messages::hide(&state, &m, &staff.official(), &form.form_key, &form.reason, state.now()).await?;
    Ok(done(&m, outcome, "hidden"))
}

/// A photo the author attached.
pub async fn photo(
    State(state): State<AppState>,
    staff: Staff,
    Path((tracking, photo_id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let m = message_in_scope(&state, &staff, &tracking).await?;
    tracked::photo(&state, RequestKind::Message, m.id, photo_id).await
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/inbox", Permission::ViewMessages, Target::None, list)
        .get("/staff/inbox/export", Permission::ViewMessages, Target::None, export)
        .get("/staff/inbox/{msg}", Permission::ViewMessages, Target::Message, show)
        .post("/staff/inbox/{msg}/assign", Permission::HandleMessages, Target::Message, assign)
        .post("/staff/inbox/{msg}/reply", Permission::HandleMessages, Target::Message, reply)
        .post("/staff/inbox/{msg}/handled", Permission::HandleMessages, Target::Message, mark_handled)
        .post("/staff/inbox/{msg}/merge", Permission::HandleMessages, Target::Message, merge)
        .post("/staff/inbox/{msg}/hide", Permission::HandleMessages, Target::Message, hide)
        .get("/staff/inbox/{msg}/photos/{photo}", Permission::ViewMessages, Target::Message, photo)
}
