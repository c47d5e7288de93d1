//! The service's errors: a stable [`ErrorCode`] for clients and `docs/api.md`, and a message
//! for people. The codes are one enum, so a transport renders each with an exhaustive match
//! (samd's HTTP status by [`ErrorKind`]) and none can be misspelt.

use thiserror::Error;

pub use sam_api::{ErrorCode, ErrorKind, UnknownErrorCode};

/// The code of a plan refusal.
pub(crate) fn plan_refusal_code(refusal: sam_plan::Refusal) -> ErrorCode {
    match refusal {
        sam_plan::Refusal::NotStarted => ErrorCode::PlanNotStarted,
        sam_plan::Refusal::Expired => ErrorCode::PlanExpired,
        sam_plan::Refusal::LimitReached => ErrorCode::PlanLimitReached,
        sam_plan::Refusal::RequestTypeLimitReached(_) => ErrorCode::PlanRequestTypeLimitReached,
    }
}

/// The code of a refused spend of a SAD.
pub(crate) fn spend_refusal_code(refusal: sam_store::SpendRefusal) -> ErrorCode {
    match refusal {
        sam_store::SpendRefusal::Unknown => ErrorCode::SadUnknown,
        sam_store::SpendRefusal::Exhausted => ErrorCode::SadReplayed,
        sam_store::SpendRefusal::Expired => ErrorCode::SadExpired,
    }
}

/// Why a request was refused or failed. The `code` is stable; the message may change.
#[derive(Debug, Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The stable code.
    pub code: ErrorCode,
    /// What happened, for a person; never a secret.
    pub message: String,
    /// When the refusal is temporary (`busy`, `authentication_throttled`): how many seconds
    /// to wait before trying again (HTTP `Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl ServiceError {
    /// A refusal with `code` and a message for people (also for transports that refuse a
    /// request before it reaches the service).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
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
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `not_found`: also the answer for another client's objects (SECURITY.md invariant 5).
    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} {id} was not found"))
    }

    /// `internal_error`: storage or token trouble; details go to the operator's log.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
}

impl From<sam_store::StoreError> for ServiceError {
    fn from(e: sam_store::StoreError) -> Self {
        match e {
            sam_store::StoreError::Conflict(m) => Self::new(ErrorCode::Conflict, m),
            sam_store::StoreError::Invalid(m) => Self::invalid(m),
            // Disk full, read-only, I/O error, lost connection: nothing was acknowledged.
            sam_store::StoreError::Unavailable(m) => Self::new(ErrorCode::StoreUnavailable, m),
            other => Self::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_and_spend_refusals_keep_their_codes() {
        use sam_plan::{Refusal, RequestType};
        for (refusal, code) in [
            (Refusal::NotStarted, "plan_not_started"),
            (Refusal::Expired, "plan_expired"),
            (Refusal::LimitReached, "plan_limit_reached"),
            (
                Refusal::RequestTypeLimitReached(RequestType::Sign),
                "plan_request_type_limit_reached",
            ),
        ] {
            assert_eq!(plan_refusal_code(refusal), code);
            assert_eq!(refusal.code(), code);
        }
        use sam_store::SpendRefusal;
        for refusal in [
            SpendRefusal::Unknown,
            SpendRefusal::Exhausted,
            SpendRefusal::Expired,
        ] {
            assert_eq!(spend_refusal_code(refusal), refusal.code());
        }
    }
}
