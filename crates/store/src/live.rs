//! The live overview's announcements between server instances on one PostgreSQL: an instance
//! `NOTIFY`s the org code of a new case, message or alert, with its own id, on a channel of its
//! own, and every instance listening hears it. SQLite serves one instance, so there nothing is
//! sent and nobody listens.

use crate::{Backend, Store, StoreError};

/// The PostgreSQL `NOTIFY` channel that announces changes for the live overview.
const LIVE_CHANNEL: &str = "xiaowei_live";

/// A change announced by some instance: who announced it and the org code it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAnnouncement {
    pub instance: String,
    pub org_code: String,
}

impl LiveAnnouncement {
    /// The `NOTIFY` payload: the instance id, a space, the org code.
    fn payload(instance: &str, org_code: &str) -> String {
        format!("{instance} {org_code}")
    }

    /// Reads a payload; `None` when it is not one of ours.
    fn parse(payload: &str) -> Option<Self> {
        let (instance, org_code) = payload.split_once(' ')?;
        (!instance.is_empty() && !org_code.is_empty())
            .then(|| Self { instance: instance.to_owned(), org_code: org_code.to_owned() })
    }
}

/// A PostgreSQL connection listening for the live overview's announcements.
pub struct LiveListener(sqlx::postgres::PgListener);

impl LiveListener {
    /// Waits for the next announcement of any instance, this one's included. A lost connection
    /// is re-established (announcements made meanwhile are missed); an error means it could not
    /// be.
    pub async fn heard(&mut self) -> Result<LiveAnnouncement, StoreError> {
        loop {
            let notice = self.0.recv().await?;
            match LiveAnnouncement::parse(notice.payload()) {
                Some(heard) => return Ok(heard),
                None => tracing::warn!(payload = notice.payload(), "unreadable live announcement ignored"),
            }
        }
    }
}

impl Store {
    /// Tells every instance listening (see [`Store::live_listener`]) that something changed in
    /// `org_code`, on behalf of `instance`. Nothing to do on SQLite.
    pub async fn announce_live(&self, instance: &str, org_code: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(LIVE_CHANNEL)
                .bind(LiveAnnouncement::payload(instance, org_code))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// On PostgreSQL, a listener that hears every instance's announcements; `None` on SQLite.
    pub async fn live_listener(&self) -> Result<Option<LiveListener>, StoreError> {
        let Some(url) = &self.pg_url else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect(&url.0).await?;
        listener.listen(LIVE_CHANNEL).await?;
        Ok(Some(LiveListener(listener)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::LiveAnnouncement;
    use crate::Store;
    use crate::conformance::{conformance, with_postgres, with_sqlite};

    #[test]
    fn a_payload_reads_back_and_a_stranger_is_refused() {
        let heard = LiveAnnouncement::parse(&LiveAnnouncement::payload("a1b2", "620922100200"));
        assert_eq!(heard, Some(LiveAnnouncement { instance: "a1b2".into(), org_code: "620922100200".into() }));
        for stranger in ["", "a1b2", " 620922", "a1b2 "] {
            assert_eq!(LiveAnnouncement::parse(stranger), None, "{stranger:?}");
        }
    }

    conformance!(an_announcement_reaches_every_listener_on_postgres_only, |store: Store| async move {
        let Some(mut listener) = store.live_listener().await.unwrap() else {
            assert_eq!(store.backend(), crate::Backend::Sqlite, "only SQLite goes without a listener");
            store.announce_live("a1b2", "620922100").await.unwrap();
            return;
        };
        // Another handle on the same database stands for another instance.
        let other = Store::connect(&store.pg_url.as_ref().unwrap().0).await.unwrap();
        other.announce_live("a1b2", "620922100").await.unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(5), listener.heard()).await.unwrap().unwrap();
        assert_eq!(heard, LiveAnnouncement { instance: "a1b2".into(), org_code: "620922100".into() });
        other.close().await;
    });
}
