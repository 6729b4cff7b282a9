//! Place names: an org's display name, the county's name, an org checked to be of a level, all
//! read from the org tree the state keeps for the current content version; and the county's
//! townships with their village counts, which the county page and the API both list.

use xiaowei_core::OrgLevel;
use xiaowei_store::Org;

use crate::state::AppState;
use crate::web::error::AppError;

/// The display name of an org, or its code when unknown.
pub async fn place_name(state: &AppState, code: &str) -> Result<String, AppError> {
    Ok(state.org(code).await?.map_or_else(|| code.to_owned(), |o| o.display_name().to_owned()))
}

/// The county's name, for page headers ("本县" before the org tree is imported).
pub async fn county_name(state: &AppState) -> Result<String, AppError> {
    Ok(state.county().await?.map_or_else(|| "本县".to_owned(), |c| c.name))
}

/// The org of `code` if it exists and is of `level`; otherwise not found.
pub async fn org_of_level(state: &AppState, code: &str, level: OrgLevel) -> Result<Org, AppError> {
    match state.org(code).await? {
        Some(org) if org.level == level => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

/// The county's townships in the store's order, each with its number of villages.
pub async fn townships_with_villages(state: &AppState) -> Result<Vec<(Org, i64)>, AppError> {
    let store = state.store();
    let counts: std::collections::HashMap<String, i64> = store.villages_per_township().await?.into_iter().collect();
    Ok(store
        .orgs_at_level(OrgLevel::Township)
        .await?
        .into_iter()
        .map(|t| {
            let villages = counts.get(&t.code).copied().unwrap_or(0);
            (t, villages)
        })
        .collect())
}
