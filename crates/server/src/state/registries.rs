//! The registries indexed for 大数据比对 (screening), kept in memory between runs and reloaded
//! only when an import changed them (`app::screening` reads them through [`RegistryCache`]).

use std::sync::Arc;

use xiaowei_core::registry::RegistryKind;
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

/// Reads every registry record and indexes them (the indexing off the async workers).
async fn load_registries(store: &Store) -> Result<Arc<Registries>, AppError> {
    let records: Vec<Record> = store
        .registry_for_screening()
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(Record {
                id: r.id,
                kind: RegistryKind::parse(&r.kind)?,
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
        })
        .collect();
    tokio::task::spawn_blocking(move || Arc::new(Registries::new(records)))
        .await
        .map_err(|e| AppError::Internal(format!("registry index: {e}")))
}
