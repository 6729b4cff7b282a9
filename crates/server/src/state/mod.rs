//! The application state shared by every request: storage, the personal-data cipher, the
//! configuration and the metrics handle. Cheap to clone. What it holds lives beside it in this
//! folder (the text gateway, the live hub, pending visits and lookups, the screening registries) or below it
//! (`config`, `keyring`, `web::error`, `web::page_cache`), never in the modules that use the state.

pub mod gateway;
pub mod journal;
pub mod live;
pub mod places;
pub mod registries;
pub mod visits;

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use xiaowei_core::PiiCipher;
use xiaowei_integrations::AttachmentStore;
use xiaowei_search::Segmenter;
use xiaowei_store::{NewAuditEntry, Store};

use crate::config::Config;
use crate::web::error::AppError;

/// How many tracking numbers (or objection codes) are drawn for one filing before a clash with
/// existing ones is reported: with a million numbers a day, five clashes in a row do not happen.
pub const TRACKING_ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    pages: crate::web::page_cache::PageCache,
    segmenter: tokio::sync::OnceCell<Arc<Segmenter>>,
    attachments: AttachmentStore,
    cipher: PiiCipher,
    config: Config,
    metrics: PrometheusHandle,
    gateway: gateway::SharedGateway,
    /// Raised by the store when texts are queued; wakes the delivery worker.
    outbox_queued: Arc<tokio::sync::Notify>,
    ledger_key: tokio::sync::OnceCell<Arc<xiaowei_core::ledger::LogKey>>,
    wechat_api: std::sync::OnceLock<xiaowei_integrations::wechat::WechatApi>,
    live: live::LiveHub,
    visits: visits::VisitCounter,
    journal: journal::Journal,
    registries: registries::RegistryCache,
    orgs: places::OrgDirectory,
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Draws queued ahead of the random generator (see [`AppState::draw`]).
    draws: std::sync::Mutex<std::collections::VecDeque<u64>>,
}

impl AppState {
    /// State whose texts only go to the log (development and tests).
    pub fn new(store: Store, cipher: PiiCipher, config: Config, attachments: AttachmentStore) -> Self {
        Self::with_gateway(store, cipher, config, attachments, Arc::new(gateway::LogGateway))
    }

    /// State that sends texts through `gateway`.
    pub fn with_gateway(
        store: Store,
        cipher: PiiCipher,
        config: Config,
        attachments: AttachmentStore,
        gateway: gateway::SharedGateway,
    ) -> Self {
        let trusted_proxies = crate::config::parse_proxies(&config.trusted_proxies).unwrap_or_else(|e| {
            tracing::error!(error = %e, "trusted_proxies ignored");
            Vec::new()
        });
        // Without the audit key the server still publishes, in leaf format 1 (accounts not covered).
        let store = match crate::keyring::load_or_create_audit_key(&config) {
            Ok(key) => store.with_audit_key(key),
            Err(e) => {
                tracing::error!(error = %e, "no ledger audit key: roster leaves will not cover payment accounts");
                store
            }
        };
        let outbox_queued = Arc::new(tokio::sync::Notify::new());
        let signal = Arc::clone(&outbox_queued);
        let store = store.with_outbox_signal(move || signal.notify_one());
        Self(Arc::new(Inner {
            outbox_queued,
            trusted_proxies,
            store,
            pages: crate::web::page_cache::PageCache::default(),
            segmenter: tokio::sync::OnceCell::new(),
            attachments,
            cipher,
            config,
            metrics: metrics_handle(),
            gateway,
            ledger_key: tokio::sync::OnceCell::new(),
            wechat_api: std::sync::OnceLock::new(),
            live: live::LiveHub::default(),
            visits: visits::VisitCounter::default(),
            journal: journal::Journal::default(),
            registries: registries::RegistryCache::default(),
            orgs: places::OrgDirectory::default(),
            draws: std::sync::Mutex::default(),
        }))
    }

    /// The search segmenter, built on first use with the county's place names (loading jieba's
    /// dictionary takes a moment, so start-up does not wait for it).
    pub async fn segmenter(&self) -> Result<Arc<Segmenter>, AppError> {
        let segmenter = self
            .0
            .segmenter
            .get_or_try_init(|| async {
                let names = self.store().org_names().await?;
                tokio::task::spawn_blocking(move || Arc::new(Segmenter::new(names.iter().map(String::as_str))))
                    .await
                    .map_err(|e| AppError::Internal(format!("segmenter: {e}")))
            })
            .await?;
        Ok(segmenter.clone())
    }

    /// Rendered public pages, kept while the published content is unchanged.
    pub fn pages(&self) -> &crate::web::page_cache::PageCache {
        &self.0.pages
    }

    /// Where roster scans are kept.
    pub fn attachments(&self) -> &AttachmentStore {
        &self.0.attachments
    }

    /// Where text messages go.
    pub fn gateway(&self) -> gateway::SharedGateway {
        self.0.gateway.clone()
    }

    /// Notified whenever this instance queues texts (see `workers::notify::spawn_delivery`).
    pub fn outbox_queued(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.0.outbox_queued)
    }

    /// The publication ledger's signing key: from configuration, else the key file, else a
    /// new key file (loaded once).
    pub async fn ledger_key(&self) -> Result<Arc<xiaowei_core::ledger::LogKey>, AppError> {
        let key = self
            .0
            .ledger_key
            .get_or_try_init(|| async {
                crate::keyring::load_or_create_ledger_key(&self.0.config)
                    .map(Arc::new)
                    .map_err(|e| AppError::Internal(e.to_string()))
            })
            .await?;
        Ok(key.clone())
    }

    /// The WeChat API client, built on first use from the `[wechat]` settings.
    pub fn wechat_api(&self) -> Result<&xiaowei_integrations::wechat::WechatApi, AppError> {
        if let Some(api) = self.0.wechat_api.get() {
            return Ok(api);
        }
        let settings = &self.0.config.wechat;
        let api = xiaowei_integrations::wechat::WechatApi::new(
            &settings.api_base,
            std::time::Duration::from_secs(settings.timeout_secs.max(1)),
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(self.0.wechat_api.get_or_init(|| api))
    }

    /// The live overview's hub: handlers announce new cases and messages after commit.
    pub fn live(&self) -> &live::LiveHub {
        &self.0.live
    }

    /// Page views waiting to be written.
    pub fn visits(&self) -> &visits::VisitCounter {
        &self.0.visits
    }

    /// Lookup quota events and audit records waiting to be written.
    pub fn journal(&self) -> &journal::Journal {
        &self.0.journal
    }

    /// Counts a public lookup against its quotas, in order: the index of the first one already
    /// used up (uses since `since`), or `None`. The use is recorded at `now` against each quota
    /// up to that one and written with the next batch (see [`journal`]).
    pub async fn lookups(
        &self,
        quotas: &[journal::Quota<'_>],
        since: i64,
        now: i64,
    ) -> Result<Option<usize>, AppError> {
        Ok(self.0.journal.count(&self.0.store, quotas, since, now).await?)
    }

    /// The org of `code`, from the org tree kept for the current content version.
    pub async fn org(&self, code: &str) -> Result<Option<xiaowei_store::Org>, AppError> {
        self.0.orgs.find(&self.0.store, self.0.pages.current(), code).await
    }

    /// The county org, from the org tree kept for the current content version.
    pub async fn county(&self) -> Result<Option<xiaowei_store::Org>, AppError> {
        self.0.orgs.county(&self.0.store, self.0.pages.current()).await
    }

    /// The registries indexed for screening, kept between runs.
    pub fn registries(&self) -> &registries::RegistryCache {
        &self.0.registries
    }

    /// The proxies whose forwarding headers are believed (`trusted_proxies`).
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.0.trusted_proxies
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn cipher(&self) -> &PiiCipher {
        &self.0.cipher
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.0.metrics
    }

    /// A random number for a tracking number or objection code: the next queued draw if any,
    /// else the operating system's generator. Queuing draws makes a clash reproducible.
    pub fn draw(&self) -> u64 {
        let queued = self.0.draws.lock().ok().and_then(|mut q| q.pop_front());
        queued.unwrap_or_else(rand::random)
    }

    /// A draw for the six random digits of a tracking number.
    pub fn draw_digits(&self) -> u32 {
        u32::try_from(self.draw() % 1_000_000).unwrap_or_default()
    }

    /// Queues draws to be returned by [`AppState::draw`] before random ones.
    pub fn queue_draws(&self, draws: &[u64]) {
        if let Ok(mut q) = self.0.draws.lock() {
            q.extend(draws);
        }
    }

    /// Current time, UTC unix seconds.
    pub fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second()
    }

    /// Appends to the audit log; a failure to audit fails the action.
    pub async fn audit(&self, entry: NewAuditEntry) -> Result<(), AppError> {
        self.store().append_audit(&entry).await?;
        Ok(())
    }
}

/// The process-wide recorder. Several servers in one process (tests) share it.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}
