//! Page views waiting to be written: the handler tags a view with its org ([`tag`]), the
//! counting middleware (`workers::visits`) records it here, and the flusher writes the counts
//! and the day's salted visitor hashes in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::Extension;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::{Channel, Menu, shanghai_day};
use xiaowei_store::{Store, StoreError, UniqueVisitor, VisitIncrement};

/// Distinct visitors held between flushes; beyond this (the database is away) the rest of the
/// burst is not counted as unique, rather than letting memory grow.
const MAX_PENDING_VISITORS: usize = 200_000;

/// A page view's attribution, attached by the handler that knows the page's org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub org_code: String,
    pub menu: Menu,
}

/// The response extension that makes a page view count.
pub fn tag(org_code: &str, menu: Menu) -> Extension<Visit> {
    Extension(Visit { org_code: org_code.to_owned(), menu })
}

type CountKey = (String, String, Menu, Channel);

#[derive(Default)]
struct Pending {
    counts: HashMap<CountKey, i64>,
    /// (day, org, address + User-Agent), held in memory only until the next flush.
    visitors: HashSet<(String, String, String)>,
}

/// Page views waiting to be written.
#[derive(Default)]
pub struct VisitCounter {
    pending: Mutex<Pending>,
}

impl VisitCounter {
    /// Records one page view at `now`; a village page also counts a visitor of its township.
    pub fn record(&self, visit: &Visit, channel: Channel, client: String, now: i64) {
        let day = shanghai_day(now).to_string();
        let Ok(mut p) = self.pending.lock() else { return };
        *p.counts.entry((day.clone(), visit.org_code.clone(), visit.menu, channel)).or_default() += 1;
        let township_len = OrgLevel::Township.code_len();
        let township = visit.org_code.get(..township_len).filter(|_| visit.org_code.len() > township_len);
        for org in std::iter::once(visit.org_code.as_str()).chain(township) {
            if p.visitors.len() < MAX_PENDING_VISITORS {
                p.visitors.insert((day.clone(), org.to_owned(), client.clone()));
            }
        }
    }

    /// Writes pending views in one transaction. On failure they are put back for the next try.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let taken = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        if taken.counts.is_empty() && taken.visitors.is_empty() {
            return Ok(());
        }
        let increments: Vec<VisitIncrement> = taken
            .counts
            .iter()
            .map(|((day, org, menu, channel), n)| VisitIncrement {
                day: day.clone(),
                org_code: org.clone(),
                menu: *menu,
                channel: *channel,
                count: *n,
            })
            .collect();
        let result = async {
            let mut salts: HashMap<&str, Vec<u8>> = HashMap::new();
            let mut visitors = Vec::with_capacity(taken.visitors.len());
            for (day, org, client) in &taken.visitors {
                if !salts.contains_key(day.as_str()) {
                    let mut candidate = [0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut candidate);
                    salts.insert(day, store.visit_salt(day, &candidate).await?);
                }
                if let Some(visitor) = visitor_hash(&salts[day.as_str()], client) {
                    visitors.push(UniqueVisitor { day: day.clone(), org_code: org.clone(), visitor });
                }
            }
            store.add_visits(&increments, &visitors).await
        }
        .await;
        if result.is_err()
            && let Ok(mut p) = self.pending.lock()
        {
            for (key, n) in taken.counts {
                *p.counts.entry(key).or_default() += n;
            }
            for v in taken.visitors {
                if p.visitors.len() < MAX_PENDING_VISITORS {
                    p.visitors.insert(v);
                }
            }
        }
        result
    }
}

fn visitor_hash(salt: &[u8], client: &str) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(salt).ok()?;
    mac.update(client.as_bytes());
    Some(hex::encode(&mac.finalize().into_bytes()[..16]))
}
