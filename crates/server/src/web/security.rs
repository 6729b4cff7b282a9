//! Request-level protection: the CSRF guard on every state-changing request, the refusal of
//! control characters anywhere in a request's text (path, query, form or JSON fields), cookie
//! helpers, the client address used in audit records, and the rendering of errors as pages or
//! JSON.
//!
//! CSRF uses a double-submit token: a random `xw_csrf` cookie (SameSite=Strict, HttpOnly) that
//! every form repeats in a hidden `csrf` field; cross-site requests announced by the browser
//! (`Sec-Fetch-Site: cross-site`) are refused outright.
//!
//! ## The edge: who is asking, and what they may send
//!
//! - **Client address.** `client::client_ip` is the one answer everywhere (audit records, quotas, the
//!   login throttle, visit counting; `security::ClientIp` is its extractor): the socket peer, or,
//!   only when that peer is in `trusted_proxies` (CIDRs), the rightmost address of `Forwarded`
//!   (RFC 7239, preferred) or `X-Forwarded-For` that is not itself a trusted proxy. Public quotas
//!   key on `client::QuotaKey`: `kiosk:<id>` for an enrolled hall terminal (its device cookie),
//!   else that address — so a terminal has its own 30 self-queries per ten minutes.
//! - **Control characters.** `security::refuse_control_chars` (inside `render_errors`, before the CSRF
//!   guard) refuses any request whose decoded path, query, urlencoded form or JSON body holds a C0
//!   control character or DEL — line breaks and tabs allowed in values — with 400 and
//!   a message naming the field; multipart readers (`photos::read`, staff uploads) apply the same
//!   rule per field. Core's `text::FreeText` / `text::SingleLine` carry the rule into typed fields.
//!   PostgreSQL cannot store a NUL and SQLite would, so refusing at the edge keeps both engines alike.
//! - **Absolute links.** QR codes and enrolment links come from `Config::public_link`: under
//!   `public_url`, else the bare path — never from the request's `Host`, which the sender chooses.
//! - **Operations.** `/metrics` answers a loopback peer that no proxy forwarded, or
//!   `Authorization: Bearer <metrics_token>`; anyone else gets the 404 page. The CSRF cookie is
//!   `Secure` whenever `secure_cookies` is. The error page's 返回上一页 is the `Referer`'s path only
//!   when it starts with a single `/` (not `//` or `/\`), else `/`.
//! - **Logs.** The request span carries the path, never the query (keyed case links `?k=` stay out
//!   of the log); SMS transport errors drop their URL (Aliyun's carries `PhoneNumbers` and
//!   `TemplateParam`) and mask any run of eleven digits before the log or `outbox.last_error`.
//! - **Login and uploads.** Login (`staff/auth.rs`) claims each attempt in the database before hashing (`Store::claim_login`,
//!   an upsert that counts and returns the count, so parallel attempts each see their own number):
//!   per username and client address, with a per-username ceiling for addresses the user has not
//!   logged in from (`core::login`, migration 0018). argon2id runs behind a semaphore of half the
//!   cores with a 3-second wait (then 429); unknown usernames are verified against a fixed hash
//!   through the same gate. Uploaded spreadsheets (rosters, registries, finance sheets) are parsed
//!   through `uploads::parse_sheet` (the blocking pool, half the cores at once), and every xlsx
//!   passes `xiaowei_sheets`' inflation check (declared and actual part sizes, compression ratio,
//!   shared-string count, declared dimension) before calamine opens it; `xiaowei bench hostile`
//!   shows memory and public-page latency under a login flood and two bombs.

use askama::Template;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use rand::RngCore;

use crate::state::AppState;
use crate::web::error::{AppError, ErrorInfo};

pub const CSRF_COOKIE: &str = "xw_csrf";
/// How long the CSRF cookie is kept: 30 days.
pub const CSRF_COOKIE_SECS: i64 = 60 * 60 * 24 * 30;
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

/// Where a request came from, for the audit log and quotas: see [`crate::web::client::client_ip`].
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(Self(crate::web::client::client_ip(state, &parts.extensions, &parts.headers)))
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

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Issues the CSRF cookie when missing (`Secure` when `secure_cookies` is set) and checks the
/// token on every unsafe method.
pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &token, CSRF_COOKIE_SECS, state.config().secure_cookies),
        );
    }
    response
}

/// The Chinese name of a common form or query field, for the message that refuses it.
pub(crate) fn field_label(name: &str) -> String {
    let label = match name {
        "name" | "applicant_name" | "display_name" => "姓名",
        "phone" => "手机号",
        "id_number" => "身份证号",
        "body" | "content" | "text" => "内容",
        "title" => "标题",
        "reason" => "原因",
        "reply" | "answer" => "答复",
        "code" | "tracking" => "编号",
        "username" => "用户名",
        "password" => "密码",
        "q" => "搜索词",
        "address" => "地址",
        _ => return format!("“{}”", name.chars().filter(|c| !c.is_control()).take(40).collect::<String>()),
    };
    label.to_owned()
}

/// The error for a field holding a control character, named in Chinese.
pub(crate) fn control_error(field: &str) -> AppError {
    AppError::invalid(format!("{field}：{}", xiaowei_core::text::TextError::ControlCharacter))
}

fn control_refusal(field: &str) -> Response {
    control_error(field).into_response()
}

/// Whether a percent-encoded path decodes to a control character (`%00`–`%1F`, `%7F`).
fn path_has_control(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .is_some_and(|b| b < 0x20 || b == 0x7F)
    }) || path.chars().any(char::is_control)
}

/// The first `(name, value)` pair holding a control character (line breaks and tabs allowed in
/// values when `multiline`), as the name.
fn bad_pair(pairs: &[(String, String)], multiline: bool) -> Option<&str> {
    use xiaowei_core::text::has_control;
    pairs.iter().find(|(k, v)| has_control(k, false) || has_control(v, multiline)).map(|(k, _)| k.as_str())
}

/// The first JSON string holding a control character other than a line break or tab, as the
/// name of the field it is in.
fn bad_json(value: &serde_json::Value, key: &str) -> Option<String> {
    use xiaowei_core::text::has_control;
    match value {
        serde_json::Value::String(text) if has_control(text, true) => Some(key.to_owned()),
        serde_json::Value::Array(items) => items.iter().find_map(|item| bad_json(item, key)),
        serde_json::Value::Object(fields) => {
            fields.iter().find_map(|(k, v)| if has_control(k, false) { Some(k.clone()) } else { bad_json(v, k) })
        }
        _ => None,
    }
}

/// Refuses any request whose decoded path, query, urlencoded form or JSON body holds a control
/// character (values may hold line breaks and tabs: a text box, a pasted checkpoint), naming the
/// field. Nobody types
/// one, and PostgreSQL cannot store a NUL: refusing here means no form can forget to.
/// Multipart uploads are checked field by field where they are read.
pub async fn refuse_control_chars(request: Request, next: Next) -> Response {
    if path_has_control(request.uri().path()) {
        return control_refusal("网址");
    }
    if let Some(query) = request.uri().query()
        && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        && let Some(name) = bad_pair(&pairs, true)
    {
        return control_refusal(&field_label(name));
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_json = content_type.starts_with("application/json");
    if !is_form && !is_json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return AppError::invalid("提交的内容过大").into_response();
    };
    let refused = if is_form {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| bad_pair(&pairs, true).map(field_label))
    } else {
        serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| bad_json(&v, "")).map(|k| field_label(&k))
    };
    if let Some(field) = refused {
        return control_refusal(&field);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Where 返回上一页 leads: the path of the `Referer` when it is a path on this site (one
/// leading `/`, not `//` or `/\`, which browsers read as another host), else the home page.
fn back_link(headers: &HeaderMap) -> String {
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else { return "/".to_owned() };
    let path = match referer.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => referer,
    };
    let same_site = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !xiaowei_core::text::has_control(path, false);
    if same_site { path.to_owned() } else { "/".to_owned() }
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
    let back = back_link(request.headers());
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
        let json = serde_json::json!({ "error": {
            "code": info.code, "message": info.message, "field": info.field, "request_id": request_id
        } });
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

/// The cookie that carries a staff session's token.
pub const SESSION_COOKIE: &str = "xw_session";

/// The SHA-256 of a session token: only the hash is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()))
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
    fn the_back_link_is_a_path_on_this_site_or_home() {
        let back = |referer: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::REFERER, HeaderValue::from_static(referer));
            back_link(&headers)
        };
        assert_eq!(back("https://xw.example.cn/t/620922100/subsidies?y=2025"), "/t/620922100/subsidies?y=2025");
        assert_eq!(back("https://xw.example.cn"), "/");
        for hostile in [
            "https://xw.example.cn//evil.example/x",
            "https://xw.example.cn/\\evil.example/x",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "evil.example/x",
        ] {
            assert_eq!(back(hostile), "/", "{hostile}");
        }
        assert_eq!(back_link(&HeaderMap::new()), "/");
    }

    #[test]
    fn encoded_control_characters_in_a_path_are_found() {
        assert!(path_has_control("/t/%00/subsidies"));
        assert!(path_has_control("/cases/BJ%1b"));
        assert!(path_has_control("/x%7F"));
        assert!(!path_has_control("/t/620922100/%E6%9D%91"));
    }

    #[test]
    fn token_comparison_needs_equal_length_and_content() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
