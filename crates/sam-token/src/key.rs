//! Key identifiers and the persistable record of a generated key.

use core::fmt;

use sam_algorithms::KeySpec;

use crate::error::TokenError;

/// The longest [`KeyId`], in characters.
pub const MAX_KEY_ID_LEN: usize = 128;

/// A key's identifier: 1 to 128 characters of ASCII letters, digits, `.`, `_`, `:` and `-`,
/// so it is safe as a PKCS#11 label, a file name part and a database key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Checks and wraps `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, TokenError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= MAX_KEY_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(id))
        } else {
            Err(TokenError::InvalidKeyId(id.chars().take(64).collect()))
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl core::str::FromStr for KeyId {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Self, TokenError> {
        Self::new(s)
    }
}

/// Which slot of a token holds a key (seed 004's `Location` keyword).
pub use sam_algorithms::KeyLocation;

/// Where a token finds a key's private half.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyReference {
    /// A software key: its PKCS#8 encoding sealed with AES-256-GCM under the token's master
    /// key. The caller stores the blob; it is useless without the master key.
    SoftwareWrapped(Vec<u8>),
    /// A key resident in a PKCS#11 token: a sensitive, non-extractable private key object
    /// with this `CKA_ID` (the key id) in the slot at `location`.
    Pkcs11Resident {
        /// The slot holding it.
        location: KeyLocation,
        /// Its `CKA_ID`.
        object_id: Vec<u8>,
    },
    /// A key generated in a PKCS#11 token and wrapped there with `CKM_AES_KEY_WRAP_PAD`
    /// (RFC 5649) under the token's wrapping key, which never leaves the HSM. The caller stores
    /// the blob; the token unwraps it into a session object for each signing request and
    /// destroys it right after (seed 001: "remove key from HSM after signing").
    Pkcs11Wrapped {
        /// The slot whose wrapping key opens it.
        location: KeyLocation,
        /// The wrapped private key.
        blob: Vec<u8>,
    },
}

impl fmt::Debug for KeyReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SoftwareWrapped(blob) => write!(f, "SoftwareWrapped({} bytes)", blob.len()),
            Self::Pkcs11Resident {
                location,
                object_id,
            } => write!(
                f,
                "Pkcs11Resident({location} slot, id {})",
                String::from_utf8_lossy(object_id)
            ),
            Self::Pkcs11Wrapped { location, blob } => {
                write!(f, "Pkcs11Wrapped({location} slot, {} bytes)", blob.len())
            }
        }
    }
}

/// What a token returns for a generated key, for the caller to store: everything needed to
/// use the key again, and nothing that reveals it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key's identifier.
    pub key_id: KeyId,
    /// What kind of key it is.
    pub spec: KeySpec,
    /// The public key as a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    pub public_key_der: Vec<u8>,
    /// Where the private key is.
    pub reference: KeyReference,
    /// The Key Authorisation Key bound to this key, when a [`KakGate`](crate::KakGate) made it.
    pub kak: Option<KakBinding>,
}

/// A user key's Key Authorisation Key (seed 001 *KAK*): an RSA key pair generated in software,
/// whose private half is wrapped under the gate's master key, and a tag that binds it to the
/// user key so that another KAK cannot be substituted in a stored record.
#[derive(Clone, PartialEq, Eq)]
pub struct KakBinding {
    /// The KAK's public key, DER `SubjectPublicKeyInfo`.
    pub public_key_der: Vec<u8>,
    /// The KAK's private key, wrapped (AES-256-GCM) under the gate's master key.
    pub wrapped_private_key: Vec<u8>,
    /// HMAC-SHA-256 under a key derived from the gate's master key, over the key id, the user
    /// key's SPKI and the KAK's SPKI.
    pub binding_tag: Vec<u8>,
}

impl fmt::Debug for KakBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KakBinding")
            .field(
                "public_key_der",
                &format!("{} bytes", self.public_key_der.len()),
            )
            .field(
                "wrapped_private_key",
                &format!("{} bytes", self.wrapped_private_key.len()),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids() {
        assert!(KeyId::new("user-42:sign.2026_11").is_ok());
        assert!(KeyId::new("k".repeat(128)).is_ok());
        for bad in ["", "a b", "a/b", "../etc", "é", "x;DROP TABLE keys"] {
            assert!(KeyId::new(bad).is_err(), "{bad:?}");
        }
        assert!(KeyId::new("k".repeat(129)).is_err());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let r = KeyReference::SoftwareWrapped(vec![0xAB; 100]);
        assert_eq!(format!("{r:?}"), "SoftwareWrapped(100 bytes)");
    }
}
