//! 公开账本 storage: the append-only Merkle log of publications (tables from migration 0009).
//!
//! Appends are serialized by locking the single `ledger_head` row (`SELECT … FOR UPDATE` on
//! PostgreSQL; on SQLite every appending transaction starts with `BEGIN IMMEDIATE`), so several
//! servers on one database still write one gapless sequence. An append is idempotent, keyed by
//! (kind, object, version, event). Publishing use cases in this crate append their leaf inside
//! their own transaction; other modules call [`Store::append_leaf`]. The leaf builders here read
//! the published content and hand it to `core::ledger::LeafText`; `ledger verify` runs the same
//! builders again and compares bytes. This module never signs: keys live outside the database.

// Rows are read as tuples in the order their fields enter the canonical leaf text.
#![allow(clippy::type_complexity)]

use sqlx::{AnyConnection, FromRow};
use xiaowei_core::ledger::{
    self, AuditKey, DigestedRows, Hash, HashCache, LEAF_FORMAT, LEAF_FORMAT_2, LeafText, TilePath, hash_from_bytes,
    leaf_hash, stored_hash_index, stored_hashes_for_record_hash,
};

use xiaowei_core::PiiCipher;
use xiaowei_core::pii::{ACCOUNT_PURPOSE, ID_PURPOSE};

use crate::{Backend, Store, StoreError};

/// A leaf to append: the canonical bytes (built with `core::ledger::LeafText`) and the key that
/// makes the append idempotent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLeaf {
    /// `roster`, `disclosure`, `power_exercise`, `power_item`, …
    pub kind: String,
    pub object_id: i64,
    pub version: i64,
    /// `publish`, `correct`, `withdraw`, `update`, `add`, …
    pub event: String,
    pub org_code: Option<String>,
    pub at: i64,
    pub content: Vec<u8>,
    /// The rows behind the content's digests, for the public page's machine-readable copy;
    /// never stored (the page rebuilds them from the published rows).
    pub rows: DigestedRows,
}

/// Where a leaf sits in the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeafRef {
    pub index: u64,
    pub hash: Hash,
}

/// A stored leaf.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct LedgerLeaf {
    pub idx: i64,
    pub kind: String,
    pub object_id: i64,
    pub version: i64,
    pub event: String,
    pub org_code: Option<String>,
    pub at: i64,
    pub leaf_hash: Vec<u8>,
    pub content: Vec<u8>,
}

impl LedgerLeaf {
    pub fn hash_hex(&self) -> String {
        hex::encode(&self.leaf_hash)
    }

    /// The value of `key=` in the leaf text (escaped as stored).
    pub fn field(&self, key: &str) -> Option<String> {
        let text = std::str::from_utf8(&self.content).ok()?;
        let prefix = format!("{key}=");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).map(str::to_owned)
    }
}

/// A rebuilt leaf in the format of the stored one: a format-1 leaf (written before the audit
/// key existed) is rebuilt without the keyed digest; a format-2 leaf rebuilt without the key
/// keeps the stored keyed digest, which only a holder of the key can check.
fn same_format(stored: &[u8], rebuilt: Vec<u8>) -> Vec<u8> {
    let header = |bytes: &[u8]| bytes.split(|b| *b == b'\n').next().map(<[u8]>::to_vec);
    let (Ok(stored_text), Ok(text)) = (std::str::from_utf8(stored), String::from_utf8(rebuilt.clone())) else {
        return rebuilt;
    };
    match (header(stored).as_deref(), header(&rebuilt).as_deref()) {
        (Some(s), Some(r)) if s == LEAF_FORMAT.as_bytes() && r == LEAF_FORMAT_2.as_bytes() => text
            .replacen(LEAF_FORMAT_2, LEAF_FORMAT, 1)
            .lines()
            .filter(|l| !is_keyed(l))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes(),
        (Some(s), Some(r)) if s == LEAF_FORMAT_2.as_bytes() && r == LEAF_FORMAT.as_bytes() => {
            let keyed: Vec<&str> = stored_text.lines().filter(|l| is_keyed(l)).collect();
            let mut out = String::new();
            for line in text.replacen(LEAF_FORMAT, LEAF_FORMAT_2, 1).lines() {
                out.push_str(line);
                out.push('\n');
                if line.starts_with("differences_sha256=") {
                    for k in &keyed {
                        out.push_str(k);
                        out.push('\n');
                    }
                }
            }
            out.into_bytes()
        }
        _ => rebuilt,
    }
}

fn is_keyed(line: &str) -> bool {
    line.split_once('=').is_some_and(|(key, _)| key.ends_with("_hmac"))
}

const LEAF_COLUMNS: &str = "idx, kind, object_id, version, event, org_code, at, leaf_hash, content";

fn ledger_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Ledger(e.to_string())
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Runs a tlog computation, loading from `ledger_hashes` the stored hashes it asks for.
/// The ledger head as seen by `conn` (inside its transaction, if it has one).
pub(crate) async fn head_on(conn: &mut AnyConnection) -> Result<(u64, Hash), StoreError> {
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head WHERE id = 1").fetch_one(&mut *conn).await?;
    let size = to_u64(size);
    let root = with_hashes(conn, |c| ledger::tree_hash(size, c)).await?;
    Ok((size, root))
}

async fn with_hashes<T>(
    conn: &mut AnyConnection,
    f: impl Fn(&HashCache) -> Result<T, ledger::TlogError>,
) -> Result<T, StoreError> {
    let cache = HashCache::default();
    for _ in 0..4 {
        match f(&cache) {
            Ok(v) => return Ok(v),
            Err(e) => {
                let missing = cache.take_missing();
                if missing.is_empty() {
                    return Err(ledger_err(e));
                }
                for chunk in missing.chunks(300) {
                    let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT idx, hash FROM ledger_hashes WHERE idx IN ({})",
                        placeholders.join(", ")
                    ));
                    let mut q = sqlx::query_as::<_, (i64, Vec<u8>)>(sql);
                    for i in chunk {
                        q = q.bind(to_i64(*i));
                    }
                    for (idx, bytes) in q.fetch_all(&mut *conn).await? {
                        let hash = hash_from_bytes(&bytes).ok_or_else(|| ledger_err("stored hash of bad length"))?;
                        cache.insert(to_u64(idx), hash);
                    }
                }
            }
        }
    }
    Err(ledger_err("stored hashes missing"))
}

impl Store {
    /// This store with the ledger audit key: roster leaves it writes from now on carry the keyed
    /// digest of their payment accounts (leaf format 2).
    #[must_use]
    pub fn with_audit_key(mut self, key: AuditKey) -> Self {
        self.audit_key = Some(std::sync::Arc::new(key));
        self
    }

    /// This store able to check roster leaves written before a rotation of the personal-data key:
    /// `ring` opens the sealed IDs and accounts, each of `retired` indexes them as they were
    /// indexed when such a leaf was written (its `accounts_hmac` covers the blind indexes).
    #[must_use]
    pub fn with_retired_pii_keys(mut self, ring: PiiCipher, retired: Vec<PiiCipher>) -> Self {
        self.retired_pii = Some(std::sync::Arc::new((ring, retired)));
        self
    }

    /// Whether this store holds the ledger audit key.
    pub fn has_audit_key(&self) -> bool {
        self.audit_key.is_some()
    }

    /// Appends a leaf in its own transaction and returns where it sits; appending the same
    /// (kind, object, version, event) again returns the leaf already there. This is the entry
    /// point for modules outside the store (e.g. the service catalogue): call it right after the
    /// state change it records.
    pub async fn append_leaf(&self, leaf: &NewLeaf) -> Result<LeafRef, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = self.append_leaf_in(&mut tx, leaf).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Appends inside the caller's write transaction (on SQLite it must have been started with
    /// `begin_write`). Takes the log's lock until the transaction ends, so call it last.
    pub(crate) async fn append_leaf_in(&self, conn: &mut AnyConnection, leaf: &NewLeaf) -> Result<LeafRef, StoreError> {
        if leaf.content.len() > ledger::MAX_LEAF_BYTES {
            return Err(ledger_err("leaf too long"));
        }
        let lock = match self.backend {
            Backend::Postgres => "SELECT size FROM ledger_head WHERE id = 1 FOR UPDATE",
            Backend::Sqlite => "SELECT size FROM ledger_head WHERE id = 1",
        };
        let size: i64 = sqlx::query_scalar(lock).fetch_one(&mut *conn).await?;
        let existing: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, leaf_hash FROM ledger_leaves WHERE kind = $1 AND object_id = $2 AND version = $3 AND event = $4",
        )
        .bind(&leaf.kind)
        .bind(leaf.object_id)
        .bind(leaf.version)
        .bind(&leaf.event)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((idx, hash)) = existing {
            let hash = hash_from_bytes(&hash).ok_or_else(|| ledger_err("stored hash of bad length"))?;
            return Ok(LeafRef { index: to_u64(idx), hash });
        }
        let n = to_u64(size);
        let hash = leaf_hash(&leaf.content);
        let hashes = with_hashes(conn, |cache| stored_hashes_for_record_hash(n, hash, cache)).await?;
        sqlx::query(
            "INSERT INTO ledger_leaves (idx, kind, object_id, version, event, org_code, at, leaf_hash, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(size)
        .bind(&leaf.kind)
        .bind(leaf.object_id)
        .bind(leaf.version)
        .bind(&leaf.event)
        .bind(&leaf.org_code)
        .bind(leaf.at)
        .bind(hash.0.to_vec())
        .bind(&leaf.content)
        .execute(&mut *conn)
        .await?;
        let base = stored_hash_index(0, n);
        for (k, h) in (0_u64..).zip(&hashes) {
            sqlx::query("INSERT INTO ledger_hashes (idx, hash) VALUES ($1, $2)")
                .bind(to_i64(base + k))
                .bind(h.0.to_vec())
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("UPDATE ledger_head SET size = $1 WHERE id = 1").bind(size + 1).execute(&mut *conn).await?;
        Ok(LeafRef { index: n, hash })
    }

    /// The number of leaves and the root hash of that tree.
    pub async fn ledger_head(&self) -> Result<(u64, Hash), StoreError> {
        let mut conn = self.pool.acquire().await?;
        head_on(&mut conn).await
    }

    /// The root hash of the tree of the first `size` leaves.
    pub async fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        let mut conn = self.pool.acquire().await?;
        with_hashes(&mut conn, |c| ledger::tree_hash(size, c)).await
    }

    pub async fn ledger_leaf(&self, index: u64) -> Result<Option<LedgerLeaf>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {LEAF_COLUMNS} FROM ledger_leaves WHERE idx = $1"));
        Ok(sqlx::query_as(sql).bind(to_i64(index)).fetch_optional(&self.pool).await?)
    }

    /// Leaves from `from` on, in order.
    pub async fn ledger_leaves(&self, from: u64, limit: i64) -> Result<Vec<LedgerLeaf>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {LEAF_COLUMNS} FROM ledger_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2"
        ));
        Ok(sqlx::query_as(sql).bind(to_i64(from)).bind(limit).fetch_all(&self.pool).await?)
    }

    /// The newest leaf recorded for an object, if any.
    pub async fn latest_leaf_of(&self, kind: &str, object_id: i64) -> Result<Option<LedgerLeaf>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {LEAF_COLUMNS} FROM ledger_leaves WHERE kind = $1 AND object_id = $2 ORDER BY idx DESC LIMIT 1"
        ));
        Ok(sqlx::query_as(sql).bind(kind).bind(object_id).fetch_optional(&self.pool).await?)
    }

    /// The newest leaf of every object of a kind: `(object id, leaf index, leaf hash)`.
    pub async fn latest_leaves_of_kind(&self, kind: &str) -> Result<Vec<(i64, i64, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT l.object_id, l.idx, l.leaf_hash FROM ledger_leaves l JOIN (SELECT object_id, MAX(idx) AS idx \
             FROM ledger_leaves WHERE kind = $1 GROUP BY object_id) m ON m.idx = l.idx ORDER BY l.object_id",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stored hashes `[from, from + limit)` by stored-hash index (for re-checking the tree).
    pub async fn ledger_stored_hashes(&self, from: u64, limit: i64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, hash FROM ledger_hashes WHERE idx >= $1 ORDER BY idx LIMIT $2")
                .bind(to_i64(from))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(i, h)| (to_u64(i), h)).collect())
    }

    /// The bytes of a tile of a tree of `size` leaves, or `None` when the tile is not (yet) in it.
    pub async fn ledger_tile(&self, tile: TilePath, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if !tile.exists_in(size) {
            return Ok(None);
        }
        match tile {
            TilePath::Hashes { level, index, width } => {
                let indexes = ledger::tile_hash_indexes(level, index, width);
                let mut conn = self.pool.acquire().await?;
                let hashes = with_hashes(&mut conn, |c| ledger::HashReader::read_hashes(c, &indexes)).await?;
                Ok(Some(hashes.iter().flat_map(|h| h.0).collect()))
            }
            TilePath::Entries { index, width } => {
                let start = index * ledger::TILE_WIDTH;
                let rows: Vec<(Vec<u8>,)> =
                    sqlx::query_as("SELECT content FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                        .bind(to_i64(start))
                        .bind(to_i64(start + u64::from(width)))
                        .fetch_all(&self.pool)
                        .await?;
                if rows.len() != width as usize {
                    return Err(ledger_err("leaves missing"));
                }
                Ok(Some(ledger::encode_bundle(rows.iter().map(|r| r.0.as_slice())).map_err(ledger_err)?))
            }
        }
    }

    /// The RFC 6962 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn ledger_inclusion_proof(&self, size: u64, index: u64) -> Result<Vec<Hash>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        with_hashes(&mut conn, |c| ledger::prove_record(size, index, c)).await
    }

    /// The RFC 6962 consistency proof from the tree of `old` leaves to the tree of `size` leaves.
    pub async fn ledger_consistency_proof(&self, size: u64, old: u64) -> Result<Vec<Hash>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        with_hashes(&mut conn, |c| ledger::prove_tree(size, old, c)).await
    }

    /// The Merkle tree rebuilt from the leaves' own bytes, ignoring the stored tree hashes and
    /// leaf hashes: the number of leaves and every stored hash, by stored-hash index. What a
    /// checkpoint or proof must be measured against, since the stored tree can be rewritten
    /// apart from the leaves. Reads every leaf (O(n)); a gap in the numbering is an error.
    pub async fn ledger_tree_from_leaves(&self) -> Result<(u64, HashCache), StoreError> {
        let cache = HashCache::default();
        let mut count = 0u64;
        loop {
            let rows: Vec<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT idx, content FROM ledger_leaves WHERE idx >= $1 ORDER BY idx LIMIT 1000")
                    .bind(to_i64(count))
                    .fetch_all(&self.pool)
                    .await?;
            if rows.is_empty() {
                return Ok((count, cache));
            }
            for (idx, content) in rows {
                if to_u64(idx) != count {
                    return Err(ledger_err(format!("ledger numbering jumps from {count} to {idx}")));
                }
                let hashes = stored_hashes_for_record_hash(count, leaf_hash(&content), &cache).map_err(ledger_err)?;
                let base = stored_hash_index(0, count);
                for (k, h) in (0u64..).zip(hashes) {
                    cache.insert(base + k, h);
                }
                count += 1;
            }
        }
    }

    /// Builds a leaf again from the database as it is now, for a leaf already stored: `None`
    /// for a kind this crate has no builder for. A mismatch with the stored bytes means content
    /// was changed behind the application's back.
    pub async fn rederive_leaf(&self, leaf: &LedgerLeaf) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.rebuild_leaf(leaf).await?.map(|new| new.map_or_else(Vec::new, |n| n.content)))
    }

    /// Builds a leaf again from the database as it is now, with the rows behind its digests:
    /// `None` for a kind this crate has no builder for, `Some(None)` when the object is gone.
    /// The public page's machine-readable copy comes from here.
    pub async fn rebuild_leaf(&self, leaf: &LedgerLeaf) -> Result<Option<Option<NewLeaf>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let at = leaf.at;
        let built = match leaf.kind.as_str() {
            "roster" => self.roster_leaf(&mut conn, leaf.object_id, &leaf.event, at).await,
            "disclosure" => self.disclosure_leaf(&mut conn, leaf.object_id, &leaf.event, at).await,
            "power_item" => {
                let current: Option<i64> = sqlx::query_scalar("SELECT version FROM power_items WHERE id = $1")
                    .bind(leaf.object_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                match current {
                    // An earlier version's lists are no longer in the database; its hash stays checked.
                    Some(v) if v != leaf.version => return Ok(None),
                    _ => self.power_item_leaf(&mut conn, leaf.object_id, at).await,
                }
            }
            "service_item" => {
                let current: Option<i64> = sqlx::query_scalar("SELECT version FROM service_items WHERE id = $1")
                    .bind(leaf.object_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                match current {
                    // An earlier version's text is no longer in the database; its hash stays checked.
                    Some(v) if v != leaf.version => return Ok(None),
                    _ => self.service_item_leaf(&mut conn, leaf.object_id, &leaf.event, at).await,
                }
            }
            "power_exercise" => {
                let count = |k: &str| leaf.field(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
                let limits = (count("steps"), count("documents"));
                self.power_exercise_leaf(&mut conn, leaf.object_id, &leaf.event, at, Some(limits)).await
            }
            _ => return Ok(None),
        };
        match built {
            Ok(mut new) => {
                new.content = same_format(&leaf.content, new.content);
                if new.content != leaf.content && leaf.kind == "roster" {
                    new.content = self.under_retired_keys(&mut conn, leaf, new.content).await?;
                }
                Ok(Some(Some(new)))
            }
            // The object itself is gone: that is a mismatch, not a failure to check.
            Err(StoreError::NotFound) => Ok(Some(None)),
            Err(e) => Err(e),
        }
    }

    /// Public objects (kind, id) that should have a leaf and have none, or whose newest leaf no
    /// longer describes their current public state.
    pub async fn ledger_gaps(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        let mut gaps = Vec::new();
        let checks: [(&str, &str); 5] = [
            ("roster", "SELECT id, status FROM rosters WHERE status IN ('published', 'superseded', 'withdrawn')"),
            (
                "disclosure",
                "SELECT id, status FROM disclosures WHERE status IN ('published', 'superseded', 'withdrawn')",
            ),
            ("power_exercise", "SELECT id, status FROM power_exercises WHERE status = 'published'"),
            ("power_item", "SELECT id, 'published' AS status FROM power_items"),
            ("service_item", "SELECT id, 'published' AS status FROM service_items"),
        ];
        for (kind, sql) in checks {
            let rows: Vec<(i64, String)> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
            for (id, status) in rows {
                let Some(latest) = self.latest_leaf_of(kind, id).await? else {
                    gaps.push((kind.to_owned(), id, "没有账本记录".to_owned()));
                    continue;
                };
                if status == "withdrawn" && latest.event != "withdraw" {
                    gaps.push((kind.to_owned(), id, "已撤回，但账本中没有撤回记录".to_owned()));
                }
                if kind == "power_item" {
                    let version: i64 = sqlx::query_scalar("SELECT version FROM power_items WHERE id = $1")
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?;
                    if version != latest.version {
                        gaps.push((kind.to_owned(), id, "权力事项清单与账本最新记录不一致".to_owned()));
                    }
                }
                if kind == "service_item" {
                    let version: i64 = sqlx::query_scalar("SELECT version FROM service_items WHERE id = $1")
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?;
                    if version != latest.version {
                        gaps.push((kind.to_owned(), id, "服务事项内容与账本最新记录不一致".to_owned()));
                    }
                }
                if kind == "power_exercise" {
                    let mut conn = self.pool.acquire().await?;
                    let now = self.power_exercise_leaf(&mut conn, id, "update", latest.at, None).await?;
                    if now.version != latest.version {
                        gaps.push((kind.to_owned(), id, "步骤或文件与账本最新记录不一致".to_owned()));
                    }
                }
            }
        }
        Ok(gaps)
    }

    /// A rebuilt roster leaf whose `accounts_hmac` is recomputed with the indexes of each retired
    /// personal-data key in turn; the first that reproduces the stored leaf wins, else `rebuilt`
    /// is returned as it was.
    async fn under_retired_keys(
        &self,
        conn: &mut AnyConnection,
        leaf: &LedgerLeaf,
        rebuilt: Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        let (Some(audit), Some(keys), Ok(text)) =
            (&self.audit_key, &self.retired_pii, String::from_utf8(rebuilt.clone()))
        else {
            return Ok(rebuilt);
        };
        if !text.lines().any(|l| l.starts_with("accounts_hmac=")) {
            return Ok(rebuilt);
        }
        let (ring, retired) = keys.as_ref();
        let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT row_no, id_enc, account_enc FROM roster_entries WHERE roster_id = $1 ORDER BY row_no, id",
        )
        .bind(leaf.object_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut plain = Vec::with_capacity(rows.len());
        for (row, id, account) in rows {
            let (Ok(id), Ok(account)) = (ring.decrypt(&id), account.map(|a| ring.decrypt(&a)).transpose()) else {
                return Ok(rebuilt);
            };
            plain.push((row, id, account));
        }
        for key in retired {
            let mac = audit.rows_mac(plain.iter().map(|(row, id, account)| {
                vec![
                    row.to_string(),
                    key.blind_index(ID_PURPOSE, id),
                    account.as_deref().map(|a| key.blind_index(ACCOUNT_PURPOSE, a)).unwrap_or_default(),
                ]
            }));
            let candidate: String =
                text.lines()
                    .map(|l| {
                        if l.starts_with("accounts_hmac=") {
                            format!("accounts_hmac={mac}\n")
                        } else {
                            format!("{l}\n")
                        }
                    })
                    .collect();
            if candidate.as_bytes() == leaf.content.as_slice() {
                return Ok(candidate.into_bytes());
            }
        }
        Ok(rebuilt)
    }

    /// The leaf of a roster version for `event` (`publish`, `correct` or `withdraw`) at `at`.
    pub(crate) async fn roster_leaf(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        event: &str,
        at: i64,
    ) -> Result<NewLeaf, StoreError> {
        let row: (String, String, i64, String, String, Option<i64>, i64, Option<i64>, Option<i64>, Option<String>) =
            sqlx::query_as(
                "SELECT p.name, r.org_code, r.year, r.period, r.phase, r.settles_id, r.version, r.lineage_id, \
                 r.supersedes_id, r.correction_reason FROM rosters r JOIN programmes p ON p.id = r.programme_id \
                 WHERE r.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        let (programme, org, year, period, phase, settles, version, lineage, supersedes, correction) = row;
        let more: (Option<String>, Option<String>, Option<String>, i64, i64, Option<String>) = sqlx::query_as(
            "SELECT paid_on, publicity_start, publicity_end, entry_count, total_fen, status_reason FROM rosters \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let (paid_on, publicity_start, publicity_end, entry_count, total_fen, status_reason) = more;
        let mut leaf = LeafText::new("roster", id, version, event, Some(&org), at).map_err(ledger_err)?;
        leaf.field("programme", &programme)
            .field("year", year)
            .field("period", &period)
            .field("phase", &phase)
            .opt("settles", settles)
            .opt("lineage", lineage)
            .opt("supersedes", supersedes)
            .opt("correction_reason", correction.as_deref())
            .opt("paid_on", paid_on.as_deref())
            .opt("publicity_start", publicity_start.as_deref())
            .opt("publicity_end", publicity_end.as_deref())
            .field("entries", entry_count)
            .field("total_fen", total_fen);
        let entries: Vec<(i64, String, String, Option<String>, i64, Option<String>)> = sqlx::query_as(
            "SELECT row_no, name, id_masked, group_name, amount_fen, note FROM roster_entries WHERE roster_id = $1 \
             ORDER BY row_no, id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        leaf.digest(
            "entries",
            entries.into_iter().map(|(row, name, masked, group, fen, note)| {
                vec![
                    row.to_string(),
                    name,
                    masked,
                    group.unwrap_or_default(),
                    fen.to_string(),
                    note.unwrap_or_default(),
                ]
            }),
        );
        let diffs: Vec<(String, String, String, Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT kind, name, id_masked, proposed_fen, paid_fen, reason FROM roster_differences \
             WHERE roster_id = $1 ORDER BY kind, person_idx",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        leaf.digest(
            "differences",
            diffs.into_iter().map(|(kind, name, masked, proposed, paid, reason)| {
                vec![
                    kind,
                    name,
                    masked,
                    proposed.map(|v| v.to_string()).unwrap_or_default(),
                    paid.map(|v| v.to_string()).unwrap_or_default(),
                    reason.unwrap_or_default(),
                ]
            }),
        );
        if let Some(audit) = &self.audit_key {
            let accounts: Vec<(i64, String, Option<String>)> = sqlx::query_as(
                "SELECT row_no, id_idx, account_idx FROM roster_entries WHERE roster_id = $1 ORDER BY row_no, id",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            leaf.format_2().keyed(
                audit,
                "accounts",
                accounts
                    .into_iter()
                    .map(|(row, id_idx, account)| vec![row.to_string(), id_idx, account.unwrap_or_default()]),
            );
        }
        let files: Vec<(String, String)> =
            sqlx::query_as("SELECT sha256, original_name FROM attachments WHERE roster_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        for (sha, name) in files {
            leaf.field("attachment", format!("{sha} {name}"));
        }
        if event == "withdraw" {
            leaf.opt("withdraw_reason", status_reason.as_deref());
        }
        let (content, rows) = leaf.finish_with_rows().map_err(ledger_err)?;
        Ok(NewLeaf {
            kind: "roster".into(),
            object_id: id,
            version,
            event: event.into(),
            org_code: Some(org),
            at,
            content,
            rows,
        })
    }

    /// The leaf of a disclosure version for `event` (`publish`, `correct` or `withdraw`).
    pub(crate) async fn disclosure_leaf(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        event: &str,
        at: i64,
    ) -> Result<NewLeaf, StoreError> {
        let d: crate::Disclosure = sqlx::query_as(
            "SELECT id, org_code, category, title, body, period_label, period_start, period_end, version, lineage_id, \
             supersedes_id, correction_reason, status, status_reason, line_count, income_fen, expense_fen, created_by, \
             created_at, updated_at, published_at FROM disclosures WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let mut leaf = LeafText::new("disclosure", id, d.version, event, Some(&d.org_code), at).map_err(ledger_err)?;
        leaf.field("category", d.category.as_str())
            .field("title", &d.title)
            .field("period", &d.period_label)
            .opt("period_start", d.period_start.as_deref())
            .opt("period_end", d.period_end.as_deref())
            .opt("lineage", d.lineage_id)
            .opt("supersedes", d.supersedes_id)
            .opt("correction_reason", d.correction_reason.as_deref())
            .digest("body", [vec![d.body.clone()]])
            .field("lines", d.line_count)
            .field("income_fen", d.income_fen)
            .field("expense_fen", d.expense_fen);
        let lines: Vec<(i64, Option<String>, String, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT row_no, line_date, summary, income_fen, expense_fen, note FROM disclosure_lines \
             WHERE disclosure_id = $1 ORDER BY row_no, id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        leaf.digest(
            "lines",
            lines.into_iter().map(|(row, date, summary, income, expense, note)| {
                vec![
                    row.to_string(),
                    date.unwrap_or_default(),
                    summary,
                    income.to_string(),
                    expense.to_string(),
                    note.unwrap_or_default(),
                ]
            }),
        );
        let files: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.sha256, a.original_name FROM disclosure_attachments da JOIN attachments a \
             ON a.id = da.attachment_id WHERE da.disclosure_id = $1 ORDER BY a.id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        for (sha, name) in files {
            leaf.field("attachment", format!("{sha} {name}"));
        }
        if event == "withdraw" {
            leaf.opt("withdraw_reason", d.status_reason.as_deref());
        }
        let (content, rows) = leaf.finish_with_rows().map_err(ledger_err)?;
        Ok(NewLeaf {
            kind: "disclosure".into(),
            object_id: id,
            version: d.version,
            event: event.into(),
            org_code: Some(d.org_code),
            at,
            content,
            rows,
        })
    }

    /// The leaf of a power exercise record: its steps and documents so far (or, when
    /// re-deriving, the first `limits` = (steps, documents) recorded). Its version is the number
    /// of steps and documents, which only grows.
    pub(crate) async fn power_exercise_leaf(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        event: &str,
        at: i64,
        limits: Option<(i64, i64)>,
    ) -> Result<NewLeaf, StoreError> {
        let (item_id, item_name, org, title, started_on): (i64, String, String, String, String) = sqlx::query_as(
            "SELECT e.item_id, i.name, e.org_code, e.title, e.started_on FROM power_exercises e \
             JOIN power_items i ON i.id = e.item_id WHERE e.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let (step_limit, doc_limit) = limits.unwrap_or((i64::MAX, i64::MAX));
        let steps: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT step_no, done_on, actor_name, action, decision FROM power_exercise_steps WHERE exercise_id = $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(id)
        .bind(step_limit.max(0))
        .fetch_all(&mut *conn)
        .await?;
        let docs: Vec<(String, String)> = sqlx::query_as(
            "SELECT sha256, original_name FROM power_documents WHERE exercise_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(id)
        .bind(doc_limit.max(0))
        .fetch_all(&mut *conn)
        .await?;
        let version = i64::try_from(steps.len() + docs.len()).unwrap_or(i64::MAX);
        let mut leaf = LeafText::new("power_exercise", id, version, event, Some(&org), at).map_err(ledger_err)?;
        leaf.field("item", format!("{item_id} {item_name}"))
            .field("title", &title)
            .field("started_on", &started_on)
            .field("steps", steps.len())
            .field("documents", docs.len());
        leaf.digest(
            "steps",
            steps
                .into_iter()
                .map(|(no, on, actor, action, decision)| vec![no.to_string(), on, actor, action, decision]),
        );
        for (sha, name) in docs {
            leaf.field("attachment", format!("{sha} {name}"));
        }
        let (content, rows) = leaf.finish_with_rows().map_err(ledger_err)?;
        Ok(NewLeaf {
            kind: "power_exercise".into(),
            object_id: id,
            version,
            event: event.into(),
            org_code: Some(org),
            at,
            content,
            rows,
        })
    }

    /// The leaf of a power catalogue item (小微权力清单 entry) when it is added.
    pub(crate) async fn power_item_leaf(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        at: i64,
    ) -> Result<NewLeaf, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {} FROM power_items WHERE id = $1", crate::powers::ITEM_COLUMNS));
        let item: crate::PowerItem = sqlx::query_as(sql).bind(id).fetch_one(&mut *conn).await?;
        let event = if item.version == 1 { "add" } else { "update" };
        let mut leaf =
            LeafText::new("power_item", id, item.version, event, Some(&item.org_code), at).map_err(ledger_err)?;
        leaf.field("category", item.category.as_str())
            .field("name", &item.name)
            .field("basis", &item.basis)
            .field("materials", &item.materials)
            .field("responsible", &item.responsible)
            .field("total_days", item.total_days);
        let steps: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT step_no, actor, action, limit_days, publishes FROM power_item_steps WHERE item_id = $1 \
             ORDER BY step_no",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        leaf.digest(
            "steps",
            steps.into_iter().map(|(no, actor, action, days, publishes)| {
                vec![no.to_string(), actor, action, days.to_string(), publishes]
            }),
        );
        let risks: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT seq, risk, supervision FROM power_item_risks WHERE item_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        leaf.digest(
            "risks",
            risks.into_iter().map(|(seq, risk, supervision)| vec![seq.to_string(), risk, supervision]),
        );
        // 责任清单 and 追责清单 enter the leaf once an item has them, so the leaves of items
        // published before the lists existed are rebuilt byte for byte.
        let duties: Vec<(i64, i64, String, String)> =
            sqlx::query_as("SELECT seq, step_no, bearer, duty FROM power_item_duties WHERE item_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        let accountability: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT seq, breach, measure, basis FROM power_item_accountability WHERE item_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        if !duties.is_empty() || !accountability.is_empty() {
            leaf.digest(
                "duties",
                duties
                    .into_iter()
                    .map(|(seq, step, bearer, duty)| vec![seq.to_string(), step.to_string(), bearer, duty]),
            );
            leaf.digest(
                "accountability",
                accountability
                    .into_iter()
                    .map(|(seq, breach, measure, basis)| vec![seq.to_string(), breach, measure, basis]),
            );
        }
        let (content, rows) = leaf.finish_with_rows().map_err(ledger_err)?;
        Ok(NewLeaf {
            kind: "power_item".into(),
            object_id: id,
            version: item.version,
            event: event.into(),
            org_code: Some(item.org_code),
            at,
            content,
            rows,
        })
    }

    /// The leaf of a service item's current version for `event` (`add`, `update`, `withdraw`,
    /// `restore`): the whole public guide, county-wide.
    pub(crate) async fn service_item_leaf(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        event: &str,
        at: i64,
    ) -> Result<NewLeaf, StoreError> {
        #[allow(clippy::type_complexity)]
        let row: (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            i64,
            i64,
        ) = sqlx::query_as(
            "SELECT i.version, d.name, i.name, i.conditions, i.materials, i.steps, i.time_limit, i.fee, \
                 i.contact_phone, i.external_url, i.requires_id, i.active FROM service_items i \
                 JOIN departments d ON d.id = i.department_id WHERE i.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        let (version, department, name, conditions, materials, steps, limit, fee, phone, url, requires_id, active) =
            row;
        let mut leaf = LeafText::new("service_item", id, version, event, None, at).map_err(ledger_err)?;
        leaf.field("department", &department)
            .field("name", &name)
            .field("conditions", &conditions)
            .field("materials", &materials)
            .field("steps", &steps)
            .field("time_limit", &limit)
            .field("fee", &fee)
            .field("contact_phone", &phone)
            .opt("external_url", url.as_deref())
            .field("requires_id", requires_id)
            .field("active", active);
        let (content, rows) = leaf.finish_with_rows().map_err(ledger_err)?;
        Ok(NewLeaf {
            kind: "service_item".into(),
            object_id: id,
            version,
            event: event.into(),
            org_code: None,
            at,
            content,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::same_format;

    const V1: &str =
        "xiaowei-ledger-leaf/1\nkind=roster\nentries_sha256=aa\ndifferences_sha256=bb\nattachment=cc x.pdf\n";
    const V2: &str = "xiaowei-ledger-leaf/2\nkind=roster\nentries_sha256=aa\ndifferences_sha256=bb\naccounts_hmac=dd\nattachment=cc x.pdf\n";

    #[test]
    fn an_old_leaf_is_rebuilt_in_its_own_format() {
        assert_eq!(same_format(V1.as_bytes(), V2.as_bytes().to_vec()), V1.as_bytes());
    }

    #[test]
    fn a_keyed_leaf_rebuilt_without_the_key_keeps_its_stored_digest() {
        assert_eq!(same_format(V2.as_bytes(), V1.as_bytes().to_vec()), V2.as_bytes());
        let other = V2.replace("accounts_hmac=dd", "accounts_hmac=ee");
        assert_eq!(same_format(V2.as_bytes(), other.clone().into_bytes()), other.as_bytes(), "same format: untouched");
    }
}
