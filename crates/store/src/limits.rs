//! Short-lived records: rate-limit events (kept in the database so limits hold across several
//! instances) and staged roster imports waiting for the clerk's confirmation (the file is
//! stored encrypted by the caller and removed once used or expired).

use crate::{Backend, NewAuditEntry, Store, StoreError};

/// One counted use of a quota, waiting to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateEvent {
    pub kind: &'static str,
    pub key: String,
    pub at: i64,
}

impl Store {
    /// Counts events of `kind` for `key` since `since`, then records this one. Concurrent calls
    /// for one key take turns (SQLite write transactions are `BEGIN IMMEDIATE`; PostgreSQL takes
    /// a transaction-scoped advisory lock on the key), so two requests at the limit can never
    /// both see room under it.
    pub async fn rate_event(&self, kind: &str, key: &str, since: i64, now: i64) -> Result<i64, StoreError> {
        Ok(self.rate_counts(kind, key, &[since], now).await?.first().copied().unwrap_or(0))
    }

    /// Like [`Store::rate_event`] for several windows at once: counts events of `kind` for
    /// `key` since each of `sinces`, then records this one (once).
    pub async fn rate_counts(&self, kind: &str, key: &str, sinces: &[i64], now: i64) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("rate:{kind}:{key}"))
                .execute(&mut *tx)
                .await?;
        }
        let mut counts = Vec::with_capacity(sinces.len());
        for since in sinces {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM rate_events WHERE kind = $1 AND key = $2 AND at >= $3")
                    .bind(kind)
                    .bind(key)
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await?;
            counts.push(count);
        }
        sqlx::query("INSERT INTO rate_events (kind, key, at) VALUES ($1, $2, $3)")
            .bind(kind)
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Counts events since `since` for each `(kind, key)` of `quotas`, in one statement,
    /// recording nothing: the read half of quotas whose events are written in batches
    /// ([`Store::begin_queries`]).
    pub async fn count_rate_events(&self, quotas: &[(&str, &str)], since: i64) -> Result<Vec<i64>, StoreError> {
        if quotas.is_empty() {
            return Ok(Vec::new());
        }
        let sql = (0..quotas.len())
            .map(|i| {
                format!(
                    "SELECT CAST({i} AS BIGINT), COUNT(*) FROM rate_events WHERE kind = ${} AND key = ${} AND at >= $1",
                    2 * i + 2,
                    2 * i + 3
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let sql = sqlx::AssertSqlSafe(sql);
        let mut query = sqlx::query_as::<_, (i64, i64)>(sql).bind(since);
        for (kind, key) in quotas {
            query = query.bind(*kind).bind(*key);
        }
        let mut counts = vec![0; quotas.len()];
        for (i, count) in query.fetch_all(&self.pool).await? {
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
                *slot = count;
            }
        }
        Ok(counts)
    }

    /// Opens the write transaction of a batch of quota events and audit records. On SQLite it
    /// holds the database's write lock from here, so the caller can wait for the lock first and
    /// gather what to write after. On SQLite it first copies the write-ahead log into the
    /// database (a passive checkpoint, which never waits for readers or writers): otherwise the
    /// batch's commit, which the caller holds lookups for, could be the one that crosses the
    /// log's checkpoint threshold and copy a thousand pages before returning.
    pub async fn begin_queries(&self) -> Result<QueryBatch, StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        }
        Ok(QueryBatch { tx: self.begin_write().await?, backend: self.backend })
    }

    /// Keeps a checked upload until the clerk confirms it.
    pub async fn stage_import(
        &self,
        token: &str,
        user_id: i64,
        params: &str,
        file_enc: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO staged_imports (token, user_id, params, file_enc, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token)
        .bind(user_id)
        .bind(params)
        .bind(file_enc)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reads a staged upload of this user, if it has not expired.
    pub async fn staged_import(
        &self,
        token: &str,
        user_id: i64,
        since: i64,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT params, file_enc FROM staged_imports WHERE token = $1 AND user_id = $2 AND created_at >= $3",
        )
        .bind(token)
        .bind(user_id)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn drop_staged_import(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staged_imports WHERE token = $1").bind(token).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes expired staged uploads and old rate-limit events.
    pub async fn purge_short_lived(&self, staged_before: i64, events_before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staged_imports WHERE created_at < $1").bind(staged_before).execute(&self.pool).await?;
        sqlx::query("DELETE FROM rate_events WHERE at < $1").bind(events_before).execute(&self.pool).await?;
        Ok(())
    }
}

/// An open write transaction for quota events and the audit records of the queries they counted
/// (see [`Store::begin_queries`]); dropped uncommitted, it is rolled back.
pub struct QueryBatch {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
}

impl QueryBatch {
    /// Inserts `events` and `audits` (each kind as one JSON array unpacked by the database, in
    /// order), not yet committed.
    pub async fn insert(&mut self, events: &[RateEvent], audits: &[NewAuditEntry]) -> Result<(), StoreError> {
        if !events.is_empty() {
            let rows: Vec<serde_json::Value> =
                events.iter().map(|e| serde_json::json!([e.kind, e.key, e.at])).collect();
            let rows = serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let sql = match self.backend {
                Backend::Sqlite => {
                    "INSERT INTO rate_events (kind, key, at) \
                     SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2 FROM json_each($1) r ORDER BY r.key"
                }
                Backend::Postgres => {
                    "INSERT INTO rate_events (kind, key, at) SELECT r ->> 0, r ->> 1, (r ->> 2)::bigint \
                     FROM json_array_elements($1::json) WITH ORDINALITY AS t(r, n) ORDER BY n"
                }
            };
            sqlx::query(sql).bind(rows).execute(&mut *self.tx).await?;
        }
        Store::insert_audits(&mut self.tx, self.backend, audits).await
    }

    /// Commits what was inserted.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
