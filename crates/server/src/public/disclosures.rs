//! The public 公示公开 pages: a township's or village's disclosures by category, with when each
//! required kind was last published and the 未按时公开 mark for finance; one disclosure with its
//! safely rendered text, finance table and totals, files, every public version and the changes
//! from its predecessor. Drafts and their files are never served here.
//!
//! ## Publication: powers, disclosures, search
//!
//! The county defines the micro-power catalogue once (items whose org is the county apply in every
//! village); a township or village adds local items visible in its subtree. A power exercise record
//! is opened against an item and grows step by step; its public page evaluates the steps against the
//! item's procedure (calendar-day limits counted from the previous recorded step). Disclosures follow
//! the roster life exactly (same state machine, versions by lineage, compare-and-set), and a version's
//! page shows a line diff against its predecessor. Only public content enters the search index, and
//! roster recipients' names never do.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::disclosure::{Category, FinanceTotals, finance_overdue, signed_yuan};
use xiaowei_core::monitor::Menu;
use xiaowei_core::subsidy::RosterStatus;
use xiaowei_core::{OrgLevel, spoken};
use xiaowei_store::{Disclosure, FinanceLineRow, Store};

use crate::app::disclosure_text::{DiffHunk, line_diff, plain_paragraphs, render_markdown};
use crate::app::rosters::AttachmentView;
use crate::state::AppState;
use crate::state::visits::{self, Visit};
use crate::web::dates::shanghai_date;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::listen::Listen;
use crate::web::page_cache::{SHARED, Shared};
use crate::web::places::{county_name, org_of_level};

/// Disclosures listed per page of a place.
const LIST_LIMIT: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/disclosures", get(township_or_village))
        .route("/disclosures/{disclosure}", get(disclosure_page))
        .route("/disclosures/{disclosure}/files/{attachment}", get(file))
}

/// A public disclosure (published, superseded or withdrawn); anything else is "not found".
async fn public_disclosure(state: &AppState, id: i64) -> Result<(Disclosure, RosterStatus), AppError> {
    let d = state.store().find_disclosure(id).await?.ok_or(AppError::NotFound)?;
    let status = d.status;
    if status.is_public() { Ok((d, status)) } else { Err(AppError::NotFound) }
}

/// A disclosure in a list.
struct DisclosureLink {
    id: i64,
    title: String,
    category: &'static str,
    period: String,
    status: &'static str,
    version: i64,
    published: String,
}

impl DisclosureLink {
    fn from_row(d: &Disclosure) -> Self {
        let status = d.status;
        Self {
            id: d.id,
            title: d.title.clone(),
            category: d.category.label(),
            period: d.period_label.clone(),
            status: if status == RosterStatus::Published { "" } else { status.label() },
            version: d.version,
            published: d.published_at.map(date_of).unwrap_or_default(),
        }
    }
}

/// When a required kind was last published by a village.
struct LastDisclosed {
    category: &'static str,
    date: String,
}

/// A village of the township with its finance timeliness.
struct VillageStatus {
    code: String,
    name: String,
    last_finance: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "disclosures.html")]
struct PlacePage {
    county_name: String,
    township_code: String,
    township_name: String,
    village_code: String,
    place_name: String,
    categories: Vec<(&'static str, &'static str)>,
    category_filter: String,
    disclosures: Vec<DisclosureLink>,
    last_disclosed: Vec<LastDisclosed>,
    finance_overdue: bool,
    villages: Vec<VillageStatus>,
}

#[derive(Deserialize)]
struct PlaceQuery {
    village: Option<String>,
    category: Option<String>,
}

/// The date (Asia/Shanghai) of a publication time, as `2025-10-08`.
fn date_of(unix_seconds: i64) -> String {
    shanghai_date(unix_seconds).to_string()
}

async fn township_or_village(
    State(state): State<AppState>,
    Path(township_code): Path<String>,
    Query(q): Query<PlaceQuery>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = org_of_level(&state, &township_code, OrgLevel::Township).await?;
    let store = state.store();
    let village = match q.village.filter(|v| !v.is_empty()) {
        Some(code) => {
            let v = org_of_level(&state, &code, OrgLevel::Village).await?;
            if v.parent_code.as_deref() != Some(township.code.as_str()) {
                return Err(AppError::NotFound);
            }
            Some(v)
        }
        None => None,
    };
    let category = q.category.as_deref().and_then(Category::parse);
    let place = village.as_ref().unwrap_or(&township);
    let visit = visits::tag(&place.code, Menu::Disclosures);
    let today = shanghai_date(state.now());
    let disclosures = store
        .public_disclosures_of(&place.code, category, LIST_LIMIT)
        .await?
        .iter()
        .map(DisclosureLink::from_row)
        .collect();
    let (last_disclosed, overdue, villages) = match &village {
        Some(v) => {
            let last = store.last_disclosed_by_category(&v.code).await?;
            let when = |c: Category| last.iter().find(|(k, _)| *k == c).map(|(_, at)| *at);
            let rows = Category::REQUIRED
                .iter()
                .map(|c| LastDisclosed { category: c.label(), date: when(*c).map(date_of).unwrap_or_default() })
                .collect();
            let last_finance = when(Category::Finance).map(shanghai_date);
            (rows, finance_overdue(last_finance, today), Vec::new())
        }
        None => (Vec::new(), false, village_statuses(store, &township.code, today).await?),
    };
    let mut categories = vec![("", "全部")];
    categories.extend(Category::ALL.iter().map(|c| (c.as_str(), c.label())));
    let page = PlacePage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code.clone(),
        village_code: village.as_ref().map(|v| v.code.clone()).unwrap_or_default(),
        place_name: place.display_name().to_owned(),
        categories,
        category_filter: category.map(Category::as_str).unwrap_or_default().to_owned(),
        disclosures,
        last_disclosed,
        finance_overdue: overdue,
        villages,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

/// Every village of a township with its last finance disclosure and whether it is overdue.
async fn village_statuses(
    store: &Store,
    township: &str,
    today: jiff::civil::Date,
) -> Result<Vec<VillageStatus>, AppError> {
    Ok(store
        .village_finance_disclosures(township)
        .await?
        .into_iter()
        .map(|v| {
            let last = v.last_published_at.map(shanghai_date);
            VillageStatus {
                name: xiaowei_core::org::display_name(&v.name).to_owned(),
                code: v.code,
                last_finance: last.map(|d| d.to_string()).unwrap_or_default(),
                overdue: finance_overdue(last, today),
            }
        })
        .collect())
}

/// A finance line as pages show it.
pub struct LineView {
    pub row_no: i64,
    pub date: String,
    pub summary: String,
    pub income: String,
    pub expense: String,
    pub note: String,
}

impl From<FinanceLineRow> for LineView {
    fn from(l: FinanceLineRow) -> Self {
        let yuan = |fen: i64| if fen == 0 { String::new() } else { signed_yuan(fen) };
        Self {
            row_no: l.row_no,
            date: l.line_date.unwrap_or_default(),
            summary: l.summary,
            income: yuan(l.income_fen),
            expense: yuan(l.expense_fen),
            note: l.note.unwrap_or_default(),
        }
    }
}

/// 收入合计, 支出合计 and 结余 as shown under a finance table.
pub struct TotalsView {
    pub income: String,
    pub expense: String,
    pub balance: String,
}

impl TotalsView {
    pub fn of(d: &Disclosure) -> Self {
        let t = FinanceTotals { income: d.income_fen, expense: d.expense_fen };
        Self { income: signed_yuan(t.income), expense: signed_yuan(t.expense), balance: signed_yuan(t.balance()) }
    }
}

/// One version in a disclosure's history.
pub struct VersionView {
    pub id: i64,
    pub version: i64,
    pub status: &'static str,
    pub reason: String,
    pub published: String,
    pub current: bool,
}

/// The versions of a disclosure's lineage (public ones only, unless for staff), oldest first.
pub async fn versions(store: &Store, d: &Disclosure, public_only: bool) -> Result<Vec<VersionView>, AppError> {
    Ok(store
        .disclosure_versions(d.lineage_id.unwrap_or(d.id))
        .await?
        .into_iter()
        .filter_map(|v| {
            let status = v.status;
            (!public_only || status.is_public()).then(|| VersionView {
                id: v.id,
                version: v.version,
                status: status.label(),
                reason: v.correction_reason.clone().or_else(|| v.status_reason.clone()).unwrap_or_default(),
                published: v.published_at.map(shanghai_time).unwrap_or_default(),
                current: v.id == d.id,
            })
        })
        .collect())
}

/// The changes from the version a disclosure corrects: its number, the reason and the hunks.
pub struct ChangesView {
    pub from_id: i64,
    pub from_version: i64,
    pub reason: String,
    pub hunks: Vec<DiffHunk>,
    pub title_changed: Option<(String, String)>,
}

/// What changed since the corrected version, when there is one.
pub async fn changes(store: &Store, d: &Disclosure) -> Result<Option<ChangesView>, AppError> {
    let Some(old_id) = d.supersedes_id else { return Ok(None) };
    let Some(old) = store.find_disclosure(old_id).await? else { return Ok(None) };
    Ok(Some(ChangesView {
        from_id: old.id,
        from_version: old.version,
        reason: d.correction_reason.clone().unwrap_or_default(),
        hunks: line_diff(&old.body, &d.body),
        title_changed: (old.title != d.title).then(|| (old.title.clone(), d.title.clone())),
    }))
}

#[derive(Template)]
#[template(path = "disclosure_public.html")]
struct DisclosurePage {
    ledger: Option<crate::public::ledger::LeafBadge>,
    county_name: String,
    township_code: String,
    township_name: String,
    village_code: String,
    place_name: String,
    id: i64,
    title: String,
    category: &'static str,
    period: String,
    status: RosterStatus,
    status_reason: String,
    published: String,
    version: i64,
    body_html: String,
    is_finance: bool,
    lines: Vec<LineView>,
    totals: TotalsView,
    attachments: Vec<AttachmentView>,
    versions: Vec<VersionView>,
    newest_id: Option<i64>,
    changes: Option<ChangesView>,
    listen: Listen,
}

async fn disclosure_page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let (d, status) = public_disclosure(&state, id).await?;
    let store = state.store();
    let org = state.org(&d.org_code).await?.ok_or(AppError::NotFound)?;
    let visit = visits::tag(&org.code, Menu::Disclosures);
    let (township_code, village_code) = if org.level == OrgLevel::Township {
        (org.code.clone(), String::new())
    } else {
        (org.parent_code.clone().unwrap_or_default(), org.code.clone())
    };
    let township_name = crate::web::places::place_name(&state, &township_code).await?;
    let category = d.category;
    let versions = versions(store, &d, true).await?;
    let newest_id = versions.last().filter(|v| v.id != d.id).map(|v| v.id);
    let changes = match changes(store, &d).await? {
        // The predecessor of a public version is always public (it was published and superseded).
        Some(c) if public_disclosure(&state, c.from_id).await.is_ok() => Some(c),
        _ => None,
    };
    let lines = store.finance_lines(id).await?;
    let listen = disclosure_listen(&d, org.display_name(), &lines);
    let page = DisclosurePage {
        listen,
        ledger: crate::public::ledger::badge(&state, "disclosure", id).await?,
        county_name: county_name(&state).await?,
        township_name,
        township_code,
        village_code,
        place_name: org.display_name().to_owned(),
        id,
        title: d.title.clone(),
        category: category.label(),
        period: d.period_label.clone(),
        status,
        status_reason: d.status_reason.clone().unwrap_or_default(),
        published: d.published_at.map(shanghai_time).unwrap_or_default(),
        version: d.version,
        body_html: render_markdown(&d.body),
        is_finance: category.has_lines(),
        lines: lines.into_iter().map(LineView::from).collect(),
        totals: TotalsView::of(&d),
        attachments: store.attachments_of_disclosure(id).await?.into_iter().map(AttachmentView::from).collect(),
        versions,
        newest_id,
        changes,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

/// A disclosure for listening: its title, place and status, the body paragraph by paragraph, and
/// for finance each line and the totals, amounts in 元角分.
fn disclosure_listen(d: &Disclosure, place: &str, lines: &[FinanceLineRow]) -> Listen {
    let mut listen = Listen::new();
    listen.say(&d.title);
    match d.status {
        RosterStatus::Withdrawn => {
            listen.say(format!("已撤回。撤回原因：{}", d.status_reason.as_deref().unwrap_or_default()));
        }
        RosterStatus::Superseded => {
            listen.say("本版本已被更正，请查看最新版本");
        }
        _ => {}
    }
    listen.say(format!("{place}，{}，{}", d.category.label(), d.period_label));
    listen.say(format!("第{}版，公开时间：{}", d.version, d.published_at.map(shanghai_time).unwrap_or_default()));
    for paragraph in plain_paragraphs(&d.body) {
        listen.say(paragraph);
    }
    if d.category.has_lines() {
        if lines.is_empty() {
            listen.say("本期未列收支明细");
        } else {
            listen.say(format!("收支明细，共{}笔", lines.len()));
        }
        for l in lines {
            let mut sentence = format!("{}，{}", l.line_date.as_deref().unwrap_or_default(), l.summary);
            if l.income_fen != 0 {
                sentence.push_str(&format!("，收入{}", spoken::amount(l.income_fen)));
            }
            if l.expense_fen != 0 {
                sentence.push_str(&format!("，支出{}", spoken::amount(l.expense_fen)));
            }
            if let Some(note) = l.note.as_deref().filter(|n| !n.is_empty()) {
                sentence.push_str(&format!("，{note}"));
            }
            listen.say(sentence.trim_start_matches('，'));
        }
        let totals = FinanceTotals { income: d.income_fen, expense: d.expense_fen };
        listen.say(format!(
            "收入合计{}，支出合计{}，结余{}",
            spoken::amount(totals.income),
            spoken::amount(totals.expense),
            spoken::amount(totals.balance())
        ));
    }
    listen
}

/// A file of a public disclosure.
async fn file(State(state): State<AppState>, Path((id, attachment)): Path<(i64, i64)>) -> Result<Response, AppError> {
    public_disclosure(&state, id).await?;
    let a = state
        .store()
        .attachments_of_disclosure(id)
        .await?
        .into_iter()
        .find(|a| a.id == attachment)
        .ok_or(AppError::NotFound)?;
    crate::web::respond::attachment_response(&state, &a, true).await
}
