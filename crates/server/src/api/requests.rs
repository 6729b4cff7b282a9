//! Filing and following requests through the API: a 我要办事 case and a 留言箱 message, each
//! filed through the same use case as its form (validation, quota, once-only `submit_key`,
//! texts, audit) and read back by tracking number with the access key (`key`) the filing answer
//! gives — the same key the filer's text message links carry. A wrong key answers 404, like a
//! missing number, so numbers cannot be probed. A report's (举报) view never shows who filed it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use xiaowei_core::OrgLevel;
use xiaowei_core::message::{self, MessageKind};
use xiaowei_core::service;
use xiaowei_store::RequestKind;

use super::api_time;
use super::error::ApiError;
use super::paging::{ApiQuery, is_org_code};
use crate::app::tracked::{Filer, masked_phone};
use crate::app::{cases, messages};
use crate::state::AppState;
use crate::web::client::QuotaKey;
use crate::web::error::AppError;
use crate::web::security::ClientIp;

/// A public entry of a request's timeline.
#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    pub note: String,
}

fn timeline(events: impl IntoIterator<Item = (bool, i64, String, String)>) -> Vec<TimelineEntry> {
    events
        .into_iter()
        .filter(|(public, ..)| *public)
        .map(|(_, at, actor, note)| TimelineEntry { at: api_time(at), actor, note })
        .collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The access key from the filing answer (or the text message's link).
    #[param(value_type = String, pattern = "^[0-9a-f]{20}$")]
    key: Option<String>,
}

/// A tracking number exactly as issued (prefix and 14 digits); forms forgive spaces and case,
/// the API does not, so that its document can say precisely what it takes.
fn tracking_param(text: &str, prefix: &str, normalize: fn(&str) -> Option<String>) -> Option<String> {
    let digits = text.strip_prefix(prefix)?;
    (digits.len() == 14 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| normalize(text)).flatten()
}

/// The access key: 20 lowercase hexadecimal characters.
fn key_param(key: Option<String>) -> Result<String, ApiError> {
    match key {
        Some(k) if k.len() == 20 && k.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => Ok(k),
        Some(_) => Err(ApiError::field("key", "查询码：应为提交时得到的20位查询码")),
        None => Err(ApiError::field("key", "查询码：请填写提交时得到的查询码")),
    }
}

/// The answer's headers: the filer's own record stays out of shared caches.
fn private<T: Serialize>(body: T) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// A case as its applicant sees it.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    #[schema(example = "BJ20251009123456")]
    pub tracking: String,
    pub item_id: i64,
    pub item_name: String,
    pub department: String,
    /// The village it was filed in.
    pub place_code: String,
    /// `submitted`, `in_progress`, `completed`, `closed` or `reopened`.
    pub status: String,
    #[schema(example = "待联系")]
    pub status_label: String,
    pub applicant_name: String,
    /// The applicant's phone, masked (`139****1234`).
    pub phone_masked: String,
    pub description: String,
    pub submitted_at: String,
    /// By when staff must make contact, and complete the case.
    pub contact_due: String,
    pub completion_due: String,
    /// How the completion deadline was counted, in Chinese.
    pub deadline_basis: String,
    pub overdue: bool,
    pub reply: Option<String>,
    /// `satisfied`, `basically_satisfied` or `unsatisfied` once rated.
    pub rating: Option<String>,
    pub rating_label: Option<String>,
    pub timeline: Vec<TimelineEntry>,
}

/// A case by tracking number and access key.
#[utoipa::path(get, path = "/api/v1/cases/{tracking}", tag = "services", summary = "查询办件",
    params(("tracking" = String, Path, description = "办件编号", pattern = "^BJ[0-9]{14}$"), KeyQuery),
    responses((status = 200, description = "办件进度", body = CaseView)))]
pub async fn show_case(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    let tracking = tracking_param(&tracking, "BJ", service::normalize_tracking)
        .ok_or_else(|| ApiError::field("tracking", "办件编号：应为 BJ 加14位数字，如 BJ20251009123456"))?;
    if key_param(q.key)? != cases::case_key(&state, &tracking) {
        return Err(AppError::NotFound.into());
    }
    let case = state.store().find_case_by_tracking(&tracking).await?.ok_or(AppError::NotFound)?;
    let rating = case.rating;
    let events = state.store().events(RequestKind::Case, case.id).await?;
    Ok(private(CaseView {
        phone_masked: masked_phone(&state, &case.phone_enc),
        timeline: timeline(events.into_iter().map(|e| (e.public, e.at, e.actor, e.note))),
        status_label: case.status.label().to_owned(),
        rating_label: rating.map(|r| r.label().to_owned()),
        overdue: case.contact_overdue_at.is_some() || case.completion_overdue_at.is_some(),
        submitted_at: api_time(case.submitted_at),
        contact_due: api_time(case.contact_due),
        completion_due: api_time(case.completion_due),
        tracking: case.tracking,
        item_id: case.item_id,
        item_name: case.item_name,
        department: case.department_name,
        place_code: case.org_code,
        status: case.status.as_str().to_owned(),
        applicant_name: case.applicant_name,
        description: case.description,
        deadline_basis: case.deadline_basis,
        reply: case.reply,
        rating: rating.map(|r| r.as_str().to_owned()),
    }))
}

/// A message as its author sees it.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    #[schema(example = "LY20251009123456")]
    pub tracking: String,
    /// `question` (咨询), `complaint` (投诉), `suggestion` (建议) or `report` (举报).
    pub kind: String,
    pub kind_label: String,
    /// The township or village it is addressed to.
    pub place_code: String,
    /// `submitted`, `handling`, `replied`, `closed`, `reopened`, `merged` or `hidden`.
    pub status: String,
    pub status_label: String,
    /// The author's phone, masked; always empty for a report.
    pub phone_masked: String,
    pub body: String,
    pub submitted_at: String,
    pub reply_due: String,
    pub deadline_basis: String,
    pub overdue: bool,
    pub reply: Option<String>,
    /// The tracking number of the message this one was merged into.
    pub merged_into: Option<String>,
    pub rating: Option<String>,
    pub rating_label: Option<String>,
    pub timeline: Vec<TimelineEntry>,
}

/// A message by tracking number and access key.
#[utoipa::path(get, path = "/api/v1/messages/{tracking}", tag = "messages", summary = "查询留言",
    params(("tracking" = String, Path, description = "留言编号", pattern = "^LY[0-9]{14}$"), KeyQuery),
    responses((status = 200, description = "留言进度", body = MessageView)))]
pub async fn show_message(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    let tracking = tracking_param(&tracking, "LY", message::normalize_tracking)
        .ok_or_else(|| ApiError::field("tracking", "留言编号：应为 LY 加14位数字，如 LY20251009123456"))?;
    if key_param(q.key)? != messages::message_key(&state, &tracking) {
        return Err(AppError::NotFound.into());
    }
    let store = state.store();
    let m = store.find_message_by_tracking(&tracking).await?.ok_or(AppError::NotFound)?;
    let phone_masked = match &m.phone_enc {
        Some(sealed) if m.kind != MessageKind::Report => masked_phone(&state, sealed),
        _ => String::new(),
    };
    let merged_into = match m.merged_into {
        Some(id) => store.find_message(id).await?.map(|other| other.tracking),
        None => None,
    };
    let rating = m.rating;
    let events = store.events(RequestKind::Message, m.id).await?;
    Ok(private(MessageView {
        phone_masked,
        merged_into,
        timeline: timeline(events.into_iter().map(|e| (e.public, e.at, e.actor, e.note))),
        kind_label: m.kind.label().to_owned(),
        status_label: m.status.label().to_owned(),
        rating_label: rating.map(|r| r.label().to_owned()),
        overdue: m.overdue_at.is_some(),
        submitted_at: api_time(m.submitted_at),
        reply_due: api_time(m.reply_due),
        tracking: m.tracking,
        kind: m.kind.as_str().to_owned(),
        place_code: m.org_code,
        status: m.status.as_str().to_owned(),
        body: m.body,
        deadline_basis: m.deadline_basis,
        reply: m.reply,
        rating: rating.map(|r| r.as_str().to_owned()),
    }))
}

/// A JSON body read as an object, each field taken out by its documented rule, so that a wrong
/// type, a missing field or a value outside its pattern is a 400 naming the field. The use case
/// then applies the rules a schema cannot state (check digits, existing places).
pub(super) struct JsonBody(serde_json::Map<String, Value>);

impl JsonBody {
    /// The body of a request sent as `application/json`.
    pub(super) fn read(headers: &HeaderMap, bytes: &[u8]) -> Result<Self, ApiError> {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请以 application/json 提交",
            ));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(Self(fields)),
            _ => Err(ApiError::field("body", "提交内容：应为 JSON 对象")),
        }
    }

    /// A string field of at most `max_chars` characters; `None` when absent (or null) and optional.
    pub(super) fn text(
        &self,
        key: &str,
        label: &str,
        required: bool,
        max_chars: usize,
    ) -> Result<Option<String>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) if required => Err(ApiError::field(key, format!("{label}：必填"))),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max_chars => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(ApiError::field(key, format!("{label}：不超过{max_chars}个字"))),
            Some(_) => Err(ApiError::field(key, format!("{label}：应为文字"))),
        }
    }

    /// A string field that must pass `rule`, which the document states as a pattern.
    pub(super) fn shaped(
        &self,
        key: &str,
        label: &str,
        required: bool,
        rule: fn(&str) -> bool,
        hint: &str,
    ) -> Result<Option<String>, ApiError> {
        match self.text(key, label, required, 128)? {
            Some(s) if !rule(&s) => Err(ApiError::field(key, format!("{label}：{hint}"))),
            other => Ok(other),
        }
    }

    fn flag(&self, key: &str, label: &str) -> Result<bool, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::field(key, format!("{label}：应为 true 或 false"))),
        }
    }
}

fn is_submit_key(s: &str) -> bool {
    (16..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(super) fn is_phone(s: &str) -> bool {
    s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit()) && s.starts_with('1') && s.as_bytes()[1] >= b'3'
}

pub(super) fn is_phone_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const PHONE_TOKEN_HINT: &str = "应为验证手机号后得到的64位凭证";

/// The phone a token proves, or a 400 naming `phone_token` when it has expired.
async fn proven(state: &AppState, token: Option<&str>) -> Result<Option<crate::app::phones::ProvenPhone>, ApiError> {
    let Some(token) = token else { return Ok(None) };
    match crate::app::phones::proven(state, token, state.now()).await? {
        Some(p) => Ok(Some(p)),
        None => Err(ApiError::field("phone_token", "手机验证凭证：已失效，请重新验证手机号")),
    }
}

fn is_id_number(s: &str) -> bool {
    s.len() == 18
        && s.bytes().take(17).all(|b| b.is_ascii_digit())
        && matches!(s.as_bytes()[17], b'0'..=b'9' | b'X' | b'x')
}

fn is_village(s: &str) -> bool {
    s.len() == 12 && is_org_code(s)
}

fn is_place(s: &str) -> bool {
    is_org_code(s) && s.len() != 6
}

/// The use cases name fields in Chinese (`姓名：…`); these are their JSON names.
const CASE_FIELDS: &[(&str, &str)] = &[
    ("姓名", "name"),
    ("手机号", "phone"),
    ("手机验证凭证", "phone_token"),
    ("所在村（社区）", "village"),
    ("身份证号", "id_number"),
    ("需求描述", "description"),
];
const MESSAGE_FIELDS: &[(&str, &str)] = &[
    ("留言类别", "kind"),
    ("留言对象", "place"),
    ("称呼", "name"),
    ("手机号", "phone"),
    ("手机验证凭证", "phone_token"),
    ("留言内容", "body"),
];

/// A 我要办事 application.
#[derive(Serialize, ToSchema)]
pub struct CaseApplication {
    /// A once-only key the client draws for this application: the same application sent again
    /// with it answers the case already filed.
    #[schema(pattern = "^[A-Za-z0-9_-]{16,128}$", example = "7f3a9c2e1b4d4e8f9a6b")]
    pub submit_key: String,
    #[schema(min_length = 1, max_length = 32, pattern = r"^[^\u0000-\u001F\u007F]*$")]
    pub name: String,
    /// 11-digit mainland mobile number, for staff to call back.
    #[schema(pattern = "^1[3-9][0-9]{9}$", example = "13912345678")]
    pub phone: String,
    /// The village (12 digits) the applicant lives in.
    #[schema(pattern = "^[0-9]{12}$", example = "620922214200")]
    pub village: String,
    /// Required when the item's `requires_id` is true.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    #[schema(min_length = 5, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    pub description: String,
    /// The proof that `phone` is the applicant's: `phone_token` from `POST /api/v1/phone-proofs`.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub phone_token: String,
}

impl CaseApplication {
    fn from_json(body: &JsonBody) -> Result<Self, ApiError> {
        let required = |v: Option<String>| v.unwrap_or_default();
        Ok(Self {
            submit_key: required(body.shaped(
                "submit_key",
                "提交键",
                true,
                is_submit_key,
                "应为16至128位字母、数字、- 或 _",
            )?),
            name: required(body.text("name", "姓名", true, 32)?),
            phone: required(body.shaped("phone", "手机号", true, is_phone, "请填写11位手机号码")?),
            village: required(body.shaped("village", "所在村（社区）", true, is_village, "应为12位村编码")?),
            id_number: body.shaped("id_number", "身份证号", false, is_id_number, "应为18位身份证号码")?,
            description: required(body.text("description", "需求描述", true, service::MAX_TEXT_CHARS)?),
            phone_token: required(body.shaped(
                "phone_token",
                "手机验证凭证",
                true,
                is_phone_token,
                PHONE_TOKEN_HINT,
            )?),
        })
    }
}

/// What filing answered: the tracking number and the access key to follow it with.
#[derive(Serialize, ToSchema)]
pub struct FiledAnswer {
    pub tracking: String,
    /// Give it as `key` to the GET operation.
    pub key: String,
    /// False when the `submit_key` had already filed this request (nothing new was filed).
    pub created: bool,
    /// An anonymous report's query password, shown this once only.
    pub secret: Option<String>,
}

fn filed(status: StatusCode, location: String, answer: FiledAnswer) -> Response {
    let mut response = (status, axum::Json(answer)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Files a 我要办事 application for a service item.
#[utoipa::path(post, path = "/api/v1/service-items/{id}/cases", tag = "services", summary = "提交办件申请",
    description = "与网页表单相同的校验、频率限制和防重复提交：同一 submit_key 再次提交返回已有办件（created 为 false）。",
    params(("id" = i64, Path, description = "服务事项编号", minimum = 1)),
    request_body(content = CaseApplication, content_type = "application/json"),
    responses((status = 201, description = "已受理", body = FiledAnswer), (status = 200, description = "该 submit_key 已提交过，返回原办件", body = FiledAnswer)))]
pub async fn file_case(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = super::paging::id_param(&id, "id")?;
    let body = JsonBody::read(&headers, &bytes)?;
    let item = state.store().find_service_item(id).await?.filter(|i| i.active).ok_or(AppError::NotFound)?;
    let a = CaseApplication::from_json(&body)?;
    let application = cases::Application {
        form_key: a.submit_key,
        name: a.name,
        phone: a.phone,
        village: a.village,
        id_number: a.id_number.unwrap_or_default(),
        description: a.description,
        photos: Vec::new(),
    };
    let filer = Filer { ip, quota, proven: proven(&state, Some(&a.phone_token)).await?, ..Filer::default() };
    let done = cases::file(&state, &item, application, &filer, state.now())
        .await
        .map_err(|e| ApiError::from_shared(e, CASE_FIELDS))?;
    let key = cases::case_key(&state, &done.tracking);
    let location = format!("/api/v1/cases/{}?key={key}", done.tracking);
    let status = if done.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(filed(status, location, FiledAnswer { tracking: done.tracking, key, created: done.created, secret: None }))
}

/// A 留言箱 message.
#[derive(Serialize, ToSchema)]
pub struct NewMessage {
    #[schema(pattern = "^[A-Za-z0-9_-]{16,128}$", example = "5d1c0b7a9e8f4a3b2c1d")]
    pub submit_key: String,
    /// `question` (咨询), `complaint` (投诉), `suggestion` (建议) or `report` (举报).
    #[schema(pattern = "^(question|complaint|suggestion|report)$", example = "question")]
    pub kind: String,
    /// The township itself (9 digits) or one of its villages (12 digits).
    #[schema(pattern = "^([0-9]{9}|[0-9]{12})$")]
    pub place: String,
    /// How to address the author; may be empty.
    #[schema(max_length = 32, pattern = r"^[^\u0000-\u001F\u007F]*$")]
    pub name: Option<String>,
    /// Required for a complaint; optional otherwise (an anonymous report gets a query password).
    #[schema(pattern = "^1[3-9][0-9]{9}$")]
    pub phone: Option<String>,
    #[schema(min_length = 5, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$")]
    pub body: String,
    /// The author allows the question and its answer on the public list.
    pub public: Option<bool>,
    /// Required with `phone`: `phone_token` from `POST /api/v1/phone-proofs` for that phone.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub phone_token: Option<String>,
}

impl NewMessage {
    fn from_json(body: &JsonBody) -> Result<Self, ApiError> {
        let required = |v: Option<String>| v.unwrap_or_default();
        let kind = required(body.shaped(
            "kind",
            "留言类别",
            true,
            |k| MessageKind::parse(k).is_some(),
            "应为 question、complaint、suggestion 或 report",
        )?);
        Ok(Self {
            submit_key: required(body.shaped(
                "submit_key",
                "提交键",
                true,
                is_submit_key,
                "应为16至128位字母、数字、- 或 _",
            )?),
            kind,
            place: required(body.shaped("place", "留言对象", true, is_place, "应为9位乡镇编码或12位村编码")?),
            name: body.text("name", "称呼", false, 32)?,
            phone: body.shaped("phone", "手机号", false, is_phone, "请填写11位手机号码")?,
            body: required(body.text("body", "留言内容", true, message::MAX_BODY_CHARS)?),
            public: Some(body.flag("public", "同意公开")?),
            phone_token: body.shaped("phone_token", "手机验证凭证", false, is_phone_token, PHONE_TOKEN_HINT)?,
        })
    }
}

/// Leaves a message in a township's 留言箱.
#[utoipa::path(post, path = "/api/v1/townships/{code}/messages", tag = "messages", summary = "提交留言",
    description = "与网页表单相同的校验、频率限制和防重复提交。匿名举报（不留手机号）的回答中带有查询密码 secret，只显示这一次。",
    params(("code" = String, Path, description = "乡镇编码（9位）", pattern = "^[0-9]{9}$")),
    request_body(content = NewMessage, content_type = "application/json"),
    responses((status = 201, description = "已收到", body = FiledAnswer), (status = 200, description = "该 submit_key 已提交过，返回原留言", body = FiledAnswer)))]
pub async fn leave_message(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    Path(code): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if code.len() != 9 || !is_org_code(&code) {
        return Err(ApiError::field("code", "乡镇编码：应为9位数字"));
    }
    let body = JsonBody::read(&headers, &bytes)?;
    let township = match state.org(&code).await? {
        Some(org) if org.level == OrgLevel::Township => org,
        _ => return Err(AppError::NotFound.into()),
    };
    let m = NewMessage::from_json(&body)?;
    let leaving = messages::Leaving {
        form_key: m.submit_key,
        kind: m.kind,
        place: m.place,
        name: m.name.unwrap_or_default(),
        phone: m.phone.unwrap_or_default(),
        body: m.body,
        public: m.public.unwrap_or(false),
        photos: Vec::new(),
    };
    let filer = Filer { ip, quota, proven: proven(&state, m.phone_token.as_deref()).await?, ..Filer::default() };
    let left = messages::leave(&state, &township, leaving, &filer, state.now())
        .await
        .map_err(|e| ApiError::from_shared(e, MESSAGE_FIELDS))?;
    let key = messages::message_key(&state, &left.tracking);
    let location = format!("/api/v1/messages/{}?key={key}", left.tracking);
    let status = if left.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(filed(
        status,
        location,
        FiledAnswer { tracking: left.tracking, key, created: left.created, secret: left.secret },
    ))
}
