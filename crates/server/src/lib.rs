//! Xiaowei's web server: public pages, the staff back office and operations endpoints, on one
//! axum router. Handlers stay thin: they parse input into core types, check access, call the
//! store and render a template.

pub mod api;
pub mod app;
pub mod config;
pub mod keyring;
#[cfg(test)]
mod layers;
pub mod open311;
pub mod opendata;
pub mod public;
pub mod staff;
pub mod state;
pub mod web;
pub mod witness_server;
pub mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware;
use axum::routing::get;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use state::AppState;

use app::{screening, uploads};
use public::{
    board, disclosures, home, kiosk, ledger, messages, phones, posters, powers, search, services, subsidies,
    village_office, wechat,
};
use web::{assets, elder, error, ops, security, shared_pages};
use workers::{journal, notify, pages, visits, witnesses};

/// Request ids: 16 random hex characters, echoed in `x-request-id` and on error pages.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = security::random_token()[..16].to_owned();
        axum::http::HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let mut router = Router::new()
        .merge(home::router())
        .merge(board::router())
        .merge(posters::router())
        .merge(subsidies::router())
        .merge(search::router())
        .merge(powers::router())
        .merge(disclosures::router())
        .merge(services::router())
        .merge(messages::router())
        .merge(phones::router())
        .merge(staff::router(&state))
        .merge(village_office::router())
        .merge(ledger::router())
        .merge(opendata::router())
        .merge(wechat::router())
        .merge(kiosk::router())
        .route("/static/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/mode", get(elder::switch))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { error::AppError::NotFound })
        .layer(middleware::from_fn_with_state(state.clone(), visits::count))
        .layer(middleware::from_fn_with_state(state.clone(), security::csrf_guard))
        .layer(middleware::from_fn(security::refuse_control_chars))
        .layer(middleware::from_fn(uploads::limit))
        .layer(DefaultBodyLimit::max(uploads::MAX_BODY_BYTES))
        .layer(middleware::from_fn(security::render_errors))
        .layer(middleware::from_fn_with_state(state.clone(), kiosk::chrome))
        .layer(middleware::from_fn(elder::dress))
        .layer(middleware::from_fn_with_state(state.clone(), shared_pages::serve))
        .route_layer(middleware::from_fn(ops::track))
        // The API is called by programs, not pages: JSON bodies that a cross-site form cannot
        // send, no cookies, so it stays outside the CSRF guard (and the visit counts).
        .merge(
            api::router(&state)
                .route_layer(middleware::from_fn(ops::track))
                .layer(middleware::from_fn(security::refuse_control_chars))
                .layer(middleware::from_fn(security::render_errors)),
        )
        // Open311 carries no cookie session (an integrator key authenticates it) and answers its
        // own errors in GeoReport form, so it stays outside the CSRF guard and the error pages.
        .merge(open311::router().route_layer(middleware::from_fn(ops::track)))
        // The WeChat callback is signed by the platform, so it stays outside the CSRF guard.
        .merge(
            wechat::callback_router()
                .route_layer(middleware::from_fn(ops::track))
                .layer(middleware::from_fn(security::refuse_control_chars))
                .layer(middleware::from_fn(security::render_errors)),
        );
    for (name, value) in ops::security_headers() {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), RandomRequestId))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                // Pages rendered per request (forms, answers, staff pages) are compressed at the
                // fastest level: a few percent larger, a third of the CPU. Kept public pages
                // carry their own gzip body, made once at the default level.
                .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest)),
        )
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if state.config().public_url.as_deref().is_none_or(|u| u.trim().is_empty()) {
        tracing::warn!(
            "public_url is not set: QR codes and enrolment links hold only a path; set public_url \
             (XIAOWEI_PUBLIC_URL) to the site's https address"
        );
    }
    spawn_housekeeping(state.clone());
    workers::keys::spawn_watch(state.clone(), Duration::from_secs(1));
    if state.config().workers {
        notify::spawn_workers(state.clone(), Duration::from_secs(15));
        notify::spawn_delivery(state.clone(), state.gateway(), notify::DELIVERY_POLL);
        screening::spawn_schedule(state.clone(), Duration::from_secs(6 * 3600));
        if !state.config().witnesses.is_empty() {
            witnesses::spawn(state.clone(), Duration::from_secs(10));
        }
    }
    visits::spawn_flusher(state.clone());
    journal::spawn_flusher(state.clone());
    pages::spawn_reader(state.clone());
    workers::live::spawn_relay(state.clone());
    let live = state.clone();
    let shutdown = async move {
        shutdown.await;
        live.live().close();
    };
    let app = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    if let Err(e) = state.visits().flush(state.store()).await {
        tracing::warn!(error = %e, "visit counts not written at shutdown");
    }
    if let Err(e) = state.journal().flush(state.store()).await {
        tracing::warn!(error = %e, "lookup records not written at shutdown");
    }
    served
}

/// Hourly (and at start): removes expired sessions, old login attempts, expired staged imports,
/// old rate-limit events and old WeChat replay keys. Hourly from an hour after start: refreshes
/// the planner's statistics, which on a large PostgreSQL database takes seconds of reading that
/// should not sit beside the first requests after a restart.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        let mut at_start = true;
        loop {
            tick.tick().await;
            let now = state.now();
            if let Err(e) = state.store().purge_expired(now, now - 86_400).await {
                tracing::warn!(error = %e, "housekeeping failed");
            }
            if let Err(e) = state.store().purge_short_lived(now - 3600, now - 86_400).await {
                tracing::warn!(error = %e, "housekeeping failed");
            }
            // Older callbacks are refused by their timestamp, so their replay keys can go.
            let window = state.config().wechat.replay_window_secs.max(60);
            if let Err(e) = state.store().prune_wechat_seen(now - 2 * window - 86_400).await {
                tracing::warn!(error = %e, "housekeeping failed");
            }
            if !std::mem::take(&mut at_start)
                && let Err(e) = state.store().refresh_statistics().await
            {
                tracing::warn!(error = %e, "refreshing planner statistics failed");
            }
        }
    });
}
