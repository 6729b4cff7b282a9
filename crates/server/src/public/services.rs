//! 我要办事 for the public: the service catalogue by department, an item's guide, the online
//! application (with photos), following a case by tracking number and phone, and rating the reply.
//! The applicant needs no account: the tracking number plus their phone opens the case, and the
//! texts they receive carry a keyed link.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::alert::AlertKind;
use xiaowei_core::monitor::Menu;
use xiaowei_core::service::{self, CaseStatus, Notice, TimeLimit};
use xiaowei_core::service_links::Icon;
use xiaowei_core::tracked::{Rating, Satisfaction, TimelineKind};
use xiaowei_core::workday::{DayKind, SpecialDay, WorkCalendar};
use xiaowei_core::{OrgLevel, Phone, ResidentId};
use xiaowei_store::{CaseChange, NewAuditEntry, NewCase, NewCaseEvent, NewCasePhoto, ServiceCase, ServiceItem};

use crate::app::tracked::{PublicEvent, masked_phone};
use crate::staff::see_other;
use crate::state::{AppState, TRACKING_ATTEMPTS};
use crate::web::client::QuotaKey;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::places::county_name;
use crate::web::qr;
use crate::web::security::{ClientIp, CsrfToken, random_token};
use crate::workers::notify::{self, CaseRef};
use crate::workers::visits::{self, Visit};

/// Applications one client may submit per hour.
const APPLICATIONS_PER_CLIENT: i64 = 10;
/// Tracking-number lookups one client may try per hour (wrong phone numbers included).
const LOOKUPS_PER_CLIENT: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/services", get(catalogue))
        .route("/service-links/{link}/qr.svg", get(link_qr))
        .route("/services/{item}", get(item_page))
        .route("/services/{item}/apply", get(apply_form).post(apply))
        .route("/cases", get(track_form).post(track))
        .route("/cases/{tracking}", get(case_page))
        .route("/cases/{tracking}/rate", axum::routing::post(rate))
}

/// The working-day calendar as the administrator keeps it.
pub async fn calendar(state: &AppState) -> Result<WorkCalendar, AppError> {
    let days = state.store().calendar_days().await?;
    Ok(WorkCalendar::new(days.into_iter().filter_map(|d| {
        Some(SpecialDay { date: d.on_date.parse().ok()?, kind: DayKind::parse(&d.kind)?, name: d.name })
    })))
}

fn chinese_date(d: jiff::civil::Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// How a working-day deadline was counted, in plain Chinese (kept with the case).
pub fn explain_deadline(d: &xiaowei_core::workday::WorkingDeadline) -> String {
    let mut text = format!("自{}起算（当日不计），{}个工作日", chinese_date(d.start), d.working_days);
    let weekends = d.weekend_days_skipped();
    if weekends > 0 {
        text.push_str(&format!("；跳过周末{weekends}天"));
    }
    for (name, dates) in d.holidays_skipped() {
        let first = dates.first().copied().unwrap_or(d.start);
        let last = dates.last().copied().unwrap_or(d.start);
        text.push_str(&format!("；跳过{name}假期{}至{}共{}天", chinese_date(first), chinese_date(last), dates.len()));
    }
    for day in d.makeup_days_counted() {
        text.push_str(&format!("；{}为调休上班日，计入", chinese_date(day)));
    }
    for year in &d.uncovered_years {
        text.push_str(&format!("；{year}年节假日安排尚未录入，按周一至周五计算"));
    }
    text.push_str(&format!("；办理期限至{}24时", chinese_date(d.due)));
    text
}

fn deadline_basis(clocks: &service::Clocks) -> String {
    match &clocks.completion {
        service::CompletionDeadline::WorkingDays(d) => explain_deadline(d),
        service::CompletionDeadline::Hours { hours } => {
            format!("法定时限{hours}小时，自提交时起算，至{}", shanghai_time(clocks.completion_due))
        }
    }
}

async fn township_of(state: &AppState, code: &str) -> Result<xiaowei_store::Org, AppError> {
    match state.store().find_org(code).await? {
        Some(org) if org.level() == Some(OrgLevel::Township) => Ok(org),
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
            let icon = Icon::parse(&l.icon).unwrap_or(Icon::Government);
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
) -> Result<(Extension<Visit>, Html<String>), AppError> {
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
        let link = ItemLink {
            id: item.id,
            limit: TimeLimit::parse(&item.time_limit).map(TimeLimit::label).unwrap_or_default(),
            name: item.name,
        };
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
    Ok((visit, Html(page.render()?)))
}

#[derive(Deserialize)]
struct TownshipQuery {
    #[serde(default)]
    t: String,
}

/// An active item; anything else is "not found".
async fn active_item(state: &AppState, id: i64) -> Result<ServiceItem, AppError> {
    state.store().find_service_item(id).await?.filter(|i| i.active == 1).ok_or(AppError::NotFound)
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
) -> Result<Html<String>, AppError> {
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
        limit: TimeLimit::parse(&item.time_limit).map(TimeLimit::label).unwrap_or_default(),
        materials: lines(&item.materials),
        steps: lines(&item.steps),
        item,
        township_code,
        township_name,
        handler,
    };
    Ok(Html(page.render()?))
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
    max_photos: usize,
    /// On a hall terminal with a hall officer logged in: the officer filing on the villager's behalf.
    proxy: Option<String>,
}

async fn apply_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<TownshipQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let item = active_item(&state, id).await?;
    let Ok(township) = township_of(&state, &q.t).await else {
        // Applications are filed with a township; without one, choose it first.
        return Ok(see_other("/"));
    };
    let villages = state
        .store()
        .child_orgs(&township.code)
        .await?
        .into_iter()
        .map(|v| VillageOption { name: v.display_name().to_owned(), code: v.code })
        .collect();
    let proxy = crate::public::kiosk::proxy_officer(&state, &headers, &township.code).await?.map(|u| u.display_name);
    let page = ApplyPage {
        proxy,
        item,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        villages,
        csrf,
        form_key: random_token(),
        max_photos: crate::app::photos::MAX_PHOTOS,
    };
    Ok(Html(page.render()?).into_response())
}

async fn apply(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let item = active_item(&state, id).await?;
    let headers = request.headers().clone();
    let form = crate::app::photos::read(&state, request, "申请").await?;
    let form_key = form.field("form_key");
    if form_key.len() < 16 || form_key.len() > 128 {
        return Err(AppError::invalid("表单已失效，请刷新页面后重新填写"));
    }
    // A repeated submission of the same form shows the case the first one created.
    if let Some(existing) = state.store().find_case_by_submit_key(&form_key).await? {
        return Ok(see_other(&format!(
            "/cases/{}?k={}&new=1",
            existing.tracking,
            notify::case_key(&state, &existing.tracking)
        )));
    }
    let name = xiaowei_core::text::normalize(&form.field("name"));
    if name.is_empty() || name.chars().count() > 32 {
        return Err(AppError::invalid("姓名：请填写申请人姓名（不超过32个字）"));
    }
    let phone = Phone::parse(&form.field("phone"))
        .map_err(|_| AppError::invalid("手机号：请填写11位手机号码，用于工作人员联系您"))?;
    let village = match state.store().find_org(&form.field("village")).await? {
        Some(v) if v.level() == Some(OrgLevel::Village) => v,
        _ => return Err(AppError::invalid("所在村（社区）：请选择")),
    };
    let resident_id = if item.requires_id == 1 || !form.field("id_number").is_empty() {
        Some(ResidentId::parse(&form.field("id_number")).map_err(|e| AppError::invalid(format!("身份证号：{e}")))?)
    } else {
        None
    };
    let description = form.field("description");
    if description.chars().count() < 5 || description.chars().count() > service::MAX_TEXT_CHARS {
        return Err(AppError::invalid(format!("需求描述：请写明要办理的事情（5至{}字）", service::MAX_TEXT_CHARS)));
    }
    let officer = crate::public::kiosk::proxy_officer(&state, &headers, &village.code).await?;
    let now = state.now();
    if state.store().rate_event("service_case", &quota, now - 3600, now).await? >= APPLICATIONS_PER_CLIENT {
        return Err(AppError::Throttled("提交过于频繁，请1小时后再试"));
    }
    let photos: Vec<NewCasePhoto> = crate::app::photos::store(&state, form.photos())
        .await?
        .into_iter()
        .map(|p| NewCasePhoto { sha256: p.sha256, size: p.size, content_type: p.content_type, original_name: p.name })
        .collect();
    let limit = TimeLimit::parse(&item.time_limit).unwrap_or(TimeLimit::WorkingDays(20));
    let clocks = service::clocks(&calendar(&state).await?, limit, now);
    // A clash with an existing tracking number draws another one.
    let mut attempt = 1;
    let (case_id, created, tracking, unrouted) = loop {
        let tracking = service::tracking_number(now, state.draw_digits());
        let cipher = state.cipher();
        let case = NewCase {
            tracking: tracking.clone(),
            submit_key: form_key.clone(),
            item_id: item.id,
            department_id: item.department_id,
            org_code: village.code.clone(),
            applicant_name: name.clone(),
            phone_enc: cipher.encrypt(phone.expose()),
            phone_idx: cipher.blind_index("phone", phone.expose()),
            resident_id_enc: resident_id.as_ref().map(|r| cipher.encrypt(r.expose())),
            description: description.clone(),
            filed_by: officer.as_ref().map(|u| u.id),
            submitted_at: now,
            contact_due: clocks.contact_due,
            contact_remind_at: clocks.contact_remind_at,
            completion_due: clocks.completion_due,
            completion_remind_at: clocks.completion_remind_at,
            deadline_basis: deadline_basis(&clocks),
        };
        let case_ref = CaseRef {
            tracking: &tracking,
            item_name: &item.name,
            item_id: item.id,
            org_code: &village.code,
            applicant: (&case.phone_enc, &case.phone_idx, &name),
        };
        let texts = notify::notices(&state, &case_ref, Notice::CaseSubmitted, 0).await?;
        let event = NewCaseEvent {
            kind: TimelineKind::Submitted.as_str().into(),
            actor: officer.as_ref().map_or_else(|| "申请人".to_owned(), |u| format!("{}（代办）", u.display_name)),
            staff_user_id: officer.as_ref().map(|u| u.id),
            method: None,
            note: format!(
                "{}提交申请，{}",
                if officer.is_some() { "工作人员在触摸终端代办，" } else { "" },
                if texts.is_empty() {
                    "暂未找到可接收短信的承办人员，已提醒管理员设置".to_owned()
                } else {
                    format!("已短信通知部门主要领导、分管领导、经办人和乡镇经办人（{}条）", texts.len())
                }
            ),
            public: true,
        };
        match state.store().create_case(&case, &photos, &event, &texts).await {
            Ok((id, created)) => break (id, created, tracking, texts.is_empty()),
            Err(e) if e.is_duplicate_of("service_cases_tracking_key") && attempt < TRACKING_ATTEMPTS => attempt += 1,
            // The same form submitted twice at once: show the case the other submission created.
            Err(e) if e.is_duplicate_of("service_cases_submit_key_key") => {
                let existing = state.store().find_case_by_submit_key(&form_key).await?.ok_or(AppError::NotFound)?;
                break (existing.id, false, existing.tracking, false);
            }
            Err(e) => return Err(e.into()),
        }
    };
    let tracking = if created {
        state.live().changed(&village.code);
        if unrouted {
            let township = village.parent_code.clone().unwrap_or_else(|| village.code.clone());
            let unrouted = crate::workers::alerts::Unrouted {
                kind: AlertKind::UnroutedCase,
                org_code: &township,
                route: format!("{}:{township}", item.id),
                tracking: &tracking,
                what: format!("办事事项“{}”", item.name),
                link: format!("/staff/services/{}", item.id),
                restricted: false,
            };
            crate::workers::alerts::raise_unrouted(&state, unrouted, now).await?;
        }
        // Inside WeChat, the case belongs to the follower too (我的办件, notices by WeChat).
        if let Some(township) = village.parent_code.as_deref()
            && let Some(openid) = crate::public::wechat::follower_of(&state, &headers, township)
        {
            state.store().link_case_to_follower(case_id, township, &openid).await?;
        }
        state
            .audit(NewAuditEntry {
                at: now,
                actor_id: officer.as_ref().map(|u| u.id),
                actor_name: officer.as_ref().map_or_else(|| "公众".to_owned(), |u| u.username.clone()),
                action: "service_case.create".into(),
                target: format!("service_case:{case_id}"),
                detail: format!(
                    "{}申请“{}”（手机 {}）",
                    if officer.is_some() { "代办" } else { "在线" },
                    item.name,
                    phone.masked()
                ),
                ip: ip.clone(),
                org_code: Some(village.code.clone()),
            })
            .await?;
        tracking
    } else {
        state.store().find_case(case_id).await?.map(|c| c.tracking).ok_or(AppError::NotFound)?
    };
    Ok(see_other(&format!("/cases/{tracking}?k={}&new=1", notify::case_key(&state, &tracking))))
}

#[derive(Template)]
#[template(path = "case_track.html")]
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
    let tracking = service::normalize_tracking(&q.tracking).unwrap_or_default();
    Ok(Html(TrackPage { csrf, tracking }.render()?))
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
    axum::Form(form): axum::Form<TrackForm>,
) -> Result<Response, AppError> {
    let tracking = service::normalize_tracking(&form.tracking)
        .ok_or_else(|| AppError::invalid("办件编号：请填写提交申请后得到的编号，如 BJ20251009123456"))?;
    let phone = Phone::parse(&form.phone).map_err(|_| AppError::invalid("手机号：请填写申请时留下的11位手机号码"))?;
    let now = state.now();
    if state.store().rate_event("case_lookup", &quota, now - 3600, now).await? >= LOOKUPS_PER_CLIENT {
        return Err(AppError::Throttled("查询过于频繁，请1小时后再试"));
    }
    let found = state.store().find_case_by_tracking(&tracking).await?;
    match found {
        Some(case) if state.cipher().index_matches("phone", phone.expose(), &case.phone_idx) => {
            Ok(see_other(&format!("/cases/{tracking}?k={}", notify::case_key(&state, &tracking))))
        }
        _ => Err(AppError::invalid("没有找到该办件：请核对办件编号和手机号")),
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
    if key.is_empty() || key != notify::case_key(state, &tracking) {
        return Err(AppError::NotFound);
    }
    state.store().find_case_by_tracking(&tracking).await?.ok_or(AppError::NotFound)
}

async fn case_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(tracking): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Response, AppError> {
    let case = match keyed_case(&state, &tracking, &q.k).await {
        Ok(case) => case,
        // Without the key, ask for the phone number.
        Err(AppError::NotFound) if q.k.is_empty() => return Ok(see_other(&format!("/cases?tracking={tracking}"))),
        Err(e) => return Err(e),
    };
    let status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Submitted);
    let events = state
        .store()
        .case_events(case.id)
        .await?
        .into_iter()
        .filter_map(|e| PublicEvent::shown(e.public, e.at, e.actor, e.note))
        .collect();
    let masked_phone = masked_phone(&state, &case.phone_enc);
    let page = CasePage {
        key: q.k.clone(),
        csrf,
        is_new: q.new.is_some(),
        status: status.label(),
        rateable: status == CaseStatus::Completed,
        submitted: shanghai_time(case.submitted_at),
        contact_due: shanghai_time(case.contact_due),
        completion_due: shanghai_time(case.completion_due),
        overdue: case.contact_overdue_at.is_some() || case.completion_overdue_at.is_some(),
        events,
        ratings: Satisfaction::ALL,
        rating_label: case.rating.as_deref().and_then(Satisfaction::parse).map_or("", Satisfaction::label),
        masked_phone,
        case,
    };
    let mut response = Html(page.render()?).into_response();
    // The page carries the applicant's own case: keep it out of shared caches.
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
    let case = keyed_case(&state, &tracking, &form.k).await?;
    let back = format!("/cases/{}?k={}", case.tracking, form.k);
    let rated = Rating::parse(&form.rating, &form.comment).map_err(|e| AppError::invalid(e.to_string()))?;
    let rating = rated.satisfaction;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Submitted);
    let Ok(to) = service::transition(from, service::CaseAction::Rate(rating)) else {
        // Already rated (a double submit): show the case as it is.
        return Ok(see_other(&back));
    };
    let now = state.now();
    let mut change =
        CaseChange { rating: Some((rating.as_str().into(), rated.comment.clone())), ..CaseChange::default() };
    let mut texts = Vec::new();
    let mut note = rated.note();
    if rating.reopens() {
        let item = state.store().find_service_item(case.item_id).await?.ok_or(AppError::NotFound)?;
        let limit = TimeLimit::parse(&item.time_limit).unwrap_or(TimeLimit::WorkingDays(20));
        let clocks = service::clocks(&calendar(&state).await?, limit, now);
        change.new_completion = Some((clocks.completion_due, clocks.completion_remind_at, deadline_basis(&clocks)));
        texts = notify::notices(&state, &CaseRef::of(&case), Notice::CaseUnsatisfied, now).await?;
        note.push_str("。办件重新办理，已通知县纪委监委");
    }
    let event = NewCaseEvent {
        kind: TimelineKind::Rate.as_str().into(),
        actor: "申请人".into(),
        staff_user_id: None,
        method: None,
        note,
        public: true,
    };
    state.store().change_case(case.id, &[from.as_str()], to.as_str(), &change, &event, &texts, now).await?;
    Ok(see_other(&back))
}
