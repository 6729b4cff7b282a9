//! 办事直通车 storage: link-out tiles per county or township, in the order the county admin set.
//! The tiles shown at a township are the county's followed by the township's own.

use sqlx::FromRow;
use xiaowei_core::service_links::Icon;

use crate::{Store, StoreError};

/// A stored tile.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ServiceLinkRow {
    pub id: i64,
    /// The county (shown everywhere) or a township (shown there only).
    pub org_code: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub icon: Icon,
    pub url: String,
    pub description: String,
    pub position: i64,
}

#[derive(Debug, Clone)]
pub struct NewServiceLink {
    pub org_code: String,
    pub name: String,
    pub icon: Icon,
    pub url: String,
    pub description: String,
    pub position: i64,
    pub created_by: i64,
}

const COLUMNS: &str = "id, org_code, name, icon, url, description, position";

impl Store {
    /// Adds a tile; a second tile of the same name at the same org is a conflict.
    pub async fn add_service_link(&self, link: &NewServiceLink, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO service_links (org_code, name, icon, url, description, position, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(&link.org_code)
        .bind(&link.name)
        .bind(link.icon.as_str())
        .bind(&link.url)
        .bind(&link.description)
        .bind(link.position)
        .bind(link.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Changes a tile's content, order and place; `NotFound` when it is gone.
    pub async fn update_service_link(&self, id: i64, link: &NewServiceLink, now: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE service_links SET org_code = $1, name = $2, icon = $3, url = $4, description = $5, \
             position = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(&link.org_code)
        .bind(&link.name)
        .bind(link.icon.as_str())
        .bind(&link.url)
        .bind(&link.description)
        .bind(link.position)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes a tile; removing one already gone is not an error (a repeated click).
    pub async fn delete_service_link(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM service_links WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn find_service_link(&self, id: i64) -> Result<Option<ServiceLinkRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM service_links WHERE id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The tiles shown at an org: those of the org and of the orgs above it, county first, each
    /// in its set order.
    pub async fn service_links_for(&self, org_code: &str) -> Result<Vec<ServiceLinkRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM service_links WHERE $1 LIKE org_code || '%' \
             ORDER BY LENGTH(org_code), org_code, position, id"
        ));
        Ok(sqlx::query_as(sql).bind(org_code).fetch_all(&self.pool).await?)
    }

    /// Every tile under a county, for the back office: county tiles first, then by township.
    pub async fn service_links_within(&self, org_prefix: &str) -> Result<Vec<ServiceLinkRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM service_links WHERE org_code LIKE $1 \
             ORDER BY LENGTH(org_code), org_code, position, id"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }
}
