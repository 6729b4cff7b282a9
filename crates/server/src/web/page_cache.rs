//! A small cache of rendered public pages that many villagers open at once (a roster pushed to a
//! township's followers). An entry lives a few seconds at most, so a change made on another
//! instance shows within that time; changes made here remove the entries they affect at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a rendered page may be served before it is rendered again.
const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; when full, the cache is emptied (cheap, and rare at county scale).
const CAPACITY: usize = 1024;

/// Which page: a roster, a page number of its list, and whether it is the print version.
pub type PageKey = (i64, i64, bool);

/// A rendered page and the org it belongs to (so a cached view still counts as that org's visit).
pub struct CachedPage {
    pub org_code: String,
    pub html: String,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<PageKey, (Instant, Arc<CachedPage>)>>,
}

impl PageCache {
    /// A fresh rendering of `key`, if one is cached.
    pub fn get(&self, key: PageKey) -> Option<Arc<CachedPage>> {
        let entries = self.entries.lock().ok()?;
        entries.get(&key).filter(|(at, _)| at.elapsed() < TTL).map(|(_, html)| html.clone())
    }

    pub fn put(&self, key: PageKey, html: Arc<CachedPage>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (Instant::now(), html));
        }
    }

    /// Forgets every cached page of one roster (after a status change, objection or answer).
    pub fn forget_roster(&self, roster_id: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(id, _, _), _| *id != roster_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_served_until_its_roster_changes() {
        let cache = PageCache::default();
        assert!(cache.get((1, 1, false)).is_none());
        let page = |html: &str| Arc::new(CachedPage { org_code: "620922100200".into(), html: html.into() });
        cache.put((1, 1, false), page("第1页"));
        cache.put((2, 1, false), page("另一份"));
        assert_eq!(cache.get((1, 1, false)).map(|p| p.html.clone()).as_deref(), Some("第1页"));
        assert!(cache.get((1, 2, false)).is_none(), "each page number is its own entry");
        cache.forget_roster(1);
        assert!(cache.get((1, 1, false)).is_none());
        assert!(cache.get((2, 1, false)).is_some(), "other rosters stay cached");
    }
}
