//! Operations endpoints and middleware: `/healthz`, `/readyz`, Prometheus `/metrics` (for
//! loopback peers or the `metrics_token` bearer only: it lists every staff route), request
//! counting by route, and the security headers sent with every response.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::Digest;

use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Whether the request may read `/metrics`: it carries `Authorization: Bearer <metrics_token>`,
/// or it comes straight from this machine (a loopback client that no proxy forwarded).
fn may_read_metrics(state: &AppState, request: &Request) -> bool {
    let headers = request.headers();
    if let Some(expected) = &state.config().metrics_token {
        let expected = expected.expose_secret().trim();
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !expected.is_empty() && given.is_some_and(|g| sha256(g) == sha256(expected)) {
            return true;
        }
    }
    let forwarded = headers.contains_key("forwarded") || headers.contains_key("x-forwarded-for");
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    !forwarded
        && peer.is_some_and(|ip| crate::web::client::client_address(ip, headers, state.trusted_proxies()).is_loopback())
}

/// Compared by digest, so the comparison takes the same time whatever the guess.
fn sha256(text: &str) -> [u8; 32] {
    sha2::Sha256::digest(text.as_bytes()).into()
}

pub async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    if !may_read_metrics(&state, &request) {
        return crate::web::error::AppError::NotFound.into_response();
    }
    let body = state.metrics().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Counts requests and their latency by method, matched route and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(started.elapsed().as_secs_f64());
    response
}

/// Content-Security-Policy: nothing inline, nothing external, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The security headers every response carries.
pub fn security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ]
}
