//! Phones proven by SMS code: the codes sent (sealed phone, a keyed tag of the code, wrong tries),
//! the proven sessions a browser's cookie finds, households one of whose proven phones has used
//! the platform, and the owner's list of their own cases and messages. A try of a code is a
//! compare-and-set on its count of tries, so two tries at once cannot both use the last one; a
//! matched code opens its session in the same transaction.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use crate::tracked::Filed;
use crate::{Store, StoreError};

/// A code to record as sent.
#[derive(Debug, Clone)]
pub struct NewPhoneProof {
    /// Keyed hash of the handle the confirming form carries.
    pub token_idx: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    /// Keyed tag of the handle and the code.
    pub code_tag: String,
    pub sent_at: i64,
}

/// A code as stored.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PhoneProof {
    pub id: i64,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    pub code_tag: String,
    pub sent_at: i64,
    pub tries: i64,
    pub proven_at: Option<i64>,
}

/// A proven phone remembered for a browser until `expires_at`.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PhoneSession {
    pub token_idx: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    pub proven_at: i64,
    pub expires_at: i64,
}

/// One of the owner's own requests, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnRequest {
    /// A case, or a message of its kind, with its status.
    pub filed: Filed,
    pub tracking: String,
    /// A case's service item; empty for a message.
    pub title: String,
    pub submitted_at: i64,
}

impl<'r> FromRow<'r, AnyRow> for OwnRequest {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            filed: Filed::read(row)?,
            tracking: row.try_get("tracking")?,
            title: row.try_get("title")?,
            submitted_at: row.try_get("submitted_at")?,
        })
    }
}

/// Codes older than this (seconds) are deleted when a new one is recorded.
const KEEP_PROOFS_SECS: i64 = 86_400;

impl Store {
    /// Records a code sent, first deleting codes older than a day and sessions that expired.
    pub async fn create_phone_proof(&self, p: &NewPhoneProof) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM phone_proofs WHERE sent_at < $1")
            .bind(p.sent_at - KEEP_PROOFS_SECS)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM phone_sessions WHERE expires_at < $1").bind(p.sent_at).execute(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO phone_proofs (token_idx, phone_enc, phone_idx, code_tag, sent_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&p.token_idx)
        .bind(&p.phone_enc)
        .bind(&p.phone_idx)
        .bind(&p.code_tag)
        .bind(p.sent_at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The code a confirming form's handle names.
    pub async fn phone_proof(&self, token_idx: &str) -> Result<Option<PhoneProof>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, phone_enc, phone_idx, code_tag, sent_at, tries, proven_at FROM phone_proofs \
             WHERE token_idx = $1",
        )
        .bind(token_idx)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Counts a wrong try of code `id` that had `tries_before` tries: `false` when another try
    /// came first (or the code was used), so nothing changed.
    pub async fn count_wrong_code(&self, id: i64, tries_before: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE phone_proofs SET tries = tries + 1 WHERE id = $1 AND tries = $2 AND proven_at IS NULL")
                .bind(id)
                .bind(tries_before)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks code `id` (with `tries_before` tries) as matched at `session.proven_at` and opens
    /// `session`, in one transaction: `false` when another try came first.
    pub async fn prove_phone(&self, id: i64, tries_before: i64, session: &PhoneSession) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE phone_proofs SET proven_at = $1 WHERE id = $2 AND tries = $3 AND proven_at IS NULL")
                .bind(session.proven_at)
                .bind(id)
                .bind(tries_before)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO phone_sessions (token_idx, phone_enc, phone_idx, proven_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_idx)
        .bind(&session.phone_enc)
        .bind(&session.phone_idx)
        .bind(session.proven_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The proven phone a cookie's hash names, while it lasts.
    pub async fn phone_session(&self, token_idx: &str, now: i64) -> Result<Option<PhoneSession>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT token_idx, phone_enc, phone_idx, proven_at, expires_at FROM phone_sessions \
             WHERE token_idx = $1 AND expires_at > $2",
        )
        .bind(token_idx)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Forgets a proven phone (the villager chose 退出 or 更换手机号).
    pub async fn end_phone_session(&self, token_idx: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM phone_sessions WHERE token_idx = $1").bind(token_idx).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks a household as reached by one of its proven phones (once; the first time is kept).
    pub async fn mark_household_proven(&self, household_id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO proven_households (household_id, first_at) VALUES ($1, $2) \
             ON CONFLICT (household_id) DO NOTHING",
        )
        .bind(household_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The cases and messages filed under a phone (by its index), newest first. Reports (举报)
    /// are left out: their page opens with the report's own query password or the keyed link.
    pub async fn requests_of_phone(&self, phone_idx: &str, limit: i64) -> Result<Vec<OwnRequest>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, tracking, title, status, submitted_at FROM ( \
               SELECT 'case' AS kind, c.tracking, i.name AS title, c.status, c.submitted_at \
               FROM service_cases c JOIN service_items i ON i.id = c.item_id WHERE c.phone_idx = $1 \
               UNION ALL \
               SELECT m.kind, m.tracking, '' AS title, m.status, m.submitted_at \
               FROM messages m WHERE m.phone_idx = $1 AND m.kind <> 'report' \
             ) r ORDER BY submitted_at DESC, tracking DESC LIMIT $2",
        )
        .bind(phone_idx)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
