//! Rendered public pages, kept while the published content they show is unchanged, so that a
//! crowd of villagers opening the same pages costs one rendering per page and not one per view.
//!
//! **Versions, not timers.** Every write to a table a public page renders (places, rosters and
//! their objections and answers, disclosures, powers and their records, service items and links,
//! cases and messages on the board, the village office, the calendar, the search index) bumps one
//! number in the database, `content_version`, by a trigger in the same transaction (migration
//! 0038). A page is stored with the version it was rendered under, read *before* rendering, and
//! served only while that is still the version this instance last read; a newer version empties
//! the cache. One county-wide version is the granularity: publications come a few times an hour,
//! each costs one rendering of each page then viewed, and a single number leaves no page whose
//! dependencies could be forgotten (a roster page also shows its township's name, a search page
//! every township's content).
//!
//! **Across instances.** Each instance reads the version every [`READ_EVERY`] (`workers::pages`)
//! and right after every unsafe request it answered (`web::shared_pages`), so its own changes show
//! at once and another instance's within `READ_EVERY` plus a rendering. When the version has not
//! been read for [`TRUSTED_FOR`] (the database is away, or the reader has not started) nothing is
//! served from the cache: a page is never older than a committed change by more than that.
//!
//! **The clock.** Some pages change with time alone (a publicity period ends, a deadline passes),
//! so a page is also rendered again once [`MAX_AGE`] has passed on the application's clock.
//!
//! **What is kept.** Only responses a handler marks [`SHARED`]: the same for every visitor, with no
//! form token or personal data. The key is the path with its query and the elder-mode choice; hall
//! terminals (whose pages carry their own bar and token) are never served from here. Each page is
//! kept as sent and gzip-compressed, with the visit it counts as ([`Visit`]) and its headers.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::http::HeaderMap;

use crate::state::visits::Visit;

/// How often each instance reads the content version.
pub const READ_EVERY: Duration = Duration::from_millis(250);
/// How long a version read stays trusted; past it the cache is not used.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);
/// Seconds of the application's clock after which a page is rendered again.
pub const MAX_AGE: i64 = 60;
/// Pages kept at most, and their bytes (plain and compressed) at most; past either, the older
/// half is dropped.
const CAPACITY: usize = 20_000;
const CAPACITY_BYTES: usize = 128 * 1024 * 1024;
/// Bodies larger than this are not kept (a print view of a very long roster).
pub const MAX_KEPT_BYTES: usize = 4 * 1024 * 1024;

/// The response extension by which a handler says its page is the same for every visitor.
#[derive(Clone, Copy)]
pub struct Shared;

/// Add to a handler's response to let the page be cached.
pub const SHARED: Extension<Shared> = Extension(Shared);

/// The response extension by which a handler answering a form (a lookup) says it changed no
/// published content, so the content version need not be read again after it.
#[derive(Clone, Copy)]
pub struct Unchanged;

/// Marks a lookup route's every answer (its error pages too) [`Unchanged`]: a route layer,
/// `post(lookup).layer(axum::middleware::map_response(unchanged))`.
pub async fn unchanged(mut response: axum::response::Response) -> axum::response::Response {
    response.extensions_mut().insert(Unchanged);
    response
}

/// One rendered page.
pub struct CachedPage {
    /// The content version it was rendered under.
    pub version: i64,
    /// When it was rendered, on the application's clock (Unix seconds).
    pub rendered_at: i64,
    /// The handler's headers, without cookies or a length.
    pub headers: HeaderMap,
    pub plain: Bytes,
    /// The body gzip-compressed, when that is smaller.
    pub gzip: Option<Bytes>,
    /// The view the page counts as, for the monitor.
    pub visit: Option<Visit>,
}

impl CachedPage {
    fn size(&self) -> usize {
        self.plain.len() + self.gzip.as_ref().map_or(0, Bytes::len)
    }
}

/// The key of a page: the elder-mode choice and the path with its query.
pub fn key(elder: bool, path_and_query: &str) -> String {
    format!("{}{path_and_query}", if elder { 'E' } else { 'S' })
}

/// Gzip of `body` at the default level, if it is smaller.
pub fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::default());
    encoder.write_all(body).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < body.len()).then(|| Bytes::from(compressed))
}

#[derive(Default)]
struct Entries {
    pages: HashMap<String, Arc<CachedPage>>,
    bytes: usize,
}

pub struct PageCache {
    entries: RwLock<Entries>,
    /// The content version last read from the database.
    version: AtomicI64,
    /// When it was read, in nanoseconds after `origin` (0: never).
    read_at: AtomicU64,
    origin: Instant,
}

impl Default for PageCache {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
            version: AtomicI64::new(0),
            read_at: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }
}

impl PageCache {
    /// The content version to serve and store under, if it was read recently enough.
    pub fn current(&self) -> Option<i64> {
        self.current_at(Instant::now())
    }

    fn current_at(&self, now: Instant) -> Option<i64> {
        let read_at = self.read_at.load(Ordering::Acquire);
        let age = self.nanos(now).checked_sub(read_at)?;
        (read_at > 0 && u128::from(age) < TRUSTED_FOR.as_nanos()).then(|| self.version.load(Ordering::Acquire))
    }

    /// Nanoseconds from the cache's creation to `at`, plus one (so that 0 means never).
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Records the version just read from the database; a new one empties the cache.
    pub fn set_version(&self, version: i64) {
        self.set_version_at(version, Instant::now());
    }

    fn set_version_at(&self, version: i64, now: Instant) {
        if self.version.swap(version, Ordering::AcqRel) != version
            && let Ok(mut entries) = self.entries.write()
        {
            *entries = Entries::default();
        }
        self.read_at.store(self.nanos(now), Ordering::Release);
    }

    /// The page kept under `key`, if it was rendered under `version` less than [`MAX_AGE`]
    /// seconds before `now` (the application's clock).
    pub fn get(&self, key: &str, version: i64, now: i64) -> Option<Arc<CachedPage>> {
        let entries = self.entries.read().ok()?;
        entries
            .pages
            .get(key)
            .filter(|p| p.version == version && (0..MAX_AGE).contains(&(now - p.rendered_at)))
            .cloned()
    }

    /// Keeps `page` under `key`, unless the version moved on while it was rendered.
    pub fn put(&self, key: String, page: CachedPage) {
        if page.version != self.version.load(Ordering::Acquire) || page.plain.len() > MAX_KEPT_BYTES {
            return;
        }
        let Ok(mut entries) = self.entries.write() else { return };
        if page.version != self.version.load(Ordering::Acquire) {
            return;
        }
        let size = page.size();
        if let Some(old) = entries.pages.insert(key, Arc::new(page)) {
            entries.bytes -= old.size();
        }
        entries.bytes += size;
        if entries.pages.len() > CAPACITY || entries.bytes > CAPACITY_BYTES {
            drop_older_half(&mut entries);
        }
    }

    /// Pages kept now.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.pages.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops the older half of the pages, by rendering time.
fn drop_older_half(entries: &mut Entries) {
    let mut times: Vec<i64> = entries.pages.values().map(|p| p.rendered_at).collect();
    let middle = times.len() / 2;
    let (_, cut, _) = times.select_nth_unstable(middle);
    let cut = *cut;
    entries.pages.retain(|_, p| p.rendered_at > cut);
    entries.bytes = entries.pages.values().map(|p| p.size()).sum();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(version: i64, rendered_at: i64, html: &str) -> CachedPage {
        CachedPage {
            version,
            rendered_at,
            headers: HeaderMap::new(),
            plain: Bytes::from(html.to_owned()),
            gzip: None,
            visit: None,
        }
    }

    fn body(cache: &PageCache, key: &str, version: i64, now: i64) -> Option<String> {
        cache.get(key, version, now).map(|p| String::from_utf8(p.plain.to_vec()).unwrap())
    }

    #[test]
    fn nothing_is_served_until_a_version_has_been_read() {
        let cache = PageCache::default();
        assert_eq!(cache.current(), None);
        cache.set_version(7);
        assert_eq!(cache.current(), Some(7));
    }

    #[test]
    fn a_version_read_too_long_ago_is_not_trusted() {
        let cache = PageCache::default();
        let read = Instant::now();
        cache.set_version_at(3, read);
        assert_eq!(cache.current_at(read + TRUSTED_FOR / 2), Some(3));
        assert_eq!(cache.current_at(read + TRUSTED_FOR), None, "the database may have moved on meanwhile");
        cache.set_version_at(3, read + TRUSTED_FOR * 2);
        assert_eq!(cache.current_at(read + TRUSTED_FOR * 2), Some(3));
    }

    #[test]
    fn a_page_is_served_only_under_the_version_it_was_rendered_under() {
        let cache = PageCache::default();
        cache.set_version(1);
        cache.put(key(false, "/rosters/1"), page(1, 100, "第1页"));
        assert_eq!(body(&cache, &key(false, "/rosters/1"), 1, 100).as_deref(), Some("第1页"));
        assert!(cache.get(&key(true, "/rosters/1"), 1, 100).is_none(), "elder mode is its own page");
        assert!(cache.get(&key(false, "/rosters/1?page=2"), 1, 100).is_none(), "each query is its own page");
        cache.set_version(1);
        assert_eq!(cache.len(), 1, "reading the same version keeps the pages");
        cache.set_version(2);
        assert!(cache.is_empty(), "a publication empties the cache");
        assert!(cache.get(&key(false, "/rosters/1"), 1, 100).is_none());
    }

    #[test]
    fn a_page_rendered_before_a_publication_is_not_kept_after_it() {
        let cache = PageCache::default();
        cache.set_version(1);
        let version = cache.current().unwrap();
        cache.set_version(2);
        cache.put(key(false, "/"), page(version, 100, "旧首页"));
        assert!(cache.is_empty(), "rendered under version 1, which is already gone");
        assert!(cache.get(&key(false, "/"), 2, 100).is_none());
    }

    #[test]
    fn a_page_is_rendered_again_when_the_clock_has_moved_on() {
        let cache = PageCache::default();
        cache.set_version(1);
        cache.put(key(false, "/t/620922100"), page(1, 1_000, "乡镇"));
        assert!(cache.get(&key(false, "/t/620922100"), 1, 1_000 + MAX_AGE - 1).is_some());
        assert!(cache.get(&key(false, "/t/620922100"), 1, 1_000 + MAX_AGE).is_none(), "a deadline may have passed");
        assert!(cache.get(&key(false, "/t/620922100"), 1, 999).is_none(), "a clock set back renders again");
    }

    #[test]
    fn a_full_cache_drops_its_older_half() {
        let cache = PageCache::default();
        cache.set_version(1);
        for n in 0..=CAPACITY {
            cache.put(key(false, &format!("/rosters/{n}")), page(1, i64::try_from(n).unwrap(), "x"));
        }
        assert_eq!(cache.len(), CAPACITY / 2);
        assert!(cache.get(&key(false, &format!("/rosters/{CAPACITY}")), 1, i64::try_from(CAPACITY).unwrap()).is_some());
        assert!(cache.get(&key(false, "/rosters/0"), 1, 0).is_none());
    }

    #[test]
    fn gzip_is_kept_only_when_smaller() {
        let html = "<p>花名册</p>".repeat(100);
        let compressed = gzip(html.as_bytes()).unwrap();
        let mut decoder = flate2::read::GzDecoder::new(&compressed[..]);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut decoder, &mut back).unwrap();
        assert_eq!(back, html);
        assert!(gzip(b"x").is_none());
    }
}
