//! Visit counting for the monitor (远程监控平台): public handlers tag a page view with its org
//! and menu ([`tag`]); the [`count`] middleware classifies the channel and hands the view to an
//! in-memory [`VisitCounter`], which a background task flushes every few seconds (and at
//! shutdown) as batched upserts. A visitor is kept only as an HMAC under the day's salt; raw
//! addresses never reach the database. Counting never delays or fails a page.
//!
//! ## 远程监控平台: visits and the figures
//!
//! **Visits.** Public handlers that know a page's org attach `visits::tag(org_code, Menu)` to their
//! response (a roster page, reached as `/rosters/{id}`, tags the roster's village; a cached
//! rendering keeps its org in `page_cache::CachedPage`). The `visits::count` middleware counts only
//! successful `GET` HTML responses carrying that tag, classifies the channel (`kiosk` with the
//! `xw_kiosk` device cookie, `wechat` for a `MicroMessenger` User-Agent, else `browser`;
//! `core::monitor::Channel::classify`) and adds the view to an in-memory `VisitCounter`: a counter
//! per Shanghai day × org × menu × channel, and the set of (day, org, address + User-Agent) seen,
//! held only until the next flush. `visits::spawn_flusher` writes it every 5 seconds (and `serve`
//! once more at shutdown) in one transaction: `visits_daily` upserts `count = count + n`; each
//! visitor becomes HMAC-SHA256(day's salt, address + User-Agent) in `visit_uniques`, at the page's
//! org and at its township, insert-or-ignore. The salt (`visit_salts`) is random per Shanghai day
//! and stored, insert-or-keep, so every instance and a restarted one hash alike; hourly,
//! `Store::close_visit_days` turns past days' hashes into counts (`visitors_daily`) and deletes the
//! hashes and salts. A failed flush puts the counts back for the next one. Migration
//! `0014_monitor.sql` (both engines).
//!
//! **Figures.** `Store::monitor_values` runs one query per metric over an org-code prefix and a
//! period, grouped by exact org code (visits, unique visitors, followers by account, bound followers
//! and covered households by household org, households, roster batches and disclosures by lineage
//! first published in the period, published power records, messages without and reports apart,
//! case clocks and handling time, satisfaction ratings of cases and messages); the server folds the
//! rows into townships or a township's villages by prefix (`staff::monitor::fold`), so the number of
//! queries does not grow with the number of townships or villages. A case enters the contact
//! (completion) rate's sample once contacted (completed) or due; `core::monitor::Rate` keeps hits
//! and sample, and `rank_rates` ranks only samples of at least `MIN_RANKED_SAMPLE` (10). Reports
//! (举报) are counted and listed only for the discipline commission. Pages: `/staff/monitor` (county:
//! every township in scope; a township account goes to its own township), `/staff/monitor/townships/{org}`,
//! `/staff/monitor/list/{org}/{metric}` (visits, households, rosters, powers, disclosures, messages,
//! cases; 100 per page), `/staff/monitor/weekly/{org}?week=` (Monday–Sunday in Asia/Shanghai,
//! printable: the print stylesheet hides navigation and prints A4 landscape), each with
//! `/export` as .xlsx (`xiaowei_sheets::table_xlsx`, audited as `monitor.export`). Charts are SVG
//! written by `server::charts` (a 60-day line and bars per township or village), no JavaScript.
//! Permission `ViewMonitor` (supervisor, county admin, township admin and reviewer).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::{Channel, Menu, shanghai_day};
use xiaowei_store::{Store, StoreError, UniqueVisitor, VisitIncrement};

use crate::state::AppState;
use crate::web::security::cookie;

/// How often pending counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
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
                menu: menu.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
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

/// Counts successful GET page views that a handler tagged with [`tag`].
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let headers = request.headers();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let channel = Channel::classify(cookie(headers, crate::web::client::KIOSK_COOKIE).is_some(), &user_agent);
    let address = crate::web::client::client_ip(&state, request.extensions(), headers);
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if response.status() == StatusCode::OK
        && is_html
        && let Some(visit) = response.extensions().get::<Visit>()
    {
        state.visits().record(visit, channel, format!("{address}\n{user_agent}"), state.now());
    }
    response
}

/// Flushes pending views every [`FLUSH_EVERY`] and closes past days' unique visitors hourly.
pub fn spawn_flusher(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        let mut rounds: u64 = 0;
        loop {
            tick.tick().await;
            if let Err(e) = state.visits().flush(state.store()).await {
                tracing::warn!(error = %e, "visit counts not written; kept for the next round");
            }
            if rounds.is_multiple_of(720) {
                let today = shanghai_day(state.now()).to_string();
                if let Err(e) = state.store().close_visit_days(&today).await {
                    tracing::warn!(error = %e, "closing past visit days failed");
                }
            }
            rounds += 1;
        }
    });
}
