//! The append-only audit log: every staff change and every staff view of personal data.
//! The tables refuse UPDATE and DELETE by trigger on both engines.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    /// A stable action code, e.g. `staff.create`, `pii.view`.
    pub action: String,
    /// What was acted on, e.g. `staff_user:12`.
    pub target: String,
    pub detail: String,
    pub ip: String,
    /// The org the action concerns, so scoped readers see their own subtree.
    pub org_code: Option<String>,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
    pub org_code: Option<String>,
}

impl Store {
    pub async fn append_audit(&self, e: &NewAuditEntry) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        Self::insert_audit(&mut conn, e).await
    }

    /// Appends `e` on `conn` (a pooled connection or an open transaction).
    pub(crate) async fn insert_audit(conn: &mut sqlx::AnyConnection, e: &NewAuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor_name, action, target, detail, ip, org_code) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.at)
        .bind(e.actor_id)
        .bind(&e.actor_name)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.detail)
        .bind(&e.ip)
        .bind(e.org_code.as_deref())
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Newest first, one page. Entries without an org are county-level and only shown to
    /// readers whose scope is the county (`within` of six digits or fewer).
    pub async fn audit_entries(&self, within: &str, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let county_wide = i64::from(within.len() <= 6);
        Ok(sqlx::query_as(
            "SELECT id, at, actor_id, actor_name, action, target, detail, ip, org_code FROM audit_log \
             WHERE (org_code LIKE $1 OR (org_code IS NULL AND $2 = 1)) ORDER BY id DESC LIMIT $3 OFFSET $4",
        )
        .bind(format!("{within}%"))
        .bind(county_wide)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }
}
