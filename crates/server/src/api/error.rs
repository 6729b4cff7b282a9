//! The API's errors: the same stable codes and Chinese messages as the pages, plus the name of
//! the parameter or JSON field at fault. An [`ApiError`] becomes a bare status with an
//! [`ErrorInfo`] extension, and `web::security::render_errors` writes the one JSON shape
//! (`{"error": {"code", "message", "field", "request_id"}}`) for it and for every error the
//! framework raises under `/api/` (an unknown path, a wrong method).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::error::{AppError, ErrorInfo};

/// An error as an API client receives it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    /// Bad input in one named parameter or field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_input",
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    /// Any other refusal with its own status and code.
    pub fn status(status: StatusCode, code: &'static str, message: &str) -> Self {
        Self { status, code, message: message.into(), field: None }
    }

    /// Too many requests from this client.
    pub fn throttled(message: &str) -> Self {
        Self { status: StatusCode::TOO_MANY_REQUESTS, code: "too_many_attempts", message: message.into(), field: None }
    }

    /// The message of an input error shared with the pages, which names the field in words
    /// before a full-width colon (`姓名：请填写…`); `labels` maps those words to the API's field
    /// names. Other errors keep their code and message without a field.
    pub fn from_shared(error: AppError, labels: &[(&str, &str)]) -> Self {
        let response = error.into_response();
        let status = response.status();
        let info = response.extensions().get::<ErrorInfo>().cloned().unwrap_or_else(|| ErrorInfo::for_status(status));
        let field = info
            .message
            .split_once('：')
            .and_then(|(label, _)| labels.iter().find(|(l, _)| *l == label))
            .map(|(_, name)| (*name).to_owned());
        Self { status, code: info.code, message: info.message, field }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self::from_shared(error, &[])
    }
}

impl From<xiaowei_store::StoreError> for ApiError {
    fn from(error: xiaowei_store::StoreError) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorInfo { code: self.code, message: self.message, field: self.field });
        response
    }
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `invalid_input`, `not_found`, `conflict`, `too_many_attempts`,
    /// `method_not_allowed`, `payload_too_large`, `internal`.
    #[schema(example = "invalid_input")]
    pub code: String,
    /// What to do, in Chinese.
    #[schema(example = "per_page：每页条数应为1至100")]
    pub message: String,
    /// The parameter or JSON field at fault, when there is one.
    #[schema(example = "per_page")]
    pub field: Option<String>,
    /// The request id (also in the `x-request-id` header), for reporting a problem.
    pub request_id: String,
}
