//! Search over everything published: keeping the index in step with publication (`index_*`,
//! `reindex_all`) and the public search page of each township. Only public content is indexed;
//! recipients' names are never indexed, so nobody can look a person up across the county.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::OrgLevel;
use xiaowei_search::{Fragment, highlight};
use xiaowei_store::{Roster, SearchDocument};

use crate::error::AppError;
use crate::rosters::{place_name, roster_title};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{township}/search", get(search_page))
}

/// Segments and stores one index entry.
pub async fn index(
    state: &AppState,
    kind: &str,
    ref_id: i64,
    org_code: &str,
    title: String,
    body: String,
    url: String,
) -> Result<(), AppError> {
    let segmenter = state.segmenter().await?;
    let document = SearchDocument {
        kind: kind.to_owned(),
        ref_id,
        org_code: org_code.to_owned(),
        title_terms: segmenter.index_terms(&title),
        terms: segmenter.index_terms(&body),
        title,
        body,
        url,
    };
    state.store().index_document(&document, state.now()).await?;
    Ok(())
}

/// Indexes a published roster by its title and its programme's policy basis.
pub async fn index_roster(state: &AppState, roster: &Roster) -> Result<(), AppError> {
    let place = place_name(state.store(), &roster.org_code).await?;
    let basis = state.store().find_programme(roster.programme_id).await?.map(|p| p.basis).unwrap_or_default();
    let title = roster_title(roster, &place);
    index(state, "roster", roster.id, &roster.org_code, title, basis, format!("/rosters/{}", roster.id)).await
}

/// Rebuilds the index entries of every published roster (after bulk loading, e.g. the demo).
pub async fn reindex_all(state: &AppState) -> Result<usize, AppError> {
    let mut count = 0;
    let county = state.store().county().await?.map(|c| c.code).unwrap_or_default();
    let mut offset = 0;
    loop {
        let batch = state.store().rosters_within(&county, Some("published"), 500, offset).await?;
        if batch.is_empty() {
            break;
        }
        offset += 500;
        for roster in &batch {
            index_roster(state, roster).await?;
            count += 1;
        }
    }
    Ok(count)
}

/// The words of each kind of result, as the page labels them.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "roster" => "惠农资金",
        "power" => "小微权力",
        "power_record" => "权力运行",
        "disclosure" => "公示公开",
        _ => "其他",
    }
}

struct Hit {
    kind: &'static str,
    place: String,
    url: String,
    title: Vec<Fragment>,
    snippet: Vec<Fragment>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    county_name: String,
    township_code: String,
    township_name: String,
    q: String,
    hits: Vec<Hit>,
    searched: bool,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

const RESULTS: i64 = 30;

async fn search_page(
    State(state): State<AppState>,
    Path(township_code): Path<String>,
    Query(query): Query<SearchQuery>,
) -> Result<Html<String>, AppError> {
    let township = match state.store().find_org(&township_code).await? {
        Some(org) if org.level() == Some(OrgLevel::Township) => org,
        _ => return Err(AppError::NotFound),
    };
    let q: String = query.q.trim().chars().take(64).collect();
    let mut hits = Vec::new();
    let parsed = if q.is_empty() { None } else { Some(state.segmenter().await?.query(&q)) };
    if let Some(parsed) = parsed.as_ref().filter(|p| !p.is_empty()) {
        for h in state.store().search(&parsed.fts5(), &parsed.tsquery(), &township.code, RESULTS).await? {
            hits.push(Hit {
                kind: kind_label(&h.kind),
                place: place_name(state.store(), &h.org_code).await?,
                title: highlight(&h.title, &parsed.words, 80),
                snippet: if h.body.is_empty() { Vec::new() } else { highlight(&h.body, &parsed.words, 60) },
                url: h.url,
            });
        }
    }
    let page = SearchPage {
        county_name: state.store().county().await?.map_or_else(|| "本县".to_owned(), |c| c.name),
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        searched: parsed.is_some(),
        q,
        hits,
    };
    Ok(Html(page.render()?))
}
