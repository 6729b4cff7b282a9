//! 触摸终端: the township halls' touch terminals. Enrolment by one-time link (`/kiosk/enrol/…`)
//! sets the long-lived, HttpOnly `xw_kiosk` device cookie; the kiosk home mirrors the township's
//! 民生监督 menu; the kiosk self-query takes the ID on an on-screen keypad and the name by
//! picking it from the village's published roster names; heartbeats record last-seen. The
//! public pages themselves are the phone pages: [`chrome`] dresses every HTML answer to an
//! enrolled terminal (kiosk body class and data, a home bar, `kiosk.js` for the idle reset,
//! heartbeat and offline screen), so no page is written twice and no page cache sees the
//! difference. Never shows more on a kiosk than on a phone.
//!
//! ## 触摸终端: hall terminals
//!
//! A terminal (`kiosk_terminals`, migration 0012) belongs to a township and is registered by the
//! county admin (`/staff/kiosks`, `Permission::ManageKiosks`), who gets a one-time enrolment link
//! (shown once with a QR code, valid 7 days). `/kiosk/enrol/{token}` consumes it by compare-and-set
//! (`Store::enrol_kiosk_terminal`: of two browsers exactly one wins; a later use is told it was used,
//! expired or revoked) and sets the HttpOnly `xw_kiosk` cookie holding a fresh device token. Both
//! tokens are stored only as keyed hashes (the personal-data key's blind index, one purpose each).
//! `core::kiosk` holds the rules: idle time (15–600 s, default 60) and its countdown (a third of it,
//! 5–15 s), online = heard from within 90 s, and the heartbeat's checks.
//!
//! **One set of pages.** The kiosk does not duplicate the public pages. `kiosk::chrome`, a middleware
//! outside the error renderer, dresses every HTML answer to a request carrying a valid device cookie:
//! `<body class="kiosk">` with the terminal's idle time, countdown, CSRF token and version as data
//! attributes, a bar with the home button, and `static/kiosk.js`; the answer becomes `no-store`, and
//! answers to a form post are marked `data-kiosk-private`. Because the dressing happens after the
//! handler, the roster page cache (`page_cache.rs`) keeps serving the same plain HTML to phones and
//! terminals and needs no kiosk key. The kiosk stylesheet is a `body.kiosk` section of `app.css`
//! (28 px type, targets of 64 px or more, black on white, no hover). Kiosk-only pages are the home
//! (`/kiosk`, tiles for the township's menu) and the self-query (`/kiosk/self-query`: village, then
//! an on-screen keypad for the ID with a GB 11643 check before going on, then the name picked from
//! the village's published roster names grouped by surname, or typed on a connected keyboard). It
//! posts to the same `subsidies::answer_self_query` as the phone (same content, never more; audited
//! as the terminal; rate-limited per terminal; `no-store`).
//!
//! **在手机上继续 and on-screen input.** A hall terminal has no input method, so Chinese text
//! cannot be typed there. Every form a terminal shows that a villager fills in carries
//! `data-continue` (its address on a phone) and `data-continue-keep` (the select boxes whose
//! choice goes along: village, place); `kiosk.js` shows the QR code of that address with the
//! choices (`/kiosk/continue.svg`, this site's paths only), updated as they change. Nothing typed
//! ever goes into it, so no personal data reaches a URL; on the phone the villager has their own
//! input method and voice input. On the terminal itself, fields marked `data-osk` get a
//! 屏幕输入 button opening tiles: 102 common surnames, common given-name characters, words and
//! characters of short village requests (补贴, 路灯, 没有收到…), digits and punctuation, each
//! adding its text at the end. We chose tiles over a pinyin keyboard (many older villagers do not
//! spell pinyin) and over handwriting (recognition needs a large model or library, not a small
//! hand-written script); tiles need no dictionary, work with one finger at 64 px or more, and a
//! name or a one-line request takes a handful of taps. Longer texts are what 在手机上继续 and the
//! hall officer (代办) are for.
//!
//! **Idle reset.** `kiosk.js` counts time since the last pointer, touch, key or wheel event; in the
//! last seconds an overlay counts down with 继续使用; then it resets every form, clears session and
//! local storage, empties `<main>`, `history.replaceState`s and `location.replace`s to `/kiosk`. The
//! current entry (the private answer) is thus replaced; links out of a private answer also replace it,
//! and pages are `no-store`, so the back-forward cache restores none of them (the browser test walks
//! back through the whole history afterwards).
//!
//! **Health and offline.** `kiosk.js` posts `/kiosk/heartbeat` (JSON: version, screen, last script
//! error; CSRF header; device cookie) on every page and every 30 s; `Store::record_kiosk_heartbeat`
//! keeps last-seen, version, screen and error, and `Store::list_kiosk_terminals(scope)` is the read
//! the monitor uses. `/kiosk-sw.js`, a service worker at the root scope, fetches navigations
//! network-first and keeps public pages; self-query, tracking pages, form answers and the back
//! office are never kept. Offline, a page not kept gets `/kiosk/offline` (离线…正在重新连接), which
//! probes `/healthz` every 3 s and reloads itself when the network is back.
//!
//! **代办 (staff-assisted filing).** A township admin (`Permission::FileOnBehalf`) logged in on an
//! enrolled terminal of a township in their scope files 我要办事 applications and 留言箱 messages for
//! a villager: `kiosk::proxy_officer` checks device cookie, session, role and scope (terminal township
//! and the application's village). The forms say so, the case records the officer in the existing
//! `service_cases.filed_by` (the staff case page shows 代办：姓名), a message's first event names
//! the officer (actor 「姓名（代办）」 with their staff id, inside the same transaction as the
//! message), and the audit record is the officer's. The bar shows 代办中, and the idle reset also
//! ends the officer's session (`/staff/logout`), also on the home screen.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, map_response};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use xiaowei_core::OrgLevel;
use xiaowei_core::kiosk::{Heartbeat, IdleSeconds};
use xiaowei_core::monitor::Menu;
use xiaowei_store::{Enrolment, KioskTerminal, NewAuditEntry};

use crate::public::home::SECTIONS;
use crate::state::AppState;
use crate::web::client::{KIOSK_COOKIE, device_hash, terminal_of};
use crate::web::error::AppError;
use crate::web::form::{self, FieldErrors};
use crate::web::page_cache::unchanged;
use crate::web::respond::no_store;
use crate::web::security::{CSRF_COOKIE, ClientIp, CsrfToken, cookie, random_token, set_cookie};

/// Chromium keeps a cookie at most 400 days; a terminal's cookie is renewed on every visit home.
const DEVICE_COOKIE_SECS: i64 = 400 * 86_400;
const ENROL_PURPOSE: &str = "kiosk_enrol";
const SERVICE_WORKER: &str = include_str!("../../static/kiosk-sw.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kiosk", get(home))
        .route("/kiosk/enrol/{token}", get(enrol))
        .route("/kiosk/self-query", get(self_query_form).post(self_query).layer(map_response(unchanged)))
        .route("/kiosk/heartbeat", post(heartbeat).layer(map_response(unchanged)))
        .route("/kiosk/offline", get(offline))
        .route("/kiosk-sw.js", get(service_worker))
        .route("/kiosk/continue.svg", get(continue_qr))
}

#[derive(Deserialize)]
struct ContinueQuery {
    #[serde(default)]
    to: String,
}

/// A page of this site the terminal's form continues on a phone: a path with a query of
/// printable ASCII (what `kiosk.js` builds from the form's address and its chosen options,
/// never from typed text), or `None`.
fn continue_path(to: &str) -> Option<&str> {
    let fine = to.starts_with('/')
        && !to.starts_with("//")
        && to.len() <= 300
        && to.bytes().all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'"' && b != b'<' && b != b'>');
    fine.then_some(to)
}

/// 在手机上继续: the QR code of this site's `to` page, which a villager scans to go on with the
/// same form on their own phone (where their input method and voice input work).
async fn continue_qr(State(state): State<AppState>, Query(q): Query<ContinueQuery>) -> Result<Response, AppError> {
    let path = continue_path(&q.to).ok_or(AppError::NotFound)?;
    crate::web::qr::svg_response(&format!("{}{path}", state.config().site_url()), 240)
}

/// The keyed hash of a one-time enrolment token, as stored.
pub fn enrol_hash(state: &AppState, token: &str) -> String {
    state.cipher().token_tag(ENROL_PURPOSE, token)
}

/// The version a terminal reports: the release and the fingerprint of the embedded assets.
pub fn client_version() -> String {
    format!("{}-{}", env!("CARGO_PKG_VERSION"), *crate::web::assets::VERSION)
}

/// The enrolled terminal making this request.
pub struct Kiosk(pub KioskTerminal);

#[derive(Template)]
#[template(path = "kiosk_unenrolled.html")]
struct UnenrolledPage;

impl FromRequestParts<AppState> for Kiosk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let refused = || {
            let html = UnenrolledPage.render().unwrap_or_else(|_| "本终端尚未登记".to_owned());
            (StatusCode::FORBIDDEN, Html(html)).into_response()
        };
        let Some(token) = cookie(&parts.headers, KIOSK_COOKIE) else { return Err(refused()) };
        match state.store().find_kiosk_by_device(&device_hash(state, token)).await {
            Ok(Some(terminal)) => Ok(Self(terminal)),
            Ok(None) => Err(refused()),
            Err(e) => Err(AppError::from(e).into_response()),
        }
    }
}

/// The hall officer filing on a villager's behalf (代办): a staff session on an enrolled
/// terminal whose role may file on behalf and whose scope covers both the terminal's township
/// and `org_code` (the application's village). `None` anywhere else, including on a phone.
pub async fn proxy_officer(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    org_code: &str,
) -> Result<Option<xiaowei_store::StaffUser>, AppError> {
    Ok(hall_officer(state, headers).await?.and_then(|h| h.for_org(org_code).cloned()))
}

/// The hall officer logged in at this terminal who may file on a villager's behalf, if any.
pub async fn hall_officer(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Option<crate::app::tracked::HallOfficer>, AppError> {
    let (Some(device), Some(session)) =
        (cookie(headers, KIOSK_COOKIE), cookie(headers, crate::web::security::SESSION_COOKIE))
    else {
        return Ok(None);
    };
    let store = state.store();
    let Some(terminal) = store.find_kiosk_by_device(&device_hash(state, device)).await? else { return Ok(None) };
    let Some(session) = store.find_session(&crate::web::security::token_hash(session), state.now()).await? else {
        return Ok(None);
    };
    let allowed = session.user.role.allows(xiaowei_core::Permission::FileOnBehalf);
    let scope = xiaowei_core::access::Scope { org_code: session.user.org_code.clone(), department_id: None };
    Ok((allowed && scope.covers_org(&terminal.township_code))
        .then_some(crate::app::tracked::HallOfficer { user: session.user, township_code: terminal.township_code }))
}

/// Whether the request comes from an enrolled, unrevoked terminal.
pub async fn is_terminal(state: &AppState, headers: &axum::http::HeaderMap) -> Result<bool, AppError> {
    Ok(terminal_of(state, headers).await?.is_some())
}

/// Presents a one-time enrolment link: the first browser to do so becomes the terminal.
async fn enrol(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::invalid("登记链接无效，请核对链接是否完整"));
    }
    let device = random_token();
    let now = state.now();
    let terminal = match state
        .store()
        .enrol_kiosk_terminal(&enrol_hash(&state, &token), &device_hash(&state, &device), now)
        .await?
    {
        Enrolment::Enrolled(terminal) => terminal,
        Enrolment::AlreadyUsed => {
            return Err(AppError::Conflict("该登记链接已使用过，不能再次使用。如需更换设备，请管理员新建终端".into()));
        }
        Enrolment::Expired => return Err(AppError::Conflict("该登记链接已过期，请管理员新建终端".into())),
        Enrolment::Revoked => return Err(AppError::Conflict("该终端已停用".into())),
        Enrolment::Unknown => return Err(AppError::invalid("登记链接无效，请核对链接是否完整")),
    };
    state
        .audit(NewAuditEntry {
            at: now,
            actor_id: None,
            actor_name: format!("触摸终端：{}", terminal.name),
            action: "kiosk.enrol".into(),
            target: format!("kiosk:{}", terminal.id),
            detail: format!("终端 {} 完成登记", terminal.name),
            ip,
            org_code: Some(terminal.township_code.clone()),
        })
        .await?;
    let mut response = crate::web::respond::see_other("/kiosk");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(KIOSK_COOKIE, &device, DEVICE_COOKIE_SECS, state.config().secure_cookies),
    );
    Ok(response)
}

struct Tile {
    href: String,
    title: &'static str,
    summary: &'static str,
}

#[derive(Template)]
#[template(path = "kiosk_home.html")]
struct HomePage {
    township_name: String,
    tiles: Vec<Tile>,
}

async fn home(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Kiosk(terminal): Kiosk,
) -> Result<Response, AppError> {
    let tiles = SECTIONS
        .iter()
        .map(|s| Tile {
            href: if s.slug == "self-query" {
                "/kiosk/self-query".to_owned()
            } else {
                format!("/t/{}/{}", terminal.township_code, s.slug)
            },
            title: s.title,
            summary: s.summary,
        })
        .collect();
    let page = HomePage { township_name: xiaowei_core::org::display_name(&terminal.township_name).to_owned(), tiles };
    let visit = crate::state::visits::tag(&terminal.township_code, Menu::Home);
    let mut response = (visit, Html(page.render()?)).into_response();
    if let Some(device) = cookie(&headers, KIOSK_COOKIE) {
        let renewed = set_cookie(KIOSK_COOKIE, device, DEVICE_COOKIE_SECS, state.config().secure_cookies);
        response.headers_mut().append(header::SET_COOKIE, renewed);
    }
    Ok(response)
}

struct VillageButton {
    code: String,
    name: String,
}

struct NameGroup {
    surname: String,
    names: Vec<String>,
}

#[derive(Template)]
#[template(path = "kiosk_self_query.html")]
struct SelfQueryPage {
    township_name: String,
    township_code: String,
    csrf: String,
    villages: Vec<VillageButton>,
    village: Option<VillageButton>,
    groups: Vec<NameGroup>,
    keys: &'static [&'static str],
    /// What was entered, kept when the form comes back, and the message for each field.
    name: String,
    id_number: String,
    errors: FieldErrors,
}

impl SelfQueryPage {
    /// The step the form opens at: the ID keypad, or the name when only the name is at fault.
    fn step(&self) -> &'static str {
        if self.errors.get("name").is_empty() || !self.errors.get("id_number").is_empty() { "id" } else { "name" }
    }
}

/// The keypad's character keys, in telephone order; X is the check character of some IDs.
const KEYPAD: &[&str] = &["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0"];

#[derive(Deserialize)]
struct VillageQuery {
    #[serde(default)]
    village: String,
}

/// Groups names by their first character (the surname, for all but a few compound surnames),
/// so a villager taps the surname first and then their name among a handful.
fn group_by_surname(names: Vec<String>) -> Vec<NameGroup> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in names {
        let surname: String = name.chars().take(1).collect();
        if !surname.is_empty() {
            groups.entry(surname).or_default().push(name);
        }
    }
    groups.into_iter().map(|(surname, names)| NameGroup { surname, names }).collect()
}

/// The self-query page of `terminal` at step one, or at step two for `village` (404 when the
/// village is not one of the terminal's township).
async fn self_query_page(
    state: &AppState,
    terminal: &KioskTerminal,
    csrf: String,
    village: &str,
) -> Result<SelfQueryPage, AppError> {
    let store = state.store();
    let villages: Vec<VillageButton> = store
        .child_orgs(&terminal.township_code)
        .await?
        .into_iter()
        .filter(|o| o.level == OrgLevel::Village)
        .map(|v| VillageButton { name: v.display_name().to_owned(), code: v.code })
        .collect();
    let (village, groups) = if village.is_empty() {
        (None, Vec::new())
    } else {
        let Some(v) = villages.iter().find(|v| v.code == village) else { return Err(AppError::NotFound) };
        let names = store.published_roster_names(&v.code).await?;
        (Some(VillageButton { code: v.code.clone(), name: v.name.clone() }), group_by_surname(names))
    };
    Ok(SelfQueryPage {
        township_name: xiaowei_core::org::display_name(&terminal.township_name).to_owned(),
        township_code: terminal.township_code.clone(),
        csrf,
        villages,
        village,
        groups,
        keys: KEYPAD,
        name: String::new(),
        id_number: String::new(),
        errors: FieldErrors::new(),
    })
}

/// Step one picks the village; step two (with `?village=`) is the keypad and the name picker.
async fn self_query_form(
    State(state): State<AppState>,
    Kiosk(terminal): Kiosk,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<VillageQuery>,
) -> Result<Response, AppError> {
    let page = self_query_page(&state, &terminal, csrf, &q.village).await?;
    let visit = crate::state::visits::tag(&terminal.township_code, Menu::SelfQuery);
    Ok(no_store((visit, Html(page.render()?)).into_response()))
}

#[derive(Deserialize)]
struct KioskQueryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    village: String,
}

/// The same answer as the phone's self-query (never more), rate-limited per terminal; a name or
/// ID at fault brings the form back at the step to fix, with what was entered.
async fn self_query(
    State(state): State<AppState>,
    Kiosk(terminal): Kiosk,
    CsrfToken(csrf): CsrfToken,
    Form(form): Form<KioskQueryForm>,
) -> Result<Response, AppError> {
    let input =
        crate::public::subsidies::SelfQueryInput { name: form.name, id_number: form.id_number, household: false };
    if let Err(errors) = crate::public::subsidies::check_self_query(&input) {
        let mut page = self_query_page(&state, &terminal, csrf, &form.village).await?;
        page.name = input.name;
        page.id_number = input.id_number;
        page.errors = errors;
        return Ok(form::returned(page.render()?));
    }
    let via = crate::public::subsidies::QueryVia {
        client: format!("kiosk:{}", terminal.id),
        actor: format!("触摸终端：{}", terminal.name),
        again_url: "/kiosk/self-query".to_owned(),
    };
    crate::public::subsidies::answer_self_query(&state, &terminal.township_code, input, via).await
}

#[derive(Deserialize)]
struct HeartbeatBody {
    #[serde(default)]
    version: String,
    #[serde(default)]
    screen: String,
    #[serde(default)]
    last_error: String,
}

/// Records a heartbeat from the terminal holding the device cookie; a revoked or unknown
/// device is refused.
async fn heartbeat(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<HeartbeatBody>,
) -> Result<Response, AppError> {
    let device = cookie(&headers, KIOSK_COOKIE).ok_or(AppError::Forbidden)?;
    let beat = Heartbeat::parse(&body.version, &body.screen, &body.last_error)
        .map_err(|e| AppError::invalid(e.to_string()))?;
    let recorded = state
        .store()
        .record_kiosk_heartbeat(
            &device_hash(&state, device),
            &beat.version,
            &beat.screen,
            beat.last_error.as_deref(),
            state.now(),
        )
        .await?;
    if !recorded {
        return Err(AppError::Forbidden);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Template)]
#[template(path = "kiosk_offline.html")]
struct OfflinePage;

/// The screen a terminal shows while it cannot reach the server (cached by its service worker).
async fn offline() -> Result<Response, AppError> {
    Ok(Html(OfflinePage.render()?).into_response())
}

/// The service worker, served from the root so that it may cache the public pages.
async fn service_worker() -> Response {
    let body = SERVICE_WORKER.replace("__VERSION__", &crate::web::assets::VERSION);
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The CSRF token the page's forms carry: the request's cookie, or the one this response sets.
fn csrf_of(request_cookie: Option<String>, response: &Response) -> String {
    request_cookie.unwrap_or_else(|| {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{CSRF_COOKIE}=")).and_then(|rest| rest.split(';').next()))
            .unwrap_or_default()
            .to_owned()
    })
}

/// Longest page dressed for a terminal; longer answers (none today) pass through unchanged.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Dresses every HTML answer to an enrolled terminal: `kiosk` body class with the terminal's
/// idle time, countdown, CSRF token and version for `kiosk.js`, a bar with the home button, and
/// the script itself. Answers to a form post are marked private (`data-kiosk-private`): they
/// hold what the villager typed, so the script keeps them out of the history. Every dressed
/// page is `no-store`, so neither the HTTP cache nor the back-forward cache keeps it.
pub async fn chrome(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let device = cookie(request.headers(), KIOSK_COOKIE).map(str::to_owned);
    let csrf_cookie = cookie(request.headers(), CSRF_COOKIE).filter(|t| t.len() == 64).map(str::to_owned);
    let private = request.method() == Method::POST;
    let headers_of_request = request.headers().clone();
    let response = next.run(request).await;
    let Some(device) = device else { return response };
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let terminal = match state.store().find_kiosk_by_device(&device_hash(&state, &device)).await {
        Ok(Some(t)) => t,
        Ok(None) => return response,
        Err(e) => {
            tracing::warn!(error = %e, "kiosk lookup failed");
            return response;
        }
    };
    let officer = match cookie(&headers_of_request, crate::web::security::SESSION_COOKIE) {
        Some(token) => state
            .store()
            .find_session(&crate::web::security::token_hash(token), state.now())
            .await
            .ok()
            .flatten()
            .map(|s| s.user.display_name),
        None => None,
    };
    let csrf = csrf_of(csrf_cookie, &response);
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "页面过大").into_response();
    };
    let Ok(html) = String::from_utf8(bytes.to_vec()) else { return Response::from_parts(parts, Body::from(bytes)) };
    let Some(at) = html.find("<body>") else { return Response::from_parts(parts, Body::from(html)) };
    let idle = IdleSeconds::new(terminal.idle_seconds).unwrap_or(IdleSeconds::DEFAULT);
    let township = xiaowei_core::org::display_name(&terminal.township_name);
    let opening = format!(
        "<body class=\"kiosk\" data-kiosk-idle=\"{}\" data-kiosk-countdown=\"{}\" data-kiosk-csrf-token=\"{}\" \
         data-kiosk-version=\"{}\"{}{}>\n<nav class=\"kiosk-bar\" aria-label=\"终端导航\">\
         <a class=\"kiosk-home\" href=\"/kiosk\">⌂ 首页</a>\
         <button type=\"button\" class=\"kiosk-back\" hidden>‹ 返回</button>\
         <a class=\"kiosk-mode to-elder\" href=\"/mode?elder=1\">长辈模式</a>\
         <a class=\"kiosk-mode to-standard\" href=\"/mode?elder=0\">退出长辈模式</a>{}\
         <span class=\"kiosk-where\">{} · {}</span></nav>",
        idle.get(),
        idle.countdown(),
        escape(&csrf),
        escape(&client_version()),
        if private { " data-kiosk-private=\"1\"" } else { "" },
        if officer.is_some() { " data-kiosk-staff=\"1\"" } else { "" },
        officer
            .as_deref()
            .map_or_else(String::new, |name| format!("<span class=\"kiosk-staff\">代办中：{}</span>", escape(name))),
        escape(township),
        escape(&terminal.name),
    );
    let script = format!("<script src=\"/static/kiosk.js?v={}\"></script>\n</body>", *crate::web::assets::VERSION);
    let mut dressed = String::with_capacity(html.len() + 1024);
    dressed.push_str(&html[..at]);
    dressed.push_str(&opening);
    let rest = &html[at + "<body>".len()..];
    match rest.rfind("</body>") {
        Some(end) => {
            dressed.push_str(&rest[..end]);
            dressed.push_str(&script);
            dressed.push_str(&rest[end + "</body>".len()..]);
        }
        None => dressed.push_str(rest),
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if private || officer.is_some() {
        // The terminal's service worker keeps no answer to a form nor any page shown to an officer.
        parts.headers.insert(HeaderName::from_static("x-kiosk-keep"), HeaderValue::from_static("no"));
    }
    Response::from_parts(parts, Body::from(dressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_grouped_by_their_first_character() {
        let groups = group_by_surname(vec!["马玉兰".into(), "王建国".into(), "马永福".into(), String::new()]);
        let view: Vec<(&str, Vec<&str>)> =
            groups.iter().map(|g| (g.surname.as_str(), g.names.iter().map(String::as_str).collect())).collect();
        assert_eq!(view, vec![("王", vec!["王建国"]), ("马", vec!["马玉兰", "马永福"])]);
    }

    #[test]
    fn only_paths_of_this_site_continue_on_a_phone() {
        assert_eq!(
            continue_path("/services/3/apply?t=620902&village=620902001"),
            Some("/services/3/apply?t=620902&village=620902001")
        );
        for refused in ["https://evil.example/", "//evil.example/x", "/a\\b", "/a b", "/<script>", "services/3", ""] {
            assert_eq!(continue_path(refused), None, "{refused}");
        }
        assert_eq!(continue_path(&format!("/{}", "a".repeat(300))), None);
    }

    #[test]
    fn text_placed_in_attributes_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
