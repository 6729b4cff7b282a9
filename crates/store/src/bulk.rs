//! Bulk reads of millions of rows (the screening's registries and roster entries). Fetching such
//! rows one by one through the `Any` driver costs about 13 µs a row, decoded value by value; here
//! the database packs a chunk of rows into one JSON array (SQLite's `json_group_array`,
//! PostgreSQL's `json_agg`) that is parsed in one pass, chunk after chunk by key (keyset paging),
//! so memory holds one chunk of text at a time.

use serde::de::DeserializeOwned;

use crate::{Backend, Store, StoreError};

/// Rows packed into one JSON array.
pub(crate) const BULK_ROWS: usize = 50_000;

/// Integer ids as an SQL list (`1, 2, 3`) to format into a query: integers only, so nothing a
/// caller passes can change the statement.
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
}

/// A bulk query: `columns` are read from `from` (joins and a `WHERE` clause), ordered and paged
/// by the integer expression `key`, which must be among the columns (the caller's `key_of` reads
/// it back from a row). Each row deserializes from the JSON array of its columns, in order (a
/// struct's fields in declaration order).
pub(crate) struct Bulk<'a> {
    pub columns: &'a [String],
    pub from: &'a str,
    pub key: &'a str,
}

impl Store {
    /// An expression giving a binary column as hex text, on either engine (SQLite's is upper
    /// case, PostgreSQL's lower; [`from_hex_or_null`] reads both).
    pub(crate) fn hex_of(&self, column: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("hex({column})"),
            Backend::Postgres => format!("encode({column}, 'hex')"),
        }
    }

    /// SQL packing the rows of `query` that pass `filter` (a condition on bound `$1`) into one
    /// JSON array of arrays, at most [`BULK_ROWS`] of them, in key order.
    fn packed_sql(&self, query: &Bulk<'_>, filter: &str) -> String {
        let aliased: Vec<String> = query.columns.iter().enumerate().map(|(i, c)| format!("{c} AS c{i}")).collect();
        let names: Vec<String> = (0..query.columns.len()).map(|i| format!("c{i}")).collect();
        let inner = format!(
            "SELECT {} FROM {} AND {filter} ORDER BY {} LIMIT {BULK_ROWS}",
            aliased.join(", "),
            query.from,
            query.key
        );
        match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(json_array({})) FROM ({inner})", names.join(", ")),
            Backend::Postgres => {
                format!("SELECT json_agg(json_build_array({}))::text FROM ({inner}) t", names.join(", "))
            }
        }
    }

    /// Runs packed SQL with `bind` and parses its rows (none when the database packed nothing).
    async fn fetch_packed<T, B>(&self, sql: &str, bind: B, what: &str) -> Result<Vec<T>, StoreError>
    where
        T: DeserializeOwned,
        B: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let packed: Option<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(bind).fetch_one(&self.pool).await?;
        match packed {
            None => Ok(Vec::new()),
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("bulk read from {what}: {e}")))
            }
        }
    }

    /// Every row of `query`, ordered by its key, chunk after chunk (each chunk starts after the
    /// last key of the one before).
    pub(crate) async fn fetch_bulk<T: DeserializeOwned>(
        &self,
        query: &Bulk<'_>,
        key_of: impl Fn(&T) -> i64,
    ) -> Result<Vec<T>, StoreError> {
        let sql = self.packed_sql(query, &format!("{} > $1", query.key));
        let mut rows: Vec<T> = Vec::new();
        let mut after = i64::MIN;
        loop {
            let chunk: Vec<T> = self.fetch_packed(&sql, after, query.from).await?;
            let full = chunk.len() == BULK_ROWS;
            match chunk.iter().map(&key_of).max() {
                Some(last) => after = last,
                None => break,
            }
            rows.extend(chunk);
            if !full {
                break;
            }
        }
        rows.sort_by_key(&key_of);
        Ok(rows)
    }

    /// Every row of the query `rows` (its columns named by `names`, in a row's field order),
    /// packed into one JSON array: for a few hundred thousand small rows that have no key to
    /// page by.
    pub(crate) async fn fetch_all_packed<T: DeserializeOwned>(
        &self,
        rows: &str,
        names: &[&str],
    ) -> Result<Vec<T>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(json_array({})) FROM ({rows})", names.join(", ")),
            Backend::Postgres => {
                format!("SELECT json_agg(json_build_array({}))::text FROM ({rows}) t", names.join(", "))
            }
        };
        let packed: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await?;
        match packed {
            None => Ok(Vec::new()),
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("bulk read {rows}: {e}")))
            }
        }
    }

    /// The integers the one-column query `keys` (its column named `k`, reading the values of
    /// `list` as a bound JSON array `$1`) returns, sorted, once each; `list` goes by chunks.
    pub(crate) async fn fetch_keys_listed(&self, keys: &str, list: &[String]) -> Result<Vec<i64>, StoreError> {
        let all_keys = match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(k) FROM ({keys})"),
            Backend::Postgres => format!("SELECT json_agg(k)::text FROM ({keys}) s"),
        };
        let mut wanted: Vec<i64> = Vec::new();
        for chunk in list.chunks(BULK_ROWS) {
            let bound = serde_json::to_string(chunk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            wanted.extend(self.fetch_packed::<i64, _>(&all_keys, bound, keys).await?);
        }
        wanted.sort_unstable();
        wanted.dedup();
        Ok(wanted)
    }

    /// The rows of `query` whose key is one of `keys`, ordered by key, fetched by chunks of keys.
    pub(crate) async fn fetch_bulk_listed<T: DeserializeOwned>(
        &self,
        query: &Bulk<'_>,
        keys: &[i64],
        key_of: impl Fn(&T) -> i64,
    ) -> Result<Vec<T>, StoreError> {
        let listed = match self.backend {
            Backend::Sqlite => format!("{} IN (SELECT value FROM json_each($1))", query.key),
            Backend::Postgres => {
                format!("{} IN (SELECT value::bigint FROM json_array_elements_text($1::json))", query.key)
            }
        };
        let sql = self.packed_sql(query, &listed);
        let mut rows: Vec<T> = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BULK_ROWS) {
            let list = serde_json::to_string(chunk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.extend(self.fetch_packed::<T, _>(&sql, list, query.from).await?);
        }
        rows.sort_by_key(&key_of);
        Ok(rows)
    }
}

/// Deserializes hex text (see [`Store::hex_of`]), or null, into bytes.
pub(crate) fn from_hex_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let text: Option<&str> = serde::Deserialize::deserialize(d)?;
    text.map(|t| hex::decode(t).map_err(serde::de::Error::custom)).transpose()
}
