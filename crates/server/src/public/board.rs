//! 办件公开: the public board of service cases (办件) and messages (留言), as open as a 12345
//! hotline's public board and as anonymous: each row shows the item or kind of message, the
//! village, the department, the dates, the status, whether it was on time and the rating —
//! never a name, a phone, a description, a reply or a tracking number, and never a report (举报).
//! Filters by township, village, kind, state and timeliness, 20 rows a page; beneath, the
//! satisfaction of each department and each township with its sample size.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::Rate;
use xiaowei_core::tracked::Satisfaction;
use xiaowei_store::{BoardFilter, BoardRow, FigureQuery, Filed};

use crate::state::AppState;
use crate::web::dates::shanghai_date;
use crate::web::error::AppError;
use crate::web::page_cache::{SHARED, Shared};
use crate::web::places::county_name;

/// Rows per page.
const PAGE_SIZE: i64 = 20;
/// The last page one may ask for (deeper pages are narrowed by filters instead).
const MAX_PAGE: i64 = 500;

pub fn router() -> Router<AppState> {
    Router::new().route("/board", get(board))
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    #[serde(default)]
    township: String,
    #[serde(default)]
    village: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    timely: String,
    page: Option<i64>,
}

struct Row {
    what: String,
    kind: &'static str,
    place: String,
    department: String,
    submitted: String,
    done: String,
    status: &'static str,
    timely: &'static str,
    late: bool,
    rating: &'static str,
}

struct SatisfactionRow {
    name: String,
    rate: Rate,
}

impl SatisfactionRow {
    fn label(&self) -> String {
        if self.rate.sample == 0 { "暂无评价".to_owned() } else { self.rate.percent_label() }
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    county_name: String,
    townships: Vec<(String, String)>,
    villages: Vec<(String, String)>,
    township: String,
    village: String,
    kind: String,
    state: String,
    timely: String,
    kinds: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    has_more: bool,
    query: String,
    departments: Vec<SatisfactionRow>,
    township_satisfaction: Vec<SatisfactionRow>,
}

/// Whether the work kept its clock: done by the deadline, done late, overdue, or not yet due.
fn timeliness(row: &BoardRow, now: i64) -> (&'static str, bool) {
    match row.done_at {
        Some(at) if at <= row.due_at => ("按时", false),
        Some(_) => ("超期", true),
        None if row.due_at <= now => ("已超期", true),
        None => ("未到期", false),
    }
}

async fn board(
    State(state): State<AppState>,
    Query(q): Query<BoardQuery>,
) -> Result<(Extension<Shared>, Html<String>), AppError> {
    let store = state.store();
    let now = state.now();
    let county = state.county().await?;
    let county_code = county.as_ref().map(|c| c.code.clone()).unwrap_or_default();
    let townships: Vec<(String, String)> = store
        .orgs_at_level(OrgLevel::Township)
        .await?
        .into_iter()
        .map(|t| (t.code.clone(), t.display_name().to_owned()))
        .collect();
    // Unknown places are ignored rather than refused: the filter falls back to the wider scope.
    let township = townships.iter().find(|t| t.0 == q.township.trim()).map(|t| t.0.clone()).unwrap_or_default();
    let villages: Vec<(String, String)> = if township.is_empty() {
        Vec::new()
    } else {
        store.child_orgs(&township).await?.into_iter().map(|v| (v.code.clone(), v.display_name().to_owned())).collect()
    };
    let village = villages.iter().find(|v| v.0 == q.village.trim()).map(|v| v.0.clone()).unwrap_or_default();
    let org_prefix =
        [&village, &township, &county_code].into_iter().find(|c| !c.is_empty()).cloned().unwrap_or_default();
    let kinds = vec![("case", "办件"), ("question", "咨询"), ("complaint", "投诉"), ("suggestion", "建议")];
    let kind = kinds.iter().find(|k| k.0 == q.kind).map(|k| k.0.to_owned()).unwrap_or_default();
    let done = match q.state.as_str() {
        "open" => Some(false),
        "done" => Some(true),
        _ => None,
    };
    let on_time = match q.timely.as_str() {
        "on_time" => Some(true),
        "late" => Some(false),
        _ => None,
    };
    let page = q.page.unwrap_or(1).clamp(1, MAX_PAGE);
    let filter = BoardFilter {
        org_prefix: org_prefix.clone(),
        kind: (!kind.is_empty()).then(|| kind.clone()),
        done,
        on_time,
        now,
    };
    let (found, total) = store.board(&filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let rows = found
        .iter()
        .map(|r| {
            let (timely, late) = timeliness(r, now);
            Row {
                what: match r.filed {
                    Filed::Case(_) => r.item_name.clone(),
                    Filed::Message(kind, _) => kind.label().to_owned(),
                },
                kind: if matches!(r.filed, Filed::Case(_)) { "办件" } else { "留言" },
                place: xiaowei_core::org::display_name(&r.org_name).to_owned(),
                department: r.department_name.clone(),
                submitted: shanghai_date(r.submitted_at).to_string(),
                done: r.done_at.map(|at| shanghai_date(at).to_string()).unwrap_or_default(),
                status: r.filed.label(),
                timely,
                late,
                rating: r.rating.map_or("", Satisfaction::label),
            }
        })
        .collect();
    let all_time = FigureQuery {
        prefix: county_code.clone(),
        from: 0,
        to: i64::MAX,
        from_day: "0000-01-01".into(),
        to_day: "9999-12-31".into(),
        now,
    };
    let departments = store
        .monitor_departments(&all_time)
        .await?
        .into_iter()
        .filter(|d| d.cases > 0 || d.rated > 0)
        .map(|d| SatisfactionRow { name: d.name, rate: Rate::new(d.satisfied, d.rated) })
        .collect();
    let ratings = store.monitor_ratings(&all_time).await?;
    let township_satisfaction = townships
        .iter()
        .map(|(code, name)| {
            let mine = ratings.iter().filter(|r| r.org_code.starts_with(code.as_str()));
            let rate = mine.fold(Rate::default(), |a, r| a + Rate::new(r.satisfied, r.rated));
            SatisfactionRow { name: name.clone(), rate }
        })
        .collect();
    let query = serde_urlencoded::to_string([
        ("township", township.as_str()),
        ("village", village.as_str()),
        ("kind", kind.as_str()),
        ("state", if done.is_some() { q.state.as_str() } else { "" }),
        ("timely", if on_time.is_some() { q.timely.as_str() } else { "" }),
    ])
    .unwrap_or_default();
    let page = BoardPage {
        county_name: county_name(&state).await?,
        has_more: page * PAGE_SIZE < total,
        townships,
        villages,
        township,
        village,
        kind,
        state: if done.is_some() { q.state } else { String::new() },
        timely: if on_time.is_some() { q.timely } else { String::new() },
        kinds,
        rows,
        total,
        page,
        query,
        departments,
        township_satisfaction,
    };
    Ok((SHARED, Html(page.render()?)))
}
