//! The service's errors: a stable code for clients and `docs/api.md`, and a message for people.

use thiserror::Error;

/// Why a request was refused or failed. The `code` is stable; the message may change.
#[derive(Debug, Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The stable code (`snake_case`).
    pub code: &'static str,
    /// What happened, for a person; never a secret.
    pub message: String,
    /// When the refusal is temporary (`busy`, `authentication_throttled`): how many seconds
    /// to wait before trying again (HTTP `Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl ServiceError {
    /// A refusal with `code` and a message for people (also for transports that refuse a
    /// request before it reaches the service).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// The same refusal, to be tried again after `secs` seconds.
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// `invalid_request`: the input is malformed or breaks a rule.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_request", message)
    }

    /// `not_found`: also the answer for another client's objects (SECURITY.md invariant 5).
    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new("not_found", format!("{what} {id} was not found"))
    }

    /// `internal_error`: storage or token trouble; details go to the operator's log.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new("internal_error", message)
    }
}

impl From<sam_store::StoreError> for ServiceError {
    fn from(e: sam_store::StoreError) -> Self {
        match e {
            sam_store::StoreError::Conflict(m) => Self::new("conflict", m),
            sam_store::StoreError::Invalid(m) => Self::invalid(m),
            // Disk full, read-only, I/O error, lost connection: nothing was acknowledged.
            sam_store::StoreError::Unavailable(m) => Self::new("store_unavailable", m),
            other => Self::internal(other.to_string()),
        }
    }
}
