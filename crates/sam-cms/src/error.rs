//! Errors of signature assembly, time-stamping and verification.

use thiserror::Error;

/// Why a signature could not be prepared, completed, time-stamped or verified.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CmsError {
    /// The caller's input is not usable (wrong digest algorithm, missing certificate, …).
    #[error("invalid input: {0}")]
    Input(String),
    /// The combination of format, key and certificate is not allowed.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// DER encoding or decoding failed.
    #[error("{context}: {source}")]
    Der {
        /// What was being encoded or decoded.
        context: &'static str,
        /// The `der` error.
        source: der::Error,
    },
    /// The prepared state cannot be read back.
    #[error("prepared signature state: {0}")]
    State(String),
    /// The external signer failed or returned a value that does not verify.
    #[error("signer: {0}")]
    Signer(String),
    /// The time-stamp authority could not be reached or answered with an error.
    #[error("time-stamp authority: {0}")]
    TimeStamp(String),
    /// Revocation data could not be fetched or is not usable.
    #[error("revocation data: {0}")]
    Revocation(String),
    /// A transport (HTTP) failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The signature does not verify; the reason names the failed check.
    #[error("verification failed: {0}")]
    Verification(String),
    /// A key or algorithm operation failed.
    #[error(transparent)]
    Key(#[from] sam_keys::KeyError),
    /// An algorithm identifier could not be used.
    #[error(transparent)]
    Algorithm(#[from] sam_algorithms::Error),
}

impl CmsError {
    pub(crate) fn der(context: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Der { context, source }
    }

    pub(crate) fn verification(reason: impl Into<String>) -> Self {
        Self::Verification(reason.into())
    }
}
