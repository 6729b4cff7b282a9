//! 异议 (objections) raised by the public against a roster, one of its entries, or unpaid years
//! found by a self-query. The objector follows the case by its tracking code. The phone arrives
//! encrypted with its blind index.

use sqlx::FromRow;

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
    pub body: String,
    pub status: String,
    pub reply: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
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
}

const OBJECTION_COLUMNS: &str = "id, code, org_code, roster_id, entry_id, programme_id, name, phone_enc, body, \
     status, reply, created_at, updated_at";

impl Store {
    pub async fn create_objection(&self, o: &NewObjection, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO objections (code, org_code, roster_id, entry_id, programme_id, name, phone_enc, phone_idx, \
             body, status, created_at, updated_at, submit_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $10, $11) RETURNING id",
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
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn find_objection_by_code(&self, code: &str) -> Result<Option<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {OBJECTION_COLUMNS} FROM objections WHERE code = $1"));
        Ok(sqlx::query_as(sql).bind(code).fetch_optional(&self.pool).await?)
    }

    /// The objection a form with this once-only key filed, if any.
    pub async fn find_objection_by_submit_key(&self, key: &str) -> Result<Option<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {OBJECTION_COLUMNS} FROM objections WHERE submit_key = $1"));
        Ok(sqlx::query_as(sql).bind(key).fetch_optional(&self.pool).await?)
    }

    pub async fn find_objection(&self, id: i64) -> Result<Option<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {OBJECTION_COLUMNS} FROM objections WHERE id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Objections under an org subtree, open ones first, newest first.
    pub async fn objections_within(
        &self,
        org_prefix: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OBJECTION_COLUMNS} FROM objections WHERE org_code LIKE $1 \
             ORDER BY CASE status WHEN 'closed' THEN 1 ELSE 0 END, created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).bind(limit).bind(offset).fetch_all(&self.pool).await?)
    }

    /// Objections against one roster, for its page.
    pub async fn objections_of_roster(&self, roster_id: i64) -> Result<Vec<Objection>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {OBJECTION_COLUMNS} FROM objections WHERE roster_id = $1 ORDER BY created_at, id"
        ));
        Ok(sqlx::query_as(sql).bind(roster_id).fetch_all(&self.pool).await?)
    }

    /// Records a reply and the new status; a closed case stays closed.
    pub async fn answer_objection(
        &self,
        id: i64,
        status: &str,
        reply: &str,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE objections SET status = $1, reply = $2, handled_by = $3, updated_at = $4 \
             WHERE id = $5 AND status <> 'closed'",
        )
        .bind(status)
        .bind(reply)
        .bind(by)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Err(StoreError::Stale("objection is closed".into())) } else { Ok(()) }
    }
}
