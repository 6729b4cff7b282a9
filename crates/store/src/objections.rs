//! 异议 (objections) raised by the public against a roster, one of its entries, or unpaid years
//! found by a self-query. The objector follows the objection by its tracking code: its reply
//! deadline, timeline, answer and their rating of it. The phone arrives encrypted with its blind
//! index.
//!
//! As for cases and messages, every state change is compare-and-set on the status (or clock
//! column) and writes its timeline event and notifications in the same transaction.

use sqlx::FromRow;
use xiaowei_core::objection::{ObjectionRecipient, ObjectionStatus};
use xiaowei_core::tracked::{Rating, Satisfaction};

use crate::decode::MaybeCode;
use crate::outbox::NewOutbox;
use crate::services::RecipientRow;
use crate::tracked::{Columns, Filing, Mark, NewEvent, REPLY_CLOCK, REPLY_MARKS, RequestKind, Writes, reply_mark};
use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Objection {
    pub id: i64,
    pub code: String,
    pub org_code: String,
    pub roster_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub programme_id: Option<i64>,
    pub name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    pub body: String,
    #[sqlx(try_from = "String")]
    pub status: ObjectionStatus,
    pub reply: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub reply_due: i64,
    pub reply_remind_at: i64,
    pub deadline_basis: String,
    pub reminded_at: Option<i64>,
    pub overdue_at: Option<i64>,
    pub replied_at: Option<i64>,
    #[sqlx(try_from = "MaybeCode")]
    pub rating: Option<Satisfaction>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewObjection {
    pub code: String,
    /// The once-only key of the form that filed it: a repeated submission finds this objection.
    pub submit_key: String,
    pub org_code: String,
    pub roster_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub programme_id: Option<i64>,
    pub name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    pub body: String,
    pub reply_due: i64,
    pub reply_remind_at: i64,
    pub deadline_basis: String,
}

/// What happens to the objector's rating in a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RatingChange {
    #[default]
    Keep,
    /// The objector rates.
    Set(Rating),
    /// A new final answer awaits a new rating.
    Clear,
}

/// What a status change also writes on the objection.
#[derive(Debug, Clone, Default)]
pub struct ObjectionChange {
    /// The answer and who gave it.
    pub reply: Option<(String, i64)>,
    pub rating: RatingChange,
    /// A new reply deadline (due, remind at, basis), clearing the reminder and overdue marks.
    pub new_due: Option<(i64, i64, String)>,
}

/// The clock marks the scheduler sets on objections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectionClock {
    Reminder,
    Overdue,
}

impl ObjectionClock {
    pub const ALL: [Self; 2] = [Self::Reminder, Self::Overdue];
}

impl Mark for ObjectionClock {
    const KIND: RequestKind = RequestKind::Objection;

    fn columns(self) -> (&'static str, &'static str) {
        reply_mark(self == Self::Overdue)
    }

    fn running(self) -> &'static str {
        OPEN
    }
}

/// A rating is only written over no rating.
impl Writes for ObjectionChange {
    fn write(&self, c: &mut Columns) {
        if let Some((text, by)) = &self.reply {
            c.text("reply", text);
            c.int("handled_by", *by);
            c.now("replied_at");
        }
        match &self.rating {
            RatingChange::Keep => {}
            RatingChange::Set(rating) => {
                c.rating(rating);
                c.guard("rating IS NULL");
            }
            RatingChange::Clear => {
                c.clear("rating");
                c.clear("rating_comment");
                c.clear("rated_at");
            }
        }
        if let Some(deadline) = &self.new_due {
            c.deadline(REPLY_CLOCK, REPLY_MARKS, deadline);
        }
    }
}

const COLUMNS: &str = "id, code, org_code, roster_id, entry_id, programme_id, name, phone_enc, phone_idx, body, \
     status, reply, created_at, updated_at, reply_due, reply_remind_at, deadline_basis, reminded_at, overdue_at, \
     replied_at, rating, rating_comment, rated_at";
const OPEN: &str = "status IN ('open', 'handling')";

impl Store {
    /// Stores a new objection with its first event and notifications, in one transaction. A
    /// clash of its code or form key fails as a duplicate and writes nothing.
    pub async fn create_objection(
        &self,
        o: &NewObjection,
        event: &NewEvent,
        notices: &[NewOutbox],
        now: i64,
    ) -> Result<i64, StoreError> {
        let insert = sqlx::query_scalar(
            "INSERT INTO objections (code, org_code, roster_id, entry_id, programme_id, name, phone_enc, phone_idx, \
             body, status, created_at, updated_at, submit_key, reply_due, reply_remind_at, deadline_basis) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(&o.code)
        .bind(&o.org_code)
        .bind(o.roster_id)
        .bind(o.entry_id)
        .bind(o.programme_id)
        .bind(&o.name)
        .bind(&o.phone_enc)
        .bind(&o.phone_idx)
        .bind(&o.body)
        .bind(now)
        .bind(&o.submit_key)
        .bind(o.reply_due)
        .bind(o.reply_remind_at)
        .bind(&o.deadline_basis);
        let kind = RequestKind::Objection;
        let (id, _) =
            self.file(Filing { kind, submit_key: None, insert, photos: &[], event, notices, at: now }).await?;
        Ok(id)
    }

    pub async fn find_objection_by_code(&self, code: &str) -> Result<Option<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM objections WHERE code = $1"));
        Ok(sqlx::query_as(sql).bind(code).fetch_optional(&self.pool).await?)
    }

    /// The objection a form with this once-only key filed, if any.
    pub async fn find_objection_by_submit_key(&self, key: &str) -> Result<Option<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM objections WHERE submit_key = $1"));
        Ok(sqlx::query_as(sql).bind(key).fetch_optional(&self.pool).await?)
    }

    pub async fn find_objection(&self, id: i64) -> Result<Option<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM objections WHERE id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Objections under an org subtree: open ones first by due time, then the rest newest first.
    pub async fn objections_within(
        &self,
        org_prefix: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM objections WHERE org_code LIKE $1 \
             ORDER BY CASE WHEN {OPEN} THEN 0 ELSE 1 END, CASE WHEN {OPEN} THEN reply_due ELSE -created_at END, \
             id DESC LIMIT $2 OFFSET $3"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).bind(limit).bind(offset).fetch_all(&self.pool).await?)
    }

    /// Objections against one roster, for its page.
    pub async fn objections_of_roster(&self, roster_id: i64) -> Result<Vec<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM objections WHERE roster_id = $1 ORDER BY created_at, id"
        ));
        Ok(sqlx::query_as(sql).bind(roster_id).fetch_all(&self.pool).await?)
    }

    /// How many objections to any version of the roster `roster_id` are still open.
    pub async fn open_objections_of_lineage(&self, roster_id: i64) -> Result<i64, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM objections WHERE {OPEN} AND roster_id IN (SELECT v.id FROM rosters v, rosters r \
             WHERE r.id = $1 AND COALESCE(v.lineage_id, v.id) = COALESCE(r.lineage_id, r.id))"
        ));
        Ok(sqlx::query_scalar(sql).bind(roster_id).fetch_one(&self.pool).await?)
    }

    /// Staff with a phone whom texts about an objection to `org_code` reach: `reviewer` (township
    /// reviewers covering it) and `commission` (county supervisors covering it).
    pub async fn objection_recipients(
        &self,
        org_code: &str,
    ) -> Result<Vec<RecipientRow<ObjectionRecipient>>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT CASE WHEN u.role = 'township_reviewer' THEN 'reviewer' ELSE 'commission' END AS role, \
             u.display_name AS name, u.phone_enc, u.phone_idx FROM staff_users u \
             WHERE u.disabled = 0 AND u.phone_enc IS NOT NULL AND $1 LIKE u.org_code || '%' \
             AND u.role IN ('township_reviewer', 'supervisor') ORDER BY u.id",
        )
        .bind(org_code)
        .fetch_all(&self.pool)
        .await?)
    }
}
