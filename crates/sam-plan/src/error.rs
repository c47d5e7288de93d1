//! Errors of plan settings and operations.

use thiserror::Error;

use crate::RequestType;

/// Why plan settings or an operation on a plan are refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A transaction limit outside 1..=9,223,372,036,854,775,807.
    #[error("a transaction limit is 1 to 9223372036854775807, not {0}")]
    Limit(i128),
    /// A percentage outside 1..=100.
    #[error("a percentage is 1 to 100, not {0}")]
    Percent(u64),
    /// A duration or lead of zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// Settings that contradict each other.
    #[error("{field}: {reason}")]
    Inconsistent {
        /// The setting at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Not one of seed 002's request types.
    #[error("unknown request type {0:?}")]
    UnknownRequestType(String),
    /// Manual renewal while an auto-renewal option is on (seed 002: the button is disabled).
    #[error("the plan renews itself (auto-renew is on): manual renewal is not available")]
    AutoRenewOn,
    /// The period would end after 9999-12-31.
    #[error("the plan period would end after 9999-12-31")]
    OutOfRange,
    /// A limit for a request type the plan does not count.
    #[error("no limit for {0}")]
    NoLimit(RequestType),
}
