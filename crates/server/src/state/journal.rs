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

/// One lookup quota: what is counted, for whom, and how many uses the window allows.
pub struct Quota<'a> {
    pub kind: &'static str,
    pub key: &'a str,
    pub limit: i64,
}

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
    /// Held for a whole flush: two flushes at once (the worker's and shutdown's, or a test's)
    /// would both write the events still pending until the first one commits.
    flushing: tokio::sync::Mutex<()>,
    pending: Mutex<Pending>,
}

impl Journal {
    /// Counts this use against `quotas` in order, from one read of the stored counts: each
    /// quota's uses since `since` (stored and unwritten) are compared with its limit and this
    /// use is recorded at `now`. Stops at the first quota already used up and returns its index;
    /// the quotas after it are neither counted nor charged.
    pub async fn count(
        &self,
        store: &Store,
        quotas: &[Quota<'_>],
        since: i64,
        now: i64,
    ) -> Result<Option<usize>, StoreError> {
        let _shared = self.gate.read().await;
        let keys: Vec<(&str, &str)> = quotas.iter().map(|q| (q.kind, q.key)).collect();
        let stored = store.count_rate_events(&keys, since).await?;
        let Ok(mut p) = self.pending.lock() else { return Ok(None) };
        for (i, (quota, stored)) in quotas.iter().zip(stored).enumerate() {
            let times = p.events.entry((quota.kind, quota.key.to_owned())).or_default();
            let unwritten = i64::try_from(times.iter().filter(|&&at| at >= since).count()).unwrap_or(i64::MAX);
            times.push(now);
            if stored.saturating_add(unwritten) >= quota.limit {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    /// Queues an audit record for the next write.
    pub fn audit(&self, entry: NewAuditEntry) {
        if let Ok(mut p) = self.pending.lock() {
            p.audits.push(entry);
        }
    }

    /// Writes everything pending in one transaction; on failure it is kept for the next try.
    /// The rows are inserted while lookups go on (they count the pending events, which the open
    /// transaction does not yet show them); only the commit and the removal of what it wrote
    /// hold the gate, so no lookup sees an event both stored and pending, or neither. On SQLite
    /// the database's write lock is taken first, so lookups never wait for another writer.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock().await;
        if self.pending.lock().map_or(true, |p| p.events.is_empty() && p.audits.is_empty()) {
            return Ok(());
        }
        let mut batch = store.begin_queries().await?;
        let (events, taken, audits) = match self.pending.lock() {
            Ok(p) => {
                let events: Vec<RateEvent> = p
                    .events
                    .iter()
                    .flat_map(|((kind, key), times)| times.iter().map(|&at| RateEvent { kind, key: key.clone(), at }))
                    .collect();
                let taken: Vec<((&'static str, String), usize)> =
                    p.events.iter().map(|(k, times)| (k.clone(), times.len())).collect();
                (events, taken, p.audits.clone())
            }
            Err(_) => return Ok(()),
        };
        batch.insert(&events, &audits).await?;
        let _exclusive = self.gate.write().await;
        batch.commit().await?;
        // Lookups since the snapshot appended to the same lists, and audit records may have been
        // queued: only what was written goes.
        if let Ok(mut p) = self.pending.lock() {
            for (key, n) in taken {
                if let Some(times) = p.events.get_mut(&key) {
                    times.drain(..n.min(times.len()));
                    if times.is_empty() {
                        p.events.remove(&key);
                    }
                }
            }
            p.audits.drain(..audits.len());
        }
        Ok(())
    }
}
