//! Filing and following requests through the API: a 我要办事 case and a 留言箱 message, each
//! filed through the same use case as its form (validation, quota, once-only `submit_key`,
//! texts, audit) and read back by tracking number with the access key (`key`) the filing answer
//! gives — the same key the filer's text message links carry. A wrong key answers 404, like a
//! missing number, so numbers cannot be probed. A report's (举报) view never shows who filed it.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xiaowei_core::message::{self, MessageKind, MessageStatus};
use xiaowei_core::service::{self, CaseStatus};
use xiaowei_core::tracked::Satisfaction;

use super::api_time;
use super::error::ApiError;
use super::paging::ApiQuery;
use crate::app::tracked::masked_phone;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::workers::notify;

/// A public entry of a request's timeline.
#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    pub note: String,
}

fn timeline(events: impl IntoIterator<Item = (i64, i64, String, String)>) -> Vec<TimelineEntry> {
    events
        .into_iter()
        .filter(|(public, ..)| *public == 1)
        .map(|(_, at, actor, note)| TimelineEntry { at: api_time(at), actor, note })
        .collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The access key from the filing answer (or the text message's link).
    #[param(value_type = String, pattern = "^[0-9a-f]{20}$")]
    key: Option<String>,
}

/// A tracking number exactly as issued (prefix and 14 digits); forms forgive spaces and case,
/// the API does not, so that its document can say precisely what it takes.
fn tracking_param(text: &str, prefix: &str, normalize: fn(&str) -> Option<String>) -> Option<String> {
    let digits = text.strip_prefix(prefix)?;
    (digits.len() == 14 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| normalize(text)).flatten()
}

/// The access key: 20 lowercase hexadecimal characters.
fn key_param(key: Option<String>) -> Result<String, ApiError> {
    match key {
        Some(k) if k.len() == 20 && k.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => Ok(k),
        Some(_) => Err(ApiError::field("key", "查询码：应为提交时得到的20位查询码")),
        None => Err(ApiError::field("key", "查询码：请填写提交时得到的查询码")),
    }
}

/// The answer's headers: the filer's own record stays out of shared caches.
fn private<T: Serialize>(body: T) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// A case as its applicant sees it.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    #[schema(example = "BJ20251009123456")]
    pub tracking: String,
    pub item_id: i64,
    pub item_name: String,
    pub department: String,
    /// The village it was filed in.
    pub place_code: String,
    /// `submitted`, `in_progress`, `completed`, `closed` or `reopened`.
    pub status: String,
    #[schema(example = "待联系")]
    pub status_label: String,
    pub applicant_name: String,
    /// The applicant's phone, masked (`139****1234`).
    pub phone_masked: String,
    pub description: String,
    pub submitted_at: String,
    /// By when staff must make contact, and complete the case.
    pub contact_due: String,
    pub completion_due: String,
    /// How the completion deadline was counted, in Chinese.
    pub deadline_basis: String,
    pub overdue: bool,
    pub reply: Option<String>,
    /// `satisfied`, `basically_satisfied` or `unsatisfied` once rated.
    pub rating: Option<String>,
    pub rating_label: Option<String>,
    pub timeline: Vec<TimelineEntry>,
}

/// A case by tracking number and access key.
#[utoipa::path(get, path = "/api/v1/cases/{tracking}", tag = "services", summary = "查询办件",
    params(("tracking" = String, Path, description = "办件编号", pattern = "^BJ[0-9]{14}$"), KeyQuery),
    responses((status = 200, description = "办件进度", body = CaseView)))]
pub async fn show_case(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    let tracking = tracking_param(&tracking, "BJ", service::normalize_tracking)
        .ok_or_else(|| ApiError::field("tracking", "办件编号：应为 BJ 加14位数字，如 BJ20251009123456"))?;
    if key_param(q.key)? != notify::case_key(&state, &tracking) {
        return Err(AppError::NotFound.into());
    }
    let case = state.store().find_case_by_tracking(&tracking).await?.ok_or(AppError::NotFound)?;
    let status = CaseStatus::parse(&case.status);
    let rating = case.rating.as_deref().and_then(Satisfaction::parse);
    let events = state.store().case_events(case.id).await?;
    Ok(private(CaseView {
        phone_masked: masked_phone(&state, &case.phone_enc),
        timeline: timeline(events.into_iter().map(|e| (e.public, e.at, e.actor, e.note))),
        status_label: status.map_or("", CaseStatus::label).to_owned(),
        rating_label: rating.map(|r| r.label().to_owned()),
        overdue: case.contact_overdue_at.is_some() || case.completion_overdue_at.is_some(),
        submitted_at: api_time(case.submitted_at),
        contact_due: api_time(case.contact_due),
        completion_due: api_time(case.completion_due),
        tracking: case.tracking,
        item_id: case.item_id,
        item_name: case.item_name,
        department: case.department_name,
        place_code: case.org_code,
        status: case.status,
        applicant_name: case.applicant_name,
        description: case.description,
        deadline_basis: case.deadline_basis,
        reply: case.reply,
        rating: case.rating,
    }))
}

/// A message as its author sees it.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    #[schema(example = "LY20251009123456")]
    pub tracking: String,
    /// `question` (咨询), `complaint` (投诉), `suggestion` (建议) or `report` (举报).
    pub kind: String,
    pub kind_label: String,
    /// The township or village it is addressed to.
    pub place_code: String,
    /// `submitted`, `handling`, `replied`, `closed`, `reopened`, `merged` or `hidden`.
    pub status: String,
    pub status_label: String,
    /// The author's phone, masked; always empty for a report.
    pub phone_masked: String,
    pub body: String,
    pub submitted_at: String,
    pub reply_due: String,
    pub deadline_basis: String,
    pub overdue: bool,
    pub reply: Option<String>,
    /// The tracking number of the message this one was merged into.
    pub merged_into: Option<String>,
    pub rating: Option<String>,
    pub rating_label: Option<String>,
    pub timeline: Vec<TimelineEntry>,
}

/// A message by tracking number and access key.
#[utoipa::path(get, path = "/api/v1/messages/{tracking}", tag = "messages", summary = "查询留言",
    params(("tracking" = String, Path, description = "留言编号", pattern = "^LY[0-9]{14}$"), KeyQuery),
    responses((status = 200, description = "留言进度", body = MessageView)))]
pub async fn show_message(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    let tracking = tracking_param(&tracking, "LY", message::normalize_tracking)
        .ok_or_else(|| ApiError::field("tracking", "留言编号：应为 LY 加14位数字，如 LY20251009123456"))?;
    if key_param(q.key)? != notify::message_key(&state, &tracking) {
        return Err(AppError::NotFound.into());
    }
    let store = state.store();
    let m = store.find_message_by_tracking(&tracking).await?.ok_or(AppError::NotFound)?;
    let kind = MessageKind::parse(&m.kind);
    let phone_masked = match (&m.phone_enc, kind) {
        (Some(sealed), Some(k)) if k != MessageKind::Report => masked_phone(&state, sealed),
        _ => String::new(),
    };
    let merged_into = match m.merged_into {
        Some(id) => store.find_message(id).await?.map(|other| other.tracking),
        None => None,
    };
    let rating = m.rating.as_deref().and_then(Satisfaction::parse);
    let events = store.message_events(m.id).await?;
    Ok(private(MessageView {
        phone_masked,
        merged_into,
        timeline: timeline(events.into_iter().map(|e| (e.public, e.at, e.actor, e.note))),
        kind_label: kind.map_or("", MessageKind::label).to_owned(),
        status_label: MessageStatus::parse(&m.status).map_or("", MessageStatus::label).to_owned(),
        rating_label: rating.map(|r| r.label().to_owned()),
        overdue: m.overdue_at.is_some(),
        submitted_at: api_time(m.submitted_at),
        reply_due: api_time(m.reply_due),
        tracking: m.tracking,
        kind: m.kind,
        place_code: m.org_code,
        status: m.status,
        body: m.body,
        deadline_basis: m.deadline_basis,
        reply: m.reply,
        rating: m.rating,
    }))
}
