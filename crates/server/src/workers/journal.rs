//! Writes the lookups' quota events and audit records (`state::journal`) every
//! [`FLUSH_EVERY`](crate::state::journal::FLUSH_EVERY).

use crate::state::AppState;
use crate::state::journal::FLUSH_EVERY;

/// Flushes the journal on a fixed tick; a failed write keeps the records for the next one.
pub fn spawn_flusher(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.journal().flush(state.store()).await {
                tracing::warn!(error = %e, "lookup records not written; kept for the next round");
            }
        }
    });
}
