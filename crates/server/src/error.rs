//! The one error type of the web layer. Each variant has a stable code and a Chinese message;
//! internal detail is logged with the request id and never shown. Responses carry an
//! [`ErrorInfo`] extension that the `render_errors` middleware turns into an HTML page or a JSON
//! body, depending on what the client asked for.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use xiaowei_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("login required")]
    LoginRequired,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("csrf token mismatch")]
    Csrf,
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("too many attempts")]
    Throttled(&'static str),
    #[error("internal: {0}")]
    Internal(String),
}

/// What the client is told: a stable code and a message in Chinese.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
}

impl ErrorInfo {
    /// The default description of a bare status (used for errors raised outside our handlers,
    /// such as a malformed form rejected by an extractor).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 | 422 => ("invalid_input", "提交的内容格式不正确，请检查后重试"),
            401 | 403 => ("forbidden", "您没有权限执行此操作"),
            404 => ("not_found", "您访问的页面不存在"),
            405 => ("method_not_allowed", "不支持此操作方式"),
            413 => ("payload_too_large", "提交的内容过大"),
            429 => ("too_many_attempts", "操作过于频繁，请稍后再试"),
            _ => ("internal", "系统繁忙，请稍后再试"),
        };
        Self { code, message: message.to_owned() }
    }
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    fn status_and_info(&self) -> (StatusCode, ErrorInfo) {
        let info = |code, message: &str| ErrorInfo { code, message: message.to_owned() };
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorInfo::for_status(StatusCode::NOT_FOUND)),
            Self::Forbidden => (StatusCode::FORBIDDEN, ErrorInfo::for_status(StatusCode::FORBIDDEN)),
            Self::LoginRequired => (StatusCode::UNAUTHORIZED, info("login_required", "请先登录")),
            Self::Invalid(m) => (StatusCode::BAD_REQUEST, info("invalid_input", m)),
            Self::Conflict(m) => (StatusCode::CONFLICT, info("conflict", m)),
            Self::Csrf => (StatusCode::FORBIDDEN, info("csrf", "页面已过期，请返回刷新后重试")),
            Self::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, info("payload_too_large", m)),
            Self::Throttled(m) => (StatusCode::TOO_MANY_REQUESTS, info("too_many_attempts", m)),
            Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorInfo::for_status(StatusCode::INTERNAL_SERVER_ERROR))
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let (status, info) = self.status_and_info();
        let mut response = status.into_response();
        if matches!(self, Self::LoginRequired) {
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/staff/login"));
        }
        response.extensions_mut().insert(info);
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(what) => {
                tracing::info!(constraint = %what, "constraint refused a write");
                Self::Conflict("该记录与已有记录重复或引用了不存在的记录".into())
            }
            other => Self::Internal(format!("{other}: {:?}", std::error::Error::source(&other))),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}
