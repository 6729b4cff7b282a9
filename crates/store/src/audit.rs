//! The append-only audit log: every staff change and every staff view of personal data.
//! The tables refuse UPDATE and DELETE by trigger on both engines.

use sqlx::FromRow;

use crate::{Backend, Store, StoreError};

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

    /// Appends `entries` in order on `conn` in one statement: the rows travel as one JSON array
    /// unpacked by the database (a batch of the self-query's records, see `Store::begin_queries`).
    pub(crate) async fn insert_audits(
        conn: &mut sqlx::AnyConnection,
        backend: Backend,
        entries: &[NewAuditEntry],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|a| {
                serde_json::json!([a.at, a.actor_id, a.actor_name, a.action, a.target, a.detail, a.ip, a.org_code])
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sql = match backend {
            Backend::Sqlite => {
                "INSERT INTO audit_log (at, actor_id, actor_name, action, target, detail, ip, org_code) \
                 SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5, \
                 r.value ->> 6, r.value ->> 7 FROM json_each($1) r ORDER BY r.key"
            }
            Backend::Postgres => {
                "INSERT INTO audit_log (at, actor_id, actor_name, action, target, detail, ip, org_code) \
                 SELECT (r ->> 0)::bigint, (r ->> 1)::bigint, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7 \
                 FROM json_array_elements($1::json) WITH ORDINALITY AS t(r, n) ORDER BY n"
            }
        };
        sqlx::query(sql).bind(rows).execute(conn).await?;
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
