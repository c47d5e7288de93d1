//! The one error type of this crate.

use sam_algorithms::KeySpec;

/// Why a token refused to sign with an [`Activation`](crate::Activation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationRefusal {
    /// The activation is for another key.
    #[error("the activation is for key {activated}, not {requested}")]
    OtherKey {
        /// The key the activation names.
        activated: String,
        /// The key asked to sign.
        requested: String,
    },
    /// A digest to be signed is not among those the activation allows.
    #[error("digest {index} of the request is not among the digests the activation allows")]
    DigestNotAllowed {
        /// Its position in the request.
        index: usize,
    },
    /// More signatures were asked for than the activation allows digests.
    #[error("the request has {requested} inputs; the activation allows {allowed}")]
    TooMany {
        /// Inputs in the request.
        requested: usize,
        /// Digests in the activation.
        allowed: usize,
    },
}

/// Everything that can go wrong in a crypto token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token cannot hold keys of this spec.
    #[error("{token} cannot hold {spec} keys; {hint}")]
    UnsupportedSpec {
        /// The token's name.
        token: String,
        /// The spec asked for.
        spec: KeySpec,
        /// Which backends can.
        hint: &'static str,
    },
    /// The request is not covered by its activation; nothing was signed.
    #[error("not activated: {0}")]
    NotActivated(#[from] ActivationRefusal),
    /// The key record belongs to another kind of token.
    #[error("key {key_id} is not a key of token {token}")]
    ForeignKey {
        /// The key.
        key_id: String,
        /// This token.
        token: String,
    },
    /// A wrapped key did not open: it was altered, belongs to another key id or spec, or was
    /// wrapped under another master key.
    #[error(
        "wrapped key {key_id} does not open under this master key: it was altered, moved to another key id, or wrapped under another master key"
    )]
    Unwrap {
        /// The key.
        key_id: String,
    },
    /// The master key could not be read, made, exported or imported.
    #[error("master key: {0}")]
    MasterKey(String),
    /// A key id that is empty, too long or has characters outside `[A-Za-z0-9._:-]`.
    #[error(
        "invalid key id {0:?}: 1 to 128 characters of ASCII letters, digits, '.', '_', ':' and '-'"
    )]
    InvalidKeyId(String),
    /// An input that this key cannot sign (e.g. a message for an RSA key).
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
    /// A key was asked for in the signature slot of a token that has none.
    #[error("token {token} has no signature slot")]
    NoSignatureSlot {
        /// The token.
        token: String,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} on token {token}: {reason}")]
    Pkcs11 {
        /// The token.
        token: String,
        /// What was being done.
        operation: &'static str,
        /// The module's return value or the library's reason.
        reason: String,
    },
    /// The PIN (or Sign PIN, or SO PIN) was refused by the token.
    #[error("the {which} of token {token} was refused: {reason}")]
    Pin {
        /// The token.
        token: String,
        /// `PIN`, `Sign PIN`, `SO PIN` or `PUK`.
        which: &'static str,
        /// Incorrect, locked, or of the wrong length.
        reason: String,
    },
    /// A new PIN breaks the configured PIN policy.
    #[error("the new {which} does not match the PIN policy {policy}")]
    PinPolicy {
        /// `PIN` or `Sign PIN`.
        which: &'static str,
        /// The policy's regular expression.
        policy: String,
    },
    /// The token's configuration is wrong (no such slot, unreadable PIN file, ...).
    #[error("configuration of token {token}: {reason}")]
    Config {
        /// The token.
        token: String,
        /// What is wrong.
        reason: String,
    },
    /// A key's private half does not belong to its record's public key (e.g. a wrapped blob
    /// moved to another record); the signature was withheld.
    #[error(
        "key {key_id}: the private key does not match the record's public key; nothing was returned"
    )]
    KeyMismatch {
        /// The key.
        key_id: String,
    },
    /// The KAK gate refused the request; nothing was signed.
    #[error("KAK gate refused key {key_id}: {reason}")]
    KakRefused {
        /// The key.
        key_id: String,
        /// Why.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

impl TokenError {
    pub(crate) fn crypto(operation: &'static str, reason: impl ToString) -> Self {
        Self::Crypto {
            operation,
            reason: reason.to_string(),
        }
    }
}

impl From<sam_keys::KeyError> for TokenError {
    fn from(e: sam_keys::KeyError) -> Self {
        use sam_keys::KeyError as K;
        match e {
            K::Input(reason) => Self::Input(reason),
            K::BadSignature(reason) => Self::BadSignature(reason),
            K::Random(reason) => Self::Random(reason),
            K::Crypto { operation, reason } => Self::Crypto { operation, reason },
            other => Self::Input(other.to_string()),
        }
    }
}
