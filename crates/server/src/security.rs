//! Request-level protection: the CSRF guard on every state-changing request, cookie helpers,
//! the client address used in audit records, and the rendering of errors as pages or JSON.
//!
//! CSRF uses a double-submit token: a random `xw_csrf` cookie (SameSite=Strict, HttpOnly) that
//! every form repeats in a hidden `csrf` field; cross-site requests announced by the browser
//! (`Sec-Fetch-Site: cross-site`) are refused outright.

use std::net::SocketAddr;

use askama::Template;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use rand::RngCore;

use crate::error::{AppError, ErrorInfo};

pub const CSRF_COOKIE: &str = "xw_csrf";
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The CSRF token of the current request, for embedding in forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts.extensions.get::<CsrfToken>().cloned().ok_or_else(|| AppError::Internal("csrf layer missing".into()))
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(Self(ip))
    }
}

/// A fresh random token, hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, site-wide.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Issues the CSRF cookie when missing and checks the token on every unsafe method.
pub async fn csrf_guard(request: Request, next: Next) -> Response {
    let existing = cookie(request.headers(), CSRF_COOKIE).filter(|t| t.len() == 64).map(str::to_owned);
    let token = existing.clone().unwrap_or_else(random_token);
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(CsrfToken(token.clone()));
    let request = if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Request::from_parts(parts, body)
    } else {
        let cross_site = parts.headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site");
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let from_header = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let field = |text: &[u8]| {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(text)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
        };
        let (submitted, body) = if content_type.starts_with("multipart/form-data") {
            // Uploads are streamed to the handler, not buffered here: the token travels in the
            // form's action URL (`?csrf=`) or a header.
            (from_header.or_else(|| parts.uri.query().and_then(|q| field(q.as_bytes()))), body)
        } else {
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return AppError::invalid("提交的内容过大").into_response();
            };
            let submitted =
                if content_type.starts_with("application/x-www-form-urlencoded") { field(&bytes) } else { from_header };
            (submitted, Body::from(bytes))
        };
        let valid = match (&existing, submitted) {
            (Some(expected), Some(given)) => constant_time_eq(expected, &given),
            _ => false,
        };
        if cross_site || !valid {
            return AppError::Csrf.into_response();
        }
        Request::from_parts(parts, body)
    };
    let mut response = next.run(request).await;
    if existing.is_none() {
        response.headers_mut().append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, &token, 60 * 60 * 24 * 30, false));
    }
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
    code: &'a str,
    request_id: &'a str,
    back: &'a str,
}

/// Turns error responses (ours and the framework's) into a Chinese page or a JSON body with a
/// stable code and the request id, never exposing internal detail.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let wants_json = request.uri().path().starts_with("/api/")
        || request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"));
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let back = request
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_else(|| "/".to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let info = response.extensions().get::<ErrorInfo>().cloned();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    let info = match info {
        Some(info) => info,
        None if (status.is_client_error() || status.is_server_error()) && !is_html => ErrorInfo::for_status(status),
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if wants_json {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let json =
            serde_json::json!({ "error": { "code": info.code, "message": info.message, "request_id": request_id } });
        Body::from(json.to_string())
    } else {
        let heading = if status == StatusCode::NOT_FOUND { "页面不存在" } else { "操作未能完成" };
        let page = ErrorPage { heading, message: &info.message, code: info.code, request_id: &request_id, back: &back };
        let html = page.render().unwrap_or_else(|_| info.message.clone());
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        Html(html).into_response().into_body()
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; xw_csrf=abc; b=2"));
        assert_eq!(cookie(&headers, "xw_csrf"), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn token_comparison_needs_equal_length_and_content() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
