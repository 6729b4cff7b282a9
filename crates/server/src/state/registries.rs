//! The registries indexed for 大数据比对 (screening), kept in memory between runs and reloaded
//! only when an import changed them (`app::screening` reads them through [`RegistryCache`]).

use std::ops::RangeInclusive;
use std::sync::Arc;

use xiaowei_core::screening::{Record, Registries};
use xiaowei_store::Store;

use crate::web::dates::parse_date;
use crate::web::error::AppError;

/// The registries indexed for screening, kept in memory between runs and keyed by the store's
/// registry version. Each run asks the version (one small query) and reloads only when an import
/// changed it, on this server or on another sharing the database.
#[derive(Default)]
pub struct RegistryCache(tokio::sync::Mutex<Option<Versioned>>);

/// Indexed registries with the registry version they were read at.
type Versioned = ((i64, i64), Arc<Registries>);

impl RegistryCache {
    /// The current registries: the cached ones if no import happened since, else freshly loaded.
    /// Concurrent runs wait for one load rather than each loading.
    pub async fn get(&self, store: &Store) -> Result<Arc<Registries>, AppError> {
        let mut slot = self.0.lock().await;
        // The version is read before the records: an import committing in between makes the
        // next run reload, never keeps stale records under a new version.
        let version = store.registry_version().await?;
        if let Some((cached, registries)) = slot.as_ref()
            && *cached == version
        {
            return Ok(registries.clone());
        }
        *slot = None;
        let registries = load_registries(store).await?;
        *slot = Some((version, registries.clone()));
        Ok(registries)
    }
}

/// Reads every registry record and indexes them: the records are read in shares of their ids,
/// one per core at once (each on its own connection and task, so the database's packing and
/// the parsing of the shares overlap), and indexed off the async workers.
async fn load_registries(store: &Store) -> Result<Arc<Registries>, AppError> {
    let Some((low, high)) = store.registry_id_bounds().await? else {
        return Ok(Arc::new(Registries::new(Vec::new())));
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let width = (high - low) / i64::try_from(cores).unwrap_or(1) + 1;
    let shares = (low..=high).step_by(usize::try_from(width).unwrap_or(usize::MAX)).map(|start| {
        let store = store.clone();
        tokio::spawn(async move { read_share(&store, start..=start.saturating_add(width - 1).min(high)).await })
    });
    let mut records = Vec::new();
    for share in futures_util::future::try_join_all(shares)
        .await
        .map_err(|e| AppError::Internal(format!("registry read: {e}")))?
    {
        records.extend(share?);
    }
    tokio::task::spawn_blocking(move || Arc::new(Registries::new(records)))
        .await
        .map_err(|e| AppError::Internal(format!("registry index: {e}")))
}

/// The registry records with ids in `ids`, as the rules read them.
async fn read_share(store: &Store, ids: RangeInclusive<i64>) -> Result<Vec<Record>, AppError> {
    Ok(store
        .registry_for_screening(ids)
        .await?
        .into_iter()
        .map(|r| Record {
            id: r.id,
            kind: r.kind,
            person: r.person_idx,
            name: r.name,
            masked_id: r.id_masked,
            birth_date: r.birth_date.as_deref().and_then(parse_date),
            village: r.village_code,
            household: r.household_no,
            members: r.members,
            relation: r.relation,
            detail: r.detail,
            date: r.event_date.as_deref().and_then(parse_date),
        })
        .collect())
}
