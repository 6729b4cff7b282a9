//! `xiaowei witness serve`: a C2SP tlog-witness server, run apart from the platform by the county
//! discipline commission or a township, with its own key and its own SQLite file. It cosigns a
//! log's checkpoint only when the log's key signed it and a consistency proof links it to the
//! last checkpoint it cosigned for that log; it never trusts the platform's database.
//!
//! Handlers only move bytes: the decision is `core::witness::check_add`, the compare-and-swap is
//! `store::WitnessDb::advance`.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use xiaowei_core::witness::{self, AddCheckpoint, Refusal, WitnessKey};
use xiaowei_store::WitnessDb;

/// The witness: its key and its database.
#[derive(Clone)]
pub struct Witness {
    key: Arc<WitnessKey>,
    db: WitnessDb,
}

/// The witness key from `<dir>/witness.key`, generated there (mode 0600) with `name` on first use.
/// Returns the key and whether it was just generated.
pub fn load_or_create_key(dir: &Path, name: &str) -> Result<(WitnessKey, bool), String> {
    let path = dir.join("witness.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = WitnessKey::from_private(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if !name.is_empty() && key.name() != name {
            return Err(format!("{} holds the key of {}, not {name}", path.display(), key.name()));
        }
        return Ok((key, false));
    }
    let (private, key) = WitnessKey::generate(name).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::keyring::write_new_private(&path, &private).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((key, true))
}

impl Witness {
    /// Opens the witness in `dir` and trusts each `(origin, vkeys)` of `logs`.
    pub async fn open(dir: &Path, key: WitnessKey, logs: &[(String, Vec<String>)]) -> Result<Self, String> {
        let db = WitnessDb::open(dir).await.map_err(|e| format!("witness database: {e}"))?;
        let witness = Self { key: Arc::new(key), db };
        for (origin, vkeys) in logs {
            witness.trust(origin, vkeys).await.map_err(|e| format!("witness database: {e}"))?;
        }
        Ok(witness)
    }

    /// Follows the log `origin`, trusting `vkeys` (signed-note verifier keys) for its checkpoints.
    pub async fn trust(&self, origin: &str, vkeys: &[String]) -> Result<(), xiaowei_store::StoreError> {
        self.db.configure_log(origin, vkeys).await
    }

    pub fn vkey(&self) -> String {
        self.key.vkey()
    }

    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Decides on one add-checkpoint body: the cosignature line, or the refusal.
    pub async fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddError> {
        let request = AddCheckpoint::parse(body)?;
        let origin = witness::origin_of(&request)?;
        let log = self.db.log(&origin).await?;
        let accepted =
            witness::check_add(&request, log.as_ref().map(|l| l.vkeys.as_slice()), log.as_ref().and_then(|l| l.latest))
                .inspect_err(|r| tracing::info!(%origin, refusal = %r, "checkpoint not cosigned"))?;
        let line = self.key.cosign(&accepted.body, now);
        let checkpoint = String::from_utf8_lossy(&request.checkpoint).into_owned();
        let from = log.and_then(|l| l.latest);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        if !self.db.advance(&origin, from, (accepted.size, accepted.root), &checkpoint, &line, now).await? {
            let size = self.db.log(&origin).await?.and_then(|l| l.latest).map_or(0, |l| l.0);
            return Err(Refusal::Conflict(size).into());
        }
        tracing::info!(%origin, size = accepted.size, "checkpoint cosigned");
        Ok(line)
    }
}

/// Why [`Witness::add_checkpoint`] returned no cosignature.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("witness database: {0}")]
    Database(#[from] xiaowei_store::StoreError),
}

/// `POST /add-checkpoint` and `GET /<origin hash>/checkpoint`.
pub fn router(witness: Witness) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(latest_checkpoint))
        .layer(DefaultBodyLimit::max(witness::MAX_REQUEST_BYTES))
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Witness>, body: Bytes) -> Response {
    let now = jiff::Timestamp::now().as_second().max(1).unsigned_abs();
    match witness.add_checkpoint(&body, now).await {
        Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Err(AddError::Refused(Refusal::Conflict(size))) => {
            (StatusCode::CONFLICT, [(header::CONTENT_TYPE, witness::SIZE_CONTENT_TYPE)], format!("{size}\n"))
                .into_response()
        }
        Err(AddError::Database(e)) => {
            tracing::error!(error = %e, "witness database");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(AddError::Refused(refusal)) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{refusal}\n")).into_response()
        }
    }
}

/// The latest cosigned checkpoint of a log, with the log's signature and the witness's.
async fn latest_checkpoint(State(witness): State<Witness>, UrlPath(origin_hash): UrlPath<String>) -> Response {
    let logs = match witness.db.logs().await {
        Ok(logs) => logs,
        Err(e) => {
            tracing::error!(error = %e, "witness database");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let found = logs.into_iter().find(|l| witness::origin_hash(&l.origin) == origin_hash);
    match found.and_then(|l| Some((l.checkpoint?, l.cosignature?))) {
        Some((checkpoint, line)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{checkpoint}{line}")).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves the witness on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Witness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness)).with_graceful_shutdown(shutdown).await
}
