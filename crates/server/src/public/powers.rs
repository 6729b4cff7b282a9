//! The public 小微权力 pages: the power catalogue that applies in a township or village, each
//! item with its basis, materials, procedure flowchart and risk points, and each published
//! 权力运行记录 as a timeline against its procedure, with late and skipped steps flagged in
//! words as well as colour. Drafts are never shown here.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::Menu;
use xiaowei_core::power::{self, PowerCategory, RecordedStep, StepState};
use xiaowei_store::{PowerDocument, PowerExercise, PowerItem, Store};

use crate::state::AppState;
use crate::state::visits::{self, Visit};
use crate::web::dates::shanghai_date;
use crate::web::error::AppError;
use crate::web::page_cache::{SHARED, Shared};
use crate::web::places::place_name;
use crate::web::places::{county_name, org_of_level};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/powers", get(catalogue))
        .route("/powers/{item}", get(item_page))
        .route("/power-records/{record}", get(record_page))
        .route("/power-records/{record}/documents/{document}", get(document))
}

/// A catalogue item as a list line.
pub(crate) struct ItemLink {
    pub id: i64,
    pub name: String,
    pub days: i64,
    /// "本村事项" / "本乡镇事项" for local items, empty for county items.
    pub local: &'static str,
}

/// A category heading with its items.
pub(crate) struct CategoryGroup {
    pub kind: &'static str,
    pub label: &'static str,
    pub items: Vec<ItemLink>,
}

/// Groups items by category, public powers first; an unknown category is kept under its code.
pub(crate) fn group_items(items: Vec<PowerItem>) -> Vec<CategoryGroup> {
    let mut groups: Vec<(PowerCategory, Vec<ItemLink>)> = Vec::new();
    for item in items {
        let category = item.category;
        let local = match item.org_code.len() {
            6 => "",
            9 => "乡镇事项",
            _ => "本村事项",
        };
        let link = ItemLink { id: item.id, name: item.name, days: item.total_days, local };
        match groups.iter_mut().find(|(c, _)| *c == category) {
            Some((_, list)) => list.push(link),
            None => groups.push((category, vec![link])),
        }
    }
    groups.sort_by_key(|(c, _)| *c);
    groups.into_iter().map(|(c, items)| CategoryGroup { kind: c.kind().label(), label: c.label(), items }).collect()
}

/// A published exercise as a list line, with its flagged steps counted.
pub(crate) struct RecordLink {
    pub id: i64,
    pub title: String,
    pub place: String,
    pub started_on: String,
    pub flagged: usize,
    pub status: &'static str,
}

/// One procedure step of an exercise's timeline.
pub(crate) struct TimelineStep {
    pub no: usize,
    pub actor: String,
    pub action: String,
    pub limit_days: u16,
    pub state_label: &'static str,
    pub class: &'static str,
    pub flagged: bool,
    /// What happened, in words: the date and days taken, or the due date.
    pub when: String,
    pub who: String,
    pub what: String,
    pub decision: String,
    pub documents: Vec<(i64, String)>,
}

/// The timeline of an exercise against its item's procedure.
pub(crate) async fn timeline(
    store: &Store,
    exercise: &PowerExercise,
    today: power::Date,
) -> Result<Vec<TimelineStep>, AppError> {
    let steps = store.power_item_steps(exercise.item_id).await?;
    let records = store.power_step_records(exercise.id).await?;
    let documents = store.power_documents(exercise.id).await?;
    let start = power::parse_day(&exercise.started_on).unwrap_or(today);
    let recorded: Vec<RecordedStep> = records
        .iter()
        .filter_map(|r| {
            Some(RecordedStep { step_no: usize::try_from(r.step_no).ok()?, done_on: power::parse_day(&r.done_on)? })
        })
        .collect();
    let limits: Vec<u16> = steps.iter().map(|s| s.limit_days).collect();
    let states = power::evaluate(&limits, start, &recorded, today);
    Ok(steps
        .into_iter()
        .zip(states)
        .enumerate()
        .map(|(i, (step, state))| {
            let record = records.iter().find(|r| r.step_no == i as i64 + 1);
            let when = match state {
                StepState::OnTime { done_on, days } => format!("{done_on} 办理，用时{days}天"),
                StepState::Late { done_on, days, limit } => {
                    format!("{done_on} 办理，用时{days}天，超出时限{}天", days - i32::from(limit))
                }
                StepState::Skipped => "未办理此步骤即进入后续步骤".to_owned(),
                StepState::Pending { due } => format!("应于 {due} 前办理"),
                StepState::Overdue { due } => format!("应于 {due} 前办理，已逾期"),
                StepState::NotReached => String::new(),
            };
            TimelineStep {
                no: i + 1,
                actor: step.actor,
                action: step.action,
                limit_days: step.limit_days,
                state_label: state.label(),
                class: state.class(),
                flagged: state.is_flagged(),
                when,
                who: record.map(|r| r.actor_name.clone()).unwrap_or_default(),
                what: record.map(|r| r.action.clone()).unwrap_or_default(),
                decision: record.map(|r| r.decision.clone()).unwrap_or_default(),
                documents: record
                    .map(|r| {
                        documents
                            .iter()
                            .filter(|d| d.step_id == Some(r.id))
                            .map(|d| (d.id, d.original_name.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect())
}

/// Documents of an exercise not tied to one step.
pub(crate) fn loose_documents(documents: &[PowerDocument]) -> Vec<(i64, String)> {
    documents.iter().filter(|d| d.step_id.is_none()).map(|d| (d.id, d.original_name.clone())).collect()
}

/// List lines for exercises, with flagged steps counted on `today` (read for all of them at once).
pub(crate) async fn record_links(
    state: &AppState,
    exercises: Vec<PowerExercise>,
    today: power::Date,
) -> Result<Vec<RecordLink>, AppError> {
    let flagged = state.store().power_flagged_steps(&exercises, today).await?;
    let mut links = Vec::with_capacity(exercises.len());
    for (e, flagged) in exercises.into_iter().zip(flagged) {
        links.push(RecordLink {
            id: e.id,
            place: place_name(state, &e.org_code).await?,
            title: e.title,
            started_on: e.started_on,
            flagged,
            status: e.status.label(),
        });
    }
    Ok(links)
}

#[derive(Deserialize)]
struct PlaceQuery {
    village: Option<String>,
}

#[derive(Template)]
#[template(path = "powers.html")]
struct CataloguePage {
    county_name: String,
    township_code: String,
    township_name: String,
    village_code: String,
    place_name: String,
    groups: Vec<CategoryGroup>,
    records: Vec<RecordLink>,
    villages: Vec<(String, String)>,
}

async fn catalogue(
    State(state): State<AppState>,
    Path(township_code): Path<String>,
    Query(q): Query<PlaceQuery>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let store = state.store();
    let township = org_of_level(&state, &township_code, OrgLevel::Township).await?;
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
    let place = village.as_ref().unwrap_or(&township);
    let visit = visits::tag(&place.code, Menu::Powers);
    let today = shanghai_date(state.now());
    let exercises = store.power_exercises_within(&place.code, true, 100).await?;
    let villages = if village.is_none() {
        store.child_orgs(&township.code).await?.into_iter().map(|v| (v.display_name().to_owned(), v.code)).collect()
    } else {
        Vec::new()
    };
    let page = CataloguePage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code.clone(),
        village_code: village.as_ref().map(|v| v.code.clone()).unwrap_or_default(),
        place_name: place.display_name().to_owned(),
        groups: group_items(store.power_items_for(&place.code).await?),
        records: record_links(&state, exercises, today).await?,
        villages: villages.into_iter().map(|(name, code)| (code, name)).collect(),
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

/// An item with everything its pages show.
pub(crate) struct ItemView {
    pub id: i64,
    pub name: String,
    pub category: &'static str,
    pub kind: &'static str,
    pub scope: String,
    pub basis: String,
    pub materials: Vec<String>,
    pub responsible: String,
    pub total_days: i64,
    pub steps: Vec<xiaowei_core::power::ProcedureStep>,
    pub risks: Vec<xiaowei_core::power::RiskPoint>,
    /// 责任清单, in step order.
    pub duties: Vec<xiaowei_core::power_lists::Duty>,
    /// 追责清单.
    pub accountability: Vec<xiaowei_core::power_lists::Accountability>,
    pub flowchart: String,
    pub version: i64,
}

pub(crate) async fn item_view(state: &AppState, item: PowerItem) -> Result<ItemView, AppError> {
    let store = state.store();
    let steps = store.power_item_steps(item.id).await?;
    let category = item.category;
    let scope = match item.org_code.len() {
        6 => "全县通用".to_owned(),
        _ => format!("{}适用", place_name(state, &item.org_code).await?),
    };
    Ok(ItemView {
        id: item.id,
        flowchart: power::flowchart_svg(&item.name, &steps),
        category: category.label(),
        kind: category.kind().label(),
        scope,
        materials: item.materials.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        risks: store.power_item_risks(item.id).await?,
        duties: store.power_item_duties(item.id).await?,
        accountability: store.power_item_accountability(item.id).await?,
        version: item.version,
        name: item.name,
        basis: item.basis,
        responsible: item.responsible,
        total_days: item.total_days,
        steps,
    })
}

#[derive(Template)]
#[template(path = "power_item.html")]
struct ItemPage {
    county_name: String,
    back: String,
    item: ItemView,
    records: Vec<RecordLink>,
}

async fn item_page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PlaceQuery>,
) -> Result<(Extension<Shared>, Html<String>), AppError> {
    let store = state.store();
    let item = store.find_power_item(id).await?.ok_or(AppError::NotFound)?;
    let place = match q.village.filter(|v| v.len() == 12 && v.chars().all(|c| c.is_ascii_digit())) {
        Some(code) => org_of_level(&state, &code, OrgLevel::Village).await?.code,
        None => item.org_code.clone(),
    };
    let back = match place.len() {
        12 => format!("/t/{}/powers?village={place}", &place[..9]),
        9 => format!("/t/{place}/powers"),
        _ => "/".to_owned(),
    };
    let exercises = store.public_exercises_of_item(id, &place).await?;
    let page = ItemPage {
        county_name: county_name(&state).await?,
        back,
        records: record_links(&state, exercises, shanghai_date(state.now())).await?,
        item: item_view(&state, item).await?,
    };
    Ok((SHARED, Html(page.render()?)))
}

#[derive(Template)]
#[template(path = "power_record.html")]
struct RecordPage {
    ledger: Option<crate::public::ledger::LeafBadge>,
    county_name: String,
    back: String,
    title: String,
    place: String,
    item_id: i64,
    item_name: String,
    started_on: String,
    steps: Vec<TimelineStep>,
    flagged: usize,
    documents: Vec<(i64, String)>,
    doc_base: String,
}

async fn published(state: &AppState, id: i64) -> Result<PowerExercise, AppError> {
    match state.store().find_power_exercise(id).await? {
        Some(e) if e.is_published() => Ok(e),
        _ => Err(AppError::NotFound),
    }
}

async fn record_page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let store = state.store();
    let exercise = published(&state, id).await?;
    let visit = visits::tag(&exercise.org_code, Menu::Powers);
    let steps = timeline(store, &exercise, shanghai_date(state.now())).await?;
    let back = match exercise.org_code.len() {
        12 => format!("/t/{}/powers?village={}", &exercise.org_code[..9], exercise.org_code),
        _ => format!("/t/{}/powers", &exercise.org_code[..exercise.org_code.len().min(9)]),
    };
    let page = RecordPage {
        ledger: crate::public::ledger::badge(&state, "power_exercise", id).await?,
        county_name: county_name(&state).await?,
        back,
        place: place_name(&state, &exercise.org_code).await?,
        flagged: steps.iter().filter(|s| s.flagged).count(),
        documents: loose_documents(&store.power_documents(id).await?),
        doc_base: format!("/power-records/{id}/documents"),
        steps,
        title: exercise.title,
        item_id: exercise.item_id,
        item_name: exercise.item_name,
        started_on: exercise.started_on,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

async fn document(State(state): State<AppState>, Path((id, doc)): Path<(i64, i64)>) -> Result<Response, AppError> {
    published(&state, id).await?;
    let d = state.store().find_power_document(doc).await?.filter(|d| d.exercise_id == id).ok_or(AppError::NotFound)?;
    crate::web::respond::document_response(&state, d, true).await
}
