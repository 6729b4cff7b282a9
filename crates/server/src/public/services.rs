//! 我要办事 for the public: the service catalogue by department, an item's guide, the online
//! application (with photos), following a case by tracking number and phone, and rating the reply.
//! The applicant needs no account: the tracking number plus their phone opens the case, and the
//! texts they receive carry a keyed link.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::map_response;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::monitor::Menu;
use xiaowei_core::service::{self, CaseStatus};
use xiaowei_core::tracked::Satisfaction;
use xiaowei_core::{OrgLevel, Phone, spoken};
use xiaowei_store::{RequestKind, ServiceCase, ServiceItem};

use crate::app::cases;
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
use crate::web::places::county_name;
use crate::web::qr;
use crate::web::respond::{private_page, see_other};
use crate::web::security::{ClientIp, CsrfToken, random_token};

/// Tracking-number lookups one client may try per hour (wrong phone numbers included).
const LOOKUPS_PER_CLIENT: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/services", get(catalogue))
        .route("/service-links/{link}/qr.svg", get(link_qr))
        .route("/services/{item}", get(item_page))
        .route("/services/{item}/apply", get(apply_form).post(apply))
        .route("/cases", get(track_form).post(track).layer(map_response(unchanged)))
        .route("/cases/{tracking}", get(case_page))
        .route("/cases/{tracking}/rate", axum::routing::post(rate))
}

async fn township_of(state: &AppState, code: &str) -> Result<xiaowei_store::Org, AppError> {
    match state.org(code).await? {
        Some(org) if org.level == OrgLevel::Township => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

/// A 办事直通车 tile as 我要办事 shows it.
struct LinkTile {
    id: i64,
    name: String,
    icon: &'static str,
    glyph: &'static str,
    url: String,
    description: String,
}

/// The tiles shown in a township: the county's, then its own.
async fn link_tiles(state: &AppState, township_code: &str) -> Result<Vec<LinkTile>, AppError> {
    Ok(state
        .store()
        .service_links_for(township_code)
        .await?
        .into_iter()
        .map(|l| {
            let icon = l.icon;
            LinkTile {
                id: l.id,
                name: l.name,
                icon: icon.as_str(),
                glyph: icon.glyph(),
                url: l.url,
                description: l.description,
            }
        })
        .collect())
}

/// A tile's address as a QR code: on a hall terminal the villager scans it with their phone
/// instead of leaving the terminal.
async fn link_qr(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    let link = state.store().find_service_link(id).await?.ok_or(AppError::NotFound)?;
    qr::svg_response(&link.url, 200)
}

struct DepartmentGroup {
    name: String,
    items: Vec<ItemLink>,
}

struct ItemLink {
    id: i64,
    name: String,
    limit: String,
}

#[derive(Template)]
#[template(path = "services.html")]
struct CataloguePage {
    county_name: String,
    township_code: String,
    township_name: String,
    q: String,
    total: usize,
    groups: Vec<DepartmentGroup>,
    links: Vec<LinkTile>,
}

#[derive(Deserialize)]
struct CatalogueQuery {
    #[serde(default)]
    q: String,
}

async fn catalogue(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<CatalogueQuery>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = township_of(&state, &code).await?;
    let visit = visits::tag(&township.code, Menu::Services);
    let q: String = query.q.trim().chars().take(20).collect();
    let items = state.store().service_items(true).await?;
    let total = items.len();
    let mut groups: Vec<DepartmentGroup> = Vec::new();
    let matches = |i: &ServiceItem| {
        q.is_empty()
            || i.name.contains(&q)
            || i.department_name.contains(&q)
            || i.conditions.contains(&q)
            || i.materials.contains(&q)
    };
    for item in items.into_iter().filter(|i| matches(i)) {
        let link = ItemLink { id: item.id, limit: item.time_limit.label(), name: item.name };
        match groups.last_mut() {
            Some(g) if g.name == item.department_name => g.items.push(link),
            _ => groups.push(DepartmentGroup { name: item.department_name, items: vec![link] }),
        }
    }
    let page = CataloguePage {
        links: link_tiles(&state, &township.code).await?,
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        q,
        total,
        groups,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

#[derive(Deserialize)]
struct TownshipQuery {
    #[serde(default)]
    t: String,
}

/// An active item; anything else is "not found".
async fn active_item(state: &AppState, id: i64) -> Result<ServiceItem, AppError> {
    state.store().find_service_item(id).await?.filter(|i| i.active).ok_or(AppError::NotFound)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[derive(Template)]
#[template(path = "service_item.html")]
struct ItemPage {
    item: ServiceItem,
    limit: String,
    materials: Vec<String>,
    steps: Vec<String>,
    township_code: String,
    township_name: String,
    handler: Option<String>,
    ledger: Option<crate::public::ledger::LeafBadge>,
}

async fn item_page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<TownshipQuery>,
) -> Result<(Extension<Shared>, Html<String>), AppError> {
    let item = active_item(&state, id).await?;
    let (township_code, township_name, handler) = match township_of(&state, &q.t).await {
        Ok(t) => {
            let handler = state.store().service_handler(id, &t.code).await?.map(|h| h.name);
            (t.code.clone(), t.display_name().to_owned(), handler)
        }
        Err(_) => (String::new(), String::new(), None),
    };
    let page = ItemPage {
        ledger: crate::public::ledger::badge(&state, "service_item", id).await?,
        limit: item.time_limit.label(),
        materials: lines(&item.materials),
        steps: lines(&item.steps),
        item,
        township_code,
        township_name,
        handler,
    };
    Ok((SHARED, Html(page.render()?)))
}

struct VillageOption {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "service_apply.html")]
struct ApplyPage {
    item: ServiceItem,
    township_code: String,
    township_name: String,
    villages: Vec<VillageOption>,
    csrf: String,
    form_key: String,
    /// On a hall terminal with a hall officer logged in: the officer filing on the villager's behalf.
    proxy: Option<String>,
    /// A hall officer or a WeChat follower vouches for the phone typed in the form.
    vouched: bool,
    /// The masked phone proven in this browser, which the application goes under.
    proven: Option<String>,
    /// Where to prove another phone and come back.
    prove_link: String,
    /// What was typed (blank, or kept when the form comes back) and the message for each field.
    values: ApplyValues,
    photos: KeptPhotos,
    errors: FieldErrors,
}

/// The application form's text fields as typed.
#[derive(Default)]
struct ApplyValues {
    name: String,
    phone: String,
    village: String,
    id_number: String,
    description: String,
}

/// Labels that open the use case's messages, and the field each names.
const APPLY_FIELDS: [(&str, &str); 6] = [
    ("姓名", "name"),
    ("手机号", "phone"),
    ("所在村（社区）", "village"),
    ("身份证号", "id_number"),
    ("需求描述", "description"),
    ("照片", "photos"),
];

#[derive(Deserialize)]
struct ApplyQuery {
    #[serde(default)]
    t: String,
    /// A village chosen before, e.g. on a hall terminal whose form continues on a phone.
    #[serde(default)]
    village: String,
}

/// Who the application goes under in this browser: a hall officer filing for the villager, a
/// WeChat follower, or the masked phone proven here (none: it must be proven first).
struct Applicant {
    proxy: Option<String>,
    vouched: bool,
    proven: Option<String>,
}

async fn applicant(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    township: &xiaowei_store::Org,
) -> Result<Applicant, AppError> {
    let proxy = crate::public::kiosk::proxy_officer(state, headers, &township.code).await?.map(|u| u.display_name);
    let vouched = proxy.is_some() || crate::public::wechat::signed_in_follower(state, headers).is_some();
    let proven = crate::public::phones::proven(state, headers).await?;
    Ok(Applicant { proven: proven.filter(|_| !vouched).map(|p| p.phone.masked()), proxy, vouched })
}

impl ApplyPage {
    async fn new(
        state: &AppState,
        item: ServiceItem,
        township: xiaowei_store::Org,
        csrf: String,
        who: Applicant,
        values: ApplyValues,
    ) -> Result<Self, AppError> {
        let villages = state
            .store()
            .child_orgs(&township.code)
            .await?
            .into_iter()
            .map(|v| VillageOption { name: v.display_name().to_owned(), code: v.code })
            .collect();
        Ok(Self {
            prove_link: crate::public::phones::prove_link(&format!("/services/{}/apply?t={}", item.id, township.code)),
            proxy: who.proxy,
            vouched: who.vouched,
            proven: who.proven,
            item,
            township_name: township.display_name().to_owned(),
            township_code: township.code,
            villages,
            csrf,
            form_key: random_token(),
            values,
            photos: KeptPhotos::none(),
            errors: FieldErrors::new(),
        })
    }

    /// The page's address on a phone with the village chosen; nothing typed goes along.
    fn continue_url(&self) -> String {
        format!("/services/{}/apply?t={}", self.item.id, self.township_code)
    }
}

async fn apply_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<ApplyQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let item = active_item(&state, id).await?;
    let Ok(township) = township_of(&state, &q.t).await else {
        // Applications are filed with a township; without one, choose it first.
        return Ok(see_other("/"));
    };
    let village: String = q.village.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
    let mut here = format!("/services/{id}/apply?t={}", township.code);
    if !village.is_empty() {
        here.push_str(&format!("&village={village}"));
    }
    let who = applicant(&state, &headers, &township).await?;
    // From a browser, the phone is proven first; a hall officer or a follower vouches for it.
    if !who.vouched && who.proven.is_none() {
        return Ok(see_other(&crate::public::phones::prove_link(&here)));
    }
    let values = ApplyValues { village, ..ApplyValues::default() };
    let page = ApplyPage::new(&state, item, township, csrf, who, values).await?;
    Ok(Html(page.render()?).into_response())
}

async fn apply(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let item = active_item(&state, id).await?;
    let headers = request.headers().clone();
    let form = crate::app::photos::read(&state, request, "申请").await?;
    let photos = crate::app::photos::submitted(&state, &form).await?;
    let proven = crate::public::phones::proven(&state, &headers).await?;
    let typed = form.field("phone");
    let values = ApplyValues {
        name: form.field("name"),
        phone: typed.clone(),
        village: form.field("village"),
        id_number: form.field("id_number"),
        description: form.field("description"),
    };
    let application = cases::Application {
        form_key: form.field("form_key"),
        name: values.name.clone(),
        phone: match &proven {
            Some(p) if typed.is_empty() => p.phone.expose().to_owned(),
            _ => typed,
        },
        village: values.village.clone(),
        id_number: values.id_number.clone(),
        description: values.description.clone(),
        photos: photos.bytes.clone(),
    };
    let filer = crate::public::phones::filer(&state, ip, quota.clone(), &headers, proven).await?;
    let refused = match &photos.problem {
        Some(problem) => Err(AppError::invalid(problem.clone())),
        None => cases::file(&state, &item, application, &filer, state.now()).await,
    };
    let errors = match refused {
        Ok(filed) => {
            return Ok(see_other(&format!(
                "/cases/{}?k={}&new=1",
                filed.tracking,
                cases::case_key(&state, &filed.tracking)
            )));
        }
        Err(e) => FieldErrors::from_error(e, &APPLY_FIELDS)?,
    };
    // The form again, filled in, in its township (a form posted without one: the village's).
    let township = match township_of(&state, &form.field("t")).await {
        Ok(t) => t,
        Err(_) => {
            let parent = state.org(&values.village).await?.and_then(|v| v.parent_code);
            match township_of(&state, parent.as_deref().unwrap_or_default()).await {
                Ok(t) => t,
                Err(_) => return Err(AppError::Fields(errors)),
            }
        }
    };
    let who = applicant(&state, &headers, &township).await?;
    let mut page = ApplyPage::new(&state, item, township, csrf, who, values).await?;
    let key = form.field("form_key");
    if (16..=128).contains(&key.len()) {
        page.form_key = key;
    }
    page.photos = crate::app::photos::keep(&state, &quota, photos).await?;
    page.errors = errors;
    page.errors.add_photos_again(page.photos.again.len());
    Ok(form::returned(page.render()?))
}

#[derive(Template)]
#[template(path = "case_track.html")]
struct TrackPage {
    csrf: String,
    tracking: String,
    /// What was typed in the second field, kept when the form comes back.
    phone: String,
    errors: FieldErrors,
    listen: Listen,
}

/// The lookup form read aloud.
const TRACK_INTRO: &str = "查询办件进度。请填写办件编号和申请时留下的手机号";
const TRACK_HINT: &str = "办件编号在提交申请后显示，也会随短信发给您";

impl TrackPage {
    /// The lookup again with what was typed and the message beside the field at fault.
    fn again(csrf: String, form: TrackForm, errors: FieldErrors) -> Result<Response, AppError> {
        let page = Self {
            csrf,
            tracking: form.tracking,
            phone: form.phone,
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
    let tracking = service::normalize_tracking(&q.tracking).unwrap_or_default();
    let errors = FieldErrors::new();
    Ok(Html(
        TrackPage {
            csrf,
            tracking,
            phone: String::new(),
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
    phone: String,
}

async fn track(
    State(state): State<AppState>,
    QuotaKey(quota): QuotaKey,
    CsrfToken(csrf): CsrfToken,
    axum::Form(form): axum::Form<TrackForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let tracking = service::normalize_tracking(&form.tracking);
    if tracking.is_none() {
        errors.add("tracking", "办件编号：请填写提交申请后得到的编号，如 BJ20251009123456");
    }
    let phone = Phone::parse(&form.phone);
    if phone.is_err() {
        errors.add("phone", "手机号：请填写申请时留下的11位手机号码");
    }
    let (Some(tracking), Ok(phone)) = (tracking, phone) else { return TrackPage::again(csrf, form, errors) };
    let now = state.now();
    let quotas = [Quota { kind: "case_lookup", key: &quota, limit: LOOKUPS_PER_CLIENT }];
    if state.lookups(&quotas, now - 3600, now).await?.is_some() {
        return Err(AppError::Throttled("查询过于频繁，请1小时后再试"));
    }
    let found = state.store().find_case_by_tracking(&tracking).await?;
    match found {
        Some(case) if state.cipher().index_matches("phone", phone.expose(), &case.phone_idx) => {
            Ok(see_other(&format!("/cases/{tracking}?k={}", cases::case_key(&state, &tracking))))
        }
        _ => {
            errors.add("tracking", "没有找到该办件：请核对办件编号和手机号");
            TrackPage::again(csrf, form, errors)
        }
    }
}

#[derive(Template)]
#[template(path = "case_public.html")]
struct CasePage {
    case: ServiceCase,
    key: String,
    csrf: String,
    is_new: bool,
    status: &'static str,
    rateable: bool,
    submitted: String,
    contact_due: String,
    completion_due: String,
    overdue: bool,
    events: Vec<PublicEvent>,
    ratings: [Satisfaction; 3],
    rating_label: &'static str,
    masked_phone: String,
    listen: Listen,
}

#[derive(Deserialize)]
struct CaseQuery {
    #[serde(default)]
    k: String,
    new: Option<u8>,
}

/// The case behind a keyed link; a wrong key looks like a missing case.
async fn keyed_case(state: &AppState, tracking: &str, key: &str) -> Result<ServiceCase, AppError> {
    let tracking = service::normalize_tracking(tracking).ok_or(AppError::NotFound)?;
    if key.is_empty() || key != cases::case_key(state, &tracking) {
        return Err(AppError::NotFound);
    }
    state.store().find_case_by_tracking(&tracking).await?.ok_or(AppError::NotFound)
}

async fn case_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(tracking): Path<String>,
    Query(q): Query<CaseQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let case = match keyed_case(&state, &tracking, &q.k).await {
        Ok(case) => case,
        // Without the key, the owner of a proven phone opens their own case; anyone else is asked
        // for the phone number.
        Err(AppError::NotFound) if q.k.is_empty() => {
            let tracking = service::normalize_tracking(&tracking).unwrap_or_default();
            let found = state.store().find_case_by_tracking(&tracking).await?;
            if let (Some(case), Some(owner)) = (found, crate::public::phones::proven(&state, &headers).await?)
                && owner.idxs.contains(&case.phone_idx)
            {
                return Ok(see_other(&format!("/cases/{tracking}?k={}", cases::case_key(&state, &tracking))));
            }
            return Ok(see_other(&format!("/cases?tracking={tracking}")));
        }
        Err(e) => return Err(e),
    };
    let status = case.status;
    let events: Vec<PublicEvent> = state
        .store()
        .events(RequestKind::Case, case.id)
        .await?
        .into_iter()
        .filter_map(|e| PublicEvent::shown(e.public, e.at, e.actor, e.note))
        .collect();
    let masked_phone = masked_phone(&state, &case.phone_enc);
    let rating_label = case.rating.map_or("", Satisfaction::label);
    let mut listen = Listen::new();
    listen.say(format!("{}，{}", case.item_name, case.department_name));
    if q.new.is_some() {
        listen.say("申请已提交。请记下办件编号，工作人员将在24小时内联系您");
    }
    let overdue = case.contact_overdue_at.is_some() || case.completion_overdue_at.is_some();
    speak_status(&mut listen, "办件编号", &case.tracking, status.label(), overdue);
    listen.say(format!("申请人：{}，{}", case.applicant_name, spoken::masked_phone(&masked_phone)));
    listen.say(format!("提交时间：{}", shanghai_time(case.submitted_at)));
    if case.contacted_at.is_none() {
        listen.say(format!("联系时限：{}前", shanghai_time(case.contact_due)));
    }
    listen.say(format!("办理期限：{}", shanghai_time(case.completion_due)));
    listen.say(format!("期限计算：{}", case.deadline_basis));
    speak_outcome(
        &mut listen,
        case.reply.as_deref(),
        "尚未办结，请耐心等待",
        (rating_label, case.rating_comment.as_deref()),
        &events,
    );
    let page = CasePage {
        listen,
        key: q.k.clone(),
        csrf,
        is_new: q.new.is_some(),
        status: status.label(),
        rateable: status == CaseStatus::Completed,
        submitted: shanghai_time(case.submitted_at),
        contact_due: shanghai_time(case.contact_due),
        completion_due: shanghai_time(case.completion_due),
        overdue,
        events,
        ratings: Satisfaction::ALL,
        rating_label,
        masked_phone,
        case,
    };
    // The page carries the applicant's own case: keep it out of shared caches.
    Ok(private_page(page.render()?))
}

async fn rate(
    State(state): State<AppState>,
    Path(tracking): Path<String>,
    axum::Form(form): axum::Form<RateForm>,
) -> Result<Response, AppError> {
    let case = keyed_case(&state, &tracking, &form.k).await?;
    let rated = form.rating()?;
    cases::rate(&state, &case, &rated, state.now()).await?;
    Ok(see_other(&format!("/cases/{}?k={}", case.tracking, form.k)))
}
