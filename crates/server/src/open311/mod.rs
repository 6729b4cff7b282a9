//! Open311 GeoReport v2 at `/open311/v2/`, and the 12345 exchange beside it. Services are the
//! active 我要办事 items (`item-<id>`) and the 留言箱 kinds other than 举报 (`message-question`,
//! `message-complaint`, `message-suggestion`); requests are cases and messages, identified by
//! their tracking numbers. A report (举报) is never a service and never a request here.
//!
//! Reading is open to anyone but shows only what the public pages show: the item, the place,
//! the status and dates — a case's description and reply and a message's text stay with the
//! applicant unless the message is a question its author allowed to be public (then redacted as
//! on the public list). An integrator key (`api_key`, issued in the back office, see
//! `staff::integrators`) inside its scope also sees the description and reply, files requests
//! (`POST requests.json`, through the same use cases as the forms) and uses the exchange:
//! `GET exchange/requests.json?since=<cursor>` pulls new requests with the applicant's contact,
//! and `POST exchange/requests/{id}/status.json` pushes contacted / replied / completed, which
//! goes through the case state machine as a staff action does and appears on the public timeline.
//! Every use of a key is audited (`integrator.*`); an expired or revoked key is refused (401).
//!
//! The shapes follow the GeoReport v2 specification field by field (see `docs/OPEN311.md`):
//! errors are an array of `{code, description}` with Chinese descriptions; datetimes are
//! ISO 8601 with the +08:00 offset; `address_id` is the org code of the village (or township);
//! `lat`/`long`, `zipcode` and `media_url` are always null (locations are optional and photos
//! stay private). `services.xml` answers in XML; every other resource in JSON.
//!
//! These routes sit outside the CSRF guard (they carry no cookie session; a key authenticates
//! them) and answer every error in GeoReport form themselves, never through the HTML error page.

mod exchange;
mod requests;
mod services;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use xiaowei_core::open311::Kinds;
use xiaowei_store::{IntegratorToken, NewAuditEntry, TokenUse};

use crate::state::AppState;
use crate::web::error::AppError;

/// Largest request body the interface reads.
const MAX_BODY: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/discovery.json", get(services::discovery))
        .route("/open311/v2/services.json", get(services::list_json))
        .route("/open311/v2/services.xml", get(services::list_xml))
        .route("/open311/v2/services/{code}", get(services::definition))
        .route("/open311/v2/requests.json", get(requests::list).post(requests::create))
        .route("/open311/v2/requests/{id}", get(requests::one))
        .route("/open311/v2/tokens/{token}", get(requests::token))
        .route("/open311/v2/exchange/requests.json", get(exchange::pull))
        .route("/open311/v2/exchange/requests/{id}/status.json", post(exchange::push))
        .route("/open311/{*rest}", get(not_found).post(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

async fn not_found() -> Open311Error {
    Open311Error::new(StatusCode::NOT_FOUND, "没有这个接口地址，请查看 /open311/v2/discovery.json")
}

/// A GeoReport error: the HTTP status and an array of `{code, description}`.
#[derive(Debug)]
pub struct Open311Error {
    status: StatusCode,
    description: String,
    xml: bool,
}

#[derive(Serialize)]
struct ErrorItem<'a> {
    code: u16,
    description: &'a str,
}

impl Open311Error {
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self { status, description: description.into(), xml: false }
    }

    pub fn invalid(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("没有找到{what}"))
    }

    fn in_xml(mut self) -> Self {
        self.xml = true;
        self
    }
}

impl From<AppError> for Open311Error {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => Self::not_found("该资源"),
            AppError::Invalid(m) | AppError::Conflict(m) => Self::invalid(m),
            AppError::Fields(errors) => Self::invalid(errors.first().to_owned()),
            AppError::Throttled(m) => Self::new(StatusCode::TOO_MANY_REQUESTS, m),
            AppError::TooLarge(m) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            AppError::Forbidden | AppError::LoginRequired | AppError::Csrf => {
                Self::new(StatusCode::FORBIDDEN, "无权执行此操作")
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "open311 request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "系统繁忙，请稍后再试")
            }
        }
    }
}

impl From<xiaowei_store::StoreError> for Open311Error {
    fn from(e: xiaowei_store::StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let item = ErrorItem { code: self.status.as_u16(), description: &self.description };
        if self.xml {
            let body = xml_list("errors", "error", &[item]).unwrap_or_default();
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static(XML))], body).into_response()
        } else {
            (self.status, axum::Json([item])).into_response()
        }
    }
}

const XML: &str = "application/xml; charset=utf-8";

/// An XML document `<root><item>…</item>…</root>` as GeoReport v2 lays lists out.
fn xml_list<T: Serialize>(root: &str, item: &str, items: &[T]) -> Result<String, Open311Error> {
    let mut out = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<{root}>");
    for i in items {
        let element = quick_xml::se::to_string_with_root(item, i)
            .map_err(|e| Open311Error::from(AppError::Internal(format!("xml: {e}"))))?;
        out.push_str(&element);
    }
    out.push_str(&format!("</{root}>"));
    Ok(out)
}

/// A JSON answer that no shared cache keeps when it carries an integrator's view.
fn json<T: Serialize>(value: T, private: bool) -> Response {
    let mut response = axum::Json(value).into_response();
    let cache = if private { "no-store" } else { "public, max-age=60" };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// A datetime as GeoReport v2 writes it: ISO 8601 with the Beijing offset.
pub fn iso_time(unix_seconds: i64) -> String {
    jiff::Timestamp::from_second(unix_seconds)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8)))
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// Reads a GeoReport date parameter (ISO 8601 with an offset, or a plain date read in Beijing
/// time) as unix seconds.
fn parse_time(field: &str, value: &str) -> Result<i64, Open311Error> {
    let value = value.trim();
    if let Ok(t) = value.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    value
        .parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8))).ok())
        .map(|z| z.timestamp().as_second())
        .ok_or_else(|| Open311Error::invalid(format!("{field}：日期格式应为 2025-10-09 或 2025-10-09T08:00:00+08:00")))
}

/// The keyed hash of an integrator key, under the token key (rotations of the personal-data key
/// leave it alone).
pub fn key_hash(state: &AppState, key: &str) -> String {
    state.cipher().token_tag("integrator-key", key.trim())
}

/// The integrator behind a key, for one use: refused unless live, and every use audited.
pub struct Integrator {
    pub token: IntegratorToken,
    pub kinds: Kinds,
}

impl Integrator {
    /// Whether the request's place lies inside the key's scope.
    pub fn covers(&self, org_code: &str) -> bool {
        xiaowei_core::org::is_within(org_code, &self.token.org_code)
    }

    /// The audit record of one use.
    async fn audit(
        &self,
        state: &AppState,
        ip: &str,
        action: &str,
        target: String,
        detail: String,
    ) -> Result<(), Open311Error> {
        state
            .audit(NewAuditEntry {
                at: state.now(),
                actor_id: None,
                actor_name: format!("接口：{}", self.token.name),
                action: action.to_owned(),
                target,
                detail: format!("密钥 {}：{detail}", self.token.key_hint),
                ip: ip.to_owned(),
                org_code: Some(self.token.org_code.clone()),
            })
            .await?;
        Ok(())
    }
}

/// Checks a presented key: missing, unknown, expired or revoked keys are refused with 401.
pub async fn authenticate(state: &AppState, api_key: &str) -> Result<Integrator, Open311Error> {
    if api_key.trim().is_empty() {
        return Err(Open311Error::new(StatusCode::UNAUTHORIZED, "api_key：请提供县里签发的接口密钥"));
    }
    let refused = |why: &str| Open311Error::new(StatusCode::UNAUTHORIZED, format!("api_key：{why}"));
    match state.store().use_integrator_token(&key_hash(state, api_key), state.now()).await? {
        TokenUse::Active(token) => Ok(Integrator { kinds: token.kinds, token: *token }),
        TokenUse::Expired => Err(refused("密钥已过期，请联系县级管理员重新签发")),
        TokenUse::Revoked => Err(refused("密钥已被吊销")),
        TokenUse::Unknown => Err(refused("密钥无效")),
    }
}

/// The query string or form body as name–value pairs; bad encoding is refused in GeoReport form.
fn pairs(raw: &[u8]) -> Result<Vec<(String, String)>, Open311Error> {
    serde_urlencoded::from_bytes(raw)
        .map_err(|_| Open311Error::invalid("参数编码不正确：应为 application/x-www-form-urlencoded"))
}

/// One named parameter (the first if repeated), trimmed; empty when absent.
fn param(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

/// Checks `jurisdiction_id` when given: it must be this county's code.
async fn check_jurisdiction(state: &AppState, pairs: &[(String, String)]) -> Result<(), Open311Error> {
    let given = param(pairs, "jurisdiction_id");
    if given.is_empty() {
        return Ok(());
    }
    match state.county().await? {
        Some(county) if county.code == given => Ok(()),
        _ => Err(Open311Error::not_found("该 jurisdiction_id（应为本县行政区划代码）")),
    }
}
