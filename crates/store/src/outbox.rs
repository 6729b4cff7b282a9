//! The notification outbox: every text message is written in the same transaction as the change
//! that causes it, then claimed by a delivery worker under a lease, sent, and marked sent or
//! failed. A claim is one atomic statement, so two workers (or two server instances) never send
//! one message twice; a worker that dies mid-send leaves a lease that expires and is retried.
//! Writes that queue texts raise the store's outbox signal and, on PostgreSQL, `NOTIFY` the
//! other instances, so that delivery starts at once.

use sqlx::FromRow;
use xiaowei_core::outbox::{Delivery, TextChannel};

use crate::decode::code;
use crate::{Backend, Store, StoreError};

/// The PostgreSQL `NOTIFY` channel that announces queued texts.
const OUTBOX_CHANNEL: &str = "xiaowei_outbox";

/// What a [`Store`] calls after it queued texts (see [`Store::with_outbox_signal`]).
#[derive(Clone, Default)]
pub(crate) struct OutboxSignal(Option<std::sync::Arc<dyn Fn() + Send + Sync>>);

impl OutboxSignal {
    fn raise(&self) {
        if let Some(signal) = &self.0 {
            signal();
        }
    }
}

impl std::fmt::Debug for OutboxSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "OutboxSignal(set)" } else { "OutboxSignal(none)" })
    }
}

/// A PostgreSQL connection listening for queued texts.
pub struct OutboxListener(sqlx::postgres::PgListener);

impl OutboxListener {
    /// Waits until some instance queues texts. A lost connection is re-established (notices
    /// sent meanwhile are missed; the worker's poll finds their rows).
    pub async fn queued(&mut self) -> Result<(), StoreError> {
        self.0.recv().await?;
        Ok(())
    }
}

/// A notification to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// Makes the notification exist once, e.g. `case:12:case_submitted:head:3`.
    pub dedup_key: String,
    pub channel: TextChannel,
    /// The template key.
    pub notice: String,
    /// Who, for staff: 部门主要领导 张三.
    pub recipient: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    /// The ordered template parameters, as JSON `[["code","BJ…"],…]`.
    pub params: String,
    /// The text as it reads, for the log sink and the staff view.
    pub body: String,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub dedup_key: String,
    #[sqlx(try_from = "String")]
    pub channel: TextChannel,
    pub notice: String,
    pub case_id: Option<i64>,
    pub message_id: Option<i64>,
    pub recipient: String,
    pub phone_enc: Vec<u8>,
    pub params: String,
    pub body: String,
    #[sqlx(try_from = "String")]
    pub status: Delivery,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// A text as the 短信记录 listing shows it: with the tracking number of the case or message it is
/// about (empty for neither), read in the same query.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ListedText {
    #[sqlx(flatten)]
    pub text: OutboxMessage,
    pub tracking: String,
}

/// The tracking number a listed text is about, as a column.
const TRACKING: &str = "COALESCE((SELECT c.tracking FROM service_cases c WHERE c.id = outbox.case_id), \
     (SELECT m.tracking FROM messages m WHERE m.id = outbox.message_id), '') AS tracking";

/// Texts only the commission may see: about a report (举报), or to an objector (their text carries
/// the tracking code that opens the objection's words).
const PROTECTED: &str = "(outbox.notice = 'objection_answered' OR EXISTS (SELECT 1 FROM messages m \
     WHERE m.id = outbox.message_id AND m.kind = 'report'))";

pub(crate) const COLUMNS: &str = "id, dedup_key, channel, notice, case_id, message_id, recipient, phone_enc, params, body, status, attempts, \
     next_attempt_at, last_error, provider_id, created_at, sent_at";

/// Counts by status, for the staff page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
}

/// Writes one text inside the caller's transaction; `link` names the column and id of the
/// request it is about (`case_id` or `message_id`). A repeated `dedup_key` writes nothing.
pub(crate) async fn insert_outbox(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    link: Option<(&str, i64)>,
    n: &NewOutbox,
    now: i64,
) -> Result<(), StoreError> {
    let (column, value) = link.map_or((String::new(), ""), |(c, _)| (format!(", {c}"), ", $10"));
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO outbox (dedup_key, channel, notice, recipient, phone_enc, phone_idx, params, body, status, \
         attempts, next_attempt_at, created_at{column}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, \
         $9{value}) ON CONFLICT (dedup_key) DO NOTHING"
    ));
    let mut query = sqlx::query(sql)
        .bind(&n.dedup_key)
        .bind(n.channel.as_str())
        .bind(&n.notice)
        .bind(&n.recipient)
        .bind(&n.phone_enc)
        .bind(&n.phone_idx)
        .bind(&n.params)
        .bind(&n.body)
        .bind(now);
    if let Some((_, id)) = link {
        query = query.bind(id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

impl Store {
    /// Writes notifications on their own (not tied to a case change).
    pub async fn enqueue(&self, notices: &[NewOutbox], now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for n in notices {
            insert_outbox(&mut tx, None, n, now).await?;
        }
        tx.commit().await?;
        if !notices.is_empty() {
            self.announce_outbox().await;
        }
        Ok(())
    }

    /// Claims up to `limit` messages due at `now` for `worker` until `now + lease_secs`: pending
    /// ones whose time has come, and ones whose sender's lease ran out, oldest first.
    ///
    /// One statement picks and leases the rows, so a claim is atomic on both engines: SQLite runs
    /// one writer at a time, and on PostgreSQL the picked rows are locked (`SKIP LOCKED` passes
    /// over rows another instance is claiming) while the outer condition is checked again on
    /// the row as it stands, so a row leased meanwhile is never leased twice.
    pub async fn claim_outbox(
        &self,
        worker: &str,
        now: i64,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        const DUE: &str =
            "((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until < $3))";
        // Look before taking SQLite's write lock: most polls find nothing due.
        let probe = sqlx::AssertSqlSafe(format!("SELECT id FROM outbox WHERE {} LIMIT 1", DUE.replace("$3", "$1")));
        if sqlx::query_scalar::<_, i64>(probe).bind(now).fetch_optional(&self.pool).await?.is_none() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE {DUE} ORDER BY id LIMIT $4{lock}) AND {DUE} \
             RETURNING {COLUMNS}"
        ));
        let mut claimed: Vec<OutboxMessage> =
            sqlx::query_as(sql).bind(worker).bind(now + lease_secs).bind(now).bind(limit).fetch_all(&self.pool).await?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    /// Tells delivery workers that texts were queued: this instance's through its signal, every
    /// instance on PostgreSQL through `NOTIFY` (see [`Store::outbox_listener`]).
    pub(crate) async fn announce_outbox(&self) {
        self.outbox_signal.raise();
        if self.backend == Backend::Postgres
            && let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_notify('{OUTBOX_CHANNEL}', '')")))
                .execute(&self.pool)
                .await
        {
            // Other instances still find the rows on their next poll.
            tracing::warn!(error = %e, "outbox notification not sent");
        }
    }

    /// Wakes this handle's delivery worker whenever texts are queued through it.
    #[must_use]
    pub fn with_outbox_signal(mut self, signal: impl Fn() + Send + Sync + 'static) -> Self {
        self.outbox_signal = OutboxSignal(Some(std::sync::Arc::new(signal)));
        self
    }

    /// On PostgreSQL, a listener that hears texts queued by any instance; `None` on SQLite, whose
    /// one file has no such channel (the worker's short poll covers another process there).
    pub async fn outbox_listener(&self) -> Result<Option<OutboxListener>, StoreError> {
        let Some(url) = &self.pg_url else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect(&url.0).await?;
        listener.listen(OUTBOX_CHANNEL).await?;
        Ok(Some(OutboxListener(listener)))
    }

    /// Marks a claimed message sent; `Ok(false)` when this worker no longer holds it.
    pub async fn outbox_sent(&self, id: i64, worker: &str, provider_id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'sent', provider_id = $1, sent_at = $2, lease_owner = NULL, \
             lease_until = NULL, last_error = NULL WHERE id = $3 AND status = 'sending' AND lease_owner = $4",
        )
        .bind(provider_id)
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: retried at `retry_at`, or failed for good when `None`.
    pub async fn outbox_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = CASE WHEN $1 IS NULL THEN 'failed' ELSE 'pending' END, \
             next_attempt_at = COALESCE($1, next_attempt_at), last_error = $2, lease_owner = NULL, \
             lease_until = NULL WHERE id = $3 AND status = 'sending' AND lease_owner = $4",
        )
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a failed message back in the queue (a staff member's retry).
    pub async fn retry_outbox(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $1, attempts = 0 WHERE id = $2 AND status = 'failed'",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            self.announce_outbox().await;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Messages newest first, optionally of one status or one case, with the total.
    pub async fn outbox(
        &self,
        status: Option<Delivery>,
        case_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<OutboxMessage>, i64), StoreError> {
        self.outbox_where(COLUMNS, status, case_id, true, limit, offset).await
    }

    /// The 短信记录 listing: like [`Store::outbox`], but texts about a report (举报) or to an objector only when
    /// `include_reports` (the discipline commission), filtered in the query so that counts and
    /// pages never reveal them either.
    pub async fn outbox_listing(
        &self,
        status: Option<Delivery>,
        include_reports: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ListedText>, i64), StoreError> {
        self.outbox_where(&format!("{COLUMNS}, {TRACKING}"), status, None, include_reports, limit, offset).await
    }

    /// `columns` of the texts of a status or a case, newest first, with their total.
    async fn outbox_where<T>(
        &self,
        columns: &str,
        status: Option<Delivery>,
        case_id: Option<i64>,
        include_reports: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<T>, i64), StoreError>
    where
        T: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let condition =
            format!("($1 = '' OR status = $1) AND ($2 = 0 OR case_id = $2) AND ($3 = 1 OR NOT {PROTECTED})");
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {columns} FROM outbox WHERE {condition} ORDER BY id DESC LIMIT $4 OFFSET $5"
        ));
        let status = status.map_or("", Delivery::as_str);
        let case_id = case_id.unwrap_or(0);
        let reports = i64::from(include_reports);
        let rows = sqlx::query_as(sql)
            .bind(status)
            .bind(case_id)
            .bind(reports)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let count = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM outbox WHERE {condition}"));
        let total = sqlx::query_scalar(count).bind(status).bind(case_id).bind(reports).fetch_one(&self.pool).await?;
        Ok((rows, total))
    }

    /// Whether the text `id` is about a report (举报) or to an objector, which only the commission
    /// may see.
    pub async fn outbox_is_about_report(&self, id: i64) -> Result<bool, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM outbox WHERE id = $1 AND {PROTECTED}"));
        let n: i64 = sqlx::query_scalar(sql).bind(id).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// Texts by status; those about a report (举报) or to an objector only when `include_reports`.
    pub async fn outbox_counts(&self, include_reports: bool) -> Result<OutboxCounts, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT status, COUNT(*) FROM outbox WHERE $1 = 1 OR NOT {PROTECTED} GROUP BY status"
        ));
        let rows: Vec<(String, i64)> =
            sqlx::query_as(sql).bind(i64::from(include_reports)).fetch_all(&self.pool).await?;
        let mut counts = OutboxCounts::default();
        for (status, n) in rows {
            match code(status)? {
                Delivery::Pending => counts.pending = n,
                Delivery::Sending => counts.sending = n,
                Delivery::Sent => counts.sent = n,
                Delivery::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }
}
