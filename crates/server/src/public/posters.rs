//! 关注海报: a printable A4 poster per township and per village for the notice board and the
//! hall — a QR code of the place's 民生监督 page (inside WeChat it opens the township's
//! account pages, where a household is bound for notices) and what one can do there. Print CSS
//! (`@media print` in `app.css`) drops the site's header, footer and links.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use xiaowei_core::OrgLevel;

use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::places::{county_name, org_of_level};
use crate::web::qr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{township}/poster", get(township_poster))
        .route("/t/{township}/v/{village}/poster", get(village_poster))
}

#[derive(Template)]
#[template(path = "poster.html")]
struct PosterPage {
    county_name: String,
    township_code: String,
    township_name: String,
    /// The village's name, or empty on a township's poster.
    village_name: String,
    place_name: String,
    link: String,
    qr_svg: String,
    /// Whether the township has a WeChat account, so a household can be bound.
    has_account: bool,
    villages: Vec<(String, String)>,
}

async fn render(
    state: &AppState,
    township: xiaowei_store::Org,
    village: Option<xiaowei_store::Org>,
) -> Result<Html<String>, AppError> {
    let path = match &village {
        Some(v) => format!("/t/{}/v/{}", township.code, v.code),
        None => format!("/t/{}", township.code),
    };
    let link = state.config().public_link(&path);
    let villages = match village {
        Some(_) => Vec::new(),
        None => state
            .store()
            .child_orgs(&township.code)
            .await?
            .into_iter()
            .map(|v| (v.code.clone(), v.display_name().to_owned()))
            .collect(),
    };
    let village_name = village.map(|v| v.display_name().to_owned()).unwrap_or_default();
    let page = PosterPage {
        county_name: county_name(state).await?,
        has_account: state.store().wechat_account(&township.code).await?.is_some(),
        place_name: if village_name.is_empty() { township.display_name().to_owned() } else { village_name.clone() },
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        village_name,
        qr_svg: qr::svg(&link, 320)?,
        link,
        villages,
    };
    Ok(Html(page.render()?))
}

async fn township_poster(State(state): State<AppState>, Path(code): Path<String>) -> Result<Html<String>, AppError> {
    let township = org_of_level(&state, &code, OrgLevel::Township).await?;
    render(&state, township, None).await
}

async fn village_poster(
    State(state): State<AppState>,
    Path((township_code, village_code)): Path<(String, String)>,
) -> Result<Html<String>, AppError> {
    let township = org_of_level(&state, &township_code, OrgLevel::Township).await?;
    let village = org_of_level(&state, &village_code, OrgLevel::Village).await?;
    if village.parent_code.as_deref() != Some(township.code.as_str()) {
        return Err(AppError::NotFound);
    }
    render(&state, township, Some(village)).await
}
