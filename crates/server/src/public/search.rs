//! Search over everything published: keeping the index in step with publication (`index_*`,
//! `reindex_all`) and the public search page of each township. Only public content is indexed;
//! recipients' names are never indexed, so nobody can look a person up across the county.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::Menu;
use xiaowei_search::{Fragment, highlight};

use crate::state::AppState;
use crate::state::visits::{self, Visit};
use crate::web::error::AppError;
use crate::web::page_cache::{SHARED, Shared};
use crate::web::places::place_name;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{township}/search", get(search_page))
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
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = match state.org(&township_code).await? {
        Some(org) if org.level == OrgLevel::Township => org,
        _ => return Err(AppError::NotFound),
    };
    let visit = visits::tag(&township.code, Menu::Home);
    let q: String = query.q.trim().chars().take(64).collect();
    let mut hits = Vec::new();
    let parsed = if q.is_empty() { None } else { Some(state.segmenter().await?.query(&q)) };
    if let Some(parsed) = parsed.as_ref().filter(|p| !p.is_empty()) {
        for h in state.store().search(&parsed.fts5(), &parsed.tsquery(), &township.code, RESULTS).await? {
            hits.push(Hit {
                kind: h.kind.label(),
                place: place_name(&state, &h.org_code).await?,
                title: highlight(&h.title, &parsed.words, 80),
                snippet: if h.body.is_empty() { Vec::new() } else { highlight(&h.body, &parsed.words, 60) },
                url: h.url,
            });
        }
    }
    let page = SearchPage {
        county_name: state.county().await?.map_or_else(|| "本县".to_owned(), |c| c.name),
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        searched: parsed.is_some(),
        q,
        hits,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}
