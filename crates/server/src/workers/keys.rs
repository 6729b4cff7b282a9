//! Following the personal-data key files while the server runs (see `keyring`).

use std::time::Duration;

use crate::keyring;
use crate::state::AppState;

/// Follows the key files every `every`, so a rotation started while the server runs is seen.
pub fn spawn_watch(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = keyring::refresh(state.config(), state.cipher()) {
                tracing::error!(error = %e, "personal-data key files unreadable; keeping the keys in use");
            }
        }
    });
}
