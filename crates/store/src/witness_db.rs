//! The witness's own database (`xiaowei witness serve`): one small SQLite file, apart from the
//! platform's database and its migrations, holding for each log origin the verifier keys the
//! witness trusts and the latest checkpoint it cosigned (size, root, the note and its own
//! cosignature). The schema is created on open.
//!
//! The only write is [`WitnessDb::advance`], a compare-and-swap on the stored (size, root), so two
//! concurrent submissions can never roll the witness's view of a log back.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use xiaowei_core::ledger::{Hash, hash_from_bytes};

use crate::StoreError;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS witness_logs (
    origin TEXT PRIMARY KEY,
    -- The log's signed-note verifier keys, one per line.
    vkeys TEXT NOT NULL,
    -- The latest cosigned checkpoint: 0 and NULLs until the first one.
    size INTEGER NOT NULL DEFAULT 0,
    root BLOB,
    checkpoint TEXT,
    cosignature TEXT,
    updated_at INTEGER
)";

/// What the witness holds for one log.
#[derive(Debug, Clone, PartialEq)]
pub struct WitnessedLog {
    pub origin: String,
    pub vkeys: Vec<String>,
    /// The latest cosigned (size, root), `None` before the first.
    pub latest: Option<(u64, Hash)>,
    /// The latest cosigned checkpoint note (as submitted) and the witness's cosignature line.
    pub checkpoint: Option<String>,
    pub cosignature: Option<String>,
}

type LogRow = (String, String, i64, Option<Vec<u8>>, Option<String>, Option<String>);

impl TryFrom<LogRow> for WitnessedLog {
    type Error = StoreError;
    fn try_from((origin, vkeys, size, root, checkpoint, cosignature): LogRow) -> Result<Self, StoreError> {
        let latest = match root {
            Some(bytes) => Some((
                u64::try_from(size).unwrap_or(0),
                hash_from_bytes(&bytes).ok_or_else(|| StoreError::Ledger("stored root of bad length".into()))?,
            )),
            None => None,
        };
        Ok(Self { origin, vkeys: vkeys.lines().map(str::to_owned).collect(), latest, checkpoint, cosignature })
    }
}

/// The witness's database handle.
#[derive(Clone, Debug)]
pub struct WitnessDb {
    pool: SqlitePool,
}

impl WitnessDb {
    /// Opens (creating if needed) `<dir>/witness.db` and its schema.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let url = format!("sqlite://{}", dir.join("witness.db").display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::query(SCHEMA).execute(&pool).await?;
        Ok(Self { pool })
    }

    /// Trusts `vkeys` for `origin` from now on (replacing the keys held before), keeping the
    /// latest cosigned checkpoint.
    pub async fn configure_log(&self, origin: &str, vkeys: &[String]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO witness_logs (origin, vkeys) VALUES (?1, ?2) \
             ON CONFLICT (origin) DO UPDATE SET vkeys = excluded.vkeys",
        )
        .bind(origin)
        .bind(vkeys.join("\n"))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn log(&self, origin: &str) -> Result<Option<WitnessedLog>, StoreError> {
        let row: Option<LogRow> = sqlx::query_as(
            "SELECT origin, vkeys, size, root, checkpoint, cosignature FROM witness_logs WHERE origin = ?1",
        )
        .bind(origin)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn logs(&self) -> Result<Vec<WitnessedLog>, StoreError> {
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT origin, vkeys, size, root, checkpoint, cosignature FROM witness_logs ORDER BY origin",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Replaces the latest cosigned checkpoint of `origin` only if it is still `from`: `Ok(true)`
    /// when swapped, `Ok(false)` when another submission moved it first.
    pub async fn advance(
        &self,
        origin: &str,
        from: Option<(u64, Hash)>,
        to: (u64, Hash),
        checkpoint: &str,
        cosignature: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (from_size, from_root) = match from {
            Some((size, root)) => (i64::try_from(size).unwrap_or(i64::MAX), Some(root.0.to_vec())),
            None => (0, None),
        };
        let done = sqlx::query(
            "UPDATE witness_logs SET size = ?1, root = ?2, checkpoint = ?3, cosignature = ?4, updated_at = ?5 \
             WHERE origin = ?6 AND size = ?7 AND root IS ?8",
        )
        .bind(i64::try_from(to.0).unwrap_or(i64::MAX))
        .bind(to.1.0.to_vec())
        .bind(checkpoint)
        .bind(cosignature)
        .bind(now)
        .bind(origin)
        .bind(from_size)
        .bind(from_root)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
