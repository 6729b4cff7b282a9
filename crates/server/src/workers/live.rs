//! The live overview across instances on one PostgreSQL: this instance's announcements
//! (`LiveHub::changed`, made after commit) go to the others through `NOTIFY`, with this relay's
//! own id, and the others' come back into this instance's hub (its own are skipped, the hub has
//! them already), so an overview open on any instance hears of a new case, message or alert at
//! once. A dropped listening connection is opened again; what was announced meanwhile arrives
//! with the streams' periodic refresh (`staff::live::REFRESH_SECS`). On SQLite, one instance by
//! definition, nothing runs.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use xiaowei_store::{Backend, LiveAnnouncement, LiveListener, StoreError};

use crate::state::AppState;

/// The wait before listening again after the connection could not be opened or was lost.
const RELISTEN: Duration = Duration::from_secs(5);

/// Starts the relay on PostgreSQL; it ends when the server closes.
pub fn spawn_relay(state: AppState) {
    if state.store().backend() != Backend::Postgres {
        return;
    }
    let instance = crate::web::security::random_token()[..12].to_owned();
    // Subscribed before the task runs, so that no announcement made from now on is missed.
    let mut own = state.live().own();
    let mut closing = state.live().closing();
    tokio::spawn(async move {
        let mut listener = None;
        let mut listen_at = Instant::now();
        loop {
            if listener.is_none() && Instant::now() >= listen_at {
                match state.store().live_listener().await {
                    Ok(found) => listener = found,
                    Err(e) => tracing::warn!(error = %e, "cannot listen for other instances' live announcements"),
                }
                listen_at = Instant::now() + RELISTEN;
            }
            tokio::select! {
                () = async {
                    let _ = closing.wait_for(|closed| *closed).await;
                } => return,
                got = own.recv() => match got {
                    Ok(org_code) => {
                        if let Err(e) = state.store().announce_live(&instance, &org_code).await {
                            tracing::warn!(error = %e, "live announcement not passed on");
                        }
                    }
                    // The other instances' streams refresh periodically anyway.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
                heard = listen(&mut listener) => match heard {
                    Ok(LiveAnnouncement { instance: from, org_code }) => {
                        if from != instance {
                            state.live().heard(&org_code);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for live announcements failed; listening again");
                        listener = None;
                    }
                },
                () = tokio::time::sleep_until(listen_at), if listener.is_none() => {}
            }
        }
    });
}

/// Waits for any instance's announcement; never, without a listener.
async fn listen(listener: &mut Option<LiveListener>) -> Result<LiveAnnouncement, StoreError> {
    match listener {
        Some(listener) => listener.heard().await,
        None => std::future::pending().await,
    }
}
