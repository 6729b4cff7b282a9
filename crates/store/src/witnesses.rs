//! 见证方 storage on the log's side (tables from migration 0020): the cosignatures each witness
//! returned, by witness and tree size, and the size each witness last said it holds (which the
//! next submission proves consistency from). Idempotent: recording a cosignature twice keeps the
//! first. Never checks a signature: the server verifies a cosignature before recording it, and
//! `ledger verify` verifies every stored one again.

use sqlx::FromRow;
use xiaowei_core::ledger::{Hash, hash_from_bytes};

use crate::{Store, StoreError};

/// A cosignature a witness returned for the tree of `size` leaves with root `root`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCosignature {
    /// The witness's verifier key.
    pub witness: String,
    pub size: u64,
    pub root: Hash,
    /// The note signature line, without its newline.
    pub signature: String,
    pub signed_at: i64,
    pub received_at: i64,
}

#[derive(FromRow)]
struct Row {
    witness: String,
    size: i64,
    root: Vec<u8>,
    signature: String,
    signed_at: i64,
    received_at: i64,
}

impl TryFrom<Row> for StoredCosignature {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            witness: r.witness,
            size: u64::try_from(r.size).unwrap_or(0),
            root: hash_from_bytes(&r.root).ok_or_else(|| StoreError::Ledger("stored root of bad length".into()))?,
            signature: r.signature,
            signed_at: r.signed_at,
            received_at: r.received_at,
        })
    }
}

const COLUMNS: &str = "witness, size, root, signature, signed_at, received_at";

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Records a verified cosignature and moves the witness's head to its size (never back).
    pub async fn record_cosignature(&self, c: &StoredCosignature) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO ledger_cosignatures (witness, size, root, signature, signed_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (witness, size) DO NOTHING",
        )
        .bind(&c.witness)
        .bind(to_i64(c.size))
        .bind(c.root.0.to_vec())
        .bind(&c.signature)
        .bind(c.signed_at)
        .bind(c.received_at)
        .execute(&mut *tx)
        .await?;
        self.move_witness_head(&mut tx, &c.witness, c.size, c.received_at, false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the size a witness answered it holds (a 409 Conflict): the next submission
    /// proves consistency from there, whether it is ahead of or behind what was believed.
    pub async fn set_witness_head(&self, witness: &str, size: u64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        self.move_witness_head(&mut tx, witness, size, now, true).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_witness_head(
        &self,
        conn: &mut sqlx::AnyConnection,
        witness: &str,
        size: u64,
        now: i64,
        any_direction: bool,
    ) -> Result<(), StoreError> {
        let guard = if any_direction { "" } else { " WHERE ledger_witness_heads.size < EXCLUDED.size" };
        let sql = format!(
            "INSERT INTO ledger_witness_heads (witness, size, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (witness) DO UPDATE SET size = EXCLUDED.size, updated_at = EXCLUDED.updated_at{guard}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(witness).bind(to_i64(size)).bind(now).execute(&mut *conn).await?;
        Ok(())
    }

    /// The size a witness last said it holds (0 when it never answered).
    pub async fn witness_head(&self, witness: &str) -> Result<u64, StoreError> {
        let size: Option<i64> = sqlx::query_scalar("SELECT size FROM ledger_witness_heads WHERE witness = $1")
            .bind(witness)
            .fetch_optional(&self.pool)
            .await?;
        Ok(size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    /// The newest cosignature of each witness (`witnesses`, by verifier key), if any.
    pub async fn latest_cosignatures(&self, witnesses: &[String]) -> Result<Vec<StoredCosignature>, StoreError> {
        let mut out = Vec::new();
        for w in witnesses {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM ledger_cosignatures WHERE witness = $1 ORDER BY size DESC LIMIT 1"
            ));
            if let Some(row) = sqlx::query_as::<_, Row>(sql).bind(w).fetch_optional(&self.pool).await? {
                out.push(row.try_into()?);
            }
        }
        Ok(out)
    }

    /// Every stored cosignature, oldest size first (for `ledger verify`).
    pub async fn all_cosignatures(&self) -> Result<Vec<StoredCosignature>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM ledger_cosignatures ORDER BY size, witness"));
        sqlx::query_as::<_, Row>(sql).fetch_all(&self.pool).await?.into_iter().map(TryInto::try_into).collect()
    }
}
