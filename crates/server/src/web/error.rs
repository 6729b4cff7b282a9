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
    /// Input errors on named form fields, all at once: a page shows its form again with each
    /// message beside its field; other ends read the first message.
    #[error("invalid fields: {}", .0.first())]
    Fields(crate::web::form::FieldErrors),
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

/// What the client is told: a stable code, a message in Chinese and, when the API knows which
/// input is at fault, its field name (the JSON body of `/api/` errors carries it; pages show the
/// message, which names the field in words).
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
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
        Self { code, message: message.to_owned(), field: None }
    }
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// A uniqueness clash as the user reads it: the field and what to do, from [`DUPLICATES`].
    pub fn duplicate(constraint: &str) -> Self {
        match DUPLICATES.iter().find(|(name, _, _)| *name == constraint) {
            Some((_, field, message)) => Self::Conflict(format!("{field}：{message}")),
            None => {
                tracing::info!(constraint, "a unique constraint without a field message refused a write");
                Self::Conflict("该记录与已有记录重复".into())
            }
        }
    }

    fn status_and_info(&self) -> (StatusCode, ErrorInfo) {
        let info = |code, message: &str| ErrorInfo { code, message: message.to_owned(), field: None };
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorInfo::for_status(StatusCode::NOT_FOUND)),
            Self::Forbidden => (StatusCode::FORBIDDEN, ErrorInfo::for_status(StatusCode::FORBIDDEN)),
            Self::LoginRequired => (StatusCode::UNAUTHORIZED, info("login_required", "请先登录")),
            Self::Invalid(m) => (StatusCode::BAD_REQUEST, info("invalid_input", m)),
            Self::Fields(errors) => (StatusCode::BAD_REQUEST, info("invalid_input", errors.first())),
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

/// The unique constraints a user can run into: the constraint's name (PostgreSQL's, which the
/// store reports on both engines), the form field it concerns and what to tell the user.
/// Tracking numbers and form keys are absent: a clash there is retried or answered by the
/// record the first submission created, never shown.
pub const DUPLICATES: &[(&str, &str, &str)] = &[
    ("orgs_code_key", "编号", "该编号已存在"),
    ("households_household_no_key", "户号", "该户号已登记"),
    ("departments_name_key", "部门名称", "已有同名部门"),
    ("department_contacts_department_id_phone_idx_key", "手机号", "该手机号已是本部门联系人"),
    ("staff_users_username_key", "用户名", "该用户名已被使用，请换一个"),
    ("programmes_name_key", "项目名称", "已有同名的补贴项目"),
    ("rosters_one_successor", "更正", "该版本已有更正稿，请在列表中找到并继续编辑"),
    ("roster_entries_roster_id_id_idx_key", "身份证号", "该身份证号已在本花名册中"),
    ("power_items_org_code_name_key", "事项名称", "本级清单中已有同名事项"),
    ("power_exercises_org_code_item_id_title_key", "记录标题", "该村该事项已有同名记录"),
    ("power_exercise_steps_exercise_id_step_no_key", "办理步骤", "该步骤已由他人记录，请刷新页面查看"),
    ("disclosures_one_successor", "更正", "该版本已有更正稿，请在列表中找到并继续编辑"),
    ("village_cadres_org_code_phone_idx_key", "手机号", "该手机号已是本村另一位村干部的联系电话"),
    ("village_duty_overrides_org_code_on_date_key", "日期", "该日已有值班调整，请先删除原安排"),
    ("service_items_department_id_name_key", "事项名称", "本部门已有同名事项"),
    ("service_links_org_code_name_key", "名称", "该范围内已有同名的直通车链接"),
    ("case_extensions_pending", "延期申请", "已有待审批的延期申请"),
    ("wechat_accounts_appid_key", "AppID", "该 AppID 已配置给其他乡镇"),
];

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Stale(what) => {
                tracing::info!(expected = %what, "a write lost a race");
                Self::Conflict("该记录已被他人更新，请刷新页面查看".into())
            }
            StoreError::Duplicate { constraint } => Self::duplicate(&constraint),
            StoreError::MissingReference(what) => {
                tracing::info!(constraint = %what, "a write referred to a missing row");
                Self::invalid("所选的记录不存在或已被删除，请刷新页面后重新选择")
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
