//! 留言箱 for the public: the township's message page (kinds to choose from and the public list of
//! answered questions), leaving a message with photos, following it by tracking number and phone
//! (or, for an anonymous report, the query password shown once), and rating the answer.
//!
//! A report (举报) protects its author: nothing here puts their name or phone into a title, a
//! link, a text to anyone else, the log or the audit detail.
//!
//! ## 留言箱: messages, the inbox and protected reports
//!
//! A message (`messages`, migration 0010) is a question (咨询), complaint (投诉), suggestion (建议)
//! or report (举报) addressed to a township or one of its villages, with a tracking number (`LY` +
//! date + six digits), a timeline (`message_events`, some public) and photos. `core::message` holds
//! the rules: the reply clock on the shared working-day calendar (3 working days for questions and
//! suggestions; `complaint_reply_days`, default 13, for complaints and reports), the state machine
//! (`submitted → handling → replied → closed`, `reopened` on 不满意, or `merged` / `hidden`), who each
//! notice reaches, and the redaction of the public list (phones, ID numbers and the author's name
//! removed). Status changes are compare-and-set with their event and outbox rows in one transaction
//! (`Store::change_message`), and `notify::run_message_clocks` sets reminders and overdue marks once,
//! beside the case clocks, in the same workers. The staff inbox (`/staff/inbox`) lists messages,
//! roster objections and self-query reports in scope.
//!
//! A report reaches only the discipline commission (`Role::is_commission`: county supervisors and the
//! township's reviewer): its texts, its inbox row and its page exist for nobody else (404). The author
//! may stay anonymous — they follow it with a query password shown once on the submission response
//! (only its keyed hash is stored) — and no text, title, link, export, audit detail or log line
//! carries their name or phone; the log gateway never logs the phone of a message text, and staff
//! views of texts hide the author's link key. A test captures the log output to check this.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use xiaowei_core::alert::AlertKind;
use xiaowei_core::message::{self, MessageAction, MessageKind, MessageNotice, MessageStatus, PhoneRule};
use xiaowei_core::monitor::Menu;
use xiaowei_core::text::FreeText;
use xiaowei_core::tracked::{Rating, Satisfaction, TimelineKind};
use xiaowei_core::{OrgLevel, Phone};
use xiaowei_store::{Message, MessageChange, NewAuditEntry, NewMessage, NewMessageEvent, NewMessagePhoto};

use crate::app::tracked::{PublicEvent, masked_phone};
use crate::public::services::{calendar, calendar_as_of, explain_deadline};
use crate::staff::see_other;
use crate::state::{AppState, TRACKING_ATTEMPTS};
use crate::web::client::QuotaKey;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::places::county_name;
use crate::web::security::{ClientIp, CsrfToken, random_token};
use crate::workers::notify;
use crate::workers::visits::{self, Visit};

/// Messages one client may leave per hour.
const MESSAGES_PER_CLIENT: i64 = 10;
/// Tracking-number lookups one client may try per hour (wrong phones and passwords included).
const LOOKUPS_PER_CLIENT: i64 = 30;
/// Answered questions shown on the public list.
const PUBLIC_LIST: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/messages", get(township_page))
        .route("/t/{township}/messages/new", get(new_form).post(leave))
        .route("/messages", get(track_form).post(track))
        .route("/messages/{tracking}", get(message_page))
        .route("/messages/{tracking}/rate", post(rate))
}

async fn township_of(state: &AppState, code: &str) -> Result<xiaowei_store::Org, AppError> {
    match state.store().find_org(code).await? {
        Some(org) if org.level() == Some(OrgLevel::Township) => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

/// How a message's deadline was counted, in plain Chinese (kept with the message).
pub fn deadline_basis(kind: MessageKind, clock: &xiaowei_core::tracked::DayClock) -> String {
    format!("{}留言答复期限：{}", kind.label(), explain_deadline(&clock.deadline))
}

struct PublicItem {
    place: String,
    asked: String,
    body: String,
    reply: String,
    answered: String,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct TownshipPage {
    county_name: String,
    township_code: String,
    township_name: String,
    kinds: [MessageKind; 4],
    items: Vec<PublicItem>,
}

async fn township_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<(Extension<Visit>, Html<String>), AppError> {
    let township = township_of(&state, &code).await?;
    let visit = visits::tag(&township.code, Menu::Messages);
    let mut items = Vec::new();
    for m in state.store().public_messages(&township.code, PUBLIC_LIST).await? {
        let names = [m.author_name.as_str()];
        items.push(PublicItem {
            place: crate::web::places::place_name(state.store(), &m.org_code).await?,
            asked: shanghai_time(m.submitted_at).chars().take(10).collect(),
            body: message::redact(&m.body, &names),
            reply: message::redact(m.reply.as_deref().unwrap_or_default(), &names),
            answered: m.replied_at.map(shanghai_time).unwrap_or_default().chars().take(10).collect(),
        });
    }
    let page = TownshipPage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        kinds: MessageKind::ALL,
        items,
    };
    Ok((visit, Html(page.render()?)))
}

struct PlaceOption {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "message_new.html")]
struct NewPage {
    township_code: String,
    township_name: String,
    kind: MessageKind,
    phone_required: bool,
    places: Vec<PlaceOption>,
    csrf: String,
    form_key: String,
    max_photos: usize,
    reply_days: u32,
    /// On a hall terminal with a hall officer logged in: the officer filing on the villager's behalf.
    proxy: Option<String>,
    /// Prefilled text, e.g. from 核验 finding a page that disagrees with its ledger record.
    body: String,
}

#[derive(Deserialize)]
struct KindQuery {
    #[serde(default)]
    kind: String,
    /// The ledger record a failed 核验 was about.
    ledger: Option<u64>,
}

async fn new_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
    Query(q): Query<KindQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let township = township_of(&state, &code).await?;
    let proxy = crate::public::kiosk::proxy_officer(&state, &headers, &township.code).await?.map(|u| u.display_name);
    let Some(kind) = MessageKind::parse(&q.kind) else {
        return Ok(see_other(&format!("/t/{}/messages", township.code)));
    };
    let mut places =
        vec![PlaceOption { name: format!("{}（乡镇）", township.display_name()), code: township.code.clone() }];
    places.extend(
        state
            .store()
            .child_orgs(&township.code)
            .await?
            .into_iter()
            .map(|v| PlaceOption { name: v.display_name().to_owned(), code: v.code }),
    );
    let page = NewPage {
        proxy,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        kind,
        phone_required: kind.phone_rule() == PhoneRule::Required,
        places,
        csrf,
        form_key: random_token(),
        max_photos: crate::app::photos::MAX_PHOTOS,
        reply_days: kind.reply_days(state.config().complaint_reply_days),
        body: q
            .ledger
            .map(|n| format!("核验发现：公开页面的内容与公开账本第 {n} 号记录不一致，请核查该页面是否被改动。"))
            .unwrap_or_default(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "message_public.html")]
struct MessagePage {
    m: Message,
    kind: MessageKind,
    key: String,
    csrf: String,
    is_new: bool,
    /// An anonymous reporter's query password, shown once right after submission.
    secret: String,
    status: &'static str,
    rateable: bool,
    submitted: String,
    due: String,
    overdue: bool,
    events: Vec<PublicEvent>,
    ratings: [Satisfaction; 3],
    rating_label: &'static str,
    masked_phone: String,
    merged_into: String,
}

async fn leave(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let township = township_of(&state, &code).await?;
    let headers = request.headers().clone();
    let form = crate::app::photos::read(&state, request, "留言").await?;
    let form_key = form.field("form_key");
    if form_key.len() < 16 || form_key.len() > 128 {
        return Err(AppError::invalid("表单已失效，请刷新页面后重新填写"));
    }
    // A repeated submission of the same form shows the message the first one created.
    if let Some(existing) = state.store().find_message_by_submit_key(&form_key).await? {
        return Ok(see_other(&format!(
            "/messages/{}?k={}",
            existing.tracking,
            notify::message_key(&state, &existing.tracking)
        )));
    }
    let kind = MessageKind::parse(&form.field("kind"))
        .ok_or_else(|| AppError::invalid("留言类别：请选择咨询、投诉、建议或举报"))?;
    let place = match state.store().find_org(&form.field("place")).await? {
        Some(o) if o.code == township.code || o.parent_code.as_deref() == Some(township.code.as_str()) => o,
        _ => return Err(AppError::invalid("留言对象：请选择乡镇或所在村（社区）")),
    };
    let name = xiaowei_core::text::normalize(&form.field("name"));
    if name.chars().count() > 32 {
        return Err(AppError::invalid("称呼：不超过32个字"));
    }
    let phone = match (form.field("phone").is_empty(), kind.phone_rule()) {
        (true, PhoneRule::Required) => {
            return Err(AppError::invalid("手机号：投诉须留11位手机号码，便于工作人员联系核实"));
        }
        (true, PhoneRule::Optional) => None,
        (false, _) => Some(
            Phone::parse(&form.field("phone")).map_err(|_| AppError::invalid("手机号：请填写11位手机号码，或不填"))?,
        ),
    };
    let body = FreeText::parse(&form.field("body"), message::MAX_BODY_CHARS)
        .map_err(|e| AppError::invalid(format!("留言内容：{e}")))?
        .into_string();
    let n = body.chars().count();
    if !(message::MIN_BODY_CHARS..=message::MAX_BODY_CHARS).contains(&n) {
        return Err(AppError::invalid(format!(
            "留言内容：请写明具体事情（{}至{}字）",
            message::MIN_BODY_CHARS,
            message::MAX_BODY_CHARS
        )));
    }
    let officer = crate::public::kiosk::proxy_officer(&state, &headers, &place.code).await?;
    let now = state.now();
    if state.store().rate_event("message", &quota, now - 3600, now).await? >= MESSAGES_PER_CLIENT {
        return Err(AppError::Throttled("提交过于频繁，请1小时后再试"));
    }
    let photos: Vec<NewMessagePhoto> = crate::app::photos::store(&state, form.photos())
        .await?
        .into_iter()
        .map(|p| NewMessagePhoto {
            sha256: p.sha256,
            size: p.size,
            content_type: p.content_type,
            original_name: p.name,
        })
        .collect();
    let clock = message::reply_clock(&calendar(&state).await?, kind, state.config().complaint_reply_days, now);
    let cipher = state.cipher();
    // An anonymous report gets a query password instead of a phone.
    let secret = (kind == MessageKind::Report && phone.is_none())
        .then(|| message::query_secret(&rand::random::<[u8; message::SECRET_LEN]>()));
    let to = if kind == MessageKind::Report { "县纪委监委和乡镇纪委" } else { "承办人员" };
    // A clash with an existing tracking number draws another one.
    let mut attempt = 1;
    let (id, created, tracking, new, unrouted) = loop {
        let tracking = message::tracking_number(now, state.draw_digits());
        let new = NewMessage {
            tracking: tracking.clone(),
            submit_key: form_key.clone(),
            kind: kind.as_str().into(),
            org_code: place.code.clone(),
            author_name: name.clone(),
            phone_enc: phone.as_ref().map(|p| cipher.encrypt(p.expose())),
            phone_idx: phone.as_ref().map(|p| cipher.blind_index("phone", p.expose())),
            secret_idx: secret.as_ref().map(|s| cipher.token_tag("message-secret", s)),
            body: body.clone(),
            allow_public: kind.may_be_public() && form.field("public") == "1",
            submitted_at: now,
            reply_due: clock.due,
            reply_remind_at: clock.remind_at,
            deadline_basis: deadline_basis(kind, &clock),
        };
        let draft = draft_message(&new);
        let texts = notify::message_notices(&state, &draft, MessageNotice::Received, 0).await?;
        // 代办: the first event names the hall officer who filed it on the villager's behalf.
        let event = NewMessageEvent {
            kind: TimelineKind::Submitted.as_str().into(),
            actor: officer.as_ref().map_or_else(|| "留言人".to_owned(), |u| format!("{}（代办）", u.display_name)),
            staff_user_id: officer.as_ref().map(|u| u.id),
            note: format!(
                "{}提交{}留言，{}",
                if officer.is_some() { "工作人员在触摸终端代办，" } else { "" },
                kind.label(),
                notified(&texts, to)
            ),
            public: true,
        };
        match state.store().create_message(&new, &photos, &event, &texts).await {
            Ok((id, created)) => break (id, created, tracking, new, texts.is_empty()),
            Err(e) if e.is_duplicate_of("messages_tracking_key") && attempt < TRACKING_ATTEMPTS => attempt += 1,
            // The same form submitted twice at once: show the message the other submission created.
            Err(e) if e.is_duplicate_of("messages_submit_key_key") => {
                let existing = state.store().find_message_by_submit_key(&form_key).await?.ok_or(AppError::NotFound)?;
                break (existing.id, false, existing.tracking, new, false);
            }
            Err(e) => return Err(e.into()),
        }
    };
    if !created {
        let existing = state.store().find_message(id).await?.ok_or(AppError::NotFound)?;
        return Ok(see_other(&format!(
            "/messages/{}?k={}",
            existing.tracking,
            notify::message_key(&state, &existing.tracking)
        )));
    }
    state.live().changed(&new.org_code);
    if unrouted {
        raise_unrouted(&state, &township.code, kind, &tracking, now).await?;
    }
    // The audit detail never carries a reporter's phone, not even masked.
    let who = match (&phone, kind) {
        (_, MessageKind::Report) => String::from("举报人身份受保护"),
        (Some(p), _) => format!("手机 {}", p.masked()),
        (None, _) => String::from("未留手机"),
    };
    state
        .audit(NewAuditEntry {
            at: now,
            actor_id: officer.as_ref().map(|u| u.id),
            actor_name: officer.as_ref().map_or_else(|| "公众".to_owned(), |u| u.username.clone()),
            action: "message.create".into(),
            target: format!("message:{id}"),
            detail: format!("{}留言 {tracking}（{who}）", kind.label()),
            ip: if kind == MessageKind::Report { String::new() } else { ip.clone() },
            org_code: Some(place.code.clone()),
        })
        .await?;
    let key = notify::message_key(&state, &tracking);
    match secret {
        // Shown once, on this response: never in a URL, never stored in clear.
        Some(secret) => {
            let m = state.store().find_message(id).await?.ok_or(AppError::NotFound)?;
            render_message(&state, m, key, csrf, true, secret).await
        }
        None => Ok(see_other(&format!("/messages/{tracking}?k={key}&new=1"))),
    }
}

/// What the first public event says about the texts: who was told, or that no one could be.
fn notified(texts: &[xiaowei_store::NewOutbox], to: &str) -> String {
    if texts.is_empty() {
        "暂未找到可接收短信的承办人员，已提醒管理员设置".to_owned()
    } else {
        format!("已短信通知{to}")
    }
}

/// 留言无人接收: one alert per township and message kind; about reports, for the commission only.
async fn raise_unrouted(
    state: &AppState,
    township: &str,
    kind: MessageKind,
    tracking: &str,
    now: i64,
) -> Result<(), AppError> {
    let unrouted = crate::workers::alerts::Unrouted {
        kind: AlertKind::UnroutedMessage,
        org_code: township,
        route: format!("{township}:{}", kind.as_str()),
        tracking,
        what: format!("{}留言", kind.label()),
        link: "/staff/inbox".to_owned(),
        restricted: kind == MessageKind::Report,
    };
    crate::workers::alerts::raise_unrouted(state, unrouted, now).await
}

/// A message as it will be stored, for choosing the recipients of its first texts.
fn draft_message(n: &NewMessage) -> Message {
    Message {
        id: 0,
        tracking: n.tracking.clone(),
        kind: n.kind.clone(),
        org_code: n.org_code.clone(),
        author_name: String::new(),
        phone_enc: n.phone_enc.clone(),
        phone_idx: n.phone_idx.clone(),
        secret_idx: None,
        body: String::new(),
        allow_public: 0,
        status: "submitted".into(),
        assigned_to: None,
        assignee_name: None,
        submitted_at: n.submitted_at,
        reply_due: n.reply_due,
        deadline_basis: String::new(),
        reminded_at: None,
        overdue_at: None,
        reply: None,
        reply_public: 0,
        replied_at: None,
        merged_into: None,
        hidden_reason: None,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

#[derive(Template)]
#[template(path = "message_track.html")]
struct TrackPage {
    csrf: String,
    tracking: String,
}

#[derive(Deserialize)]
struct TrackQuery {
    #[serde(default)]
    tracking: String,
}

async fn track_form(CsrfToken(csrf): CsrfToken, Query(q): Query<TrackQuery>) -> Result<Html<String>, AppError> {
    let tracking = message::normalize_tracking(&q.tracking).unwrap_or_default();
    Ok(Html(TrackPage { csrf, tracking }.render()?))
}

#[derive(Deserialize)]
struct TrackForm {
    #[serde(default)]
    tracking: String,
    #[serde(default)]
    credential: String,
}

async fn track(
    State(state): State<AppState>,
    QuotaKey(quota): QuotaKey,
    axum::Form(form): axum::Form<TrackForm>,
) -> Result<Response, AppError> {
    let tracking = message::normalize_tracking(&form.tracking)
        .ok_or_else(|| AppError::invalid("留言编号：请填写提交留言后得到的编号，如 LY20251009123456"))?;
    if form.credential.trim().is_empty() {
        return Err(AppError::invalid("手机号或查询密码：请填写留言时留下的手机号，匿名举报请填写查询密码"));
    }
    let now = state.now();
    if state.store().rate_event("message_lookup", &quota, now - 3600, now).await? >= LOOKUPS_PER_CLIENT {
        return Err(AppError::Throttled("查询过于频繁，请1小时后再试"));
    }
    let cipher = state.cipher();
    let found = state.store().find_message_by_tracking(&tracking).await?;
    let matches = found.is_some_and(|m| {
        let by_phone = Phone::parse(&form.credential)
            .ok()
            .is_some_and(|p| m.phone_idx.as_deref().is_some_and(|idx| cipher.index_matches("phone", p.expose(), idx)));
        let by_secret = message::normalize_secret(&form.credential)
            .is_some_and(|s| m.secret_idx.as_deref() == Some(cipher.token_tag("message-secret", &s).as_str()));
        by_phone || by_secret
    });
    if matches {
        Ok(see_other(&format!("/messages/{tracking}?k={}", notify::message_key(&state, &tracking))))
    } else {
        Err(AppError::invalid("没有找到该留言：请核对留言编号和手机号（或查询密码）"))
    }
}

#[derive(Deserialize)]
struct MessageQuery {
    #[serde(default)]
    k: String,
    new: Option<u8>,
}

/// The message behind a keyed link; a wrong key looks like a missing message.
async fn keyed_message(state: &AppState, tracking: &str, key: &str) -> Result<Message, AppError> {
    let tracking = message::normalize_tracking(tracking).ok_or(AppError::NotFound)?;
    if key.is_empty() || key != notify::message_key(state, &tracking) {
        return Err(AppError::NotFound);
    }
    state.store().find_message_by_tracking(&tracking).await?.ok_or(AppError::NotFound)
}

async fn message_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(tracking): Path<String>,
    Query(q): Query<MessageQuery>,
) -> Result<Response, AppError> {
    let m = match keyed_message(&state, &tracking, &q.k).await {
        Ok(m) => m,
        Err(AppError::NotFound) if q.k.is_empty() => {
            let tracking = message::normalize_tracking(&tracking).unwrap_or_default();
            return Ok(see_other(&format!("/messages?tracking={tracking}")));
        }
        Err(e) => return Err(e),
    };
    render_message(&state, m, q.k, csrf, q.new.is_some(), String::new()).await
}

async fn render_message(
    state: &AppState,
    m: Message,
    key: String,
    csrf: String,
    is_new: bool,
    secret: String,
) -> Result<Response, AppError> {
    let kind = MessageKind::parse(&m.kind).unwrap_or(MessageKind::Question);
    let status = MessageStatus::parse(&m.status).unwrap_or(MessageStatus::Submitted);
    let events = state
        .store()
        .message_events(m.id)
        .await?
        .into_iter()
        .filter_map(|e| PublicEvent::shown(e.public, e.at, e.actor, e.note))
        .collect();
    // A reporter's own page shows nothing of who they are: the link may have been forwarded.
    let masked_phone = match (&m.phone_enc, kind) {
        (Some(sealed), k) if k != MessageKind::Report => masked_phone(state, sealed),
        _ => String::new(),
    };
    let merged_into = match m.merged_into {
        Some(id) => state.store().find_message(id).await?.map(|k| k.tracking).unwrap_or_default(),
        None => String::new(),
    };
    let page = MessagePage {
        kind,
        key,
        csrf,
        is_new,
        secret,
        status: status.label(),
        rateable: status == MessageStatus::Replied,
        submitted: shanghai_time(m.submitted_at),
        due: shanghai_time(m.reply_due),
        overdue: m.overdue_at.is_some(),
        events,
        ratings: Satisfaction::ALL,
        rating_label: m.rating.as_deref().and_then(Satisfaction::parse).map_or("", Satisfaction::label),
        masked_phone,
        merged_into,
        m,
    };
    let mut response = Html(page.render()?).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
struct RateForm {
    #[serde(default)]
    k: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

async fn rate(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    axum::Form(form): axum::Form<RateForm>,
) -> Result<Response, AppError> {
    let m = keyed_message(&state, &tracking, &form.k).await?;
    let back = format!("/messages/{}?k={}", m.tracking, form.k);
    let rated = Rating::parse(&form.rating, &form.comment).map_err(|e| AppError::invalid(e.to_string()))?;
    let rating = rated.satisfaction;
    let from = MessageStatus::parse(&m.status).unwrap_or(MessageStatus::Submitted);
    let Ok(to) = message::transition(from, MessageAction::Rate(rating)) else {
        // Already rated (a double submit): show the message as it is.
        return Ok(see_other(&back));
    };
    let now = state.now();
    let mut change =
        MessageChange { rating: Some((rating.as_str().into(), rated.comment.clone())), ..MessageChange::default() };
    let mut texts = Vec::new();
    let mut note = rated.note();
    if rating.reopens() {
        let kind = MessageKind::parse(&m.kind).unwrap_or(MessageKind::Question);
        let calendar = calendar_as_of(&state, m.submitted_at).await?;
        let clock = message::reply_clock(&calendar, kind, state.config().complaint_reply_days, now);
        change.new_due = Some((clock.due, clock.remind_at, deadline_basis(kind, &clock)));
        texts = notify::message_notices(&state, &m, MessageNotice::Unsatisfied, now).await?;
        note = xiaowei_core::text::join_sentences(&note, "留言重新办理，已通知县纪委监委");
    }
    let event = NewMessageEvent {
        kind: TimelineKind::Rate.as_str().into(),
        actor: "留言人".into(),
        staff_user_id: None,
        note,
        public: true,
    };
    state.store().change_message(m.id, &[from.as_str()], to.as_str(), &change, &event, &texts, now).await?;
    Ok(see_other(&back))
}

/// Turns a follower's free text sent to a township's official account into a 咨询 in that
/// township's 留言箱 (not public, no phone: the answer is read through the keyed link the reply
/// carries). Idempotent per stored text; returns the tracking number.
pub async fn route_wechat_text(state: &AppState, text: &xiaowei_store::WechatText) -> Result<String, AppError> {
    let kind = MessageKind::Question;
    let clock =
        message::reply_clock(&calendar(state).await?, kind, state.config().complaint_reply_days, text.received_at);
    let mut attempt = 1;
    let (id, created, unrouted) = loop {
        let new = NewMessage {
            tracking: message::tracking_number(text.received_at, state.draw_digits()),
            submit_key: format!("wechat-inbox-{}", text.id),
            kind: kind.as_str().into(),
            org_code: text.township_code.clone(),
            author_name: "公众号关注者".into(),
            phone_enc: None,
            phone_idx: None,
            secret_idx: None,
            body: text.content.clone(),
            allow_public: false,
            submitted_at: text.received_at,
            reply_due: clock.due,
            reply_remind_at: clock.remind_at,
            deadline_basis: deadline_basis(kind, &clock),
        };
        let texts = notify::message_notices(state, &draft_message(&new), MessageNotice::Received, 0).await?;
        let event = NewMessageEvent {
            kind: TimelineKind::Submitted.as_str().into(),
            actor: "留言人".into(),
            staff_user_id: None,
            note: format!("通过乡镇公众号留言，{}", notified(&texts, "承办人员")),
            public: true,
        };
        match state.store().create_message(&new, &[], &event, &texts).await {
            Ok((id, created)) => break (id, created, texts.is_empty()),
            Err(e) if e.is_duplicate_of("messages_tracking_key") && attempt < TRACKING_ATTEMPTS => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    };
    let tracking = state.store().find_message(id).await?.ok_or(AppError::NotFound)?.tracking;
    if created {
        state.live().changed(&text.township_code);
        if unrouted {
            raise_unrouted(state, &text.township_code, kind, &tracking, state.now()).await?;
        }
    }
    state.store().mark_wechat_text_routed(text.id, state.now()).await?;
    Ok(tracking)
}
