//! What the staff pages of each kind of tracked request (办件 in `cases`, 留言 in `inbox`) show
//! alike: the timeline, the texts sent about it, the rating, the requester's phone — in full and
//! audited only for those who handle it — the photos, and where an action leads back to.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use xiaowei_core::Phone;
use xiaowei_core::service::ContactMethod;
use xiaowei_core::text::redact_link_keys;
use xiaowei_core::tracked::Satisfaction;
use xiaowei_store::{OutboxMessage, RequestKind};

use super::{Staff, see_other};
use crate::app::tracked::Outcome;
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

/// One step of the timeline as staff see it, internal notes included.
pub struct EventRow {
    pub at: String,
    pub actor: String,
    /// How the official got in touch (电话, 上门…), for a contact.
    pub method: String,
    pub note: String,
    pub public: bool,
}

/// The whole timeline of a request, oldest first.
pub async fn timeline(state: &AppState, kind: RequestKind, id: i64) -> Result<Vec<EventRow>, AppError> {
    Ok(state
        .store()
        .events(kind, id)
        .await?
        .into_iter()
        .map(|e| EventRow {
            at: shanghai_time(e.at),
            actor: e.actor,
            method: e.method.map_or("", ContactMethod::label).to_owned(),
            note: e.note,
            public: e.public,
        })
        .collect())
}

/// One text about a request.
pub struct TextRow {
    pub recipient: String,
    pub status: &'static str,
    /// The body, with a message author's link key kept out (the link opens the author's own page).
    pub body: String,
    pub error: String,
    pub at: String,
}

impl From<OutboxMessage> for TextRow {
    fn from(m: OutboxMessage) -> Self {
        Self {
            status: m.status.label(),
            body: if m.message_id.is_some() { redact_link_keys(&m.body) } else { m.body },
            error: m.last_error.unwrap_or_default(),
            at: shanghai_time(m.sent_at.unwrap_or(m.created_at)),
            recipient: m.recipient,
        }
    }
}

/// The rating as one line: "不满意：还没修好", or "" when not rated.
pub fn rating_line(rating: Option<Satisfaction>, comment: Option<&str>) -> String {
    let Some(rating) = rating else { return String::new() };
    match comment.filter(|c| !c.is_empty()) {
        Some(c) => format!("{}：{c}", rating.label()),
        None => rating.label().to_owned(),
    }
}

/// Whose phone a staff page shows and why: the audit target and words for a full view.
pub struct PhoneView<'a> {
    pub sealed: &'a [u8],
    /// `service_case:7`, `message:9`
    pub target: String,
    pub detail: String,
    pub org_code: &'a str,
}

/// The requester's phone: in full to one who handles the request (the view audited as
/// `pii.view`), masked to everyone else; "" when it cannot be read.
pub async fn contact_phone(
    state: &AppState,
    staff: &Staff,
    view: PhoneView<'_>,
    in_full: bool,
) -> Result<String, AppError> {
    let phone = state.cipher().decrypt(view.sealed).ok().and_then(|p| Phone::parse(&p).ok());
    if !in_full {
        return Ok(phone.map(|p| p.masked()).unwrap_or_default());
    }
    let entry = staff.audit_entry(state.now(), "pii.view", view.target, view.detail, Some(view.org_code.to_owned()));
    state.audit(entry).await?;
    Ok(phone.map(|p| p.expose().to_owned()).unwrap_or_default())
}

/// A photo filed with the request `id`, for staff (kept privately by the browser for an hour).
pub async fn photo(state: &AppState, kind: RequestKind, id: i64, photo_id: i64) -> Result<Response, AppError> {
    let photo =
        state.store().photos(kind, id).await?.into_iter().find(|p| p.id == photo_id).ok_or(AppError::NotFound)?;
    let bytes = state.attachments().get(&photo.sha256).await.map_err(|e| AppError::Internal(format!("{e:?}")))?;
    Ok((
        [(header::CONTENT_TYPE, photo.content_type), (header::CACHE_CONTROL, "private, max-age=3600".to_owned())],
        bytes,
    )
        .into_response())
}

/// Where a staff action leads: back to the request's page (`page`), saying what was done, or
/// that the form had already been handled.
pub fn done(page: &str, outcome: Outcome, what: &str) -> Response {
    let what = if outcome == Outcome::Done { what } else { "repeat" };
    see_other(&format!("{page}?done={what}"))
}
