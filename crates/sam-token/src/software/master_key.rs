//! The software token's master key, and key wrapping under it (SECURITY.md invariant 3: keys
//! are never at rest in the clear).
//!
//! - Wrapping: AES-256-GCM (NIST SP 800-38D) with a fresh 96-bit random nonce per key; the key
//!   id and key spec are the associated data, so a blob moved to another key id or spec does
//!   not open. Blob layout: `0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.
//! - The master key comes from a key file or an environment variable, as 64 hex digits.
//! - Export for backup (seed 001's *Master Backup Key*): the key sealed with AES-256-GCM under a
//!   key derived from a passphrase with Argon2id (RFC 9106), as one line of text:
//!   `sam-mbk-v1$m=65536,t=3,p=1$<salt>$<nonce>$<ciphertext>` (base64, no padding).
//!
//! Key material is zeroized when dropped and never shown by `Debug`.

use core::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64ct::{Base64Unpadded, Encoding};
use sha2::Digest as _;
use zeroize::{Zeroize, Zeroizing};

use crate::error::TokenError;

const WRAP_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const EXPORT_PREFIX: &str = "sam-mbk-v1";
/// Argon2id cost for master key export: 64 MiB, 3 passes, 1 lane (RFC 9106 §4's second
/// recommended option). Import reads the costs from the text, bounded by these maxima.
const EXPORT_M_COST: u32 = 64 * 1024;
const EXPORT_T_COST: u32 = 3;
const EXPORT_P_COST: u32 = 1;
const MAX_IMPORT_M_COST: u32 = 256 * 1024;
const MAX_IMPORT_T_COST: u32 = 16;
const MAX_IMPORT_P_COST: u32 = 16;
/// The shortest passphrase accepted for an export.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

fn random_bytes<const N: usize>() -> Result<[u8; N], TokenError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A 256-bit AES key that wraps every software key of a token.
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    /// A new random master key.
    pub fn generate() -> Result<Self, TokenError> {
        Ok(Self {
            key: Zeroizing::new(random_bytes::<32>()?),
        })
    }

    /// The master key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(bytes),
        }
    }

    /// A master key written as 64 hexadecimal digits (surrounding white space is ignored).
    pub fn from_hex(text: &str) -> Result<Self, TokenError> {
        let text = text.trim();
        let bad = || TokenError::MasterKey("expected 64 hexadecimal digits (256 bits)".into());
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let pair = core::str::from_utf8(pair).map_err(|_| bad())?;
            key[i] = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self { key })
    }

    /// The master key as 64 lower-case hexadecimal digits, to write into a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(64));
        for b in self.key.iter() {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        out
    }

    /// The master key from the environment variable `name` (64 hex digits).
    pub fn from_env(name: &str) -> Result<Self, TokenError> {
        let value = Zeroizing::new(std::env::var(name).map_err(|_| {
            TokenError::MasterKey(format!("environment variable {name} is not set"))
        })?);
        Self::from_hex(&value)
    }

    /// The master key from a key file holding 64 hex digits. On Unix the file must not be
    /// readable or writable by group or others.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let shown = path.display();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| TokenError::MasterKey(format!("{shown}: {e}")))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(TokenError::MasterKey(format!(
                    "{shown} is accessible to group or others (mode {:o}); chmod 600 it",
                    mode & 0o777
                )));
            }
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| TokenError::MasterKey(format!("{shown}: {e}")))?,
        );
        Self::from_hex(&text)
    }

    /// A short public identifier of this key (SHA-256 of a domain-separated encoding, 16 hex
    /// digits): what pools compare to check that their sources share one master key.
    pub fn fingerprint(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"sam master key fingerprint v1\0");
        h.update(self.key.as_slice());
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A key for another purpose, derived from this one: HMAC-SHA-256(master key, `label`)
    /// (NIST SP 800-108 style, one block), so the master key itself serves only to wrap.
    pub(crate) fn derive(&self, label: &[u8]) -> Result<Zeroizing<[u8; 32]>, TokenError> {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.key.as_slice())
            .map_err(|e| TokenError::crypto("key derivation", e))?;
        mac.update(label);
        Ok(Zeroizing::new(mac.finalize().into_bytes().into()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&(*self.key).into())
    }

    /// Seals `plaintext` with `aad` as associated data.
    pub(crate) fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, TokenError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|e| TokenError::crypto("AES-256-GCM key wrap", e))?;
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        blob.push(WRAP_VERSION);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Opens a blob made by [`Self::wrap`] with the same `aad`; `None` if it does not open.
    pub(crate) fn unwrap(&self, blob: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != WRAP_VERSION {
            return None;
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// Exports the key sealed under `passphrase` (at least 12 characters), for backup.
    pub fn export(&self, passphrase: &str) -> Result<String, TokenError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(TokenError::MasterKey(format!(
                "the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
            )));
        }
        let salt = random_bytes::<16>()?;
        let nonce = random_bytes::<NONCE_LEN>()?;
        let kek = derive(
            passphrase,
            &salt,
            EXPORT_M_COST,
            EXPORT_T_COST,
            EXPORT_P_COST,
        )?;
        let params = format!("m={EXPORT_M_COST},t={EXPORT_T_COST},p={EXPORT_P_COST}");
        let sealed = Aes256Gcm::new(&(*kek).into())
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: self.key.as_slice(),
                    aad: format!("{EXPORT_PREFIX}${params}").as_bytes(),
                },
            )
            .map_err(|e| TokenError::crypto("master key export", e))?;
        Ok(format!(
            "{EXPORT_PREFIX}${params}${}${}${}",
            Base64Unpadded::encode_string(&salt),
            Base64Unpadded::encode_string(&nonce),
            Base64Unpadded::encode_string(&sealed)
        ))
    }

    /// Imports a key exported by [`Self::export`].
    pub fn import(text: &str, passphrase: &str) -> Result<Self, TokenError> {
        let bad = |what: &str| TokenError::MasterKey(format!("not an exported master key: {what}"));
        let text = text.trim();
        if text.len() > 512 {
            return Err(bad("too long"));
        }
        let parts: Vec<&str> = text.split('$').collect();
        let [prefix, params, salt, nonce, sealed] = parts[..] else {
            return Err(bad("expected five '$'-separated fields"));
        };
        if prefix != EXPORT_PREFIX {
            return Err(bad("unknown format"));
        }
        let (m, t, p) = parse_params(params).ok_or_else(|| bad("bad Argon2 parameters"))?;
        let decode = |field: &str| Base64Unpadded::decode_vec(field).map_err(|_| bad("bad base64"));
        let salt = decode(salt)?;
        let nonce: [u8; NONCE_LEN] = decode(nonce)?
            .try_into()
            .map_err(|_| bad("bad nonce length"))?;
        let sealed = decode(sealed)?;
        let kek = derive(passphrase, &salt, m, t, p)?;
        let plain = Zeroizing::new(
            Aes256Gcm::new(&(*kek).into())
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: &sealed,
                        aad: format!("{prefix}${params}").as_bytes(),
                    },
                )
                .map_err(|_| {
                    TokenError::MasterKey(
                        "the passphrase is wrong or the exported key was altered".into(),
                    )
                })?,
        );
        let mut key = [0u8; 32];
        if plain.len() != key.len() {
            return Err(bad("wrong key length"));
        }
        key.copy_from_slice(&plain);
        let master = Self::from_bytes(key);
        key.zeroize();
        Ok(master)
    }
}

fn parse_params(text: &str) -> Option<(u32, u32, u32)> {
    let mut m = None;
    let mut t = None;
    let mut p = None;
    for item in text.split(',') {
        let (name, value) = item.split_once('=')?;
        let value: u32 = value.parse().ok()?;
        match name {
            "m" if (8..=MAX_IMPORT_M_COST).contains(&value) => m = Some(value),
            "t" if (1..=MAX_IMPORT_T_COST).contains(&value) => t = Some(value),
            "p" if (1..=MAX_IMPORT_P_COST).contains(&value) => p = Some(value),
            _ => return None,
        }
    }
    Some((m?, t?, p?))
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, TokenError> {
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| TokenError::MasterKey(format!("Argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut kek = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut_slice())
        .map_err(|e| TokenError::MasterKey(format!("Argon2id: {e}")))?;
    Ok(kek)
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(fingerprint {})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let key = MasterKey::generate().unwrap();
        let again = MasterKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(key.fingerprint(), again.fingerprint());
        assert!(MasterKey::from_hex(&"0".repeat(63)).is_err());
        assert!(MasterKey::from_hex(&"g".repeat(64)).is_err());
        assert!(MasterKey::from_hex(&format!("  {}\n", "ab".repeat(32))).is_ok());
    }

    #[test]
    fn debug_shows_only_the_fingerprint() {
        let key = MasterKey::from_bytes([7; 32]);
        let debug = format!("{key:?}");
        assert!(debug.starts_with("MasterKey(fingerprint "), "{debug}");
        assert!(!debug.contains("0707"), "{debug}");
    }

    #[test]
    fn wrap_binds_the_associated_data() {
        let key = MasterKey::generate().unwrap();
        let blob = key.wrap(b"secret", b"aad-1").unwrap();
        assert_eq!(key.unwrap(&blob, b"aad-1").unwrap().as_slice(), b"secret");
        assert!(key.unwrap(&blob, b"aad-2").is_none());
        let other = MasterKey::generate().unwrap();
        assert!(other.unwrap(&blob, b"aad-1").is_none());
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert!(key.unwrap(&bad, b"aad-1").is_none(), "bit flip at {i}");
        }
        for cut in 0..blob.len() {
            assert!(key.unwrap(&blob[..cut], b"aad-1").is_none());
        }
    }

    #[test]
    fn export_and_import_under_a_passphrase() {
        let key = MasterKey::generate().unwrap();
        let text = key.export("correct horse battery").unwrap();
        assert!(text.starts_with("sam-mbk-v1$m=65536,t=3,p=1$"), "{text}");
        let back = MasterKey::import(&text, "correct horse battery").unwrap();
        assert_eq!(back.fingerprint(), key.fingerprint());
        let err = MasterKey::import(&text, "wrong horse battery").unwrap_err();
        assert!(err.to_string().contains("passphrase is wrong"), "{err}");
        assert!(key.export("short").is_err());
        // Lowering the cost in the text breaks the associated data.
        let cheaper = text.replace("m=65536", "m=8");
        assert!(MasterKey::import(&cheaper, "correct horse battery").is_err());
        // Costs beyond the bounds are refused before any work.
        let costly = text.replace("t=3", "t=1000");
        assert!(MasterKey::import(&costly, "correct horse battery").is_err());
        assert!(MasterKey::import("garbage", "correct horse battery").is_err());
    }

    proptest::proptest! {
        /// Any text gives a key or an error; nothing panics, and only the cost bounds above
        /// can make an import expensive.
        #[test]
        fn import_is_total(text in "(sam-mbk-v1\\$)?\\PC{0,120}") {
            let _ = MasterKey::import(&text, "a passphrase of some length");
        }

        /// Any blob gives a key or `None`.
        #[test]
        fn unwrap_is_total(blob in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let key = MasterKey::from_bytes([1; 32]);
            proptest::prop_assert!(key.unwrap(&blob, b"aad").is_none());
        }
    }
}
