//! The middleware that answers public pages from [`crate::web::page_cache`]: a kept page is sent
//! as it was rendered (gzip-compressed when the client accepts it, so a hit costs no compression),
//! still counting as its org's visit and still issuing the CSRF cookie to a first-time visitor;
//! a page a handler marks shared is kept on its way out. After every unsafe request it reads the
//! content version again (unless the handler marked its answer [`Unchanged`]), so a change made
//! here shows on the very next page.
//!
//! It sits outside 长辈模式 and the hall-terminal chrome (the stored page is the dressed one, keyed
//! by the elder-mode choice; terminals are never served from the cache) and inside the metrics,
//! security headers and compression.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use xiaowei_core::monitor::Channel;

use crate::state::AppState;
use crate::state::visits::Visit;
use crate::web::client::{KIOSK_COOKIE, client_ip};
use crate::web::page_cache::{self, CachedPage, MAX_KEPT_BYTES, Shared, Unchanged};
use crate::web::security::{CSRF_COOKIE, CSRF_COOKIE_SECS, cookie, random_token, set_cookie};

/// Reads the content version from the database into the cache (see `workers::pages`).
pub async fn read_version(state: &AppState) {
    match state.store().content_version().await {
        Ok(version) => state.pages().set_version(version),
        Err(e) => tracing::warn!(error = %e, "content version not read; cached pages are not served"),
    }
}

/// Who is viewing a page, for the monitor: the channel (from the request's cookies and
/// User-Agent) and the visitor (client address and User-Agent).
pub struct Viewer {
    channel: Channel,
    client: String,
}

impl Viewer {
    pub fn of(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> Self {
        let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let channel = Channel::classify(cookie(headers, KIOSK_COOKIE).is_some(), user_agent);
        let address = client_ip(state, extensions, headers);
        Self { channel, client: format!("{address}\n{user_agent}") }
    }

    /// Counts one view of `visit`.
    pub fn count(self, state: &AppState, visit: &Visit) {
        state.visits().record(visit, self.channel, self.client, state.now());
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';');
            parts.next().is_some_and(|name| name.trim().eq_ignore_ascii_case("gzip"))
                && parts
                    .all(|p| p.trim().strip_prefix("q=").is_none_or(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0)))
        },
    )
}

fn has_csrf_cookie(headers: &HeaderMap) -> bool {
    cookie(headers, CSRF_COOKIE).is_some_and(|t| t.len() == 64)
}

/// The kept page as a response, compressed if the client takes gzip.
fn answer(page: &CachedPage, gzip: bool) -> Response {
    let mut response = Response::new(Body::empty());
    *response.headers_mut() = page.headers.clone();
    match page.gzip.as_ref().filter(|_| gzip) {
        Some(body) => {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response.headers_mut().append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            *response.body_mut() = Body::from(body.clone());
        }
        None => *response.body_mut() = Body::from(page.plain.clone()),
    }
    response
}

/// Middleware: serves kept public pages and keeps the ones handlers mark shared.
pub async fn serve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        let may_change = !matches!(*request.method(), Method::HEAD | Method::OPTIONS);
        let response = next.run(request).await;
        if may_change && response.extensions().get::<Unchanged>().is_none() {
            read_version(&state).await;
        }
        return response;
    }
    let headers = request.headers();
    let Some(version) = state.pages().current().filter(|_| cookie(headers, KIOSK_COOKIE).is_none()) else {
        return next.run(request).await;
    };
    let key =
        page_cache::key(crate::web::elder::is_on(headers), request.uri().path_and_query().map_or("/", |p| p.as_str()));
    let gzip = accepts_gzip(headers);
    let had_csrf = has_csrf_cookie(headers);
    if let Some(page) = state.pages().get(&key, version, state.now()) {
        if let Some(visit) = &page.visit {
            Viewer::of(&state, headers, request.extensions()).count(&state, visit);
        }
        let mut response = answer(&page, gzip);
        if !had_csrf {
            let value = set_cookie(CSRF_COOKIE, &random_token(), CSRF_COOKIE_SECS, state.config().secure_cookies);
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        return response;
    }
    let rendered_at = state.now();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.extensions().get::<Shared>().is_none() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(plain) = to_bytes(body, usize::MAX).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "页面读取失败").into_response();
    };
    let cookies: Vec<HeaderValue> = parts.headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    let only_csrf = cookies.iter().all(|c| c.as_bytes().starts_with(format!("{CSRF_COOKIE}=").as_bytes()));
    if only_csrf && plain.len() <= MAX_KEPT_BYTES {
        let mut kept = parts.headers.clone();
        kept.remove(header::SET_COOKIE);
        kept.remove(header::CONTENT_LENGTH);
        let page = CachedPage {
            version,
            rendered_at,
            headers: kept,
            gzip: page_cache::gzip(&plain),
            plain,
            visit: parts.extensions.get::<Visit>().cloned(),
        };
        let mut response = answer(&page, gzip);
        for value in cookies {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        state.pages().put(key, page);
        return response;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(plain))
}
