//! Static assets, embedded in the binary so that one file is the whole installation.
//! Served with long cache lifetimes; templates reference them with a version query.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// A fingerprint of the embedded assets: any change to them changes every asset URL, so phones
/// refetch the stylesheet after an upgrade instead of keeping a week-old copy.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for (_, _, body) in FILES {
        hash.update(body);
    }
    hex::encode(&hash.finalize()[..6])
});

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
    ("ledger-verify.js", "text/javascript; charset=utf-8", include_bytes!("../../static/ledger-verify.js")),
    ("live.js", "text/javascript; charset=utf-8", include_bytes!("../../static/live.js")),
    ("kiosk.js", "text/javascript; charset=utf-8", include_bytes!("../../static/kiosk.js")),
    ("listen.js", "text/javascript; charset=utf-8", include_bytes!("../../static/listen.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../static/favicon.svg")),
];

/// `/favicon.ico`, which browsers ask for whatever a page links: the same icon as the pages link.
pub async fn favicon() -> Result<Response, AppError> {
    serve(Path("favicon.svg".to_owned())).await
}

pub async fn serve(Path(name): Path<String>) -> Result<Response, AppError> {
    let (_, mime, body) = FILES.iter().find(|(n, _, _)| *n == name).ok_or(AppError::NotFound)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=604800"));
    Ok(response)
}
