//! The database as a whole, for operators: its schema version, a consistent copy for a backup
//! (SQLite `VACUUM INTO`; a PostgreSQL snapshot exported for `pg_dump` together with the ledger
//! head it contains) and row counts for a restore report. Never changes application data.

use std::path::Path;

use sqlx::{Connection, Executor};
use xiaowei_core::ledger::Hash;

use crate::{Backend, Store, StoreError};

/// The tables a restore report counts: what an operator recognises at a glance.
pub const COUNTED_TABLES: &[(&str, &str)] = &[
    ("orgs", "单位"),
    ("staff_users", "工作人员账号"),
    ("programmes", "补贴项目"),
    ("rosters", "花名册"),
    ("roster_entries", "花名册记录"),
    ("attachments", "附件"),
    ("disclosures", "公开事项"),
    ("power_exercises", "小微权力运行记录"),
    ("service_cases", "办件"),
    ("messages", "留言"),
    ("objections", "异议"),
    ("ledger_leaves", "账本记录"),
    ("audit_log", "操作日志"),
];

/// A PostgreSQL snapshot held open for `pg_dump --snapshot`, with the ledger head it sees.
/// [`ExportedSnapshot::release`] ends it; dropping it closes its connection, which ends it too.
pub struct ExportedSnapshot {
    conn: sqlx::AnyConnection,
    /// The name to pass to `pg_dump --snapshot`.
    pub id: String,
    /// Ledger size and root hash inside the snapshot.
    pub ledger: (u64, Hash),
}

impl ExportedSnapshot {
    pub async fn release(mut self) -> Result<(), StoreError> {
        self.conn.execute("ROLLBACK").await?;
        self.conn.close().await?;
        Ok(())
    }
}

impl Store {
    /// On PostgreSQL, creates the empty database `name` on this handle's server (for a benchmark
    /// that needs a database of its own); this handle may be on any database there.
    pub async fn create_database(&self, name: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Unsupported("CREATE DATABASE"));
        }
        let sql = format!("CREATE DATABASE {}", quoted(name));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.pool).await?;
        Ok(())
    }

    /// On PostgreSQL, drops the database `name` on this handle's server, ending its connections.
    pub async fn drop_database(&self, name: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Unsupported("DROP DATABASE"));
        }
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(name));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.pool).await?;
        Ok(())
    }

    /// Bytes the database takes on disk: SQLite's pages (the WAL not counted), or PostgreSQL's
    /// `pg_database_size` (tables, indexes and TOAST).
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            Backend::Postgres => "SELECT pg_database_size(current_database())",
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }

    /// Refreshes the query planner's statistics: `ANALYZE` on PostgreSQL (so plans stay right
    /// after a large import even where autovacuum is off or has not come round yet), `PRAGMA
    /// optimize` on SQLite.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => "PRAGMA optimize",
            Backend::Postgres => "ANALYZE",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// The newest migration applied (0 on an empty database).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }

    /// Writes a consistent, compacted copy of the SQLite database to `dest` (which must not
    /// exist), while other connections keep reading and writing. SQLite only.
    pub async fn vacuum_into(&self, dest: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported("VACUUM INTO"));
        }
        let path = dest.to_str().ok_or(StoreError::Unsupported("a backup path that is not UTF-8"))?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
    }

    /// Opens a repeatable-read transaction, exports its snapshot and reads the ledger head in it.
    /// PostgreSQL only.
    pub async fn export_snapshot(&self) -> Result<ExportedSnapshot, StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Unsupported("pg_export_snapshot"));
        }
        let mut conn = self.pool.acquire().await?.detach();
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut conn).await?;
        let ledger = crate::ledger::head_on(&mut conn).await?;
        Ok(ExportedSnapshot { conn, id, ledger })
    }

    /// Rows in each of [`COUNTED_TABLES`].
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut out = Vec::with_capacity(COUNTED_TABLES.len());
        for (table, label) in COUNTED_TABLES {
            let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
            let count: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await?;
            out.push((*label, count));
        }
        Ok(out)
    }

    /// Whether the database holds no tables of ours yet (a restore target must not).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        };
        let tables: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await?;
        Ok(tables == 0)
    }
}

/// `name` as a quoted PostgreSQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
