//! The live overview's hub: handlers announce a change after commit, and every open stream of
//! the monitor's live overview (`staff::live`) hears of it. On PostgreSQL, `workers::live` carries
//! this instance's announcements to the other instances and theirs back into this hub.

use tokio::sync::{broadcast, watch};

/// Announcements of changes, by the org code they happened in, and of the server closing.
pub struct LiveHub {
    /// Every announcement, this instance's and those heard from others: what streams hear.
    tx: broadcast::Sender<String>,
    /// This instance's own announcements, for the relay to pass on.
    own: broadcast::Sender<String>,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self { tx: broadcast::channel(256).0, own: broadcast::channel(256).0, closing: watch::channel(false).0 }
    }
}

impl LiveHub {
    /// Announces a change in `org_code` (a new case, message or alert) to every open stream, here
    /// and (through the relay) on the other instances.
    pub fn changed(&self, org_code: &str) {
        // Nobody listening is fine: there is no dashboard open, or no relay (SQLite).
        let _ = self.tx.send(org_code.to_owned());
        let _ = self.own.send(org_code.to_owned());
    }

    /// Announces to this instance's streams a change another instance announced.
    pub fn heard(&self, org_code: &str) {
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

    /// Hears this instance's own announcements from now on (for the relay).
    pub fn own(&self) -> broadcast::Receiver<String> {
        self.own.subscribe()
    }

    /// Hears the server closing.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}
