//! Static assets, embedded in the binary so that one file is the whole installation.
//! Served with long cache lifetimes; templates reference them with a version query.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Bumped with every release, so cached assets are refetched after an upgrade.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const FILES: &[(&str, &str, &[u8])] = &[("app.css", "text/css; charset=utf-8", include_bytes!("../static/app.css"))];

pub async fn serve(Path(name): Path<String>) -> Result<Response, AppError> {
    let (_, mime, body) = FILES.iter().find(|(n, _, _)| *n == name).ok_or(AppError::NotFound)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=604800"));
    Ok(response)
}
