//! Storage errors. Constraint violations are told apart from other failures so the server can
//! turn them into field messages; everything else is an internal error to be logged.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A uniqueness or foreign-key rule refused the write; carries the database's description.
    #[error("constraint violated: {0}")]
    Conflict(String),
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
    /// Rows read in bulk could not be decoded (see `bulk`).
    #[error("bulk read: {0}")]
    Corrupt(String),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
                Self::Conflict(db.constraint().map_or_else(|| db.message().to_owned(), str::to_owned))
            }
            _ => Self::Database(e),
        }
    }
}
