//! Storage errors. A lost compare-and-set (`Stale`), a uniqueness clash (`Duplicate`) and a
//! reference to a row that does not exist (`MissingReference`) are told apart, so the server never
//! has to guess: it retries a clashing tracking number, turns a named constraint into a field
//! message, and tells the user that someone else changed the record first. Everything else is an
//! internal error to be logged.
//!
//! ## Storage errors and tracking numbers
//!
//! `StoreError` tells `Stale` (a compare-and-set found nothing to change: someone acted first) from
//! `Duplicate { constraint }` (a unique constraint, named PostgreSQL's way on both engines by
//! `store::unique_constraint`, which rebuilds the name from SQLite's column list) and
//! `MissingReference` (a foreign key). `error::DUPLICATES` in the server is the one table from
//! constraint name to form field and Chinese message. Tracking numbers (BJ/LY + date + 6 random
//! digits) and objection codes (8 characters, 40 bits) are drawn by `AppState::draw` and drawn again
//! on a `Duplicate` of their own constraint, up to `TRACKING_ATTEMPTS`; a repeated form is
//! recognised by its once-only `submit_key` (objections too, since migration 0019). Tests queue
//! draws to force a clash.
//!
//! Lookups by code or tracking number are throttled per client through `Store::rate_event` (the
//! same table as the filing quotas): 30 case or message lookups an hour, 60 objection pages in ten
//! minutes, then 429 with a Chinese message. A filing that queued no text says so on its public
//! timeline and raises one 办件无人接收 / 留言无人接收 alert per service item and township (or
//! township and message kind) instead of claiming 已短信通知.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Someone else changed the row first (or it is no longer in the state the write expected):
    /// the compare-and-set found nothing to change. Carries what was expected, for the log.
    #[error("changed by someone else: {0}")]
    Stale(String),
    /// A uniqueness rule refused the write. `constraint` is the constraint's name, the same on
    /// both engines (see [`unique_constraint`]), e.g. `messages_tracking_key`.
    #[error("duplicate value for {constraint}")]
    Duplicate { constraint: String },
    /// A foreign-key rule refused the write: the row refers to one that does not exist.
    #[error("reference to a missing row: {0}")]
    MissingReference(String),
    #[error("not found")]
    NotFound,
    #[error("unsupported database URL: use sqlite:// or postgres://")]
    UnsupportedUrl,
    /// An operation this engine does not offer (e.g. `VACUUM INTO` on PostgreSQL).
    #[error("not available on this database engine: {0}")]
    Unsupported(&'static str),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The publication ledger could not be read or extended (e.g. a stored hash is missing).
    #[error("ledger: {0}")]
    Ledger(String),
    /// A stored value could not be read back: a status or kind code no core enum names, a flag
    /// that is neither 0 nor 1, rows read in bulk that do not decode (see `bulk`). Never replaced
    /// by a default.
    #[error("stored value cannot be read: {0}")]
    Corrupt(String),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether this is a uniqueness clash on the constraint named `constraint`.
    pub fn is_duplicate_of(&self, constraint: &str) -> bool {
        matches!(self, Self::Duplicate { constraint: c } if c == constraint)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::ColumnDecode { index, source } => Self::Corrupt(format!("column {index}: {source}")),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Duplicate { constraint: unique_constraint(db.constraint(), db.message()) }
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Self::MissingReference(db.constraint().map_or_else(|| db.message().to_owned(), str::to_owned))
            }
            _ => Self::Database(e),
        }
    }
}

/// The one name of a unique constraint on both engines: PostgreSQL's.
///
/// PostgreSQL reports the constraint's name: `{table}_{column}[_{column}…]_key` for the inline
/// `UNIQUE` constraints of our migrations, or the name of a unique index. SQLite has no names and
/// lists the columns in its message (`UNIQUE constraint failed: messages.tracking`, or
/// `…: staff_users.org_code, staff_users.phone_idx`), from which PostgreSQL's name is rebuilt; the
/// few unique indexes, which PostgreSQL knows by their own names, are looked up in
/// [`UNIQUE_INDEXES`].
pub fn unique_constraint(constraint: Option<&str>, message: &str) -> String {
    if let Some(name) = constraint {
        return name.to_owned();
    }
    let Some((_, columns)) = message.split_once("constraint failed:") else {
        return message.to_owned();
    };
    let columns = columns.trim();
    if let Some(index) = columns.strip_prefix("index ") {
        return index.trim_matches(|c| c == '\'' || c == '"').to_owned();
    }
    let mut table = "";
    let mut name = String::new();
    for column in columns.split(',') {
        let (t, c) = column.trim().split_once('.').unwrap_or(("", column.trim()));
        table = t;
        name.push('_');
        name.push_str(c);
    }
    let name = format!("{table}{name}_key");
    UNIQUE_INDEXES.iter().find(|(columns, _)| *columns == name).map_or(name, |(_, index)| (*index).to_owned())
}

/// Unique indexes (rather than inline constraints): the name SQLite's columns would give, and the
/// index's own name, which PostgreSQL reports.
const UNIQUE_INDEXES: &[(&str, &str)] = &[
    ("rosters_supersedes_id_key", "rosters_one_successor"),
    ("disclosures_supersedes_id_key", "disclosures_one_successor"),
    ("case_extensions_case_id_key", "case_extensions_pending"),
];

#[cfg(test)]
mod tests {
    use super::unique_constraint;

    #[test]
    fn a_postgres_constraint_name_is_kept() {
        assert_eq!(unique_constraint(Some("messages_tracking_key"), "duplicate key value"), "messages_tracking_key");
    }

    #[test]
    fn sqlite_columns_give_the_postgres_name() {
        let cases = [
            ("UNIQUE constraint failed: messages.tracking", "messages_tracking_key"),
            (
                "UNIQUE constraint failed: village_cadres.org_code, village_cadres.phone_idx",
                "village_cadres_org_code_phone_idx_key",
            ),
            ("UNIQUE constraint failed: rosters.supersedes_id", "rosters_one_successor"),
            ("UNIQUE constraint failed: index 'some_index'", "some_index"),
        ];
        for (message, name) in cases {
            assert_eq!(unique_constraint(None, message), name, "{message}");
        }
    }

    #[test]
    fn an_unexpected_message_is_passed_through_for_the_log() {
        assert_eq!(unique_constraint(None, "something else"), "something else");
    }
}
