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
//! (`Store::change`), and `app::messages::run_clocks` sets reminders and overdue marks once,
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
use axum::middleware::map_response;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use xiaowei_core::message::{self, MessageKind, MessageStatus, PhoneRule};
use xiaowei_core::monitor::Menu;
use xiaowei_core::tracked::Satisfaction;
use xiaowei_core::{OrgLevel, Phone, spoken};
use xiaowei_store::{Message, RequestKind};

use crate::app::messages;
use crate::app::photos::KeptPhotos;
use crate::app::tracked::{PublicEvent, masked_phone, speak_outcome, speak_status};
use crate::state::AppState;
use crate::state::journal::Quota;
use crate::state::visits::{self, Visit};
use crate::web::client::QuotaKey;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::form::{self, FieldErrors, RateForm};
use crate::web::listen::Listen;
use crate::web::page_cache::{SHARED, Shared, unchanged};
use crate::web::places::{county_name, place_name};
use crate::web::respond::{private_page, see_other};
use crate::web::security::{ClientIp, CsrfToken, random_token};

/// Tracking-number lookups one client may try per hour (wrong phones and passwords included).
const LOOKUPS_PER_CLIENT: i64 = 30;
/// Answered questions shown on the public list.
const PUBLIC_LIST: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/messages", get(township_page))
        .route("/t/{township}/messages/new", get(new_form).post(leave))
        .route("/messages", get(track_form).post(track).layer(map_response(unchanged)))
        .route("/messages/{tracking}", get(message_page))
        .route("/messages/{tracking}/rate", post(rate))
}

async fn township_of(state: &AppState, code: &str) -> Result<xiaowei_store::Org, AppError> {
    match state.org(code).await? {
        Some(org) if org.level == OrgLevel::Township => Ok(org),
        _ => Err(AppError::NotFound),
    }
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
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = township_of(&state, &code).await?;
    let visit = visits::tag(&township.code, Menu::Messages);
    let mut items = Vec::new();
    for m in state.store().public_messages(&township.code, PUBLIC_LIST).await? {
        let names = [m.author_name.as_str()];
        items.push(PublicItem {
            place: place_name(&state, &m.org_code).await?,
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
    Ok((SHARED, visit, Html(page.render()?)))
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
    reply_days: u32,
    /// On a hall terminal with a hall officer logged in: the officer filing on the villager's behalf.
    proxy: Option<String>,
    /// How the phone is given: typed (a hall officer or a follower vouches), the proven one, or
    /// none yet (the page links to proving one).
    phone: PhoneField,
    prove_link: String,
    /// What was typed (blank or prefilled, or kept when the form comes back) and the message for
    /// each field.
    values: NewValues,
    photos: KeptPhotos,
    errors: FieldErrors,
}

/// The message form's fields as typed.
struct NewValues {
    place: String,
    /// Prefilled text, e.g. from 核验 finding a page that disagrees with its ledger record.
    body: String,
    name: String,
    phone: String,
    use_phone: bool,
    public: bool,
}

/// Labels that open the use case's messages, and the field each names.
const NEW_FIELDS: [(&str, &str); 6] = [
    ("留言类别", "kind"),
    ("留言对象", "place"),
    ("留言内容", "body"),
    ("称呼", "name"),
    ("手机号", "phone"),
    ("照片", "photos"),
];

/// The phone part of the message form.
enum PhoneField {
    Typed,
    Proven(String),
    Unproven,
}

#[derive(Deserialize)]
struct KindQuery {
    #[serde(default)]
    kind: String,
    /// The ledger record a failed 核验 was about.
    ledger: Option<u64>,
    /// A place chosen before, e.g. on a hall terminal whose form continues on a phone.
    #[serde(default)]
    place: String,
}

impl NewPage {
    /// The form for `kind` in `township`, as this browser may fill it: `None` when a complaint
    /// needs a phone proven first (unless the form is `returning` with errors, which it then
    /// keeps, asking for the phone beside its field).
    async fn new(
        state: &AppState,
        headers: &axum::http::HeaderMap,
        township: xiaowei_store::Org,
        (kind, returning): (MessageKind, bool),
        csrf: String,
        values: NewValues,
    ) -> Result<Option<Self>, AppError> {
        let proxy = crate::public::kiosk::proxy_officer(state, headers, &township.code).await?.map(|u| u.display_name);
        let here = format!("/t/{}/messages/new?kind={}", township.code, kind.as_str());
        let phone = if proxy.is_some() || crate::public::wechat::signed_in_follower(state, headers).is_some() {
            PhoneField::Typed
        } else {
            match crate::public::phones::proven(state, headers).await? {
                Some(p) => PhoneField::Proven(p.phone.masked()),
                None if kind.phone_rule() == PhoneRule::Required && !returning => return Ok(None),
                None => PhoneField::Unproven,
            }
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
        Ok(Some(Self {
            phone,
            prove_link: crate::public::phones::prove_link(&here),
            proxy,
            township_name: township.display_name().to_owned(),
            township_code: township.code,
            kind,
            phone_required: kind.phone_rule() == PhoneRule::Required,
            places,
            csrf,
            form_key: random_token(),
            reply_days: kind.reply_days(state.config().complaint_reply_days),
            values,
            photos: KeptPhotos::none(),
            errors: FieldErrors::new(),
        }))
    }

    /// The page's address on a phone with the kind and place chosen; nothing typed goes along.
    fn continue_url(&self) -> String {
        format!("/t/{}/messages/new?kind={}", self.township_code, self.kind.as_str())
    }
}

async fn new_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
    Query(q): Query<KindQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let township = township_of(&state, &code).await?;
    let Some(kind) = MessageKind::parse(&q.kind) else {
        return Ok(see_other(&format!("/t/{}/messages", township.code)));
    };
    let place: String = q.place.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
    let mut here = format!("/t/{}/messages/new?kind={}", township.code, kind.as_str());
    if !place.is_empty() {
        here.push_str(&format!("&place={place}"));
    }
    let values = NewValues {
        place,
        body: q
            .ledger
            .map(|n| format!("核验发现：公开页面的内容与公开账本第 {n} 号记录不一致，请核查该页面是否被改动。"))
            .unwrap_or_default(),
        name: String::new(),
        phone: String::new(),
        use_phone: kind != MessageKind::Report,
        public: false,
    };
    match NewPage::new(&state, &headers, township, (kind, false), csrf, values).await? {
        Some(page) => Ok(Html(page.render()?).into_response()),
        // A complaint needs a phone: prove it first.
        None => Ok(see_other(&crate::public::phones::prove_link(&here))),
    }
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
    listen: Listen,
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
    let photos = crate::app::photos::submitted(&state, &form).await?;
    let proven = crate::public::phones::proven(&state, &headers).await?;
    let values = NewValues {
        place: form.field("place"),
        body: form.field("body"),
        name: form.field("name"),
        phone: form.field("phone"),
        use_phone: form.field("use_phone") == "1",
        public: form.field("public") == "1",
    };
    let leaving = messages::Leaving {
        form_key: form.field("form_key"),
        kind: form.field("kind"),
        place: values.place.clone(),
        name: values.name.clone(),
        phone: match &proven {
            Some(p) if values.phone.is_empty() && values.use_phone => p.phone.expose().to_owned(),
            _ => values.phone.clone(),
        },
        body: values.body.clone(),
        public: values.public,
        photos: photos.bytes.clone(),
    };
    let filer = crate::public::phones::filer(&state, ip, quota.clone(), &headers, proven).await?;
    let refused = match &photos.problem {
        Some(problem) => Err(AppError::invalid(problem.clone())),
        None => messages::leave(&state, &township, leaving, &filer, state.now()).await,
    };
    let left = match refused {
        Ok(left) => left,
        Err(e) => {
            let errors = FieldErrors::from_error(e, &NEW_FIELDS)?;
            // A forged kind has no form to come back to.
            let Some(kind) = MessageKind::parse(&form.field("kind")) else { return Err(AppError::Fields(errors)) };
            let Some(mut page) = NewPage::new(&state, &headers, township, (kind, true), csrf, values).await? else {
                return Err(AppError::Fields(errors));
            };
            let key = form.field("form_key");
            if (16..=128).contains(&key.len()) {
                page.form_key = key;
            }
            page.photos = crate::app::photos::keep(&state, &quota, photos).await?;
            page.errors = errors;
            page.errors.add_photos_again(page.photos.again.len());
            return Ok(form::returned(page.render()?));
        }
    };
    let key = messages::message_key(&state, &left.tracking);
    match left.secret {
        // Shown once, on this response: never in a URL, never stored in clear.
        Some(secret) => {
            let m = state.store().find_message(left.id).await?.ok_or(AppError::NotFound)?;
            render_message(&state, m, key, csrf, true, secret).await
        }
        None if left.created => Ok(see_other(&format!("/messages/{}?k={key}&new=1", left.tracking))),
        None => Ok(see_other(&format!("/messages/{}?k={key}", left.tracking))),
    }
}

#[derive(Template)]
#[template(path = "message_track.html")]
struct TrackPage {
    csrf: String,
    tracking: String,
    /// What was typed in the second field, kept when the form comes back.
    credential: String,
    errors: FieldErrors,
    listen: Listen,
}

/// The lookup form read aloud.
const TRACK_INTRO: &str = "查询留言。请填写留言编号，以及手机号或查询密码";
const TRACK_HINT: &str = "留了手机号的，填手机号；匿名举报的，填提交时显示的查询密码";

impl TrackPage {
    /// The lookup again with what was typed and the message beside the field at fault.
    fn again(csrf: String, form: TrackForm, errors: FieldErrors) -> Result<Response, AppError> {
        let page = Self {
            csrf,
            tracking: form.tracking,
            credential: form.credential,
            listen: Listen::form(TRACK_INTRO, &errors, TRACK_HINT),
            errors,
        };
        Ok(form::returned(page.render()?))
    }
}

#[derive(Deserialize)]
struct TrackQuery {
    #[serde(default)]
    tracking: String,
}

async fn track_form(CsrfToken(csrf): CsrfToken, Query(q): Query<TrackQuery>) -> Result<Html<String>, AppError> {
    let tracking = message::normalize_tracking(&q.tracking).unwrap_or_default();
    let errors = FieldErrors::new();
    Ok(Html(
        TrackPage {
            csrf,
            tracking,
            credential: String::new(),
            listen: Listen::form(TRACK_INTRO, &errors, TRACK_HINT),
            errors,
        }
        .render()?,
    ))
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
    CsrfToken(csrf): CsrfToken,
    axum::Form(form): axum::Form<TrackForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let tracking = message::normalize_tracking(&form.tracking);
    if tracking.is_none() {
        errors.add("tracking", "留言编号：请填写提交留言后得到的编号，如 LY20251009123456");
    }
    if form.credential.trim().is_empty() {
        errors.add("credential", "手机号或查询密码：请填写留言时留下的手机号，匿名举报请填写查询密码");
    }
    let Some(tracking) = tracking.filter(|_| errors.is_empty()) else { return TrackPage::again(csrf, form, errors) };
    let now = state.now();
    let quotas = [Quota { kind: "message_lookup", key: &quota, limit: LOOKUPS_PER_CLIENT }];
    if state.lookups(&quotas, now - 3600, now).await?.is_some() {
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
        Ok(see_other(&format!("/messages/{tracking}?k={}", messages::message_key(&state, &tracking))))
    } else {
        errors.add("tracking", "没有找到该留言：请核对留言编号和手机号（或查询密码）");
        TrackPage::again(csrf, form, errors)
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
    if key.is_empty() || key != messages::message_key(state, &tracking) {
        return Err(AppError::NotFound);
    }
    state.store().find_message_by_tracking(&tracking).await?.ok_or(AppError::NotFound)
}

async fn message_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(tracking): Path<String>,
    Query(q): Query<MessageQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let m = match keyed_message(&state, &tracking, &q.k).await {
        Ok(m) => m,
        Err(AppError::NotFound) if q.k.is_empty() => {
            let tracking = message::normalize_tracking(&tracking).unwrap_or_default();
            // The owner of a proven phone opens their own message without typing it again.
            let found = state.store().find_message_by_tracking(&tracking).await?;
            if let (Some(m), Some(owner)) = (found, crate::public::phones::proven(&state, &headers).await?)
                && m.phone_idx.as_ref().is_some_and(|idx| owner.idxs.contains(idx))
            {
                return Ok(see_other(&format!("/messages/{tracking}?k={}", messages::message_key(&state, &tracking))));
            }
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
    let (kind, status) = (m.kind, m.status);
    let events: Vec<PublicEvent> = state
        .store()
        .events(RequestKind::Message, m.id)
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
    let overdue = m.overdue_at.is_some();
    let rating_label = m.rating.map_or("", Satisfaction::label);
    let mut listen = Listen::new();
    listen.say(format!("我的{}留言", kind.label()));
    if is_new {
        listen.say("留言已提交。请记下留言编号");
    }
    if !secret.is_empty() {
        // The password itself is not read out: a phone's speaker or a hall is no place for it.
        listen.say("页面上显示了您的查询密码，只显示这一次，请抄下或截图保存");
    }
    speak_status(&mut listen, "留言编号", &m.tracking, status.label(), overdue);
    if !masked_phone.is_empty() {
        listen.say(format!("联系电话：{}", spoken::masked_phone(&masked_phone)));
    }
    listen.say(format!("提交时间：{}", shanghai_time(m.submitted_at)));
    listen.say(format!("答复期限：{}", shanghai_time(m.reply_due)));
    if let Some(reason) = &m.hidden_reason {
        listen.say(format!("该留言已被屏蔽，原因：{reason}"));
    }
    if !merged_into.is_empty() {
        listen.say(format!("您反映的问题与留言{}相同，已合并办理", spoken::code(&merged_into)));
    }
    listen.say(format!("留言内容：{}", m.body));
    speak_outcome(
        &mut listen,
        m.reply.as_deref(),
        "尚未答复，请耐心等待",
        (rating_label, m.rating_comment.as_deref()),
        &events,
    );
    let page = MessagePage {
        listen,
        kind,
        key,
        csrf,
        is_new,
        secret,
        status: status.label(),
        rateable: status == MessageStatus::Replied,
        submitted: shanghai_time(m.submitted_at),
        due: shanghai_time(m.reply_due),
        overdue,
        events,
        ratings: Satisfaction::ALL,
        rating_label,
        masked_phone,
        merged_into,
        m,
    };
    Ok(private_page(page.render()?))
}

async fn rate(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    axum::Form(form): axum::Form<RateForm>,
) -> Result<Response, AppError> {
    let m = keyed_message(&state, &tracking, &form.k).await?;
    let rated = form.rating()?;
    messages::rate(&state, &m, &rated, state.now()).await?;
    Ok(see_other(&format!("/messages/{}?k={}", m.tracking, form.k)))
}
