//! 验证手机号 and 我的办件: the pages where a villager proves their phone by SMS code before
//! filing from a browser (the phone, then the code; back to the form they came from), forgets a
//! proven phone, and — with a proven phone — lists their own cases and messages, each opening in
//! full. Others' requests stay masked: the list reads by the phone's own index only.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::app::phones::{self, COOKIE, ProvenPhone};
use crate::app::tracked::Filer;
use crate::state::AppState;
use crate::web::client::QuotaKey;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::respond::see_other;
use crate::web::security::{CsrfToken, cookie, set_cookie};
use xiaowei_store::Filed;

/// Own requests listed on 我的办件.
const OWN_REQUESTS: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/phone", get(phone_form))
        .route("/phone/code", post(send_code))
        .route("/phone/confirm", post(confirm))
        .route("/phone/forget", post(forget))
        .route("/mine", get(mine))
}

/// The proven phone of this browser, if any.
pub async fn proven(state: &AppState, headers: &HeaderMap) -> Result<Option<ProvenPhone>, AppError> {
    match cookie(headers, COOKIE) {
        Some(value) => phones::proven(state, value, state.now()).await,
        None => Ok(None),
    }
}

/// Who files from a public page: the client, a hall officer logged in at this terminal, a WeChat
/// follower signed in through the account, and the phone proven in this browser.
pub async fn filer(
    state: &AppState,
    ip: String,
    quota: String,
    headers: &HeaderMap,
    proven: Option<ProvenPhone>,
) -> Result<Filer, AppError> {
    Ok(Filer {
        ip,
        quota,
        hall_officer: crate::public::kiosk::hall_officer(state, headers).await?,
        follower: crate::public::wechat::signed_in_follower(state, headers),
        proven,
        integrator: false,
    })
}

/// Where to go after proving: a path on this site (anything else goes home).
fn local(next: &str) -> String {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 300
        && !next.chars().any(char::is_control);
    if safe { next.to_owned() } else { "/".to_owned() }
}

/// The link that proves a phone and comes back to `next`.
pub fn prove_link(next: &str) -> String {
    serde_urlencoded::to_string([("next", local(next))]).map_or_else(|_| "/phone".to_owned(), |q| format!("/phone?{q}"))
}

#[derive(Template)]
#[template(path = "phone.html")]
struct PhonePage {
    csrf: String,
    next: String,
    /// `next=…` for the 更换手机号 form.
    forget_query: String,
    /// The masked proven phone, when this browser has one.
    proven: Option<String>,
    phone: String,
    /// Step two: the handle of the code sent and the masked phone it went to.
    sent: Option<(String, String)>,
    /// The code itself, when no SMS provider is configured.
    shown: Option<String>,
    error: Option<String>,
}

impl PhonePage {
    fn new(csrf: String, next: &str) -> Self {
        let next = local(next);
        let forget_query = serde_urlencoded::to_string([("next", &next)]).unwrap_or_default();
        Self { csrf, next, forget_query, proven: None, phone: String::new(), sent: None, shown: None, error: None }
    }
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn phone_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<NextQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let mut page = PhonePage::new(csrf, &q.next);
    page.proven = proven(&state, &headers).await?.map(|p| p.phone.masked());
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    next: String,
}

/// Sends a code; a refusal (a wrong number, a quota) shows the phone step again with the number
/// kept and the reason beside it.
async fn send_code(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    QuotaKey(quota): QuotaKey,
    axum::Form(form): axum::Form<CodeForm>,
) -> Result<Response, AppError> {
    let mut page = PhonePage::new(csrf, &form.next);
    match phones::send_code(&state, &form.phone, &quota, state.now()).await {
        Ok(sent) => {
            page.sent = Some((sent.token, sent.masked));
            page.shown = sent.shown;
        }
        Err(AppError::Invalid(message)) => {
            page.phone = form.phone.chars().take(20).collect();
            page.error = Some(message);
        }
        Err(AppError::Throttled(message)) => {
            page.phone = form.phone.chars().take(20).collect();
            page.error = Some(message.to_owned());
        }
        Err(e) => return Err(e),
    }
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// Checks the code: a match remembers the phone and returns to the form; a wrong code shows the
/// code step again with the tries left.
async fn confirm(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ConfirmForm>,
) -> Result<Response, AppError> {
    let kiosk = crate::public::kiosk::is_terminal(&state, &headers).await?;
    match phones::confirm(&state, &form.token, &form.code, kiosk, state.now()).await {
        Ok((value, proven)) => {
            let max_age = proven.expires_at - state.now();
            let mut response = see_other(&local(&form.next));
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie(COOKIE, &value, max_age, state.config().secure_cookies));
            Ok(response)
        }
        Err(AppError::Invalid(message)) => {
            let mut page = PhonePage::new(csrf, &form.next);
            let token: String = form.token.chars().filter(char::is_ascii_hexdigit).take(64).collect();
            if let Some(masked) = phones::masked_phone_of(&state, &token).await? {
                page.sent = Some((token, masked));
            }
            page.error = Some(message);
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e),
    }
}

/// Forgets this browser's proven phone (更换手机号, and a hall terminal's idle reset).
async fn forget(
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(value) = cookie(&headers, COOKIE) {
        phones::forget(&state, value).await?;
    }
    let mut response = see_other(&prove_link(&q.next));
    response.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, "", 0, state.config().secure_cookies));
    Ok(response)
}

/// One of the owner's requests on 我的办件.
struct OwnRow {
    what: &'static str,
    tracking: String,
    title: String,
    status: &'static str,
    submitted: String,
    link: String,
}

#[derive(Template)]
#[template(path = "mine.html")]
struct MinePage {
    csrf: String,
    masked: String,
    rows: Vec<OwnRow>,
}

/// 我的办件: the cases and messages filed under the proven phone, each opening in full.
async fn mine(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some(owner) = proven(&state, &headers).await? else {
        return Ok(see_other(&prove_link("/mine")));
    };
    let mut found = Vec::new();
    for idx in &owner.idxs {
        found.extend(state.store().requests_of_phone(idx, OWN_REQUESTS).await?);
    }
    found.sort_by(|a, b| (b.submitted_at, &b.tracking).cmp(&(a.submitted_at, &a.tracking)));
    found.dedup_by(|a, b| a.tracking == b.tracking);
    let mut rows = Vec::with_capacity(found.len());
    for r in found {
        let row = match r.filed {
            Filed::Case(status) => OwnRow {
                what: "办件",
                status: status.label(),
                link: format!("/cases/{}?k={}", r.tracking, crate::app::cases::case_key(&state, &r.tracking)),
                title: r.title.clone(),
                tracking: r.tracking.clone(),
                submitted: shanghai_time(r.submitted_at),
            },
            Filed::Message(kind, status) => OwnRow {
                what: "留言",
                status: status.label(),
                link: format!("/messages/{}?k={}", r.tracking, crate::app::messages::message_key(&state, &r.tracking)),
                title: format!("{}留言", kind.label()),
                tracking: r.tracking.clone(),
                submitted: shanghai_time(r.submitted_at),
            },
        };
        rows.push(row);
    }
    let page = MinePage { csrf, masked: owner.phone.masked(), rows };
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn only_local_paths_are_followed_after_proving() {
        assert_eq!(local("/services/3/apply?t=620922100"), "/services/3/apply?t=620922100");
        for outside in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""] {
            assert_eq!(local(outside), "/", "{outside}");
        }
    }
}
