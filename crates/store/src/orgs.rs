//! The org tree (county → township → village → group) and households.

use sqlx::FromRow;
use xiaowei_core::org::{OrgLevel, display_name};

use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Org {
    pub id: i64,
    pub code: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub level: OrgLevel,
    pub parent_code: Option<String>,
}

impl Org {
    /// The name villagers use (`南岔村`, not `南岔村委会`).
    pub fn display_name(&self) -> &str {
        display_name(&self.name)
    }
}

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub code: String,
    pub name: String,
    pub level: OrgLevel,
    pub parent_code: Option<String>,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Household {
    pub id: i64,
    pub org_code: String,
    pub household_no: String,
    pub head_name: String,
    pub members: i64,
}

#[derive(Debug, Clone)]
pub struct NewHousehold {
    pub org_code: String,
    pub household_no: String,
    pub head_name: String,
    pub members: i64,
}

/// Sizes of a subtree, for overview pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgCounts {
    pub townships: i64,
    pub villages: i64,
    pub groups: i64,
    pub households: i64,
}

const ORG_COLUMNS: &str = "id, code, name, level, parent_code";

impl Store {
    /// Inserts orgs or renames/re-parents existing ones by code, all or nothing.
    /// Parents must come before their children. Returns how many rows were written.
    pub async fn import_orgs(&self, orgs: &[NewOrg], now: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        for org in orgs {
            sqlx::query(
                "INSERT INTO orgs (code, name, level, parent_code, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
                 parent_code = excluded.parent_code",
            )
            .bind(&org.code)
            .bind(&org.name)
            .bind(org.level.as_str())
            .bind(org.parent_code.as_deref())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(orgs.len() as u64)
    }

    pub async fn find_org(&self, code: &str) -> Result<Option<Org>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ORG_COLUMNS} FROM orgs WHERE code = $1"));
        Ok(sqlx::query_as(sql).bind(code).fetch_optional(&self.pool).await?)
    }

    /// Every org, by code (the whole tree is a county's: some thousands of rows at most).
    pub async fn all_orgs(&self) -> Result<Vec<Org>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY code"));
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }

    /// Direct children of an org, by code.
    pub async fn child_orgs(&self, code: &str) -> Result<Vec<Org>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ORG_COLUMNS} FROM orgs WHERE parent_code = $1 ORDER BY code"));
        Ok(sqlx::query_as(sql).bind(code).fetch_all(&self.pool).await?)
    }

    /// Every org of one level, by code.
    pub async fn orgs_at_level(&self, level: OrgLevel) -> Result<Vec<Org>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ORG_COLUMNS} FROM orgs WHERE level = $1 ORDER BY code"));
        Ok(sqlx::query_as(sql).bind(level.as_str()).fetch_all(&self.pool).await?)
    }

    /// Each township's code with the number of villages under it, in one query (townships
    /// without villages are absent).
    pub async fn villages_per_township(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT parent_code, CAST(COUNT(*) AS BIGINT) FROM orgs \
             WHERE level = 'village' AND parent_code IS NOT NULL GROUP BY parent_code ORDER BY parent_code",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The county: the single root of the tree, if the tree has been loaded.
    pub async fn county(&self) -> Result<Option<Org>, StoreError> {
        Ok(self.orgs_at_level(OrgLevel::County).await?.into_iter().next())
    }

    /// Counts villages, groups and households inside the subtree rooted at `code`.
    pub async fn org_counts(&self, code: &str) -> Result<OrgCounts, StoreError> {
        let prefix = format!("{code}%");
        let (townships, villages, groups): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN level = 'township' THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN level = 'village' THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN level = 'group' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM orgs WHERE code LIKE $1",
        )
        .bind(&prefix)
        .fetch_one(&self.pool)
        .await?;
        let households: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM households WHERE org_code LIKE $1")
                .bind(&prefix)
                .fetch_one(&self.pool)
                .await?;
        Ok(OrgCounts { townships, villages, groups, households })
    }

    /// Adds a household to a village or group.
    pub async fn add_household(&self, h: &NewHousehold, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO households (org_code, household_no, head_name, members, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&h.org_code)
        .bind(&h.household_no)
        .bind(&h.head_name)
        .bind(h.members)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Adds many households in one transaction (demo and bulk loading).
    pub async fn add_households(&self, households: &[NewHousehold], now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for h in households {
            sqlx::query(
                "INSERT INTO households (org_code, household_no, head_name, members, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (household_no) DO NOTHING",
            )
            .bind(&h.org_code)
            .bind(&h.household_no)
            .bind(&h.head_name)
            .bind(h.members)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One page of the households directly registered to an org, by household number.
    pub async fn households_of(&self, org_code: &str, limit: i64, offset: i64) -> Result<Vec<Household>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, org_code, household_no, head_name, members FROM households \
             WHERE org_code = $1 ORDER BY household_no LIMIT $2 OFFSET $3",
        )
        .bind(org_code)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }
}
