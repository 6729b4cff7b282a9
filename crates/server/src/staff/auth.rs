//! Login, logout and the staff home page. Passwords are argon2id, hashed and verified on the
//! threads of [`HashGate`]: at most half the cores hash at once, and a request that
//! cannot start within a few seconds is refused (429), so a login flood costs bounded memory and
//! leaves cores for the public pages. Each attempt is claimed in the database before its password
//! is checked (`core::login` has the rule: per username and client address, with a per-username
//! ceiling on clients the user has not logged in from), so parallel attempts cannot slip past the
//! count and a flood from elsewhere cannot lock the real user out. Unknown usernames are verified
//! against a fixed hash through the same gate, so they cost the same time as wrong passwords.

use std::sync::LazyLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;
use xiaowei_core::alert::AlertStatus;
use xiaowei_core::login::{self, Verdict};
use xiaowei_store::{ANY_CLIENT, OrgCounts};

use super::{Nav, SESSION_COOKIE, Staff, see_other, token_hash};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::{ClientIp, CsrfToken, cookie, random_token, set_cookie};
use xiaowei_core::Permission;

const BUSY: &str = "登录的人太多，请稍后再试";

/// Bounds the password hashing that runs at once: each argon2id hash holds 19 MiB and a core.
/// The hashes run on the gate's own long-lived threads, one per permit, so the allocator keeps
/// at most that many hash-sized arenas (on the shared blocking pool every new thread kept one).
struct HashGate {
    permits: Semaphore,
    wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The gate was full for longer than its wait.
#[derive(Debug, PartialEq, Eq)]
struct Busy;

impl HashGate {
    fn new(permits: usize, wait: Duration) -> Self {
        let permits = permits.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..permits {
            let queue = queue.clone();
            let worker = std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
                    let Ok(job) = next else { break };
                    // A panicking job drops its answer channel, which its caller reads as busy.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
            if let Err(e) = worker {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self { permits: Semaphore::new(permits), wait, jobs }
    }

    /// Runs `work` on the gate's threads once a permit is free, or answers [`Busy`] after the wait.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit =
            tokio::time::timeout(self.wait, self.permits.acquire()).await.map_err(|_| Busy)?.map_err(|_| Busy)?;
        let (answer, done) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = answer.send(work());
            }))
            .map_err(|_| Busy)?;
        let done = done.await.map_err(|_| Busy);
        drop(permit);
        done
    }
}

/// Half the cores (at least one) hash at once; the others stay free for page rendering.
static GATE: LazyLock<HashGate> = LazyLock::new(|| {
    let cores = crate::app::cores();
    HashGate::new(cores.div_ceil(2), Duration::from_secs(3))
});

/// Hashes a password with argon2id (default parameters) behind the gate.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    GATE.run(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|Busy| AppError::Throttled(BUSY))?
    .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// A hash of nothing in particular, verified against when the username is unknown.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(b"not a password", &salt).map(|h| h.to_string()).unwrap_or_default()
});

/// Verifies `password` against `hash`, or against [`DUMMY_HASH`] when there is none.
async fn verify_password(password: String, hash: Option<String>) -> Result<bool, Busy> {
    GATE.run(move || {
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
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
    ClientIp(client): ClientIp,
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
    let claim = store.claim_login(&username, &client, now, login::WINDOW_SECS).await?;
    let known = login::is_known(claim.known_until, now);
    // Only an attempt its client may still make counts against the username's ceiling, so one
    // locked-out client cannot use the ceiling up.
    let ceiling = if known || login::verdict(claim.attempts, None) != Verdict::Check {
        None
    } else {
        Some(store.claim_login(&username, ANY_CLIENT, now, login::WINDOW_SECS).await?.attempts)
    };
    match login::verdict(claim.attempts, ceiling) {
        Verdict::Check => {}
        Verdict::TooManyFromClient => return Err(AppError::Throttled("登录失败次数过多，请15分钟后再试")),
        Verdict::TooManyForUsername => {
            return Err(AppError::Throttled("该账号近期登录失败次数过多，请在以前登录过的电脑上登录，或15分钟后再试"));
        }
    }
    let user = store.find_staff_by_username(&username).await?;
    let Ok(verified) = verify_password(form.password, user.as_ref().map(|u| u.password_hash.clone())).await else {
        store.release_login(&username, &client).await?;
        if !known {
            store.release_login(&username, ANY_CLIENT).await?;
        }
        return Err(AppError::Throttled(BUSY));
    };
    let user = match user {
        Some(u) if verified && !u.disabled => u,
        _ => return retry("用户名或密码不正确，或账号已停用"),
    };
    store.login_succeeded(&username, &client, now + login::KNOWN_SECS).await?;
    if !known {
        store.release_login(&username, ANY_CLIENT).await?;
    }
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
    /// For those who watch alerts: new alerts in scope by kind (code, label, count), largest first.
    alert_kinds: Option<Vec<(&'static str, &'static str, i64)>>,
}

pub async fn home(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AppError> {
    let scope_name = state
        .store()
        .find_org(&staff.scope.org_code)
        .await?
        .map_or_else(|| staff.scope.org_code.clone(), |o| o.display_name().to_owned());
    let counts = state.store().org_counts(&staff.scope.org_code).await?;
    let workload = super::cases::workload(&state, &staff).await?;
    let alert_kinds = if staff.role.allows(Permission::ViewMonitor) {
        let counts = state
            .store()
            .alert_kind_counts(&staff.scope.org_code, staff.role.is_commission(), Some(AlertStatus::New.as_str()), None)
            .await?;
        Some(counts.into_iter().map(|c| (c.kind.as_str(), c.kind.label(), c.count)).collect())
    } else {
        None
    };
    Ok(Html(HomePage { nav: staff.nav(), scope_name, counts, workload, alert_kinds }.render()?))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff", Permission::ViewDashboard, Target::None, home)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn no_more_than_the_permits_hash_at_once() {
        let gate = Arc::new(HashGate::new(2, Duration::from_secs(10)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_full_gate_answers_busy_after_its_wait() {
        let gate = Arc::new(HashGate::new(1, Duration::from_millis(50)));
        let holder = gate.clone();
        let held = tokio::spawn(async move { holder.run(|| std::thread::sleep(Duration::from_millis(500))).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.run(|| ()).await, Err(Busy));
        assert_eq!(held.await.unwrap(), Ok(()));
    }
}
