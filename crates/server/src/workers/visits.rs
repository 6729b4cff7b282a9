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
//! rendering keeps its visit in `page_cache::CachedPage`, and `web::shared_pages` counts it). The `visits::count` middleware counts only
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

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use xiaowei_core::monitor::shanghai_day;

use crate::state::AppState;
use crate::state::visits::Visit;
use crate::web::shared_pages::Viewer;

/// How often pending counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Counts successful GET page views that a handler tagged with [`tag`].
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let viewer = Viewer::of(&state, request.headers(), request.extensions());
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
        viewer.count(&state, visit);
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
