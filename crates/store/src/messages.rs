//! 留言箱 storage: messages with their reply clock, timeline and photos; the inbox filter by org
//! and kind; the public list of answered questions; and who a message notification can reach.
//!
//! Every state change is compare-and-set on the message's status (or clock column) and writes its
//! timeline event and notifications in the same transaction, as for service cases. This module
//! never decides who may read a report (举报): callers pass `include_reports`.

use sqlx::FromRow;

use crate::outbox::{NewOutbox, insert_outbox_for_message};
use crate::services::RecipientRow;
use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub tracking: String,
    pub kind: String,
    pub org_code: String,
    pub author_name: String,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_idx: Option<String>,
    pub secret_idx: Option<String>,
    pub body: String,
    pub allow_public: i64,
    pub status: String,
    pub assigned_to: Option<i64>,
    pub assignee_name: Option<String>,
    pub submitted_at: i64,
    pub reply_due: i64,
    pub deadline_basis: String,
    pub reminded_at: Option<i64>,
    pub overdue_at: Option<i64>,
    pub reply: Option<String>,
    pub reply_public: i64,
    pub replied_at: Option<i64>,
    pub merged_into: Option<i64>,
    pub hidden_reason: Option<String>,
    pub rating: Option<String>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<i64>,
}

const COLUMNS: &str = "m.id, m.tracking, m.kind, m.org_code, m.author_name, m.phone_enc, m.phone_idx, m.secret_idx, \
     m.body, m.allow_public, m.status, m.assigned_to, u.display_name AS assignee_name, m.submitted_at, m.reply_due, \
     m.deadline_basis, m.reminded_at, m.overdue_at, m.reply, m.reply_public, m.replied_at, m.merged_into, \
     m.hidden_reason, m.rating, m.rating_comment, m.rated_at";
const FROM: &str = "messages m LEFT JOIN staff_users u ON u.id = m.assigned_to";

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub tracking: String,
    /// The form's one-time key: a second submission of the same form finds the first message.
    pub submit_key: String,
    pub kind: String,
    pub org_code: String,
    pub author_name: String,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_idx: Option<String>,
    /// Keyed hash of an anonymous reporter's query password.
    pub secret_idx: Option<String>,
    pub body: String,
    pub allow_public: bool,
    pub submitted_at: i64,
    pub reply_due: i64,
    pub reply_remind_at: i64,
    pub deadline_basis: String,
}

#[derive(Debug, Clone)]
pub struct NewMessagePhoto {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MessagePhoto {
    pub id: i64,
    pub message_id: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
}

/// A timeline entry.
#[derive(Debug, Clone)]
pub struct NewMessageEvent {
    pub kind: String,
    pub actor: String,
    pub staff_user_id: Option<i64>,
    pub note: String,
    pub public: bool,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MessageEvent {
    pub id: i64,
    pub message_id: i64,
    pub kind: String,
    pub actor: String,
    pub note: String,
    pub public: i64,
    pub at: i64,
}

/// What a status change also writes on the message.
#[derive(Debug, Clone, Default)]
pub struct MessageChange {
    pub assigned_to: Option<i64>,
    /// The reply, whether it may be shown publicly, and who gave it.
    pub reply: Option<(String, bool, i64)>,
    pub rating: Option<(String, String)>,
    /// A new reply deadline (due, remind at, basis), clearing the reminder and overdue marks.
    pub new_due: Option<(i64, i64, String)>,
    pub merged_into: Option<i64>,
    pub hidden_reason: Option<String>,
}

/// The clock marks the scheduler sets on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageClock {
    Reminder,
    Overdue,
}

impl MessageClock {
    pub const ALL: [Self; 2] = [Self::Reminder, Self::Overdue];

    /// (column set, time column compared with now).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::Reminder => ("reminded_at", "reply_remind_at"),
            Self::Overdue => ("overdue_at", "reply_due"),
        }
    }
}

const OPEN: &str = "status IN ('submitted', 'handling', 'reopened')";

/// A filter over messages for the inbox.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only messages addressed inside this org subtree.
    pub org_prefix: String,
    /// Whether reports (举报) are included: only for the discipline commission.
    pub include_reports: bool,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub overdue_only: bool,
    /// Only open messages (the reply clock runs).
    pub open_only: bool,
}

impl Store {
    /// Stores a new message with its photos, first event and notifications, in one transaction.
    /// A repeated `submit_key` returns the first message's id and `false`.
    pub async fn create_message(
        &self,
        m: &NewMessage,
        photos: &[NewMessagePhoto],
        event: &NewMessageEvent,
        notices: &[NewOutbox],
    ) -> Result<(i64, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM messages WHERE submit_key = $1")
            .bind(&m.submit_key)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok((id, false));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (tracking, submit_key, kind, org_code, author_name, phone_enc, phone_idx, secret_idx, \
             body, allow_public, status, submitted_at, reply_due, reply_remind_at, deadline_basis, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'submitted', $11, $12, $13, $14, $11) RETURNING id",
        )
        .bind(&m.tracking)
        .bind(&m.submit_key)
        .bind(&m.kind)
        .bind(&m.org_code)
        .bind(&m.author_name)
        .bind(&m.phone_enc)
        .bind(&m.phone_idx)
        .bind(&m.secret_idx)
        .bind(&m.body)
        .bind(i64::from(m.allow_public))
        .bind(m.submitted_at)
        .bind(m.reply_due)
        .bind(m.reply_remind_at)
        .bind(&m.deadline_basis)
        .fetch_one(&mut *tx)
        .await?;
        for p in photos {
            sqlx::query(
                "INSERT INTO message_photos (message_id, sha256, size, content_type, original_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(&p.sha256)
            .bind(p.size)
            .bind(&p.content_type)
            .bind(&p.original_name)
            .bind(m.submitted_at)
            .execute(&mut *tx)
            .await?;
        }
        insert_event(&mut tx, id, event, m.submitted_at).await?;
        for n in notices {
            insert_outbox_for_message(&mut tx, id, n, m.submitted_at).await?;
        }
        tx.commit().await?;
        Ok((id, true))
    }

    pub async fn find_message(&self, id: i64) -> Result<Option<Message>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn find_message_by_tracking(&self, tracking: &str) -> Result<Option<Message>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {FROM} WHERE m.tracking = $1"));
        Ok(sqlx::query_as(sql).bind(tracking).fetch_optional(&self.pool).await?)
    }

    pub async fn find_message_by_submit_key(&self, key: &str) -> Result<Option<Message>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {FROM} WHERE m.submit_key = $1"));
        Ok(sqlx::query_as(sql).bind(key).fetch_optional(&self.pool).await?)
    }

    /// Messages matching `filter`: open ones first by due time, then the rest newest first; with
    /// the total count.
    pub async fn messages(
        &self,
        filter: &MessageFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Message>, i64), StoreError> {
        let condition = format!(
            "m.org_code LIKE $1 || '%' AND ($2 = 1 OR m.kind <> 'report') AND ($3 = '' OR m.kind = $3) \
             AND ($4 = '' OR m.status = $4) AND ($5 = 0 OR m.overdue_at IS NOT NULL) AND ($6 = 0 OR m.{OPEN})"
        );
        let kind = filter.kind.clone().unwrap_or_default();
        let status = filter.status.clone().unwrap_or_default();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE {condition} \
             ORDER BY CASE WHEN m.{OPEN} THEN 0 ELSE 1 END, \
             CASE WHEN m.{OPEN} THEN m.reply_due ELSE -m.submitted_at END, m.id DESC LIMIT $7 OFFSET $8"
        ));
        let rows = sqlx::query_as(sql)
            .bind(&filter.org_prefix)
            .bind(i64::from(filter.include_reports))
            .bind(&kind)
            .bind(&status)
            .bind(i64::from(filter.overdue_only))
            .bind(i64::from(filter.open_only))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let count = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM messages m WHERE {condition}"));
        let total = sqlx::query_scalar(count)
            .bind(&filter.org_prefix)
            .bind(i64::from(filter.include_reports))
            .bind(&kind)
            .bind(&status)
            .bind(i64::from(filter.overdue_only))
            .bind(i64::from(filter.open_only))
            .fetch_one(&self.pool)
            .await?;
        Ok((rows, total))
    }

    /// The public list: questions under `org_prefix` whose author allowed publication and whose
    /// answer staff marked public, newest answer first. Hidden and merged messages never appear.
    pub async fn public_messages(&self, org_prefix: &str, limit: i64) -> Result<Vec<Message>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE m.org_code LIKE $1 || '%' AND m.kind = 'question' \
             AND m.allow_public = 1 AND m.reply_public = 1 AND m.reply IS NOT NULL \
             AND m.status IN ('replied', 'closed', 'reopened') ORDER BY m.replied_at DESC, m.id DESC LIMIT $2"
        ));
        Ok(sqlx::query_as(sql).bind(org_prefix).bind(limit).fetch_all(&self.pool).await?)
    }

    pub async fn message_events(&self, message_id: i64) -> Result<Vec<MessageEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, message_id, kind, actor, note, public, at FROM message_events WHERE message_id = $1 ORDER BY id",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn message_photos(&self, message_id: i64) -> Result<Vec<MessagePhoto>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, message_id, sha256, size, content_type, original_name FROM message_photos \
             WHERE message_id = $1 ORDER BY id",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves a message from one of `from` to `to`, writing `change`, the event and the
    /// notifications in one transaction. `Ok(false)` when it was not in one of `from`.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_message(
        &self,
        id: i64,
        from: &[&str],
        to: &str,
        change: &MessageChange,
        event: &NewMessageEvent,
        notices: &[NewOutbox],
        now: i64,
    ) -> Result<bool, StoreError> {
        let statuses = from.iter().map(|s| format!("'{}'", s.replace('\'', ""))).collect::<Vec<_>>().join(", ");
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET status = $1, updated_at = $2, assigned_to = COALESCE($3, assigned_to), \
             reply = COALESCE($4, reply), reply_public = CASE WHEN $4 IS NULL THEN reply_public ELSE $5 END, \
             replied_by = COALESCE($6, replied_by), replied_at = CASE WHEN $4 IS NULL THEN replied_at ELSE $2 END, \
             rating = COALESCE($7, rating), rating_comment = COALESCE($8, rating_comment), \
             rated_at = CASE WHEN $7 IS NULL THEN rated_at ELSE $2 END, \
             reply_due = COALESCE($9, reply_due), reply_remind_at = COALESCE($10, reply_remind_at), \
             deadline_basis = COALESCE($11, deadline_basis), \
             reminded_at = CASE WHEN $9 IS NULL THEN reminded_at ELSE NULL END, \
             overdue_at = CASE WHEN $9 IS NULL THEN overdue_at ELSE NULL END, \
             merged_into = COALESCE($12, merged_into), hidden_reason = COALESCE($13, hidden_reason) \
             WHERE id = $14 AND status IN ({statuses})"
        ));
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sql)
            .bind(to)
            .bind(now)
            .bind(change.assigned_to)
            .bind(change.reply.as_ref().map(|r| r.0.clone()))
            .bind(change.reply.as_ref().map_or(0, |r| i64::from(r.1)))
            .bind(change.reply.as_ref().map(|r| r.2))
            .bind(change.rating.as_ref().map(|r| r.0.clone()))
            .bind(change.rating.as_ref().map(|r| r.1.clone()))
            .bind(change.new_due.as_ref().map(|d| d.0))
            .bind(change.new_due.as_ref().map(|d| d.1))
            .bind(change.new_due.as_ref().map(|d| d.2.clone()))
            .bind(change.merged_into)
            .bind(&change.hidden_reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_event(&mut tx, id, event, now).await?;
        for n in notices {
            insert_outbox_for_message(&mut tx, id, n, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a timeline note to a message (e.g. on the kept message of a merge).
    pub async fn add_message_note(&self, id: i64, event: &NewMessageEvent, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_event(&mut tx, id, event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Open messages whose `mark` is due at `now` and not yet set.
    pub async fn messages_due(&self, mark: MessageClock, now: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
        let (set, at) = mark.sql();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id FROM messages WHERE {set} IS NULL AND {at} <= $1 AND {OPEN} ORDER BY {at} LIMIT $2"
        ));
        Ok(sqlx::query_scalar(sql).bind(now).bind(limit).fetch_all(&self.pool).await?)
    }

    /// Sets `mark` on a message once, with its event and notifications; `Ok(false)` when another
    /// instance (or an earlier tick) already did, or the message was answered meanwhile.
    pub async fn fire_message_clock(
        &self,
        id: i64,
        mark: MessageClock,
        event: &NewMessageEvent,
        notices: &[NewOutbox],
        now: i64,
    ) -> Result<bool, StoreError> {
        let (set, at) = mark.sql();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE messages SET {set} = $1 WHERE id = $2 AND {set} IS NULL AND {at} <= $1 AND {OPEN}"
        ));
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sql).bind(now).bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_event(&mut tx, id, event, now).await?;
        for n in notices {
            insert_outbox_for_message(&mut tx, id, n, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Staff with a phone whom notifications about a message to `org_code` can reach, by role:
    /// `handler` (village clerks and township administrators covering it), `commission` (county
    /// supervisors covering it and the discipline secretary of its township), `supervisor` (county
    /// supervisors covering it) and `assignee` (the account it is assigned to).
    pub async fn message_recipients(
        &self,
        org_code: &str,
        assigned_to: Option<i64>,
    ) -> Result<Vec<RecipientRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT CASE WHEN u.role IN ('village_clerk', 'township_admin') THEN 'handler' ELSE 'commission' END \
             AS role, u.display_name AS name, u.phone_enc, u.phone_idx FROM staff_users u \
             WHERE u.disabled = 0 AND u.phone_enc IS NOT NULL AND $1 LIKE u.org_code || '%' \
             AND u.role IN ('village_clerk', 'township_admin', 'township_reviewer', 'supervisor') \
             UNION ALL SELECT 'supervisor', u.display_name, u.phone_enc, u.phone_idx FROM staff_users u \
             WHERE u.disabled = 0 AND u.phone_enc IS NOT NULL AND $1 LIKE u.org_code || '%' AND u.role = 'supervisor' \
             UNION ALL SELECT 'assignee', u.display_name, u.phone_enc, u.phone_idx FROM staff_users u \
             WHERE u.id = $2 AND u.disabled = 0 AND u.phone_enc IS NOT NULL",
        )
        .bind(org_code)
        .bind(assigned_to.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Active accounts a message to `org_code` may be assigned to: those whose org covers it,
    /// of the given roles.
    pub async fn staff_covering(&self, org_code: &str, roles: &[&str]) -> Result<Vec<crate::StaffUser>, StoreError> {
        let roles = roles.iter().map(|s| format!("'{}'", s.replace('\'', ""))).collect::<Vec<_>>().join(", ");
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM staff_users u WHERE u.disabled = 0 AND $1 LIKE u.org_code || '%' AND u.role IN ({roles}) \
             ORDER BY u.org_code DESC, u.username",
            crate::staff::USER_COLUMNS
        ));
        Ok(sqlx::query_as(sql).bind(org_code).fetch_all(&self.pool).await?)
    }

    /// Texts about one message, newest first.
    pub async fn message_outbox(&self, message_id: i64) -> Result<Vec<crate::OutboxMessage>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM outbox WHERE message_id = $1 ORDER BY id DESC",
            crate::outbox::COLUMNS
        ));
        Ok(sqlx::query_as(sql).bind(message_id).fetch_all(&self.pool).await?)
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    message_id: i64,
    e: &NewMessageEvent,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO message_events (message_id, kind, actor, staff_user_id, note, public, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(message_id)
    .bind(&e.kind)
    .bind(&e.actor)
    .bind(e.staff_user_id)
    .bind(&e.note)
    .bind(i64::from(e.public))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
