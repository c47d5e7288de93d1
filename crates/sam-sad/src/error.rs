//! The one error type of this crate.

/// Everything that can go wrong reading, signing or verifying SADs and authorisation
/// requests. A verification failure names the rule of PROTOCOL.md that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SadError {
    /// The bytes or text are not a SAD of the expected encoding.
    #[error("malformed {encoding}: {reason}")]
    Malformed {
        /// `JWS`, `DER` or `JSON`.
        encoding: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A field holds a value outside its bounds or grammar.
    #[error("invalid {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Rule 1: the signature does not verify under the issuer's key.
    #[error("the SAD signature does not verify under the issuer's key")]
    BadSignature,
    /// Rule 1: the header or signature algorithm is not the one the issuer's key uses.
    #[error("the SAD is signed with {found}, but the issuer's key uses {expected}")]
    AlgorithmMismatch {
        /// What the SAD names.
        found: String,
        /// What the key requires.
        expected: String,
    },
    /// Rule 1: this issuer may not authorise with this method.
    #[error("issuer {issuer} may not authorise with method {method}")]
    IssuerNotAllowed {
        /// The SAD's issuer.
        issuer: String,
        /// The SAD's authentication method.
        method: String,
    },
    /// Rule 1: the SAD names another issuer than the key given to verify it.
    #[error("the SAD is issued by {found}, not by {expected}")]
    OtherIssuer {
        /// The SAD's issuer.
        found: String,
        /// The issuer whose key was given.
        expected: String,
    },
    /// Rule 2: a binding field differs from what the request or instance expects.
    #[error("the SAD's {field} is {found}, not {expected}")]
    Mismatch {
        /// The field (`audience`, `subject`, `key_id`, `profile_id`, `request_id`, ...).
        field: &'static str,
        /// The SAD's value.
        found: String,
        /// The expected value.
        expected: String,
    },
    /// Rule 3: the SAD is not yet valid.
    #[error("the SAD is not valid before {issued_at} (tolerance {tolerance_secs} s)")]
    NotYetValid {
        /// When it was issued.
        issued_at: String,
        /// The tolerance applied.
        tolerance_secs: u32,
    },
    /// Rule 3: the SAD has expired.
    #[error("the SAD expired at {expires_at} (tolerance {tolerance_secs} s)")]
    Expired {
        /// When it expired.
        expires_at: String,
        /// The tolerance applied.
        tolerance_secs: u32,
    },
    /// Rule 4: a hash to be signed is not among those the SAD authorises.
    #[error("hash {index} to be signed is not authorised by the SAD")]
    HashNotAuthorised {
        /// Its position among the hashes to be signed.
        index: usize,
    },
    /// Seed 001's rules for JSON SADs.
    #[error("JSON SAD rule: {0}")]
    JsonRule(String),
    /// Signing failed.
    #[error("signing the SAD failed: {0}")]
    Signing(String),
}

impl SadError {
    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Field {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed(encoding: &'static str, reason: impl ToString) -> Self {
        Self::Malformed {
            encoding,
            reason: reason.to_string(),
        }
    }
}
