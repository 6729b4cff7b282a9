//! What public lookups leave behind, written behind the request: each counted use of a lookup
//! quota (the self-query, case, message and objection lookups) and the self-query's audit
//! record wait here and a background task writes them in one transaction every
//! [`FLUSH_EVERY`] (and `serve` once more at shutdown), so answering a lookup writes nothing.
//!
//! A quota's count is the stored events (every instance's) plus this instance's unwritten ones.
//! Counting takes the gate shared and a flush takes it exclusively, so a lookup never misses
//! events that are between memory and the database: on one instance two lookups at the limit
//! never both see room; across instances the limit holds within one flush interval. Quotas whose
//! use costs money or locks something (texts, filings, bindings) still count and record in one
//! store transaction (`Store::rate_event`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use xiaowei_store::{NewAuditEntry, RateEvent, Store, StoreError};

/// How often unwritten events and records are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Default)]
struct Pending {
    /// Unwritten events' times by (kind, key).
    events: HashMap<(&'static str, String), Vec<i64>>,
    audits: Vec<NewAuditEntry>,
}

/// Lookup quota events and audit records waiting to be written.
#[derive(Default)]
pub struct Journal {
    gate: tokio::sync::RwLock<()>,
    pending: Mutex<Pending>,
}

impl Journal {
    /// Counts uses of `kind` by `key` since `since` (stored and unwritten), then records this one
    /// at `now`.
    pub async fn count(
        &self,
        store: &Store,
        kind: &'static str,
        key: &str,
        since: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let _shared = self.gate.read().await;
        let stored = store.count_rate_events(kind, key, since).await?;
        let Ok(mut p) = self.pending.lock() else { return Ok(stored) };
        let times = p.events.entry((kind, key.to_owned())).or_default();
        let unwritten = i64::try_from(times.iter().filter(|&&at| at >= since).count()).unwrap_or(i64::MAX);
        times.push(now);
        Ok(stored.saturating_add(unwritten))
    }

    /// Queues an audit record for the next write.
    pub fn audit(&self, entry: NewAuditEntry) {
        if let Ok(mut p) = self.pending.lock() {
            p.audits.push(entry);
        }
    }

    /// Writes everything pending in one transaction; on failure it is kept for the next try. The
    /// database's write lock is taken before the gate, so lookups wait only while the batch is
    /// written, never while another writer holds the database.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        if self.pending.lock().map_or(true, |p| p.events.is_empty() && p.audits.is_empty()) {
            return Ok(());
        }
        let batch = store.begin_queries().await?;
        let _exclusive = self.gate.write().await;
        let (events, audits) = match self.pending.lock() {
            Ok(p) => {
                let events: Vec<RateEvent> = p
                    .events
                    .iter()
                    .flat_map(|((kind, key), times)| times.iter().map(|&at| RateEvent { kind, key: key.clone(), at }))
                    .collect();
                (events, p.audits.clone())
            }
            Err(_) => return Ok(()),
        };
        batch.write(&events, &audits).await?;
        // No lookup counted while the gate was held, but audit records may have been queued.
        if let Ok(mut p) = self.pending.lock() {
            p.events.clear();
            p.audits.drain(..audits.len());
        }
        Ok(())
    }
}
