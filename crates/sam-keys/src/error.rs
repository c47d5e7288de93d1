//! The one error type of this crate.

use sam_algorithms::KeySpec;

/// Everything that can go wrong with a software key pair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No RustCrypto crate of the pinned generation implements this spec.
    #[error("{spec} keys are not available in software")]
    UnsupportedSpec {
        /// The spec asked for.
        spec: KeySpec,
    },
    /// An input this key cannot sign or verify (e.g. a message for an RSA key).
    #[error("{0}")]
    Input(String),
    /// A signature did not verify.
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    /// A cryptographic operation failed.
    #[error("{operation} failed: {reason}")]
    Crypto {
        /// What was being done.
        operation: &'static str,
        /// The library's reason.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

impl KeyError {
    pub(crate) fn crypto(operation: &'static str, reason: impl ToString) -> Self {
        Self::Crypto {
            operation,
            reason: reason.to_string(),
        }
    }
}
