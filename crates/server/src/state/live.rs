//! The live overview's hub: handlers announce a change after commit, and every open stream of
//! the monitor's live overview (`staff::live`) hears of it.

use tokio::sync::{broadcast, watch};

/// Announcements of changes, by the org code they happened in, and of the server closing.
pub struct LiveHub {
    tx: broadcast::Sender<String>,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self { tx: broadcast::channel(256).0, closing: watch::channel(false).0 }
    }
}

impl LiveHub {
    /// Announces a change in `org_code` (a new case, message or alert) to every open stream.
    pub fn changed(&self, org_code: &str) {
        // Nobody listening is fine: there is no dashboard open.
        let _ = self.tx.send(org_code.to_owned());
    }

    /// Ends every open stream: a graceful shutdown waits for open requests, and a stream would
    /// otherwise never end.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Hears every announcement from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }

    /// Hears the server closing.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}
