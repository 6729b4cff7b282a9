//! The public 惠农资金 pages: programmes and rosters by township and village, each roster with
//! masked IDs, totals, publicity countdown, differences, versions, scans and a QR code; 对此有异议
//! objections with a tracking code; and 自助查询, where a villager finds every payment to them
//! and the years with no payment record. Nothing here ever renders a full ID or account number.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use xiaowei_core::monitor::Menu;
use xiaowei_core::objection::ObjectionStatus;
use xiaowei_core::subsidy::{Phase, Publicity, RosterStatus, YearRange, unpaid_years};
use xiaowei_core::text::{FreeText, SingleLine};
use xiaowei_core::tracked::{ClockState, Satisfaction};
use xiaowei_core::{Fen, OrgLevel, Phone, ResidentId, spoken};
use xiaowei_store::{NewAuditEntry, Org, PersonEntry, RequestKind, Roster, Store};

use crate::app::objections;
use crate::app::rosters::{AttachmentView, DifferenceView, EntryView, ID_PURPOSE, VersionView, roster_title, versions};
use crate::app::tracked::PublicEvent;
use crate::state::AppState;
use crate::state::journal::Quota;
use crate::state::visits::{self, Visit};
use crate::web::client::QuotaKey;
use crate::web::dates::shanghai_time;
use crate::web::dates::{parse_date, shanghai_date};
use crate::web::error::AppError;
use crate::web::form::{self, FieldErrors, RateForm};
use crate::web::listen::Listen;
use crate::web::page_cache::{SHARED, Shared, unchanged};
use crate::web::places::county_name;
use crate::web::places::place_name;
use crate::web::respond::{attachment_response, private_page, see_other, xlsx_response};
use crate::web::security::{ClientIp, CsrfToken, random_token};

const PAGE_SIZE: i64 = 100;
/// Self-queries allowed per client address, and per ID number, in [`QUERY_WINDOW`] seconds.
const QUERIES_PER_CLIENT: i64 = 30;
const QUERIES_PER_ID: i64 = 10;
const QUERY_WINDOW: i64 = 600;
/// Objections allowed per client address per hour.
const OBJECTIONS_PER_CLIENT: i64 = 10;
/// Objection pages opened by code per client in [`QUERY_WINDOW`] seconds: plenty for following
/// one's own objections, far too few to guess codes.
const OBJECTION_LOOKUPS_PER_CLIENT: i64 = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/subsidies", get(township_or_village))
        .route("/t/{township}/self-query", get(self_query_form).post(self_query).layer(map_response(unchanged)))
        .route("/rosters/template.xlsx", get(template))
        .route("/rosters/{roster}", get(roster_page))
        .route("/rosters/{roster}/qr.svg", get(qr_code))
        .route("/rosters/{roster}/export.xlsx", get(export_public))
        .route("/rosters/{roster}/objection", get(roster_objection_form).post(roster_objection))
        .route("/attachments/{attachment}", get(attachment))
        .route("/objections", get(find_objection))
        .route("/objections/new", get(general_objection_form).post(general_objection))
        .route("/objections/{code}", get(objection_status))
        .route("/objections/{code}/rate", axum::routing::post(rate_objection))
}

async fn township_of(state: &AppState, code: &str) -> Result<Org, AppError> {
    match state.org(code).await? {
        Some(org) if org.level == OrgLevel::Township => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

/// A public roster (published, superseded or withdrawn); anything else is "not found".
async fn public_roster(state: &AppState, id: i64) -> Result<(Roster, RosterStatus), AppError> {
    let roster = state.store().find_roster(id).await?.ok_or(AppError::NotFound)?;
    let status = roster.status;
    if status.is_public() { Ok((roster, status)) } else { Err(AppError::NotFound) }
}

struct RosterLink {
    id: i64,
    title: String,
    phase: &'static str,
    status: &'static str,
    entries: i64,
    total: String,
    in_publicity: bool,
}

struct YearGroup {
    year: i64,
    rosters: Vec<RosterLink>,
}

struct ProgrammeLink {
    id: i64,
    name: String,
    rosters: i64,
}

#[derive(Template)]
#[template(path = "subsidies.html")]
struct SubsidiesPage {
    county_name: String,
    township_code: String,
    township_name: String,
    village_code: String,
    place_name: String,
    programmes: Vec<ProgrammeLink>,
    programme_filter: i64,
    years: Vec<YearGroup>,
    villages: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct PlaceQuery {
    village: Option<String>,
    programme: Option<i64>,
}

/// Groups rosters by year, newest first; `places` names each roster's village when the list
/// spans several.
fn group_by_year(rosters: Vec<Roster>, places: &BTreeMap<String, String>, today: jiff::civil::Date) -> Vec<YearGroup> {
    let mut years: BTreeMap<i64, Vec<RosterLink>> = BTreeMap::new();
    for r in rosters {
        let place = places.get(&r.org_code).map(|p| format!("{p} ")).unwrap_or_default();
        let status = r.status;
        let in_publicity = status == RosterStatus::Published && publicity_of(&r).is_some_and(|p| p.is_open(today));
        years.entry(r.year).or_default().push(RosterLink {
            id: r.id,
            title: format!("{place}{} {}", r.period, r.programme_name),
            phase: r.phase.label(),
            status: if status == RosterStatus::Published { "" } else { status.label() },
            entries: r.entry_count,
            total: Fen::new(r.total_fen).unwrap_or_default().to_string(),
            in_publicity,
        });
    }
    years.into_iter().rev().map(|(year, rosters)| YearGroup { year, rosters }).collect()
}

fn publicity_of(r: &Roster) -> Option<Publicity> {
    let start = parse_date(r.publicity_start.as_deref()?)?;
    let end = parse_date(r.publicity_end.as_deref()?)?;
    Some(Publicity { start, end })
}

async fn township_or_village(
    State(state): State<AppState>,
    Path(township_code): Path<String>,
    Query(q): Query<PlaceQuery>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = township_of(&state, &township_code).await?;
    let store = state.store();
    let (place, place_code) = match q.village.filter(|v| !v.is_empty()) {
        Some(code) => match state.org(&code).await? {
            Some(v) if v.level == OrgLevel::Village && v.parent_code.as_deref() == Some(township.code.as_str()) => {
                (v.display_name().to_owned(), v.code)
            }
            _ => return Err(AppError::NotFound),
        },
        None => (township.display_name().to_owned(), township.code.clone()),
    };
    let programmes = store
        .public_programmes_within(&place_code)
        .await?
        .into_iter()
        .map(|p| ProgrammeLink { id: p.id, name: p.name, rosters: p.rosters })
        .collect();
    let at_township = place_code == township.code;
    let visit = visits::tag(&place_code, Menu::Subsidies);
    let villages: Vec<(String, String)> = if at_township {
        store
            .child_orgs(&township.code)
            .await?
            .into_iter()
            .map(|v| (v.code.clone(), v.display_name().to_owned()))
            .collect()
    } else {
        Vec::new()
    };
    // At township level a chosen programme lists its rosters in every village of the township.
    let (rosters, places) = match q.programme {
        Some(programme) if at_township => {
            let places: BTreeMap<String, String> = villages.iter().cloned().collect();
            (store.public_rosters_within(&place_code, programme, 500).await?, places)
        }
        _ => (store.public_rosters_of(&place_code, q.programme).await?, BTreeMap::new()),
    };
    let page = SubsidiesPage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code.clone(),
        village_code: if at_township { String::new() } else { place_code.clone() },
        years: group_by_year(rosters, &places, shanghai_date(state.now())),
        place_name: place,
        programmes,
        programme_filter: q.programme.unwrap_or(0),
        villages: if q.programme.is_some() { Vec::new() } else { villages },
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

#[derive(Template)]
#[template(path = "roster_public.html")]
struct RosterPage {
    ledger: Option<crate::public::ledger::LeafBadge>,
    county_name: String,
    township_code: String,
    township_name: String,
    village_code: String,
    id: i64,
    title: String,
    status: RosterStatus,
    status_reason: String,
    is_paid: bool,
    paid_on: String,
    /// First and last day of the publicity period, if set.
    publicity: Option<(String, String)>,
    days_left: Option<i64>,
    /// 历史补录: loaded from an archive file, never through the online workflow.
    backloaded: bool,
    published: String,
    entry_count: i64,
    total: String,
    entries: Vec<EntryView>,
    page: i64,
    pages: i64,
    /// Entries before this page, so 序号 counts on across pages.
    offset: usize,
    print: bool,
    differences: Vec<DifferenceView>,
    settles_id: Option<i64>,
    attachments: Vec<AttachmentView>,
    versions: Vec<VersionView>,
    newest_id: Option<i64>,
    objections_open: usize,
    objections_total: usize,
    objection_override: String,
    can_object: bool,
    basis: String,
    basis_documents: Vec<AttachmentView>,
    listen: Listen,
}

#[derive(Deserialize)]
struct RosterQuery {
    page: Option<i64>,
    #[serde(default)]
    print: String,
}

async fn roster_page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<RosterQuery>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let (org_code, html) = render_roster_page(&state, id, &q).await?;
    Ok((SHARED, visits::tag(&org_code, Menu::Subsidies), Html(html)))
}

/// The roster's org and its rendered page.
async fn render_roster_page(state: &AppState, id: i64, q: &RosterQuery) -> Result<(String, String), AppError> {
    let (roster, status) = public_roster(state, id).await?;
    let store = state.store();
    let org = state.org(&roster.org_code).await?.ok_or(AppError::NotFound)?;
    let township_code =
        if org.level == OrgLevel::Township { org.code.clone() } else { org.parent_code.clone().unwrap_or_default() };
    let print = q.print == "1";
    let pages = ((roster.entry_count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let is_paid = roster.phase == Phase::Paid;
    // The page's reads depend only on the roster, so they run at once, each on its own pooled
    // connection: a view waits for the slowest read rather than for the sum of them.
    let (limit, from) = if print { (i64::MAX, 0) } else { (PAGE_SIZE, (page - 1) * PAGE_SIZE) };
    let (township_name, entries, versions, objections, programme, basis_documents, differences, attachments, ledger) =
        tokio::try_join!(
            place_name(state, &township_code),
            async { Ok::<_, AppError>(store.roster_entries(id, limit, from).await?) },
            versions(store, &roster, true),
            async { Ok(store.objections_of_roster(id).await?) },
            async { Ok(store.find_programme(roster.programme_id).await?) },
            async { Ok(store.attachments_of_programme(roster.programme_id).await?) },
            async { Ok(if is_paid { store.differences(id).await? } else { Vec::new() }) },
            async { Ok(store.attachments_of_roster(id).await?) },
            crate::public::ledger::badge(state, "roster", id),
        )?;
    let basis = programme.map(|p| p.basis).unwrap_or_default();
    let basis_documents = basis_documents.into_iter().map(AttachmentView::from).collect();
    let today = shanghai_date(state.now());
    let publicity = publicity_of(&roster);
    let newest_id = versions.last().filter(|v| v.id != roster.id).map(|v| v.id);
    let title = roster_title(&roster, org.display_name());
    let offset = if print { 0 } else { usize::try_from((page - 1) * PAGE_SIZE).unwrap_or(0) };
    let days_left = publicity.filter(|_| status == RosterStatus::Published).and_then(|p| p.days_left(today));
    // The print version (every row) is for paper; the page for reading aloud is the paged one.
    let listen = if print {
        Listen::new()
    } else {
        roster_listen(&RosterSpeech {
            roster: &roster,
            title: &title,
            publicity,
            days_left,
            differences: &differences,
            entries: &entries,
            offset,
            page,
            pages,
        })
    };
    let page = RosterPage {
        listen,
        ledger,
        basis,
        basis_documents,
        county_name: county_name(state).await?,
        township_name,
        township_code,
        village_code: if org.level == OrgLevel::Village { org.code.clone() } else { String::new() },
        id,
        title,
        status,
        status_reason: roster.status_reason.clone().unwrap_or_default(),
        is_paid,
        paid_on: roster.paid_on.clone().unwrap_or_default(),
        publicity: publicity.map(|p| (p.start.to_string(), p.end.to_string())),
        backloaded: roster.backloaded,
        days_left,
        published: roster.published_at.map(shanghai_time).unwrap_or_default(),
        entry_count: roster.entry_count,
        total: Fen::new(roster.total_fen).unwrap_or_default().to_string(),
        entries: entries.into_iter().map(EntryView::from).collect(),
        offset,
        page,
        pages,
        print,
        differences: differences.into_iter().map(DifferenceView::from).collect(),
        settles_id: roster.settles_id,
        attachments: attachments.into_iter().map(AttachmentView::from).collect(),
        versions,
        newest_id,
        objections_open: objections.iter().filter(|o| o.status.is_open()).count(),
        objections_total: objections.len(),
        objection_override: roster.objection_override.clone().unwrap_or_default(),
        can_object: status == RosterStatus::Published,
    };
    Ok((roster.org_code, page.render()?))
}

/// What a roster page reads aloud.
struct RosterSpeech<'a> {
    roster: &'a Roster,
    title: &'a str,
    publicity: Option<Publicity>,
    days_left: Option<i64>,
    differences: &'a [xiaowei_store::RosterDifference],
    entries: &'a [xiaowei_store::RosterEntry],
    offset: usize,
    page: i64,
    pages: i64,
}

/// A roster page for listening: what it is, its totals and dates, the differences of a paid
/// roster, and a sentence for each row on this page (第3行，张某某，身份证尾号1234，一千二百元整).
fn roster_listen(s: &RosterSpeech<'_>) -> Listen {
    let r = s.roster;
    let mut listen = Listen::new();
    listen.say(s.title);
    match r.status {
        RosterStatus::Withdrawn => {
            listen.say(format!("本花名册已撤回。撤回原因：{}", r.status_reason.as_deref().unwrap_or_default()));
        }
        RosterStatus::Superseded => {
            listen.say("本版本已被更正，请查看最新版本");
        }
        _ => {}
    }
    listen.say(format!("共{}人，合计{}", r.entry_count, spoken::amount(r.total_fen)));
    if let Some(p) = s.publicity {
        let state = s.days_left.map_or_else(|| "公示期已结束".to_owned(), |d| format!("公示中，还剩{d}天"));
        listen.say(format!("公示期：{}至{}，{state}", spoken::date(p.start), spoken::date(p.end)));
    }
    if r.phase == Phase::Paid {
        listen.say(format!("发放日期：{}", r.paid_on.as_deref().unwrap_or("未填写")));
        if s.differences.is_empty() {
            listen.say("发放名单和金额与公示一致");
        } else {
            listen.say(format!("与公示名单的差异共{}处", s.differences.len()));
        }
        let yuan = |fen: Option<i64>| fen.map_or_else(|| "无".to_owned(), spoken::amount);
        for d in s.differences {
            let person = if d.name.is_empty() {
                "整批".to_owned()
            } else {
                format!("{}，{}", d.name, spoken::masked_id(&d.id_masked))
            };
            let reason = d.reason.as_deref().unwrap_or_default();
            listen.say(format!(
                "{}：{person}，公示{}，发放{}，原因：{reason}",
                d.kind.label(),
                yuan(d.proposed_fen),
                yuan(d.paid_fen)
            ));
        }
    }
    if s.pages > 1 {
        listen.say(format!("名单第{}页，共{}页", s.page, s.pages));
    } else {
        listen.say("名单");
    }
    for (i, e) in s.entries.iter().enumerate() {
        let group = e.group_name.as_deref().filter(|g| !g.is_empty()).map(|g| format!("，{g}")).unwrap_or_default();
        listen.say(format!(
            "第{}行，{}，{}{group}，{}",
            s.offset + i + 1,
            e.name,
            spoken::masked_id(&e.id_masked),
            spoken::amount(e.amount_fen)
        ));
    }
    if r.status == RosterStatus::Published {
        listen.say("如对名单有异议，可点“对此有异议”反映");
    }
    listen
}

/// The QR code of a roster page: its address under `public_url`, else its path alone.
async fn qr_code(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    public_roster(&state, id).await?;
    let url = state.config().public_link(&format!("/rosters/{id}"));
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], svg)
        .into_response())
}

async fn export_public(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (roster, status) = public_roster(&state, id).await?;
    let place = place_name(&state, &roster.org_code).await?;
    let title = roster_title(&roster, &place);
    let mut subtitle = vec![format!("状态：{}；身份证号、账号已隐藏部分数字", status.label())];
    if let Some(p) = publicity_of(&roster) {
        subtitle.push(format!("公示期：{} 至 {}", p.start, p.end));
    }
    let entries = state.store().roster_entries(id, i64::MAX, 0).await?;
    let bytes = crate::app::rosters::export(state.cipher(), title.clone(), subtitle, entries, false)?;
    Ok(xlsx_response(bytes, &format!("{title}.xlsx")))
}

async fn template() -> Result<Response, AppError> {
    let bytes = xiaowei_sheets::template_xlsx(None).map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(xlsx_response(bytes, "花名册模板.xlsx"))
}

async fn attachment(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, AppError> {
    let a = state.store().find_attachment(id).await?.ok_or(AppError::NotFound)?;
    // Only scans of a public roster are public; staff reach a draft's scans through the back office.
    if let Some(roster_id) = a.roster_id {
        public_roster(&state, roster_id).await?;
    } else if a.programme_id.is_none() {
        // Files of other features (e.g. disclosures) are served by their own routes, which check
        // that the record they belong to is public.
        return Err(AppError::NotFound);
    }
    attachment_response(&state, &a, true).await
}

#[derive(Template)]
#[template(path = "objection_form.html")]
struct ObjectionFormPage {
    csrf: String,
    form_key: String,
    action: String,
    heading: String,
    context: String,
    name: String,
    phone: String,
    body: String,
    back: String,
    hidden: Vec<(&'static str, String)>,
    errors: FieldErrors,
}

impl ObjectionFormPage {
    /// The form's address on a phone (在手机上继续): the roster, entry, village or programme it
    /// is about, nothing typed.
    fn phone_url(&self) -> String {
        match serde_urlencoded::to_string(&self.hidden) {
            Ok(query) if !query.is_empty() => format!("{}?{query}", self.action),
            _ => self.action.clone(),
        }
    }

    /// The same form again with what was typed and a message beside each field at fault; the
    /// once-only key is kept, so a later good submit still counts once.
    fn again(mut self, form: &ObjectionForm, errors: FieldErrors) -> Result<Response, AppError> {
        self.name = form.name.clone();
        self.phone = form.phone.clone();
        self.body = form.body.clone();
        if (16..=128).contains(&form.form_key.len()) {
            self.form_key = form.form_key.clone();
        }
        self.errors = errors;
        Ok(form::returned(self.render()?))
    }
}

#[derive(Deserialize)]
struct EntryQuery {
    entry: Option<i64>,
    /// Set by 核验 when the page and its ledger record disagree: prefills the objection.
    ledger: Option<u64>,
}

async fn roster_objection_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<EntryQuery>,
) -> Result<Html<String>, AppError> {
    let (roster, status) = public_roster(&state, id).await?;
    if status != RosterStatus::Published {
        return Err(AppError::invalid("该花名册已撤回或已有新版本，请对最新版本提出异议"));
    }
    Ok(Html(roster_objection_page(&state, csrf, &roster, &q).await?.render()?))
}

/// The objection form for a roster, or for one of its entries.
async fn roster_objection_page(
    state: &AppState,
    csrf: String,
    roster: &Roster,
    q: &EntryQuery,
) -> Result<ObjectionFormPage, AppError> {
    let id = roster.id;
    let place = place_name(state, &roster.org_code).await?;
    let mut context = roster_title(roster, &place);
    let mut hidden = Vec::new();
    if let Some(entry_id) = q.entry {
        let entry = state.store().find_entry(id, entry_id).await?.ok_or(AppError::NotFound)?;
        let number = state.store().entry_number(id, entry_id).await?.ok_or(AppError::NotFound)?;
        context = format!("{context} · 第{number}号 {}（{}）", entry.name, entry.id_masked);
        hidden.push(("entry", entry_id.to_string()));
    }
    Ok(ObjectionFormPage {
        csrf,
        form_key: random_token(),
        action: format!("/rosters/{id}/objection"),
        heading: "对此有异议".into(),
        context,
        body: q
            .ledger
            .map(|n| format!("核验发现：本页内容与公开账本第 {n} 号记录不一致，请核查此花名册是否被改动。"))
            .unwrap_or_default(),
        back: format!("/rosters/{id}"),
        hidden,
        name: String::new(),
        phone: String::new(),
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize)]
struct ObjectionForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    body: String,
    entry: Option<i64>,
    programme: Option<i64>,
    #[serde(default)]
    village: String,
}

/// Checks the objector's details: the values, or the message for each field at fault.
fn parse_objector(form: &ObjectionForm) -> Result<(String, Phone, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = match SingleLine::parse(&xiaowei_core::text::compact(&form.name), 32) {
        Ok(n) if !n.as_str().is_empty() => n.into_string(),
        Ok(_) => {
            errors.add("name", "姓名：请填写（不超过32个字）");
            String::new()
        }
        Err(e) => {
            errors.add("name", format!("姓名：{e}"));
            String::new()
        }
    };
    let phone = Phone::parse(&form.phone).map_err(|e| errors.add("phone", format!("手机号：{e}")));
    let body = match FreeText::parse(&form.body, 1000) {
        Ok(b) if b.as_str().chars().count() >= 5 => b.as_str().to_owned(),
        Ok(_) => {
            errors.add("body", "异议内容：请写明问题（5到1000字）");
            String::new()
        }
        Err(e) => {
            errors.add("body", format!("异议内容：{e}"));
            String::new()
        }
    };
    if !(16..=128).contains(&form.form_key.len()) {
        errors.add("form_key", "表单已失效，请重新提交");
    }
    match phone {
        Ok(phone) if errors.is_empty() => Ok((name, phone, body)),
        _ => Err(errors),
    }
}

async fn record_objection(
    state: &AppState,
    (ip, quota): (&str, &str),
    form: &ObjectionForm,
    org_code: String,
    roster_id: Option<i64>,
    programme_id: Option<i64>,
) -> Result<Response, AppError> {
    let (name, phone, body) = parse_objector(form).map_err(|e| AppError::invalid(e.first().to_owned()))?;
    if let Some(existing) = state.store().find_objection_by_submit_key(&form.form_key).await? {
        return Ok(see_other(&format!("/objections/{}", existing.code)));
    }
    let now = state.now();
    if state.store().rate_event("objection", quota, now - 3600, now).await? >= OBJECTIONS_PER_CLIENT {
        return Err(AppError::Throttled("提交过于频繁，请1小时后再试"));
    }
    let masked = phone.masked();
    let filing = objections::Filing {
        form_key: form.form_key.clone(),
        org_code: org_code.clone(),
        roster_id,
        entry_id: form.entry,
        programme_id,
        name,
        phone,
        body,
    };
    let code = match objections::file(state, filing, now).await? {
        objections::Filed::New(code) => code,
        objections::Filed::Repeat(code) => return Ok(see_other(&format!("/objections/{code}"))),
    };
    state
        .audit(NewAuditEntry {
            at: now,
            actor_id: None,
            actor_name: "公众".into(),
            action: "objection.create".into(),
            target: format!("objection:{code}"),
            detail: format!("提交异议（手机 {masked}）"),
            ip: ip.to_owned(),
            org_code: Some(org_code),
        })
        .await?;
    Ok(see_other(&format!("/objections/{code}?new=1")))
}

async fn roster_objection(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<ObjectionForm>,
) -> Result<Response, AppError> {
    let (roster, status) = public_roster(&state, id).await?;
    if status != RosterStatus::Published {
        return Err(AppError::invalid("该花名册已撤回或已有新版本，请对最新版本提出异议"));
    }
    if let Some(entry) = form.entry {
        state.store().find_entry(id, entry).await?.ok_or(AppError::NotFound)?;
    }
    if let Err(errors) = parse_objector(&form) {
        let q = EntryQuery { entry: form.entry, ledger: None };
        return roster_objection_page(&state, csrf, &roster, &q).await?.again(&form, errors);
    }
    record_objection(&state, (&ip, &quota), &form, roster.org_code, Some(id), Some(roster.programme_id)).await
}

#[derive(Deserialize)]
struct GeneralQuery {
    programme: Option<i64>,
    #[serde(default)]
    village: String,
    #[serde(default)]
    years: String,
}

async fn general_objection_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<GeneralQuery>,
) -> Result<Html<String>, AppError> {
    Ok(Html(general_objection_page(&state, csrf, &q).await?.render()?))
}

/// The form for reporting a programme's missing years found by a self-query.
async fn general_objection_page(
    state: &AppState,
    csrf: String,
    q: &GeneralQuery,
) -> Result<ObjectionFormPage, AppError> {
    let programme = match q.programme {
        Some(id) => state.store().find_programme(id).await?,
        None => None,
    };
    let village = state.org(&q.village).await?.ok_or(AppError::NotFound)?;
    let years: String =
        q.years.chars().filter(|c| c.is_ascii_digit() || *c == '–' || *c == '-' || *c == '、').take(60).collect();
    let body = match &programme {
        Some(p) if !years.is_empty() => format!("我在自助查询中发现{}{years}年未见发放记录，请核实。", p.name),
        _ => String::new(),
    };
    let mut hidden = vec![("village", village.code.clone())];
    if let Some(p) = &programme {
        hidden.push(("programme", p.id.to_string()));
    }
    Ok(ObjectionFormPage {
        csrf,
        form_key: random_token(),
        action: "/objections/new".into(),
        heading: "反映问题".into(),
        context: format!(
            "{}{}",
            village.display_name(),
            programme.map(|p| format!(" · {}", p.name)).unwrap_or_default()
        ),
        body,
        back: format!("/t/{}/self-query", village.parent_code.clone().unwrap_or_default()),
        hidden,
        name: String::new(),
        phone: String::new(),
        errors: FieldErrors::new(),
    })
}

async fn general_objection(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    QuotaKey(quota): QuotaKey,
    CsrfToken(csrf): CsrfToken,
    Form(form): Form<ObjectionForm>,
) -> Result<Response, AppError> {
    let village = state
        .store()
        .find_org(&form.village)
        .await?
        .ok_or_else(|| AppError::invalid("村（社区）：请从查询结果页进入"))?;
    let programme = match form.programme {
        Some(id) => Some(state.store().find_programme(id).await?.ok_or(AppError::NotFound)?.id),
        None => None,
    };
    if let Err(errors) = parse_objector(&form) {
        let q = GeneralQuery { programme, village: village.code, years: String::new() };
        return general_objection_page(&state, csrf, &q).await?.again(&form, errors);
    }
    record_objection(&state, (&ip, &quota), &form, village.code, None, programme).await
}

#[derive(Template)]
#[template(path = "objection_status.html")]
struct ObjectionStatusPage {
    code: String,
    csrf: String,
    is_new: bool,
    status: &'static str,
    body: String,
    reply: String,
    created: String,
    due: String,
    deadline_basis: String,
    clock: &'static str,
    rateable: bool,
    ratings: [Satisfaction; 3],
    rating_label: &'static str,
    rating_comment: String,
    events: Vec<PublicEvent>,
    roster_id: Option<i64>,
}

#[derive(Deserialize)]
struct StatusQuery {
    #[serde(default)]
    new: String,
}

/// The objection behind a typed code, counted against the client's lookups.
async fn looked_up(state: &AppState, ip: &str, code: &str) -> Result<xiaowei_store::Objection, AppError> {
    let now = state.now();
    let quotas = [Quota { kind: "objection_lookup", key: ip, limit: OBJECTION_LOOKUPS_PER_CLIENT }];
    if state.lookups(&quotas, now - QUERY_WINDOW, now).await?.is_some() {
        return Err(AppError::Throttled("查询过于频繁，请10分钟后再试"));
    }
    let code = code.trim().to_uppercase();
    state.store().find_objection_by_code(&code).await?.ok_or(AppError::NotFound)
}

async fn objection_status(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, AppError> {
    let o = looked_up(&state, &ip, &code).await?;
    let status = o.status;
    let rating = objections::rating_of(&o);
    let events = state
        .store()
        .events(RequestKind::Objection, o.id)
        .await?
        .into_iter()
        .filter_map(|e| PublicEvent::shown(e.public, e.at, e.actor, e.note))
        .collect();
    let page = ObjectionStatusPage {
        is_new: q.new == "1",
        csrf,
        status: objections::status_label(&o),
        clock: if status.is_open() { ClockState::at(o.reply_due, o.reply_remind_at, state.now()).label() } else { "" },
        rateable: status == ObjectionStatus::Closed && rating.is_none(),
        ratings: Satisfaction::ALL,
        rating_label: rating.map_or("", Satisfaction::label),
        rating_comment: o.rating_comment.clone().unwrap_or_default(),
        body: o.body,
        reply: o.reply.unwrap_or_default(),
        created: shanghai_time(o.created_at),
        due: shanghai_time(o.reply_due),
        deadline_basis: o.deadline_basis,
        events,
        roster_id: o.roster_id,
        code: o.code,
    };
    // The page carries the objector's own words: keep it out of shared caches.
    Ok(private_page(page.render()?))
}

async fn rate_objection(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    Form(form): Form<RateForm>,
) -> Result<Response, AppError> {
    let o = looked_up(&state, &ip, &code).await?;
    let rating = form.rating()?;
    objections::rate(&state, &o, &rating, state.now()).await?;
    Ok(see_other(&format!("/objections/{}", o.code)))
}

#[derive(Deserialize)]
struct FindQuery {
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "objection_lookup.html")]
struct LookupPage {
    /// What was typed, kept in the box when it found nothing.
    code: String,
    /// Why nothing was shown, if a code was typed.
    error: &'static str,
}

/// The 查询码 form, or the objection it names; a code that names none shows the form again
/// with the code kept and a message (counted against the same lookup quota as the status page).
async fn find_objection(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<FindQuery>,
) -> Result<Response, AppError> {
    let code: String = q.code.chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>().to_uppercase();
    if code.is_empty() {
        return Ok(Html(LookupPage { code, error: "" }.render()?).into_response());
    }
    match looked_up(&state, &ip, &code).await {
        Ok(o) => Ok(see_other(&format!("/objections/{}", o.code))),
        Err(AppError::NotFound) => {
            let page = LookupPage {
                code,
                error: "未找到这个查询码，请核对后重新输入（查询码在提交异议后的页面和短信中）",
            };
            Ok((StatusCode::NOT_FOUND, Html(page.render()?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "self_query.html")]
struct SelfQueryPage {
    county_name: String,
    township_code: String,
    township_name: String,
    csrf: String,
    /// What was typed, kept when the form comes back with errors.
    name: String,
    id_number: String,
    household: bool,
    errors: FieldErrors,
}

async fn self_query_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(township_code): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    // A hall terminal takes the ID on its on-screen keypad instead.
    if crate::public::kiosk::is_terminal(&state, &headers).await? {
        return Ok(see_other("/kiosk/self-query"));
    }
    let township = township_of(&state, &township_code).await?;
    let visit = visits::tag(&township.code, Menu::SelfQuery);
    let page = SelfQueryPage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        csrf,
        name: String::new(),
        id_number: String::new(),
        household: false,
        errors: FieldErrors::new(),
    };
    Ok((visit, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct SelfQueryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    household: String,
}

struct PaymentRow {
    roster_id: i64,
    year: i64,
    programme: String,
    phase: &'static str,
    amount: String,
    date: String,
    place: String,
}

/// Years of one recurring programme in one village with no payment record for a person.
pub struct Gap {
    pub programme_id: i64,
    pub programme: String,
    pub village: String,
    pub years: YearRange,
}

/// A recurring programme's paid years for one person in one village: name, last year, years.
type PaidYears = (String, Option<i64>, BTreeSet<i32>);

struct HouseholdRow {
    name: String,
    year: i64,
    programme: String,
    amount: String,
    roster_id: i64,
}

#[derive(Template)]
#[template(path = "self_query_result.html")]
struct SelfQueryResultPage {
    county_name: String,
    township_code: String,
    township_name: String,
    again_url: String,
    name: String,
    id_masked: String,
    payments: Vec<PaymentRow>,
    total_paid: String,
    gaps: Vec<Gap>,
    household: Vec<HouseholdRow>,
    asked_household: bool,
    listen: Listen,
}

/// What a self-query finds for one person: the published entries under their name, the names
/// of the villages involved, and the unpaid years of their recurring programmes.
pub struct PersonRecords {
    pub entries: Vec<PersonEntry>,
    pub places: BTreeMap<String, String>,
    pub gaps: Vec<Gap>,
}

/// The reads of a self-query, shared by the page and the benchmark. A name that does not match
/// the ID's entries finds nothing, exactly like an ID with no records.
/// `id_idxs`: the ID's blind index under each key in use (two during a key rotation).
pub async fn person_records(store: &Store, id_idxs: &[String], name: &str) -> Result<PersonRecords, AppError> {
    let entries: Vec<PersonEntry> =
        store.entries_for_person_indexes(id_idxs).await?.into_iter().filter(|e| e.name == name).collect();
    let places: BTreeMap<String, String> =
        entries.iter().map(|e| (e.org_code.clone(), xiaowei_core::org::display_name(&e.org_name).to_owned())).collect();
    // Unpaid years of recurring programmes, per programme and village.
    let mut paid_years: BTreeMap<(i64, String), PaidYears> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.recurring && e.phase == Phase::Paid) {
        let slot = paid_years
            .entry((e.programme_id, e.org_code.clone()))
            .or_insert_with(|| (e.programme_name.clone(), e.to_year, BTreeSet::new()));
        slot.2.insert(i32::try_from(e.year).unwrap_or_default());
    }
    let keys: Vec<(i64, String)> = paid_years.keys().cloned().collect();
    let last_years: BTreeMap<(i64, String), i64> =
        store.last_paid_years(&keys).await?.into_iter().map(|(p, o, y)| ((p, o), y)).collect();
    let mut gaps = Vec::new();
    for ((programme_id, org_code), (programme, to_year, years)) in paid_years {
        let Some(&last) = last_years.get(&(programme_id, org_code.clone())) else { continue };
        let last = to_year.map_or(last, |t| t.min(last));
        for range in unpaid_years(&years, i32::try_from(last).unwrap_or_default()) {
            gaps.push(Gap { programme_id, programme: programme.clone(), village: org_code.clone(), years: range });
        }
    }
    Ok(PersonRecords { entries, places, gaps })
}

async fn self_query(
    State(state): State<AppState>,
    QuotaKey(quota): QuotaKey,
    CsrfToken(csrf): CsrfToken,
    Path(township_code): Path<String>,
    headers: axum::http::HeaderMap,
    Form(form): Form<SelfQueryForm>,
) -> Result<Response, AppError> {
    let name = xiaowei_core::text::compact(&form.name);
    let id = ResidentId::parse(&form.id_number).ok();
    let input = SelfQueryInput { name: form.name, id_number: form.id_number, household: form.household == "1" };
    if let Err(errors) = check_self_query(&input) {
        let township = township_of(&state, &township_code).await?;
        let page = SelfQueryPage {
            county_name: county_name(&state).await?,
            township_name: township.display_name().to_owned(),
            township_code: township.code,
            csrf,
            name: input.name,
            id_number: input.id_number,
            household: input.household,
            errors,
        };
        return Ok(form::returned(page.render()?));
    }
    let via =
        QueryVia { client: quota, actor: "公众".to_owned(), again_url: format!("/t/{township_code}/self-query") };
    let answer = answer_self_query(&state, &township_code, input, via).await?;
    // A proven phone whose owner found themselves: their household is reached by the platform.
    if let Some(id) = id
        && answer.status().is_success()
        && crate::public::phones::proven(&state, &headers).await?.is_some()
    {
        crate::app::phones::mark_household(&state, &name, &id, &township_code, state.now()).await?;
    }
    Ok(answer)
}

/// What a villager typed into a self-query.
pub struct SelfQueryInput {
    pub name: String,
    pub id_number: String,
    /// Also list the payments to other members of the same account (一卡通).
    pub household: bool,
}

/// Where a self-query came from: the rate-limit key of the client (an address, or a hall
/// terminal), the actor named in the audit log, and where "重新查询" leads.
pub struct QueryVia {
    pub client: String,
    pub actor: String,
    pub again_url: String,
}

/// The name and ID of a self-query, or the message for each field that is wrong.
pub(crate) fn check_self_query(form: &SelfQueryInput) -> Result<(String, ResidentId), FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = xiaowei_core::text::compact(&form.name);
    if name.is_empty() || name.chars().count() > 32 {
        errors.add("name", "姓名：请填写本人姓名");
    }
    let id = ResidentId::parse(&form.id_number).map_err(|e| errors.add("id_number", format!("身份证号：{e}")));
    match id {
        Ok(id) if errors.is_empty() => Ok((name, id)),
        _ => Err(errors),
    }
}

/// A self-query's payments for listening: the unpaid years first, as the page shows them, then
/// the total and a sentence for each record.
fn speak_payments(listen: &mut Listen, entries: &[PersonEntry], gaps: &[Gap], total: i64) {
    if entries.is_empty() {
        listen.say(
            "未查询到发放记录。请核对姓名和身份证号是否与户口簿一致；如认为应当享受而未享受补贴，请联系本村或乡镇",
        );
        return;
    }
    if !gaps.is_empty() {
        listen.say("以下年度未见发放记录：");
        for g in gaps {
            listen.say(format!("{}，{}，共{}年", g.programme, g.years, g.years.len()));
        }
        listen.say("可点“反映问题”，由乡镇核实答复");
    }
    listen.say(format!("共{}条记录，已发放合计{}", entries.len(), spoken::amount(total)));
    for e in entries {
        let (phase, date) = if e.phase == Phase::Paid {
            ("已发放", e.paid_on.clone().unwrap_or_default())
        } else {
            ("拟发放，正在公示", e.published_at.map(shanghai_time).unwrap_or_default())
        };
        listen.say(format!(
            "{}，{}，{}，{phase}，{date}",
            spoken::year(e.year),
            e.programme_name,
            spoken::amount(e.amount_fen)
        ));
    }
}

/// Answers a self-query, for the phone page and the hall terminal alike (a terminal never sees
/// more than a phone). The answer is `no-store`: no cache keeps a person's payments.
pub async fn answer_self_query(
    state: &AppState,
    township_code: &str,
    form: SelfQueryInput,
    via: QueryVia,
) -> Result<Response, AppError> {
    let ip = via.client;
    let township = township_of(state, township_code).await?;
    let (name, id) = check_self_query(&form).map_err(|e| AppError::invalid(e.first().to_owned()))?;
    let id_idxs = state.cipher().blind_indexes(ID_PURPOSE, id.expose());
    let id_idx = state.cipher().blind_index(ID_PURPOSE, id.expose());
    let now = state.now();
    let store = state.store();
    let quotas = [
        Quota { kind: "self_query_client", key: &ip, limit: QUERIES_PER_CLIENT },
        Quota { kind: "self_query_id", key: &id_idx, limit: QUERIES_PER_ID },
    ];
    match state.lookups(&quotas, now - QUERY_WINDOW, now).await? {
        Some(0) => return Err(AppError::Throttled("查询过于频繁，请10分钟后再试")),
        Some(_) => return Err(AppError::Throttled("该身份证号查询过于频繁，请10分钟后再试")),
        None => {}
    }
    let found = person_records(store, &id_idxs, &name).await?;
    let entries = found.entries;
    let asked_household = form.household;
    let place_of = |code: &str| found.places.get(code).cloned().unwrap_or_default();
    let mut listen = Listen::new();
    listen.say(format!("{name}的补贴记录，{}", spoken::masked_id(&id.masked())));
    let mut total: i64 = 0;
    let payments: Vec<PaymentRow> = entries
        .iter()
        .map(|e| {
            let paid = e.phase == Phase::Paid;
            if paid {
                total += e.amount_fen;
            }
            PaymentRow {
                roster_id: e.roster_id,
                year: e.year,
                programme: e.programme_name.clone(),
                phase: if paid { "已发放" } else { "拟发放（公示）" },
                amount: Fen::new(e.amount_fen).unwrap_or_default().to_string(),
                date: e.paid_on.clone().unwrap_or_else(|| e.published_at.map(shanghai_time).unwrap_or_default()),
                place: place_of(&e.org_code),
            }
        })
        .collect();
    let gaps = found.gaps;
    speak_payments(&mut listen, &entries, &gaps, total);
    let mut household = Vec::new();
    if asked_household {
        let accounts: BTreeSet<&str> = entries.iter().filter_map(|e| e.account_idx.as_deref()).collect();
        let own: BTreeSet<i64> = entries.iter().map(|e| e.entry_id).collect();
        for account in accounts {
            for e in store.entries_for_account(account).await? {
                if !own.contains(&e.entry_id) && e.phase == Phase::Paid {
                    listen.say(format!(
                        "家庭成员{}，{}，{}，{}",
                        e.name,
                        spoken::year(e.year),
                        e.programme_name,
                        spoken::amount(e.amount_fen)
                    ));
                    household.push(HouseholdRow {
                        name: e.name,
                        year: e.year,
                        programme: e.programme_name,
                        amount: Fen::new(e.amount_fen).unwrap_or_default().to_string(),
                        roster_id: e.roster_id,
                    });
                }
            }
        }
    }
    state.journal().audit(NewAuditEntry {
        at: now,
        actor_id: None,
        actor_name: via.actor,
        action: "self_query".into(),
        target: format!("person:{}", &id_idx[..16]),
        detail: format!("自助查询 {}，{} 条记录", id.masked(), payments.len()),
        ip,
        org_code: Some(township.code.clone()),
    });
    let page = SelfQueryResultPage {
        county_name: county_name(state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        again_url: via.again_url,
        name,
        id_masked: id.masked(),
        payments,
        total_paid: Fen::new(total).unwrap_or_default().to_string(),
        gaps,
        household,
        asked_household,
        listen,
    };
    Ok(private_page(page.render()?))
}
