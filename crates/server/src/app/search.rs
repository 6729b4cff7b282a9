//! Keeping the public search index in step with what is published: each kind of public object
//! indexed by its segmented title and body when it is published or changed (the back office and
//! the CLI call these), and the whole index rebuilt after a bulk load. The search page itself is
//! `public::search`.

use xiaowei_core::search::DocumentKind;
use xiaowei_core::subsidy::RosterStatus;
use xiaowei_store::{Disclosure, PowerExercise, PowerItem, Roster, SearchDocument};

use crate::app::rosters::roster_title;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::places::place_name;

/// Segments and stores one index entry.
pub async fn index(
    state: &AppState,
    kind: DocumentKind,
    ref_id: i64,
    org_code: &str,
    title: String,
    body: String,
    url: String,
) -> Result<(), AppError> {
    let segmenter = state.segmenter().await?;
    let document = SearchDocument {
        kind,
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
    let place = place_name(state, &roster.org_code).await?;
    let basis = state.store().find_programme(roster.programme_id).await?.map(|p| p.basis).unwrap_or_default();
    let title = roster_title(roster, &place);
    index(state, DocumentKind::Roster, roster.id, &roster.org_code, title, basis, format!("/rosters/{}", roster.id))
        .await
}

/// Indexes a catalogue item by its name, basis, materials, procedure and four lists.
pub async fn index_power_item(state: &AppState, item: &PowerItem) -> Result<(), AppError> {
    let category = item.category.label();
    let mut body = vec![category.to_owned(), item.basis.clone(), item.materials.clone(), item.responsible.clone()];
    for step in state.store().power_item_steps(item.id).await? {
        body.push(format!("{} {} {}", step.actor, step.action, step.publishes));
    }
    for risk in state.store().power_item_risks(item.id).await? {
        body.push(format!("{} {}", risk.risk, risk.supervision));
    }
    for duty in state.store().power_item_duties(item.id).await? {
        body.push(format!("{} {}", duty.bearer, duty.duty));
    }
    for row in state.store().power_item_accountability(item.id).await? {
        body.push(format!("{} {} {}", row.breach, row.measure, row.basis));
    }
    let url = format!("/powers/{}", item.id);
    index(state, DocumentKind::Power, item.id, &item.org_code, item.name.clone(), body.join(" "), url).await
}

/// Keeps a 我要办事 item's index entry in step with the catalogue: indexed by its name,
/// department, conditions and materials while it is offered (county-wide), removed when taken off.
pub async fn index_service_item(state: &AppState, item_id: i64) -> Result<(), AppError> {
    let Some(item) = state.store().find_service_item(item_id).await? else {
        return Ok(state.store().unindex_document(DocumentKind::Service, item_id).await?);
    };
    if !item.active {
        return Ok(state.store().unindex_document(DocumentKind::Service, item_id).await?);
    }
    let county = state.store().county().await?.map(|c| c.code).unwrap_or_default();
    let body = format!("{} {} {} {}", item.department_name, item.conditions, item.materials, item.steps);
    index(state, DocumentKind::Service, item.id, &county, item.name.clone(), body, format!("/services/{}", item.id))
        .await
}

/// Indexes a published power exercise record by its title and its item.
pub async fn index_power_record(state: &AppState, record: &PowerExercise) -> Result<(), AppError> {
    let place = place_name(state, &record.org_code).await?;
    let title = format!("{place} {}", record.title);
    let body = format!("{} {}", record.item_name, record.started_on);
    let url = format!("/power-records/{}", record.id);
    index(state, DocumentKind::PowerRecord, record.id, &record.org_code, title, body, url).await
}

/// Indexes a published disclosure by its title, category, period and text (Markdown marks removed).
pub async fn index_disclosure(state: &AppState, d: &Disclosure) -> Result<(), AppError> {
    let place = place_name(state, &d.org_code).await?;
    let category = d.category.label();
    let text: String = d.body.chars().map(|c| if "#*_>`[]()|-".contains(c) { ' ' } else { c }).collect::<String>();
    let body = format!("{category} {} {text}", d.period_label);
    let title = format!("{place} {}", d.title);
    index(state, DocumentKind::Disclosure, d.id, &d.org_code, title, body, format!("/disclosures/{}", d.id)).await
}

/// Rebuilds the index entries of everything public (after bulk loading, e.g. the demo): current
/// rosters, the power catalogue, the services offered, published power records and current
/// disclosures.
pub async fn reindex_all(state: &AppState) -> Result<usize, AppError> {
    let mut count = 0;
    let county = state.store().county().await?.map(|c| c.code).unwrap_or_default();
    for item in state.store().power_items_within(&county).await? {
        index_power_item(state, &item).await?;
        count += 1;
    }
    for item in state.store().service_items(true).await? {
        index_service_item(state, item.id).await?;
        count += 1;
    }
    for record in state.store().power_exercises_within(&county, true, 100_000).await? {
        index_power_record(state, &record).await?;
        count += 1;
    }
    let mut offset = 0;
    loop {
        let batch = state.store().disclosures_within(&county, Some(RosterStatus::Published), 500, offset).await?;
        if batch.is_empty() {
            break;
        }
        offset += 500;
        for d in &batch {
            index_disclosure(state, d).await?;
            count += 1;
        }
    }
    let mut offset = 0;
    loop {
        let batch = state.store().rosters_within(&county, Some(RosterStatus::Published), 500, offset).await?;
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
