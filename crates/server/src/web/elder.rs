//! 长辈模式 (elder mode): larger type, one column, bigger targets and stronger contrast, after
//! MIIT's 《互联网网站适老化通用设计规范》. The choice is a plain preference cookie (`xw_elder`,
//! `1` or `0`), set by `/mode?elder=…` from the switch on every page; without it, hall terminals
//! (a request carrying the kiosk device cookie) are in elder mode and phones are not. [`dress`]
//! marks the page's `<html>` with the `elder` class after the handler, so cached pages stay one
//! copy. The cookie holds no personal data and changes nothing but the look of pages.

use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::web::client::KIOSK_COOKIE;
use crate::web::security::cookie;

/// The preference cookie: `1` elder mode, `0` standard mode.
pub const ELDER_COOKIE: &str = "xw_elder";
/// The opening tag every page starts from (`base.html`).
const HTML_TAG: &str = "<html lang=\"zh-CN\">";
/// A year: long enough that a villager chooses once.
const COOKIE_SECS: i64 = 365 * 86_400;
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Whether a request is to be answered in elder mode.
pub fn is_on(headers: &HeaderMap) -> bool {
    match cookie(headers, ELDER_COOKIE) {
        Some("1") => true,
        Some("0") => false,
        _ => cookie(headers, KIOSK_COOKIE).is_some(),
    }
}

/// Middleware: adds `class="elder"` to the `<html>` tag of HTML answers in elder mode.
pub async fn dress(request: Request, next: Next) -> Response {
    let on = is_on(request.headers());
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Cookie"));
    if !on {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE_BYTES).await else {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "页面过大").into_response();
    };
    let Ok(html) = String::from_utf8(bytes.to_vec()) else { return Response::from_parts(parts, Body::from(bytes)) };
    let dressed = html.replacen(HTML_TAG, "<html lang=\"zh-CN\" class=\"elder\">", 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(dressed))
}

#[derive(Deserialize)]
pub struct ModeQuery {
    #[serde(default)]
    elder: String,
}

/// `/mode?elder=1|0`: remembers the choice and goes back to the page the switch was on.
pub async fn switch(headers: HeaderMap, Query(q): Query<ModeQuery>) -> Response {
    let value = if q.elder == "1" { "1" } else { "0" };
    let mut response = Redirect::to(&back_to(&headers)).into_response();
    let text = format!("{ELDER_COOKIE}={value}; Path=/; SameSite=Lax; Max-Age={COOKIE_SECS}");
    if let Ok(v) = HeaderValue::from_str(&text) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The path of the referring page on this site, or the home page.
fn back_to(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let path = referer
        .split_once("://")
        .and_then(|(_, rest)| rest.strip_prefix(host))
        .filter(|_| !host.is_empty())
        .unwrap_or_default();
    if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/mode") {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_phone_is_in_standard_mode_and_a_terminal_in_elder_mode_unless_chosen() {
        assert!(!is_on(&headers(&[])));
        assert!(is_on(&headers(&[(header::COOKIE, "xw_kiosk=abc")])));
        assert!(!is_on(&headers(&[(header::COOKIE, "xw_kiosk=abc; xw_elder=0")])));
        assert!(is_on(&headers(&[(header::COOKIE, "xw_elder=1")])));
    }

    #[test]
    fn the_switch_goes_back_only_to_a_page_of_this_site() {
        let same = headers(&[(header::HOST, "a.cn"), (header::REFERER, "https://a.cn/rosters/3?page=2")]);
        assert_eq!(back_to(&same), "/rosters/3?page=2");
        let other = headers(&[(header::HOST, "a.cn"), (header::REFERER, "https://evil.cn/x")]);
        assert_eq!(back_to(&other), "/");
        let sneaky = headers(&[(header::HOST, "a.cn"), (header::REFERER, "https://a.cn//evil.cn/")]);
        assert_eq!(back_to(&sneaky), "/");
        let prefix = headers(&[(header::HOST, "a.cn"), (header::REFERER, "https://a.cn.evil.cn/x")]);
        assert_eq!(back_to(&prefix), "/");
        assert_eq!(back_to(&headers(&[])), "/");
    }
}
