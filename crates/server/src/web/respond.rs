//! Responses more than one end sends: the `303 See Other` after a form post, pages no cache may
//! keep, xlsx downloads and stored files (scans, documents) with their original names.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::state::AppState;
use crate::web::error::AppError;

/// A `303 See Other` to `location`, the answer to every successful form post.
pub fn see_other(location: &str) -> Response {
    axum::response::Redirect::to(location).into_response()
}

/// Marks a response `no-store`: it holds one person's data (their case, payments, what they
/// typed), so neither a shared cache nor the back-forward cache may keep it.
pub fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page of one person's own data, `no-store`.
pub fn private_page(html: String) -> Response {
    no_store(Html(html).into_response())
}

/// An xlsx download with a UTF-8 file name.
pub fn xlsx_response(bytes: Vec<u8>, file_name: &str) -> Response {
    let encoded = percent_encode(file_name);
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"roster.xlsx\"; filename*=UTF-8''{encoded}")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// Streams a stored scan with its original file name.
pub async fn attachment_response(
    state: &AppState,
    a: &xiaowei_store::Attachment,
    public: bool,
) -> Result<Response, AppError> {
    let bytes = state.attachments().get(&a.sha256).await.map_err(|e| match e {
        xiaowei_integrations::AttachmentError::NotFound => AppError::NotFound,
        other => AppError::Internal(format!("{other:?}")),
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, a.content_type.clone()),
            (header::CONTENT_DISPOSITION, format!("inline; filename*=UTF-8''{}", percent_encode(&a.original_name))),
            (header::CACHE_CONTROL, if public { "public, max-age=86400".to_owned() } else { "no-store".to_owned() }),
        ],
        bytes,
    )
        .into_response())
}

/// RFC 5987 encoding of a file name for `Content-Disposition`.
pub fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// Streams a power exercise record's stored document with its original file name.
pub async fn document_response(
    state: &AppState,
    d: xiaowei_store::PowerDocument,
    public: bool,
) -> Result<Response, AppError> {
    let a = xiaowei_store::Attachment {
        id: d.id,
        roster_id: None,
        programme_id: None,
        sha256: d.sha256,
        size: d.size,
        content_type: d.content_type,
        original_name: d.original_name,
        created_at: d.created_at,
    };
    attachment_response(state, &a, public).await
}
