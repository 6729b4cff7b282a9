//! Reads the published-content version every [`READ_EVERY`], so that pages cached here stop being
//! served within that time of a change committed by another instance, the CLI or a worker (see
//! `web::page_cache`).

use crate::state::AppState;
use crate::web::page_cache::READ_EVERY;
use crate::web::shared_pages::read_version;

/// Starts the reader.
pub fn spawn_reader(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(READ_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            read_version(&state).await;
        }
    });
}
