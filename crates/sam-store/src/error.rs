//! Storage errors.

use thiserror::Error;

/// Why a storage operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL or the schema is not usable.
    #[error("storage configuration: {0}")]
    Config(String),
    /// The request would break a rule of the data (e.g. zero uses).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A record with this identity exists already.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored value cannot be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}
