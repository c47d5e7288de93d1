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
    /// The database cannot be reached or cannot write now: disk full, read-only, an I/O
    /// error, a lost or refused connection. Nothing the failed call did is acknowledged; a
    /// failed commit says so (`commit failed`).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database failed otherwise.
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    /// The error of a failed `COMMIT`: always unavailable, whatever the database said.
    pub(crate) fn commit_failed(self) -> Self {
        match self {
            Self::Unavailable(m) => Self::Unavailable(format!("commit failed: {m}")),
            other => Self::Unavailable(format!("commit failed: {other}")),
        }
    }
}

/// SQLite primary result codes (the low byte of the extended code) that say the database
/// cannot work now: BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL,
/// NOTADB (<https://www.sqlite.org/rescode.html>).
const SQLITE_UNAVAILABLE: [i64; 10] = [5, 6, 7, 8, 10, 11, 13, 14, 15, 26];

/// PostgreSQL SQLSTATE classes and codes that say the same: connection exceptions (08),
/// insufficient resources such as a full disk (53), operator intervention such as a shutdown
/// (57), system errors (58), and a read-only transaction (25006).
fn postgres_unavailable(state: &str) -> bool {
    ["08", "53", "57", "58"]
        .iter()
        .any(|c| state.starts_with(c))
        || state == "25006"
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        let unavailable = match &e {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
            E::Protocol(_) => true,
            E::Database(db) => {
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    db.code()
                        .and_then(|c| c.parse::<i64>().ok())
                        .is_some_and(|c| SQLITE_UNAVAILABLE.contains(&(c & 0xff)))
                } else {
                    db.code().is_some_and(|c| postgres_unavailable(&c))
                }
            }
            _ => false,
        };
        if unavailable {
            Self::Unavailable(e.to_string())
        } else {
            Self::Database(e)
        }
    }
}
