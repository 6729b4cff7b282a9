//! Proving a phone through the API, as the pages do: `POST /api/v1/phone-codes` sends a six-digit
//! code to the phone (the same quotas per phone and per client), `POST /api/v1/phone-proofs`
//! checks it (five minutes, five tries) and answers a `phone_token` that filing a case or a
//! message with that phone must carry.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::requests::{JsonBody, is_phone};
use crate::app::phones;
use crate::state::AppState;
use crate::web::client::QuotaKey;

/// The labels of the fields these operations read, for errors shared with the pages.
const FIELDS: &[(&str, &str)] = &[("手机号", "phone"), ("短信验证码", "code")];

/// A phone to send a code to.
#[derive(Serialize, ToSchema)]
pub struct PhoneCodeRequest {
    #[schema(pattern = "^1[3-9][0-9]{9}$", example = "13912345678")]
    pub phone: String,
}

/// A code sent.
#[derive(Serialize, ToSchema)]
pub struct PhoneCodeSent {
    /// Give it with the code to `POST /api/v1/phone-proofs`.
    pub proof: String,
    /// The phone the code went to, masked.
    pub masked_phone: String,
    /// Seconds the code may be used.
    pub expires_in: i64,
    /// Only where the platform has no SMS provider configured (development and the demo): the
    /// code itself. Always null in production.
    pub shown_code: Option<String>,
}

/// A code typed back.
#[derive(Serialize, ToSchema)]
pub struct PhoneProofRequest {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub proof: String,
    #[schema(pattern = "^[0-9]{6}$", example = "123456")]
    pub code: String,
}

/// A proven phone.
#[derive(Serialize, ToSchema)]
pub struct PhoneProven {
    /// Give it as `phone_token` when filing with this phone.
    pub phone_token: String,
    pub masked_phone: String,
    /// Until when (unix seconds) the token may be used.
    pub expires_at: i64,
}

fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Sends a verification code to a phone.
#[utoipa::path(post, path = "/api/v1/phone-codes", tag = "phones", summary = "获取短信验证码",
    description = "向手机号发送6位短信验证码，5分钟内有效。同一手机号每分钟1次、每小时5次、每天10次；同一客户端每小时20次。",
    request_body(content = PhoneCodeRequest, content_type = "application/json"),
    responses((status = 201, description = "已发送", body = PhoneCodeSent)))]
pub async fn send_code(
    State(state): State<AppState>,
    QuotaKey(quota): QuotaKey,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = JsonBody::read(&headers, &bytes)?;
    let phone = body.shaped("phone", "手机号", true, is_phone, "请填写11位手机号码")?.unwrap_or_default();
    let sent =
        phones::send_code(&state, &phone, &quota, state.now()).await.map_err(|e| ApiError::from_shared(e, FIELDS))?;
    Ok(no_store(
        StatusCode::CREATED,
        PhoneCodeSent {
            proof: sent.token,
            masked_phone: sent.masked,
            expires_in: xiaowei_core::phone_proof::CODE_SECS,
            shown_code: sent.shown,
        },
    ))
}

/// Checks a verification code.
#[utoipa::path(post, path = "/api/v1/phone-proofs", tag = "phones", summary = "验证手机号",
    description = "核对短信验证码，正确则返回 phone_token（一周内有效），提交办件或留言时带上它。错误5次后验证码作废。",
    request_body(content = PhoneProofRequest, content_type = "application/json"),
    responses((status = 201, description = "手机号已验证", body = PhoneProven)))]
pub async fn prove(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Result<Response, ApiError> {
    let body = JsonBody::read(&headers, &bytes)?;
    let proof = body
        .shaped("proof", "验证凭证", true, super::requests::is_phone_token, "应为获取验证码时得到的64位凭证")?
        .unwrap_or_default();
    let code = body.shaped(
        "code",
        "短信验证码",
        true,
        |c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()),
        "应为6位数字",
    )?;
    let (token, proven) = phones::confirm(&state, &proof, &code.unwrap_or_default(), false, state.now())
        .await
        .map_err(|e| ApiError::from_shared(e, FIELDS))?;
    Ok(no_store(
        StatusCode::CREATED,
        PhoneProven { phone_token: token, masked_phone: proven.phone.masked(), expires_at: proven.expires_at },
    ))
}
