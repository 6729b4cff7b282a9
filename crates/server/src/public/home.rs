//! The public pages every villager reaches from the 民生监督 menu: the county landing page, each
//! township's menu, each village's page and the section pages. Read-only and cacheable; no
//! personal data is ever rendered here, except the work phones a village publishes for its cadres
//! (see [`crate::public::village_office`]).

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::Menu;

use crate::state::AppState;
use crate::state::visits::{self, Visit};
use crate::web::error::AppError;
use crate::web::page_cache::{SHARED, Shared};
use crate::web::places::{county_name, org_of_level, townships_with_villages};

/// One entry of the 民生监督 menu.
pub struct Section {
    pub slug: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
}

/// The menu, in the order every township's official account shows it.
pub const SECTIONS: [Section; 6] = [
    Section { slug: "subsidies", title: "惠农资金", summary: "补贴发放前公示、发放后结果" },
    Section { slug: "powers", title: "小微权力", summary: "权力清单与运行记录" },
    Section { slug: "disclosures", title: "公示公开", summary: "村务、财务、重大事项" },
    Section { slug: "services", title: "我要办事", summary: "服务事项，在线申请" },
    Section { slug: "messages", title: "留言箱", summary: "咨询、投诉、建议、举报" },
    Section { slug: "self-query", title: "自助查询", summary: "查本人和家庭的补贴" },
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(county))
        .route("/t/{township}", get(township))
        .route("/t/{township}/v/{village}", get(village))
        .route("/t/{township}/{section}", get(section))
}

struct TownshipLink {
    code: String,
    name: String,
    villages: i64,
}

#[derive(Template)]
#[template(path = "county.html")]
struct CountyPage {
    county_name: String,
    townships: Vec<TownshipLink>,
}

async fn county(State(state): State<AppState>) -> Result<(Extension<Shared>, Html<String>), AppError> {
    let county_name = county_name(&state).await?;
    let townships = townships_with_villages(&state)
        .await?
        .into_iter()
        .map(|(t, villages)| TownshipLink { villages, name: t.display_name().to_owned(), code: t.code })
        .collect();
    Ok((SHARED, Html(CountyPage { county_name, townships }.render()?)))
}

struct VillageLink {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "township.html")]
struct TownshipPage {
    county_name: String,
    township_code: String,
    township_name: String,
    sections: &'static [Section],
    villages: Vec<VillageLink>,
}

async fn township(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = org_of_level(&state, &code, OrgLevel::Township).await?;
    let visit = visits::tag(&township.code, Menu::Home);
    let villages = state
        .store()
        .child_orgs(&township.code)
        .await?
        .into_iter()
        .map(|v| VillageLink { name: v.display_name().to_owned(), code: v.code })
        .collect();
    let page = TownshipPage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        sections: &SECTIONS,
        villages,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

#[derive(Template)]
#[template(path = "village.html")]
struct VillagePage {
    county_name: String,
    township_code: String,
    township_name: String,
    village_code: String,
    village_name: String,
    sections: &'static [Section],
    office: crate::public::village_office::OfficeView,
}

async fn village(
    State(state): State<AppState>,
    Path((township_code, village_code)): Path<(String, String)>,
) -> Result<(Extension<Shared>, Extension<Visit>, Html<String>), AppError> {
    let township = org_of_level(&state, &township_code, OrgLevel::Township).await?;
    let village = org_of_level(&state, &village_code, OrgLevel::Village).await?;
    let visit = visits::tag(&village.code, Menu::Village);
    if village.parent_code.as_deref() != Some(township.code.as_str()) {
        return Err(AppError::NotFound);
    }
    let office = crate::public::village_office::office_view(&state, &township.code, &village.code).await?;
    let page = VillagePage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        village_name: village.display_name().to_owned(),
        village_code: village.code,
        sections: &SECTIONS,
        office,
    };
    Ok((SHARED, visit, Html(page.render()?)))
}

#[derive(Deserialize)]
struct SectionQuery {
    village: Option<String>,
}

#[derive(Template)]
#[template(path = "section.html")]
struct SectionPage {
    county_name: String,
    township_code: String,
    township_name: String,
    place_name: String,
    title: &'static str,
    summary: &'static str,
}

async fn section(
    State(state): State<AppState>,
    Path((township_code, slug)): Path<(String, String)>,
    Query(query): Query<SectionQuery>,
) -> Result<(Extension<Shared>, Html<String>), AppError> {
    let section = SECTIONS.iter().find(|s| s.slug == slug).ok_or(AppError::NotFound)?;
    let township = org_of_level(&state, &township_code, OrgLevel::Township).await?;
    let place_name = match query.village.filter(|v| !v.is_empty()) {
        Some(code) => {
            let village = org_of_level(&state, &code, OrgLevel::Village).await?;
            if village.parent_code.as_deref() != Some(township.code.as_str()) {
                return Err(AppError::NotFound);
            }
            village.display_name().to_owned()
        }
        None => township.display_name().to_owned(),
    };
    let page = SectionPage {
        county_name: county_name(&state).await?,
        township_name: township.display_name().to_owned(),
        township_code: township.code,
        place_name,
        title: section.title,
        summary: section.summary,
    };
    Ok((SHARED, Html(page.render()?)))
}
