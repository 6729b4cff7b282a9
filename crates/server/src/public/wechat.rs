//! Each township's WeChat official account (公众号): the callback (`/wechat/{account}/callback`,
//! where `{account}` is the township code) with replay protection, followers, menu visits and
//! keyword replies; the shared access token; the standard menu; OAuth (snsapi_base) so that pages
//! opened inside WeChat know the follower; 我的办件; and binding a follower to their household.
//! Credentials are kept sealed with the personal-data key and never leave this module in clear.
//!
//! ## WeChat official accounts (公众号)
//!
//! Each township may run its own account; every account carries the same menu. The protocol lives
//! in `xiaowei_integrations::wechat` and is written by hand: SHA-1 signatures over the sorted
//! token/timestamp/nonce (plus the ciphertext in safe mode), safe-mode AES-256-CBC (key from the
//! 43-character EncodingAESKey, IV its first 16 bytes, PKCS#7 padding to 32 bytes, the plaintext
//! framed as 16 random bytes + big-endian length + message + appid, all checked on the way in), and
//! a strict reader for the platform's flat XML (size limit 64 KiB, no DOCTYPE, attributes, comments
//! or unknown entities, at most 64 fields, one level of nesting). We chose a small hand-written
//! reader over a general XML crate because the platform's XML is a flat list of fields and refusing
//! everything else is simpler to prove than configuring a general parser not to expand entities.
//! `crates/integrations/tests/wechat/` proves it against `wechatpy` (pinned in `tests/sdk/`):
//! messages encrypted by wechatpy open here, our replies pass wechatpy's signature check, decryption
//! and parser, tampered signatures and wrong appids fail on both sides. Property tests feed
//! arbitrary and mutated bytes to the reader and the crypto (`XIAOWEI_FUZZ_CASES` raises their case
//! count for a long run).
//!
//! `server::wechat` serves `/wechat/{account}/callback` (the account is the township code), outside
//! the CSRF guard (the platform signs instead) with a 64 KiB body limit. GET answers the URL check;
//! POST opens the message in plaintext or safe mode (`encrypt_type=aes`, `msg_signature`), always
//! checking the URL `signature` as well; the account's mode (`wechat::Security`: 明文, 安全, or 兼容
//! only when the admin ticks it — `wechat_accounts.compatible`, migration 0022) decides which kinds it
//! takes, so a safe-mode account refuses plaintext (403). It refuses a bad signature (403), a timestamp outside `[wechat] replay_window_secs` (403) or a malformed body
//! (400, 413 when too large), then records the message's key (MsgId, or follower + CreateTime +
//! event) in `wechat_seen`: a key already there — a redelivery or a replay, on any instance — is
//! acknowledged with `success` and does nothing. Subscribe and unsubscribe update
//! `wechat_followers` (with times; a binding survives an unsubscribe but no longer counts); CLICK
//! and VIEW events count a visit per menu item, township and Shanghai day in `wechat_menu_visits`;
//! keywords (查询, 办事, 留言, 进度, 绑定…) answer with a link to that township's page; any other
//! text is kept by `Store::store_unmatched_wechat_text` in `wechat_inbox` with the account and
//! openid, and at once becomes a 咨询 in that township's 留言箱 (`app::messages::from_wechat_text`,
//! idempotent per text); the reply carries the message's tracking number and keyed link. A text
//! that could not be routed then is routed by the next scheduler round (`notify::route_wechat_texts`).
//! Replies go back in the mode the message came in.
//!
//! Account credentials are entered by the county admin at `/staff/wechat` (permission
//! `ManageWechat`) and stored sealed with the personal-data key; the access token is cached sealed
//! in `wechat_tokens`, shared by all instances: one instance at a time claims a refresh by
//! compare-and-set, and a call answered 40001/40014/42001 expires exactly the token it used and
//! retries once with a fresh one. `xiaowei wechat menu <township> [--push]` prints or creates the
//! standard menu (民生监督: 惠农资金, 小微权力, 公示公开, 我要办事, 留言箱; and 自助查询), VIEW items
//! pointing at `public_url/t/{township}/…`.
//!
//! Inside WeChat (a `MicroMessenger` User-Agent), 我的办件 (`/t/{township}/my-cases`) and
//! 绑定家庭 (`/t/{township}/bind`) first go through OAuth (snsapi_base, `[wechat] oauth_base`); the
//! code is exchanged for the openid, which is kept in a signed, expiring cookie (`xw_wx`, an HMAC
//! from the personal-data key). A 我要办事 application made with that cookie is linked to the
//! follower (`service_cases.wechat_account/wechat_openid`), so 我的办件 lists it without any
//! password; elsewhere the tracking number and phone route is unchanged. Binding checks name and ID
//! exactly as the self-query does (blind index against published roster entries, then the name) and
//! takes the household in that entry's village headed by that name, or the one with the household
//! number given. `Store::wechat_figures` gives the monitor, per township: followers, households
//! with at least one subscribed bound follower, households, menu visits; the back office shows the
//! share as 户覆盖率.
//!
//! A case notice to an applicant who applied inside WeChat and still follows the account is written
//! to the same outbox with channel `wechat` (recipient sealed as `account:openid`) and delivered by
//! `deliver_due` as a template message (`[wechat.templates]`, notice → template id); anyone else,
//! including a follower who has since unsubscribed, is texted as before.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use serde::Deserialize;
use xiaowei_core::{OrgLevel, ResidentId};
use xiaowei_integrations::wechat::{
    CallbackError, CallbackQuery, Event, Inbound, MAX_XML_BYTES, MenuItem, Message, oauth_authorize_url, open_message,
    seal_reply, text_reply, verify_url,
};
use xiaowei_store::{NewAuditEntry, Org};

use crate::app::wechat::account_keys;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;
use crate::web::respond::{no_store, private_page};
use crate::web::security::{ClientIp, CsrfToken, cookie, random_token};

/// The cookie that remembers the follower inside WeChat: `account.openid.expiry.mac`.
pub const FOLLOWER_COOKIE: &str = "xw_wx";
const FOLLOWER_COOKIE_SECS: i64 = 30 * 86_400;
/// Blind-index purpose of resident IDs (shared with rosters and the self-query).
use xiaowei_core::pii::ID_PURPOSE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/wechat/{account}/oauth", get(oauth_start))
        .route("/wechat/{account}/oauth/return", get(oauth_return))
        .route("/t/{township}/my-cases", get(my_cases))
        .route("/t/{township}/bind", get(bind_form).post(bind))
}

/// The callback, served outside the CSRF guard (the platform signs its requests instead) and
/// with its own small body limit.
pub fn callback_router() -> Router<AppState> {
    Router::new()
        .route("/wechat/{account}/callback", get(verify).post(receive))
        .layer(DefaultBodyLimit::max(MAX_XML_BYTES))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// GET: the server-address check. Answers `echostr` when the signature is right.
async fn verify(
    State(state): State<AppState>,
    Path(account): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let keys = account_keys(&state, &account).await?;
    let echo = q.echostr.clone().unwrap_or_default();
    if echo.len() > 256 || !verify_url(keys.token.expose_secret(), &q.signature, &q.timestamp, &q.nonce) {
        tracing::warn!(account = %account, "wechat url check with a bad signature");
        return Ok(plain(StatusCode::FORBIDDEN, "invalid signature"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response())
}

/// POST: one message or event. Refuses bad signatures, stale timestamps and malformed bodies;
/// ignores redeliveries; answers in the mode the message came in.
async fn receive(
    State(state): State<AppState>,
    Path(account): Path<String>,
    Query(q): Query<CallbackQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    let keys = account_keys(&state, &account).await?;
    let token = keys.token.expose_secret();
    let message = match open_message(token, keys.security(), &q, &body) {
        Ok(message) => message,
        Err(CallbackError::PlaintextRefused) => {
            tracing::warn!(account = %account, "plaintext wechat callback to a safe-mode account refused");
            return Ok(plain(StatusCode::FORBIDDEN, "plaintext refused"));
        }
        Err(e @ (CallbackError::BadSignature | CallbackError::BadTimestamp)) => {
            tracing::warn!(account = %account, error = %e, "wechat callback refused");
            return Ok(plain(StatusCode::FORBIDDEN, "invalid signature"));
        }
        Err(e) => {
            tracing::warn!(account = %account, error = %e, "wechat callback malformed");
            return Ok(plain(StatusCode::BAD_REQUEST, "malformed message"));
        }
    };
    let now = state.now();
    let sent_at: i64 = q.timestamp.parse().unwrap_or_default();
    if (now - sent_at).abs() > state.config().wechat.replay_window_secs {
        tracing::warn!(account = %account, "wechat callback outside the replay window");
        return Ok(plain(StatusCode::FORBIDDEN, "stale timestamp"));
    }
    if !state.store().first_sighting(&account, &message.dedup_key(), now).await? {
        return Ok(plain(StatusCode::OK, "success"));
    }
    let handled = match handle(&state, &account, &message, now).await {
        Ok(handled) => handled,
        Err(e) => {
            // WeChat redelivers after a failure: let that redelivery be handled, not ignored.
            state.store().forget_wechat_sighting(&account, &message.dedup_key()).await?;
            return Err(e);
        }
    };
    let Some(reply) = handled else {
        return Ok(plain(StatusCode::OK, "success"));
    };
    let xml = text_reply(&message, &reply, now);
    let nonce = random_token()[..16].to_owned();
    let sealed = seal_reply(token, keys.crypto.as_ref(), message.mode, &xml, &now.to_string(), &nonce)
        .map_err(|e| AppError::Internal(format!("wechat reply: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], sealed).into_response())
}

/// Today in Asia/Shanghai, `YYYY-MM-DD`.
fn shanghai_day(now: i64) -> String {
    crate::web::dates::shanghai_time(now).get(..10).unwrap_or_default().to_owned()
}

fn link(state: &AppState, account: &str, path: &str, title: &str) -> String {
    format!("<a href=\"{}/t/{account}/{path}\">{title}</a>", state.config().site_url())
}

/// Keyword replies: the first keyword found in the text decides.
const KEYWORDS: &[(&[&str], &str, &str)] = &[
    (&["我的办件", "进度", "办件"], "my-cases", "我的办件"),
    (&["绑定"], "bind", "绑定家庭"),
    (&["查询", "自助", "补贴", "领了"], "self-query", "自助查询"),
    (&["办事", "申请", "服务"], "services", "我要办事"),
    (&["留言", "投诉", "举报", "建议", "咨询"], "messages", "留言箱"),
    (&["惠农", "资金", "花名册"], "subsidies", "惠农资金"),
    (&["权力"], "powers", "小微权力"),
    (&["公开", "公示", "财务"], "disclosures", "公示公开"),
];

/// What the follower is answered, after recording the message; `None` acknowledges silently.
async fn handle(state: &AppState, account: &str, m: &Message, now: i64) -> Result<Option<String>, AppError> {
    let store = state.store();
    Ok(match &m.inbound {
        Inbound::Event(Event::Subscribe) => {
            store.follower_subscribed(account, &m.from_user, now).await?;
            Some(format!(
                "欢迎关注！点击下方「民生监督」菜单查看惠农资金、小微权力、公示公开，在线办事和留言。\n{}：用姓名和身份证号绑定您家，办件进度会通过本公众号通知您。",
                link(state, account, "bind", "绑定家庭")
            ))
        }
        Inbound::Event(Event::Unsubscribe) => {
            store.follower_unsubscribed(account, &m.from_user, now).await?;
            None
        }
        Inbound::Event(Event::Click(key)) => match MenuItem::by_key(key) {
            Some(item) => {
                store.count_menu_visit(account, item.key, &shanghai_day(now)).await?;
                Some(format!("请点击：{}", link(state, account, item.path, item.title)))
            }
            None => None,
        },
        Inbound::Event(Event::View(url)) => {
            if let Some(item) = MenuItem::for_url(url) {
                store.count_menu_visit(account, item.key, &shanghai_day(now)).await?;
            }
            None
        }
        Inbound::Event(Event::Other(_)) | Inbound::Other { .. } => None,
        Inbound::Text { content } => {
            let text = content.trim();
            match KEYWORDS.iter().find(|(words, ..)| words.iter().any(|w| text.contains(w))) {
                Some((_, path, title)) => Some(format!("请点击：{}", link(state, account, path, title))),
                None => {
                    let content: String = text.chars().take(2000).collect();
                    let id = store.store_unmatched_wechat_text(account, &m.from_user, &content, now).await?;
                    let stored = xiaowei_store::WechatText {
                        id,
                        township_code: account.to_owned(),
                        openid: m.from_user.clone(),
                        content,
                        received_at: now,
                    };
                    match crate::app::messages::from_wechat_text(state, &stored).await {
                        Ok(tracking) => Some(format!(
                            "您的留言已转入留言箱（编号{tracking}），工作人员会在3个工作日内答复，点此查看答复：{}/messages/{tracking}?k={}",
                            state.config().site_url(),
                            crate::app::messages::message_key(state, &tracking)
                        )),
                        Err(e) => {
                            // Kept in the WeChat inbox; the next scheduler round routes it.
                            tracing::warn!(error = %e, "could not route a WeChat text to the message box");
                            Some(format!(
                                "您的留言已收到，工作人员会尽快答复。也可以在{}写下详细情况。",
                                link(state, account, "messages", "留言箱")
                            ))
                        }
                    }
                }
            }
        }
    })
}

// ---- OAuth (snsapi_base) and the follower cookie ----

/// Whether the request comes from WeChat's built-in browser.
pub fn inside_wechat(headers: &HeaderMap) -> bool {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).is_some_and(|ua| ua.contains("MicroMessenger"))
}

fn cookie_mac(state: &AppState, payload: &str) -> String {
    state.cipher().token_tag("wechat-follower-cookie", payload)[..32].to_owned()
}

/// The signed cookie value for a follower of an account.
pub fn follower_cookie(state: &AppState, account: &str, openid: &str, now: i64) -> String {
    let payload = format!("{account}.{openid}.{}", now + FOLLOWER_COOKIE_SECS);
    format!("{payload}.{}", cookie_mac(state, &payload))
}

/// The follower of `account` named by a valid, unexpired cookie.
pub fn follower_of(state: &AppState, headers: &HeaderMap, account: &str) -> Option<String> {
    signed_in_follower(state, headers).filter(|(acc, _)| acc == account).map(|(_, openid)| openid)
}

/// The follower this browser is signed in as inside WeChat, if any: (account, openid).
pub fn signed_in_follower(state: &AppState, headers: &HeaderMap) -> Option<(String, String)> {
    let value = cookie(headers, FOLLOWER_COOKIE)?;
    let (payload, mac) = value.rsplit_once('.')?;
    let expected = cookie_mac(state, payload);
    if mac.len() != expected.len() || mac.bytes().zip(expected.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        return None;
    }
    let mut parts = payload.splitn(3, '.');
    let (acc, openid, expiry) = (parts.next()?, parts.next()?, parts.next()?);
    (expiry.parse::<i64>().ok()? > state.now()).then(|| (acc.to_owned(), openid.to_owned()))
}

fn valid_openid(openid: &str) -> bool {
    !openid.is_empty()
        && openid.len() <= 64
        && openid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Only our own township pages may be returned to.
fn safe_next(account: &str, next: &str) -> String {
    let prefix = format!("/t/{account}/");
    if next.starts_with(&prefix) && !next.contains("//") && next.len() < 200 {
        next.to_owned()
    } else {
        format!("/t/{account}/my-cases")
    }
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn oauth_start(
    State(state): State<AppState>,
    Path(account): Path<String>,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let keys = account_keys(&state, &account).await?;
    let next = safe_next(&account, &q.next);
    let redirect = format!("{}/wechat/{account}/oauth/return", state.config().site_url());
    // The state parameter carries where to go next, signed so it cannot be swapped.
    let signed = format!("{next}|{}", cookie_mac(&state, &next));
    let url = oauth_authorize_url(&state.config().wechat.oauth_base, &keys.appid, &redirect, &signed);
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
struct OauthReturn {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

async fn oauth_return(
    State(state): State<AppState>,
    Path(account): Path<String>,
    Query(q): Query<OauthReturn>,
) -> Result<Response, AppError> {
    let keys = account_keys(&state, &account).await?;
    let next = match q.state.rsplit_once('|') {
        Some((next, mac)) if mac == cookie_mac(&state, next) => safe_next(&account, next),
        _ => format!("/t/{account}/my-cases"),
    };
    if q.code.is_empty() || q.code.len() > 128 {
        return Err(AppError::invalid("微信授权未完成，请从公众号菜单重新进入"));
    }
    let openid =
        state.wechat_api()?.oauth_openid(&keys.appid, keys.secret.expose_secret(), &q.code).await.map_err(|e| {
            tracing::warn!(account = %account, error = %e, "wechat oauth failed");
            AppError::invalid("微信授权失败，请从公众号菜单重新进入")
        })?;
    if !valid_openid(&openid) {
        return Err(AppError::invalid("微信授权失败，请从公众号菜单重新进入"));
    }
    let value = follower_cookie(&state, &account, &openid, state.now());
    let secure = if state.config().secure_cookies { "; Secure" } else { "" };
    let set =
        format!("{FOLLOWER_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={FOLLOWER_COOKIE_SECS}{secure}");
    let mut response = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&set) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

async fn township(state: &AppState, code: &str) -> Result<Org, AppError> {
    let org = state.org(code).await?.ok_or(AppError::NotFound)?;
    if org.level != OrgLevel::Township {
        return Err(AppError::NotFound);
    }
    Ok(org)
}

/// Inside WeChat without a follower cookie: through OAuth first, when the township has an account.
async fn need_follower(
    state: &AppState,
    headers: &HeaderMap,
    code: &str,
    path: &str,
) -> Result<Result<Option<String>, Response>, AppError> {
    if let Some(openid) = follower_of(state, headers, code) {
        return Ok(Ok(Some(openid)));
    }
    if inside_wechat(headers) && state.store().wechat_account(code).await?.is_some() {
        return Ok(Err(Redirect::to(&format!("/wechat/{code}/oauth?next=/t/{code}/{path}")).into_response()));
    }
    Ok(Ok(None))
}

struct MyCase {
    tracking: String,
    item: String,
    status: &'static str,
    submitted: String,
}

#[derive(Template)]
#[template(path = "wechat_my_cases.html")]
struct MyCasesPage {
    township_code: String,
    township_name: String,
    known: bool,
    cases: Vec<MyCase>,
}

fn status_label(status: &str) -> &'static str {
    match status {
        "submitted" => "已受理，待联系",
        "in_progress" => "办理中",
        "completed" => "已办结，待评价",
        "closed" => "已办结",
        "reopened" => "重新办理",
        _ => "处理中",
    }
}

/// 我的办件: inside WeChat, the cases this follower submitted; elsewhere, the tracking-number
/// and phone route.
async fn my_cases(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let org = township(&state, &code).await?;
    let openid = match need_follower(&state, &headers, &code, "my-cases").await? {
        Ok(openid) => openid,
        Err(redirect) => return Ok(redirect),
    };
    let cases = match &openid {
        Some(openid) => state
            .store()
            .cases_of_follower(&code, openid)
            .await?
            .into_iter()
            .map(|(tracking, item, status, at)| MyCase {
                tracking,
                item,
                status: status_label(&status),
                submitted: crate::web::dates::shanghai_time(at),
            })
            .collect(),
        None => Vec::new(),
    };
    let page = MyCasesPage {
        township_name: org.display_name().to_owned(),
        township_code: org.code,
        known: openid.is_some(),
        cases,
    };
    Ok(private_page(page.render()?))
}

#[derive(Template)]
#[template(path = "wechat_bind.html")]
struct BindPage {
    township_code: String,
    township_name: String,
    csrf: String,
    known: bool,
    bound: bool,
    message: String,
    /// What was typed, kept when the form comes back with errors.
    name: String,
    id_number: String,
    household_no: String,
    errors: FieldErrors,
}

async fn bind_form(
    State(state): State<AppState>,
    Path(code): Path<String>,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let org = township(&state, &code).await?;
    let openid = match need_follower(&state, &headers, &code, "bind").await? {
        Ok(openid) => openid,
        Err(redirect) => return Ok(redirect),
    };
    let bound = match &openid {
        Some(openid) => state.store().follower(&code, openid).await?.is_some_and(|f| f.household_id.is_some()),
        None => false,
    };
    let page = BindPage {
        township_name: org.display_name().to_owned(),
        township_code: org.code,
        csrf,
        known: openid.is_some(),
        bound,
        message: String::new(),
        name: String::new(),
        id_number: String::new(),
        household_no: String::new(),
        errors: FieldErrors::new(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct BindForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    household_no: String,
}

/// Binds the follower to their household: the ID's blind index must match a published roster
/// entry under that name (exactly as the self-query), and the household is the one in that
/// entry's village headed by that name, or the one with the household number given there.
async fn bind(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    Form(form): Form<BindForm>,
) -> Result<Response, AppError> {
    let org = township(&state, &code).await?;
    let openid = follower_of(&state, &headers, &code).ok_or(AppError::invalid("请从本乡镇公众号菜单进入后再绑定"))?;
    let render = |message: &str, bound: bool, errors: FieldErrors| {
        let page = BindPage {
            township_name: org.display_name().to_owned(),
            township_code: org.code.clone(),
            csrf: csrf.clone(),
            known: true,
            bound,
            message: message.to_owned(),
            name: form.name.clone(),
            id_number: form.id_number.clone(),
            household_no: form.household_no.clone(),
            errors,
        };
        let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        Ok::<_, AppError>(no_store((status, Html(page.render()?)).into_response()))
    };
    let mut errors = FieldErrors::new();
    let name = xiaowei_core::text::compact(&form.name);
    if name.is_empty() || name.chars().count() > 32 {
        errors.add("name", "姓名：请填写本人姓名");
    }
    let id = ResidentId::parse(&form.id_number).map_err(|e| errors.add("id_number", format!("身份证号：{e}"))).ok();
    let (Some(id), true) = (id, errors.is_empty()) else { return render("", false, errors) };
    let id_idxs = state.cipher().blind_indexes(ID_PURPOSE, id.expose());
    let now = state.now();
    let store = state.store();
    if store.rate_event("wechat_bind", &openid, now - 600, now).await? >= 5 {
        return Err(AppError::Throttled("绑定尝试过于频繁，请10分钟后再试"));
    }
    let (villages, found) =
        crate::app::phones::household_of(&state, &name, &id_idxs, &code, form.household_no.trim()).await?;
    let Some(household) = found else {
        let mut errors = FieldErrors::new();
        if villages.is_empty() {
            errors.add("id_number", "未找到与该姓名和身份证号相符的记录，请核对后重试。");
        } else {
            errors.add("household_no", "已核实身份，但未能确定您家的户，请填写户号后重试（户号可向村文书询问）。");
        }
        return render("", false, errors);
    };
    store.bind_follower(&code, &openid, household.id, now).await?;
    state
        .audit(NewAuditEntry {
            at: now,
            actor_id: None,
            actor_name: "公众".into(),
            action: "wechat.bind".into(),
            target: format!("household:{}", household.id),
            detail: format!("微信关注用户绑定家庭 {}（{}）", household.household_no, id.masked()),
            ip,
            org_code: Some(household.org_code.clone()),
        })
        .await?;
    render("绑定成功。办件进度将通过本公众号通知您。", true, FieldErrors::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_own_township_pages_are_returned_to() {
        assert_eq!(safe_next("620922100", "/t/620922100/bind"), "/t/620922100/bind");
        assert_eq!(safe_next("620922100", "https://evil.example/"), "/t/620922100/my-cases");
        assert_eq!(safe_next("620922100", "/t/620922100//evil"), "/t/620922100/my-cases");
        assert_eq!(safe_next("620922100", "/t/620922101/bind"), "/t/620922100/my-cases");
    }

    #[test]
    fn openids_are_plain_tokens() {
        assert!(valid_openid("oLVPpjqs9BhvzwPj5A-vTYAX3GLc"));
        assert!(!valid_openid("a.b"));
        assert!(!valid_openid(""));
    }
}
