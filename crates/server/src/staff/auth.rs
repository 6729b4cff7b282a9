//! Login, logout and the staff home page. Passwords are argon2id; failed logins are counted per
//! username in the database (so throttling holds across instances), and unknown usernames cost
//! the same time as wrong passwords.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_store::{LoginOutcome, OrgCounts};

use super::{Nav, SESSION_COOKIE, Staff, see_other, token_hash};
use crate::error::AppError;
use crate::security::{CsrfToken, cookie, random_token, set_cookie};
use crate::state::AppState;

/// Failed attempts allowed per username within [`THROTTLE_WINDOW`] seconds.
const MAX_FAILURES: i64 = 5;
const THROTTLE_WINDOW: i64 = 15 * 60;

/// Hashes a password with argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
    .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// A hash of nothing in particular, verified against when the username is unknown.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(b"not a password", &salt).map(|h| h.to_string()).unwrap_or_default()
});

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Checks the rules every staff password must follow.
pub fn check_password_rules(password: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if length < 8 {
        return Err(AppError::invalid("密码至少需要8个字符"));
    }
    if length > 128 {
        return Err(AppError::invalid("密码不能超过128个字符"));
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    csrf: String,
    username: String,
    error: String,
}

pub async fn login_page(CsrfToken(csrf): CsrfToken) -> Result<Html<String>, AppError> {
    Ok(Html(LoginPage { csrf, username: String::new(), error: String::new() }.render()?))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let username = form.username.trim().to_owned();
    let retry = |error: &str| -> Result<Response, AppError> {
        let page = LoginPage { csrf: csrf.clone(), username: username.clone(), error: error.to_owned() };
        Ok((axum::http::StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
    };
    if username.is_empty() || form.password.is_empty() {
        return retry("请输入用户名和密码");
    }
    let now = state.now();
    let store = state.store();
    if store.recent_login_failures(&username, now - THROTTLE_WINDOW).await? >= MAX_FAILURES {
        return Err(AppError::Throttled("登录失败次数过多，请15分钟后再试"));
    }
    let user = store.find_staff_by_username(&username).await?;
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let verified = verify_password(form.password, hash).await;
    let user = match user {
        Some(u) if verified && !u.is_disabled() => u,
        _ => {
            store.record_login_attempt(&username, LoginOutcome::Failure, now).await?;
            return retry("用户名或密码不正确，或账号已停用");
        }
    };
    store.record_login_attempt(&username, LoginOutcome::Success, now).await?;
    let token = random_token();
    let lifetime = state.config().session_hours * 3600;
    store.create_session(&token_hash(&token), user.id, &csrf, now, now + lifetime).await?;
    let mut response = see_other("/staff");
    let cookie = set_cookie(SESSION_COOKIE, &token, lifetime, state.config().secure_cookies);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

pub async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store().delete_session(&token_hash(token)).await?;
    }
    let mut response = see_other("/staff/login");
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, state.config().secure_cookies));
    Ok(response)
}

#[derive(Template)]
#[template(path = "staff/home.html")]
struct HomePage {
    nav: Nav,
    scope_name: String,
    counts: OrgCounts,
    /// 待联系, 办理中 and 逾期 cases in scope.
    workload: super::cases::Workload,
}

pub async fn home(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AppError> {
    staff.require(xiaowei_core::Permission::ViewDashboard)?;
    let scope_name = state
        .store()
        .find_org(&staff.scope.org_code)
        .await?
        .map_or_else(|| staff.scope.org_code.clone(), |o| o.display_name().to_owned());
    let counts = state.store().org_counts(&staff.scope.org_code).await?;
    let workload = super::cases::workload(&state, &staff).await?;
    Ok(Html(HomePage { nav: staff.nav(), scope_name, counts, workload }.render()?))
}
