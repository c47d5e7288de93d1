//! The one error type of this crate.

use const_oid::ObjectIdentifier;

use crate::hash::HashAlgorithm;
use crate::key::KeyAlgorithm;

/// Everything that can go wrong when building or parsing algorithm vocabulary.
///
/// Each message names the field or value at fault and what would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key length that the algorithm or curve family does not offer.
    #[error("key_length {length} is not one of {} for {what}", list(allowed))]
    KeyLength {
        /// The algorithm or curve family (`RSA`, `nist-p`, ...).
        what: &'static str,
        /// The length asked for, in bits.
        length: u32,
        /// The lengths that are allowed.
        allowed: &'static [u32],
    },
    /// An ML-DSA security level other than 2, 3, 5.
    #[error("security_level {level} is not one of 2, 3, 5 for ML-DSA")]
    SecurityLevel {
        /// The level asked for.
        level: u32,
    },
    /// A field that the algorithm does not take (a curve for RSA, a key length for ML-DSA).
    #[error("{field} does not apply to {algorithm} keys")]
    FieldNotApplicable {
        /// The field given.
        field: &'static str,
        /// The algorithm it was given for.
        algorithm: KeyAlgorithm,
    },
    /// A field that the algorithm requires.
    #[error("{field} is required for {algorithm} keys")]
    MissingField {
        /// The field missing.
        field: &'static str,
        /// The algorithm that requires it.
        algorithm: KeyAlgorithm,
    },
    /// A name that is not one of the known ones.
    #[error("unknown {kind} {name:?}; expected one of {expected}")]
    UnknownName {
        /// What was being named (`hash algorithm`, ...).
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names that are known.
        expected: &'static str,
    },
    /// An object identifier that is not one of the known ones.
    #[error("unknown {kind} object identifier {oid}")]
    UnknownOid {
        /// What the identifier should have named.
        kind: &'static str,
        /// The identifier given.
        oid: ObjectIdentifier,
    },
    /// A digest whose length does not match its algorithm.
    #[error("a {algorithm} digest has {expected} bytes, not {actual}")]
    DigestLength {
        /// The digest's algorithm.
        algorithm: HashAlgorithm,
        /// The algorithm's output length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A combination of key, hash and padding that has no signature algorithm.
    #[error("no signature algorithm signs with {key} keys using {detail}")]
    UnsupportedCombination {
        /// The key algorithm.
        key: KeyAlgorithm,
        /// What was combined with it.
        detail: String,
    },
    /// Algorithm parameters that are malformed or not of the supported form.
    #[error("invalid parameters for {algorithm}: {reason}")]
    Parameters {
        /// The algorithm whose parameters are wrong.
        algorithm: &'static str,
        /// What is wrong with them.
        reason: String,
    },
    /// Text that is not an RFC 3339 UTC date-time of the supported form.
    #[error("invalid date-time {text:?}: {reason}; expected e.g. 2030-01-31T23:59:59Z")]
    DateTime {
        /// The text given (truncated to 64 characters).
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A period of zero, or one that does not fit in the calendar range.
    #[error("invalid period: {reason}")]
    Period {
        /// What is wrong with it.
        reason: String,
    },
}

fn list(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
