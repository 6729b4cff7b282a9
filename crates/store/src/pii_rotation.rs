//! Rotation of the personal-data key: every sealed column re-sealed, and every blind index
//! recomputed, under the new key of a [`PiiCipher`] ring, a batch at a time.
//!
//! [`ROTATED_TABLES`] lists what a rotation touches, in order. Each table is walked by its key,
//! one transaction per batch; the transaction also moves the table's cursor in
//! `pii_key_rotation_progress`, so an interrupted rotation resumes after the last batch that
//! committed and a re-run changes nothing already done. Rows are rewritten by compare-and-set on
//! their sealed values: a row the server changed meanwhile (already under the new key) is left as
//! the server wrote it.
//!
//! Three tables hold an ID blind index with no sealed value beside it (roster differences,
//! screening hits, outreach leads). They come first, while roster entries and registry records
//! still carry the indexes they were written with: the ID behind an index is found there and
//! indexed again. An index no longer found in either table cannot be recomputed and is counted
//! as left over. The differences of a published roster keep their index (see
//! `UNPUBLISHED_DIFFERENCES`). A fourth, `account_payees` (who each account paid, by year), is
//! derived from the entries as a whole and rebuilt from them when the rotation finishes.
//!
//! Roster leaves of the publication ledger cover each entry's ID and account blind indexes
//! (`accounts_hmac`, under the ledger audit key); a leaf written before a rotation is checked
//! with the retired key's indexes (`Store::with_retired_pii_keys`).
//!
//! Hashes of secrets that are not personal data (message query passwords, kiosk tokens, link and
//! cookie tags) cannot be recomputed, since the secret is not stored; they are not rotated.

use sqlx::Row;
use xiaowei_core::PiiCipher;
use xiaowei_core::pii::{ACCOUNT_PURPOSE, ID_PURPOSE, PHONE_PURPOSE};

use crate::screening::rebuild_account_payees;
use crate::{Store, StoreError};

/// How a table's rows are walked: by an integer key, or by a text expression over its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKey {
    Int(&'static str),
    Text(&'static str),
}

/// The blind index kept beside a sealed column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// No index.
    None,
    /// `column` holds the index of the sealed value for `purpose`.
    Of(&'static str, &'static str),
    /// `column` holds the phone index when the sealed value is a phone, else nothing (a queued
    /// WeChat notice seals its follower there instead).
    PhoneOrBlank(&'static str),
}

/// One sealed column and its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub column: &'static str,
    pub index: Index,
}

/// What a rotation does to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotated {
    /// Sealed columns (with their indexes) re-sealed.
    Sealed(&'static [Sealed]),
    /// An ID index column without a sealed value beside it, recomputed from the ID behind it,
    /// in the rows meeting `only` (an SQL condition) when given.
    DerivedId { column: &'static str, only: Option<&'static str> },
}

/// A table a rotation walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotatedTable {
    pub name: &'static str,
    pub key: RowKey,
    pub rotated: Rotated,
}

const fn sealed(column: &'static str, index: Index) -> Sealed {
    Sealed { column, index }
}

/// The differences of a roster that has a ledger leaf are ordered by their index inside that
/// leaf's public digest (`differences_sha256`): they keep the index they were published with,
/// and nothing compares it with other indexes once the roster is published.
const UNPUBLISHED_DIFFERENCES: &str =
    "NOT EXISTS (SELECT 1 FROM ledger_leaves l WHERE l.kind = 'roster' AND l.object_id = roster_differences.roster_id)";

const PHONE: &[Sealed] = &[sealed("phone_enc", Index::Of("phone_idx", PHONE_PURPOSE))];

/// Every table holding personal data sealed or indexed with the personal-data key, in the order
/// a rotation takes them (derived indexes first, see the module documentation).
pub const ROTATED_TABLES: &[RotatedTable] = &[
    RotatedTable {
        name: "roster_differences",
        key: RowKey::Int("id"),
        rotated: Rotated::DerivedId { column: "person_idx", only: Some(UNPUBLISHED_DIFFERENCES) },
    },
    RotatedTable {
        name: "screening_hits",
        key: RowKey::Int("id"),
        rotated: Rotated::DerivedId { column: "person_idx", only: None },
    },
    RotatedTable {
        name: "outreach_leads",
        key: RowKey::Int("id"),
        rotated: Rotated::DerivedId { column: "person_idx", only: None },
    },
    RotatedTable {
        name: "roster_entries",
        key: RowKey::Int("id"),
        rotated: Rotated::Sealed(&[
            sealed("id_enc", Index::Of("id_idx", ID_PURPOSE)),
            sealed("account_enc", Index::Of("account_idx", ACCOUNT_PURPOSE)),
        ]),
    },
    RotatedTable {
        name: "registry_records",
        key: RowKey::Int("id"),
        rotated: Rotated::Sealed(&[sealed("id_enc", Index::Of("person_idx", ID_PURPOSE))]),
    },
    RotatedTable {
        name: "service_cases",
        key: RowKey::Int("id"),
        rotated: Rotated::Sealed(&[
            sealed("phone_enc", Index::Of("phone_idx", PHONE_PURPOSE)),
            sealed("resident_id_enc", Index::None),
        ]),
    },
    RotatedTable { name: "messages", key: RowKey::Int("id"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable {
        name: "outbox",
        key: RowKey::Int("id"),
        rotated: Rotated::Sealed(&[sealed("phone_enc", Index::PhoneOrBlank("phone_idx"))]),
    },
    RotatedTable { name: "objections", key: RowKey::Int("id"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable { name: "department_contacts", key: RowKey::Int("id"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable { name: "village_cadres", key: RowKey::Int("id"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable { name: "staff_users", key: RowKey::Int("id"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable { name: "phone_proofs", key: RowKey::Int("id"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable { name: "phone_sessions", key: RowKey::Text("token_idx"), rotated: Rotated::Sealed(PHONE) },
    RotatedTable {
        name: "service_handlers",
        key: RowKey::Text("item_id || '/' || township_code"),
        rotated: Rotated::Sealed(PHONE),
    },
    RotatedTable {
        name: "staged_imports",
        key: RowKey::Text("token"),
        rotated: Rotated::Sealed(&[sealed("file_enc", Index::None)]),
    },
    RotatedTable {
        name: "wechat_accounts",
        key: RowKey::Text("township_code"),
        rotated: Rotated::Sealed(&[
            sealed("secret_enc", Index::None),
            sealed("token_enc", Index::None),
            sealed("aes_key_enc", Index::None),
        ]),
    },
    RotatedTable {
        name: "wechat_tokens",
        key: RowKey::Text("township_code"),
        rotated: Rotated::Sealed(&[sealed("token_enc", Index::None)]),
    },
];

/// A rotation as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PiiRotation {
    pub new_key_id: String,
    pub old_key_id: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// Where one table of a rotation stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableProgress {
    /// Rows walked so far.
    pub rows_done: i64,
    pub finished: bool,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows walked by this batch.
    pub rows: usize,
    /// Rows walked in this table so far, this batch included.
    pub rows_done: i64,
    /// Whether the table is now finished.
    pub finished: bool,
    /// Derived indexes whose ID was found nowhere, so they keep their old value.
    pub left_over: usize,
}

#[derive(Debug, Clone)]
enum KeyValue {
    Int(i64),
    Text(String),
}

impl KeyValue {
    fn to_text(&self) -> String {
        match self {
            Self::Int(v) => v.to_string(),
            Self::Text(v) => v.clone(),
        }
    }
}

fn key_expr(key: RowKey) -> &'static str {
    match key {
        RowKey::Int(c) | RowKey::Text(c) => c,
    }
}

fn unreadable(table: &str, key: &KeyValue) -> StoreError {
    StoreError::Corrupt(format!("{table} {}: sealed value opens with no key of the ring", key.to_text()))
}

impl Store {
    /// The rotation not yet finished, if any.
    pub async fn unfinished_pii_rotation(&self) -> Result<Option<PiiRotation>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT new_key_id, old_key_id, started_at, finished_at FROM pii_key_rotations \
             WHERE finished_at IS NULL ORDER BY started_at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records the start of a rotation from `old_key_id` to `new_key_id`; `Ok(false)` when it was
    /// already recorded (a resumed rotation). Another unfinished rotation is `Stale`.
    pub async fn begin_pii_rotation(&self, old_key_id: &str, new_key_id: &str, now: i64) -> Result<bool, StoreError> {
        if let Some(open) = self.unfinished_pii_rotation().await? {
            if open.new_key_id == new_key_id && open.old_key_id == old_key_id {
                return Ok(false);
            }
            return Err(StoreError::Stale(format!("rotation to {} unfinished", open.new_key_id)));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO pii_key_rotations (new_key_id, old_key_id, started_at) VALUES ($1, $2, $3)")
            .bind(new_key_id)
            .bind(old_key_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // The registry snapshot is a cache sealed under the old key: dropped, not rotated.
        sqlx::query("DELETE FROM registry_snapshots").execute(&mut *tx).await?;
        for table in ROTATED_TABLES {
            sqlx::query("INSERT INTO pii_key_rotation_progress (new_key_id, table_name) VALUES ($1, $2)")
                .bind(new_key_id)
                .bind(table.name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Marks the rotation finished, with `account_payees` rebuilt from the re-indexed entries in
    /// the same transaction (the table holds blind indexes with nothing sealed beside them).
    pub async fn finish_pii_rotation(&self, new_key_id: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        rebuild_account_payees(&mut tx).await?;
        sqlx::query("UPDATE pii_key_rotations SET finished_at = $1 WHERE new_key_id = $2 AND finished_at IS NULL")
            .bind(now)
            .bind(new_key_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where `table` stands in the rotation to `new_key_id`.
    pub async fn pii_rotation_progress(&self, new_key_id: &str, table: &str) -> Result<TableProgress, StoreError> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT rows_done, finished_at FROM pii_key_rotation_progress WHERE new_key_id = $1 AND table_name = $2",
        )
        .bind(new_key_id)
        .bind(table)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|(rows_done, finished)| TableProgress { rows_done, finished: finished.is_some() })
            .unwrap_or_default())
    }

    /// Walks `table` again from its first row (rows sealed under the old key after the walk
    /// passed them).
    pub async fn restart_pii_rotation_table(&self, new_key_id: &str, table: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pii_key_rotation_progress SET last_key = NULL, rows_done = 0, finished_at = NULL \
             WHERE new_key_id = $1 AND table_name = $2",
        )
        .bind(new_key_id)
        .bind(table)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The rows in `table`.
    pub async fn pii_rotation_total(&self, table: &RotatedTable) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await?)
    }

    /// Sealed values in `table` not sealed by the current key of `cipher`.
    pub async fn sealed_under_other_keys(&self, table: &RotatedTable, cipher: &PiiCipher) -> Result<i64, StoreError> {
        let Rotated::Sealed(columns) = table.rotated else { return Ok(0) };
        let prefix = cipher.sealed_prefix();
        let conditions: Vec<String> = columns
            .iter()
            .map(|c| format!("({0} IS NOT NULL AND substr({0}, 1, {1}) <> $1)", c.column, prefix.len()))
            .collect();
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", table.name, conditions.join(" OR "));
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(prefix).fetch_one(&self.pool).await?)
    }

    /// Re-seals the next `limit` rows of `table` under the current key of `cipher` (which must
    /// still hold the old key), in one transaction with the table's progress.
    pub async fn rotate_pii_batch(
        &self,
        new_key_id: &str,
        table: &RotatedTable,
        cipher: &PiiCipher,
        limit: i64,
        now: i64,
    ) -> Result<BatchOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let progress: Option<(Option<String>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT last_key, rows_done, finished_at FROM pii_key_rotation_progress \
             WHERE new_key_id = $1 AND table_name = $2",
        )
        .bind(new_key_id)
        .bind(table.name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((last_key, rows_done, finished)) = progress else {
            return Err(StoreError::NotFound);
        };
        if finished.is_some() {
            return Ok(BatchOutcome { rows: 0, rows_done, finished: true, left_over: 0 });
        }
        let key = key_expr(table.key);
        let columns: Vec<&str> = match table.rotated {
            Rotated::Sealed(sealed) => sealed.iter().map(|s| s.column).collect(),
            Rotated::DerivedId { column, .. } => vec![column],
        };
        let only = match table.rotated {
            Rotated::DerivedId { only: Some(only), .. } => only,
            _ => "1 = 1",
        };
        let after = if last_key.is_some() { format!("WHERE {key} > $2") } else { "WHERE $2 = $2".to_owned() };
        let after = format!("{after} AND {only}");
        let sql = format!("SELECT {key}, {} FROM {} {after} ORDER BY {key} LIMIT $1", columns.join(", "), table.name);
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
        let query = match (table.key, &last_key) {
            (RowKey::Int(_), Some(last)) => query.bind(last.parse::<i64>().unwrap_or(i64::MAX)),
            (RowKey::Text(_), Some(last)) => query.bind(last.clone()),
            (_, None) => query.bind(0_i64),
        };
        let rows = query.fetch_all(&mut *tx).await?;
        let mut last = last_key;
        let mut left_over = 0;
        for row in &rows {
            let row_key = match table.key {
                RowKey::Int(_) => KeyValue::Int(row.try_get(0)?),
                RowKey::Text(_) => KeyValue::Text(row.try_get(0)?),
            };
            match table.rotated {
                Rotated::Sealed(sealed) => {
                    let mut olds = Vec::with_capacity(sealed.len());
                    for i in 0..sealed.len() {
                        olds.push(row.try_get::<Option<Vec<u8>>, _>(i + 1)?);
                    }
                    reseal_row(&mut tx, table, sealed, &row_key, &olds, cipher).await?;
                }
                Rotated::DerivedId { column, .. } => {
                    let old: String = row.try_get(1)?;
                    if !reindex_derived(&mut tx, table, column, &row_key, &old, cipher).await? {
                        left_over += 1;
                    }
                }
            }
            last = Some(row_key.to_text());
        }
        let count = rows.len();
        let done = rows_done + i64::try_from(count).unwrap_or(0);
        let finished = i64::try_from(count).unwrap_or(0) < limit;
        sqlx::query(
            "UPDATE pii_key_rotation_progress SET last_key = $1, rows_done = $2, \
             finished_at = CASE WHEN $3 = 1 THEN $4 ELSE NULL END WHERE new_key_id = $5 AND table_name = $6",
        )
        .bind(last)
        .bind(done)
        .bind(i64::from(finished))
        .bind(now)
        .bind(new_key_id)
        .bind(table.name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(BatchOutcome { rows: count, rows_done: done, finished, left_over })
    }
}

fn bind_key<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    key: &KeyValue,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    match key {
        KeyValue::Int(v) => query.bind(*v),
        KeyValue::Text(v) => query.bind(v.clone()),
    }
}

/// Re-seals one row's columns and recomputes their indexes, if the row still holds `olds`.
async fn reseal_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &RotatedTable,
    sealed: &[Sealed],
    row_key: &KeyValue,
    olds: &[Option<Vec<u8>>],
    cipher: &PiiCipher,
) -> Result<(), StoreError> {
    let mut sets = Vec::new();
    let mut wheres = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (column, old) in sealed.iter().zip(olds) {
        let Some(old) = old else {
            wheres.push(format!("{} IS NULL", column.column));
            continue;
        };
        let plain = cipher.decrypt_bytes(old).map_err(|_| unreadable(table.name, row_key))?;
        // A value already sealed by the new key (the server wrote it meanwhile) is kept as it is.
        let resealed = if cipher.is_current(old) { old.clone() } else { cipher.encrypt_bytes(&plain) };
        values.push(Value::Bytes(resealed));
        sets.push(format!("{} = ${}", column.column, values.len()));
        let text = || String::from_utf8(plain.clone()).map_err(|_| unreadable(table.name, row_key));
        match column.index {
            Index::None => {}
            Index::Of(index, purpose) => {
                values.push(Value::Text(cipher.blind_index(purpose, &text()?)));
                sets.push(format!("{index} = ${}", values.len()));
            }
            Index::PhoneOrBlank(index) => {
                let plain = text()?;
                let value = if xiaowei_core::Phone::parse(&plain).is_ok() {
                    cipher.blind_index(PHONE_PURPOSE, &plain)
                } else {
                    String::new()
                };
                values.push(Value::Text(value));
                sets.push(format!("{index} = ${}", values.len()));
            }
        }
        values.push(Value::Bytes(old.clone()));
        wheres.push(format!("{} = ${}", column.column, values.len()));
    }
    if sets.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = ${} AND {}",
        table.name,
        sets.join(", "),
        key_expr(table.key),
        values.len() + 1,
        wheres.join(" AND ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = match value {
            Value::Bytes(b) => query.bind(b),
            Value::Text(t) => query.bind(t),
        };
    }
    bind_key(query, row_key).execute(&mut **tx).await?;
    Ok(())
}

enum Value {
    Bytes(Vec<u8>),
    Text(String),
}

/// Recomputes a derived ID index from the ID a roster entry or registry record with the same
/// index seals; `Ok(false)` when neither has it.
async fn reindex_derived(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &RotatedTable,
    column: &str,
    row_key: &KeyValue,
    old: &str,
    cipher: &PiiCipher,
) -> Result<bool, StoreError> {
    let source: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT id_enc FROM roster_entries WHERE id_idx = $1 \
         UNION ALL SELECT id_enc FROM registry_records WHERE person_idx = $1 LIMIT 1",
    )
    .bind(old)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(source) = source else { return Ok(false) };
    let id = cipher.decrypt(&source).map_err(|_| unreadable(table.name, row_key))?;
    let new = cipher.blind_index(ID_PURPOSE, &id);
    if new != old {
        let sql =
            format!("UPDATE {} SET {column} = $1 WHERE {} = $2 AND {column} = $3", table.name, key_expr(table.key));
        bind_key(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(new), row_key)
            .bind(old.to_owned())
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}
