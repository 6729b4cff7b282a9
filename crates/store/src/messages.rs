//! 留言箱 storage: messages with their reply clock, timeline and photos; the inbox filter by org
//! and kind; the public list of answered questions; and who a message notification can reach.
//!
//! Every state change is compare-and-set on the message's status (or clock column) and writes its
//! timeline event and notifications in the same transaction, as for service cases. This module
//! never decides who may read a report (举报): callers pass `include_reports`.

use sqlx::FromRow;
use xiaowei_core::message::{MessageKind, MessageRecipient, MessageStatus};
use xiaowei_core::tracked::{Rating, Satisfaction};

use crate::decode::{Flag, MaybeCode};
use crate::outbox::NewOutbox;
use crate::services::RecipientRow;
use crate::tracked::{
    Columns, Filing, Mark, NewEvent, NewPhoto, REPLY_CLOCK, REPLY_MARKS, RequestKind, Writes, reply_mark,
};
use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub tracking: String,
    #[sqlx(try_from = "String")]
    pub kind: MessageKind,
    pub org_code: String,
    pub author_name: String,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_idx: Option<String>,
    pub secret_idx: Option<String>,
    pub body: String,
    #[sqlx(try_from = "Flag")]
    pub allow_public: bool,
    #[sqlx(try_from = "String")]
    pub status: MessageStatus,
    pub assigned_to: Option<i64>,
    pub assignee_name: Option<String>,
    pub submitted_at: i64,
    pub reply_due: i64,
    pub deadline_basis: String,
    pub reminded_at: Option<i64>,
    pub overdue_at: Option<i64>,
    pub reply: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub reply_public: bool,
    pub replied_at: Option<i64>,
    pub merged_into: Option<i64>,
    pub hidden_reason: Option<String>,
    #[sqlx(try_from = "MaybeCode")]
    pub rating: Option<Satisfaction>,
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
    pub kind: MessageKind,
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

/// What a status change also writes on the message.
#[derive(Debug, Clone, Default)]
pub struct MessageChange {
    pub assigned_to: Option<i64>,
    /// The reply, whether it may be shown publicly, and who gave it.
    pub reply: Option<(String, bool, i64)>,
    pub rating: Option<Rating>,
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
}

const OPEN: &str = "status IN ('submitted', 'handling', 'reopened')";

impl Mark for MessageClock {
    const KIND: RequestKind = RequestKind::Message;

    fn columns(self) -> (&'static str, &'static str) {
        reply_mark(self == Self::Overdue)
    }

    fn running(self) -> &'static str {
        OPEN
    }
}

impl Writes for MessageChange {
    fn write(&self, c: &mut Columns) {
        if let Some(user) = self.assigned_to {
            c.int("assigned_to", user);
        }
        if let Some((text, public, by)) = &self.reply {
            c.text("reply", text);
            c.int("reply_public", i64::from(*public));
            c.int("replied_by", *by);
            c.now("replied_at");
        }
        if let Some(rating) = &self.rating {
            c.rating(rating);
        }
        if let Some(deadline) = &self.new_due {
            c.deadline(REPLY_CLOCK, REPLY_MARKS, deadline);
        }
        if let Some(kept) = self.merged_into {
            c.int("merged_into", kept);
        }
        if let Some(reason) = &self.hidden_reason {
            c.text("hidden_reason", reason);
        }
    }
}

/// A filter over messages for the inbox.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only messages addressed inside this org subtree.
    pub org_prefix: String,
    /// Whether reports (举报) are included: only for the discipline commission.
    pub include_reports: bool,
    pub kind: Option<MessageKind>,
    pub status: Option<MessageStatus>,
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
        photos: &[NewPhoto],
        event: &NewEvent,
        notices: &[NewOutbox],
    ) -> Result<(i64, bool), StoreError> {
        let insert = sqlx::query_scalar(
            "INSERT INTO messages (tracking, submit_key, kind, org_code, author_name, phone_enc, phone_idx, secret_idx, \
             body, allow_public, status, submitted_at, reply_due, reply_remind_at, deadline_basis, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'submitted', $11, $12, $13, $14, $11) RETURNING id",
        )
        .bind(&m.tracking)
        .bind(&m.submit_key)
        .bind(m.kind.as_str())
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
        .bind(&m.deadline_basis);
        let kind = RequestKind::Message;
        let at = m.submitted_at;
        self.file(Filing { kind, submit_key: Some(&m.submit_key), insert, photos, event, notices, at }).await
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
        let kind = filter.kind.map_or("", MessageKind::as_str);
        let status = filter.status.map_or("", MessageStatus::as_str);
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE {condition} \
             ORDER BY CASE WHEN m.{OPEN} THEN 0 ELSE 1 END, \
             CASE WHEN m.{OPEN} THEN m.reply_due ELSE -m.submitted_at END, m.id DESC LIMIT $7 OFFSET $8"
        ));
        let rows = sqlx::query_as(sql)
            .bind(&filter.org_prefix)
            .bind(i64::from(filter.include_reports))
            .bind(kind)
            .bind(status)
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
            .bind(kind)
            .bind(status)
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

    /// Staff with a phone whom notifications about a message to `org_code` can reach, by role:
    /// `handler` (village clerks and township administrators covering it), `commission` (county
    /// supervisors covering it and the discipline secretary of its township), `supervisor` (county
    /// supervisors covering it) and `assignee` (the account it is assigned to).
    pub async fn message_recipients(
        &self,
        org_code: &str,
        assigned_to: Option<i64>,
    ) -> Result<Vec<RecipientRow<MessageRecipient>>, StoreError> {
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
