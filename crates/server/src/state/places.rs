//! The org tree kept in memory for page rendering: a public page names its county, township and
//! village, and reading those from the database on every view cost more queries than the page's
//! own content. The copy is keyed by the content version (`web::page_cache`), which every change
//! to `orgs` bumps, so it is replaced on the first lookup after a change — here at once, on
//! another instance within the version's read interval, exactly as kept pages are. While no
//! version is trusted, and for a code the copy does not hold (an org added since), the database
//! answers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use xiaowei_core::OrgLevel;
use xiaowei_store::{Org, Store};

use crate::web::error::AppError;

/// Every org as of one content version.
struct Snapshot {
    version: i64,
    by_code: HashMap<String, Org>,
    county: Option<Org>,
}

/// The org tree of the current content version, loaded on first use after each change.
#[derive(Default)]
pub struct OrgDirectory {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Held while loading, so a burst of views after a change loads the tree once.
    loading: tokio::sync::Mutex<()>,
}

impl OrgDirectory {
    /// The snapshot for `version` (the content version read before loading: orgs read after it
    /// are at least as new, so a later change always replaces them).
    async fn snapshot(&self, store: &Store, version: Option<i64>) -> Result<Option<Arc<Snapshot>>, AppError> {
        let Some(version) = version else { return Ok(None) };
        if let Some(kept) = self.kept(version) {
            return Ok(Some(kept));
        }
        let _loading = self.loading.lock().await;
        if let Some(kept) = self.kept(version) {
            return Ok(Some(kept));
        }
        let orgs = store.all_orgs().await?;
        let county = orgs.iter().find(|o| o.level == OrgLevel::County).cloned();
        let by_code = orgs.into_iter().map(|o| (o.code.clone(), o)).collect();
        let snapshot = Arc::new(Snapshot { version, by_code, county });
        if let Ok(mut current) = self.current.write() {
            *current = Some(Arc::clone(&snapshot));
        }
        Ok(Some(snapshot))
    }

    fn kept(&self, version: i64) -> Option<Arc<Snapshot>> {
        self.current.read().ok()?.as_ref().filter(|s| s.version == version).cloned()
    }

    /// The org of `code`.
    pub async fn find(&self, store: &Store, version: Option<i64>, code: &str) -> Result<Option<Org>, AppError> {
        if let Some(org) = self.snapshot(store, version).await?.and_then(|s| s.by_code.get(code).cloned()) {
            return Ok(Some(org));
        }
        Ok(store.find_org(code).await?)
    }

    /// The county (the root of the tree), if the tree has been imported.
    pub async fn county(&self, store: &Store, version: Option<i64>) -> Result<Option<Org>, AppError> {
        match self.snapshot(store, version).await? {
            Some(snapshot) => Ok(snapshot.county.clone()),
            None => Ok(store.county().await?),
        }
    }
}
