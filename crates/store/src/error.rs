//! Storage errors: `NotFound` and `Conflict` stay apart so the web layer can map each to its own status.

use crate::crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state conflict, with a message fit for the user.
    #[error("{0}")]
    Conflict(String),
    /// Input the store refuses, with a message fit for the user.
    #[error("{0}")]
    Invalid(String),
    #[error("encrypted data could not be read: {0}")]
    Crypto(#[from] CryptoError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Turns a unique-constraint violation into `Conflict(message)`; other errors pass through.
    pub fn on_unique(err: sqlx::Error, message: impl Into<String>) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(message.into())
            }
            _ => StoreError::Db(err),
        }
    }
}

/// `fetch_optional(..)?.ok_or(NotFound)` in one call.
pub trait OrNotFound<T> {
    fn or_not_found(self) -> StoreResult<T>;
}

impl<T> OrNotFound<T> for Result<Option<T>, sqlx::Error> {
    fn or_not_found(self) -> StoreResult<T> {
        self?.ok_or(StoreError::NotFound)
    }
}
