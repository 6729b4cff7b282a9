//! The registries indexed for 大数据比对 (screening), kept in memory between runs and reloaded
//! only when an import or a key rotation changed them (`app::screening` reads them through
//! [`RegistryCache`]), and kept in the database as a sealed snapshot so that a server started
//! again reads them back without unpacking every registry row.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Instant;

use xiaowei_core::PiiCipher;
use xiaowei_core::registry_snapshot;
use xiaowei_core::screening::{Record, Registries};
use xiaowei_store::{SnapshotPart, Store};

use crate::web::dates::parse_date;
use crate::web::error::AppError;

/// Records to a snapshot part (about 1.3 MB sealed: small enough for the allocator to reuse
/// its buffers from part to part).
const PART_RECORDS: usize = 10_000;

/// The registries indexed for screening, kept in memory between runs and keyed by their tag: the
/// store's registry version and the personal-data key (a finished rotation re-indexes every
/// record). Each run asks the version (one small query) and reloads only when the tag changed,
/// on this server or on another sharing the database. A load reads the snapshot of the tag when
/// one is stored; otherwise it reads the rows, and the run that loaded them has the snapshot
/// stored in the background once it has finished ([`RegistryCache::store_pending`]), so that
/// sealing and writing it never slows that run.
#[derive(Default)]
pub struct RegistryCache {
    slot: tokio::sync::Mutex<Option<Tagged>>,
    pending: std::sync::Mutex<Option<Tagged>>,
    saving: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Indexed registries with the tag they were read under.
type Tagged = (String, Arc<Registries>);

/// The tag registries read now are kept under: the registry version and the personal-data key.
/// While a key is being rotated the records hold indexes under both keys: such a load is kept in
/// memory under a tag of its own (never the finished rotation's) and not stored.
async fn current_tag(store: &Store, cipher: &PiiCipher) -> Result<String, AppError> {
    let (imports, last) = store.registry_version().await?;
    let rotating = if cipher.previous_key_id().is_some() { ".rotating" } else { "" };
    Ok(format!("{imports}.{last}.{}{rotating}", cipher.key_id()))
}

impl RegistryCache {
    /// The current registries: the cached ones if their tag still holds, else freshly loaded.
    /// Concurrent runs wait for one load rather than each loading.
    pub async fn get(&self, store: &Store, cipher: &PiiCipher) -> Result<Arc<Registries>, AppError> {
        let mut slot = self.slot.lock().await;
        // The version is read before the records: an import committing in between makes the
        // next run reload, never keeps stale records under a new version.
        let tag = current_tag(store, cipher).await?;
        let rotating = cipher.previous_key_id().is_some();
        if let Some((cached, registries)) = slot.as_ref()
            && *cached == tag
        {
            return Ok(registries.clone());
        }
        *slot = None;
        let snapshot = if rotating { None } else { read_snapshot(store, cipher, &tag).await };
        let registries = match snapshot {
            Some(registries) => registries,
            None => {
                let registries = load_registries(store).await?;
                if !rotating
                    && registries.records() > 0
                    && let Ok(mut pending) = self.pending.lock()
                {
                    *pending = Some((tag.clone(), registries.clone()));
                }
                registries
            }
        };
        *slot = Some((tag, registries.clone()));
        Ok(registries)
    }

    /// Stores, in the background, the snapshot of registries a load read from their rows (if a
    /// load did since the last call). Called when the run that loaded them has finished.
    pub fn store_pending(&self, store: &Store, cipher: &PiiCipher) {
        if let Some((tag, registries)) = self.pending.lock().ok().and_then(|mut pending| pending.take()) {
            self.save_later(store, cipher, tag, registries);
        }
    }

    /// Waits until the snapshot [`RegistryCache::store_pending`] began storing is stored (or
    /// failed; failures are logged).
    pub async fn saved(&self) {
        let handle = self.saving.lock().ok().and_then(|mut saving| saving.take());
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }

    /// Stores `registries` as the snapshot of `tag` in the background.
    fn save_later(&self, store: &Store, cipher: &PiiCipher, tag: String, registries: Arc<Registries>) {
        let (store, cipher) = (store.clone(), cipher.clone());
        let handle = tokio::spawn(async move {
            let started = Instant::now();
            match save_snapshot(&store, &cipher, &tag, registries).await {
                Ok(parts) => {
                    tracing::info!(parts, seconds = started.elapsed().as_secs_f64(), "registry snapshot stored")
                }
                Err(e) => tracing::warn!(error = %e, "storing the registry snapshot failed"),
            }
        });
        if let Ok(mut saving) = self.saving.lock() {
            *saving = Some(handle);
        }
    }
}

/// The registries from the stored snapshot of `tag`: its parts opened and decoded on every core
/// but one.
/// `None` (after a warning, for anything but a missing snapshot) when there is none or it does
/// not open, decode and count right; the caller then reads the rows.
async fn read_snapshot(store: &Store, cipher: &PiiCipher, tag: &str) -> Option<Arc<Registries>> {
    let started = Instant::now();
    let parts = match store.registry_snapshot(tag).await {
        Ok(parts) => parts?,
        Err(e) => {
            tracing::warn!(error = %e, "reading the registry snapshot failed");
            return None;
        }
    };
    let read = started.elapsed();
    let cipher = cipher.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let records = open_snapshot(&cipher, &parts)?;
        let decoded = started.elapsed();
        Ok::<_, String>((Arc::new(Registries::new(records)), decoded))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|opened| opened);
    match opened {
        Ok((registries, decoded)) => {
            tracing::info!(
                records = registries.records(),
                read = read.as_secs_f64(),
                decoded = decoded.as_secs_f64(),
                indexed = started.elapsed().as_secs_f64(),
                "registries read from their snapshot"
            );
            Some(registries)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the registry snapshot does not open; reading the records");
            None
        }
    }
}

/// The records of a snapshot's parts, opened and decoded on every core but one, straight into
/// their places in one list (each part's count checked).
fn open_snapshot(cipher: &PiiCipher, parts: &[SnapshotPart]) -> Result<Vec<Record>, String> {
    let counts: Vec<usize> = parts
        .iter()
        .map(|p| usize::try_from(p.records).map_err(|_| format!("part {}: bad count", p.part)))
        .collect::<Result<_, _>>()?;
    let mut records: Vec<Record> = std::iter::repeat_with(registry_snapshot::slot).take(counts.iter().sum()).collect();
    let mut places: Vec<(&SnapshotPart, &mut [Record])> = Vec::with_capacity(parts.len());
    let mut rest = records.as_mut_slice();
    for (part, &count) in parts.iter().zip(&counts) {
        let (place, after) = rest.split_at_mut(count);
        places.push((part, place));
        rest = after;
    }
    // One core is left to the database reads that run beside a screening's load.
    let threads = crate::app::cores().saturating_sub(1).max(1);
    let share = places.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = places
            .chunks_mut(share)
            .map(|chunk| {
                scope.spawn(|| {
                    chunk.iter_mut().try_for_each(|(part, place)| {
                        let plain = cipher.decrypt_bytes(&part.data).map_err(|e| format!("part {}: {e}", part.part))?;
                        registry_snapshot::decode_into(&plain, place).map_err(|e| format!("part {}: {e}", part.part))
                    })
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| "a decoding thread stopped".to_owned())?)
    })?;
    Ok(records)
}

/// Seals `registries` into parts, stores them part by part under `tag`, then
/// deletes every other tag's snapshot. Returns how many parts were stored (none when the
/// registries changed since they were read, or a key rotation has begun: a snapshot sealed
/// under the old key is not kept).
async fn save_snapshot(
    store: &Store,
    cipher: &PiiCipher,
    tag: &str,
    registries: Arc<Registries>,
) -> Result<usize, AppError> {
    let sealing = cipher.clone();
    // In the background, off the run that loaded them: one thread is enough.
    let parts = tokio::task::spawn_blocking(move || {
        registries
            .all()
            .chunks(PART_RECORDS)
            .zip(0..)
            .map(|(records, part)| SnapshotPart {
                part,
                records: i64::try_from(records.len()).unwrap_or(i64::MAX),
                data: sealing.encrypt_bytes(&registry_snapshot::encode(records)),
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| AppError::Internal(format!("registry snapshot: {e}")))?;
    // Registries read before an import that has committed since are not stored (nor allowed to
    // delete the newer snapshot).
    if current_tag(store, cipher).await? != tag {
        return Ok(0);
    }
    let count = i64::try_from(parts.len()).unwrap_or(i64::MAX);
    for part in &parts {
        store.save_registry_snapshot_part(tag, count, part).await?;
    }
    store.drop_other_registry_snapshots(tag).await?;
    // A rotation begun meanwhile (from the command line, before this server saw the new key)
    // deleted the snapshots when it began; what was stored after that is dropped here.
    if store.unfinished_pii_rotation().await?.is_some() {
        store.drop_registry_snapshots().await?;
        return Ok(0);
    }
    Ok(parts.len())
}

/// Reads every registry record and indexes them: the records are read in shares of their ids,
/// one per core at once (each on its own connection and task, so the database's packing and
/// the parsing of the shares overlap), and indexed off the async workers.
async fn load_registries(store: &Store) -> Result<Arc<Registries>, AppError> {
    let Some((low, high)) = store.registry_id_bounds().await? else {
        return Ok(Arc::new(Registries::new(Vec::new())));
    };
    let cores = crate::app::cores();
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
