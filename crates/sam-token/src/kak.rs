//! The Key Authorisation Key gate (seed 001 *KAK Algorithm*, *KAK Length*): what a CP5-class
//! HSM enforces, on any backend.
//!
//! [`KakGate`] decorates a token. When it generates a user key it also generates, in
//! software, an RSA Key Authorisation Key for it, wraps the KAK's private half under its own
//! [`MasterKey`], and binds the KAK to the user key with an HMAC tag (so a record whose KAK was
//! replaced is refused). To sign, the SAM first obtains a [`KeyUseAuthorisation`] from
//! [`KakGate::authorise`] — key id, digests, a random nonce and an expiry, signed with the
//! KAK (RSASSA-PKCS1-v1_5 with SHA-256) — attaches it to the [`Activation`], and the gate
//! verifies it before the user key is touched: right binding, right signature, right key,
//! exactly the activated digests, not expired, nonce not seen before.
//!
//! The authorisation's signed bytes are
//! `"sam kak authorisation v1\0" ‖ u16 len ‖ key id ‖ u32 count ‖ (u8 hash ‖ u8 len ‖ digest)* ‖
//! nonce (16) ‖ i64 expiry (big-endian seconds)`.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::UnwrapErr;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sam_algorithms::{Digest, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use spki::{DecodePublicKey, EncodePublicKey};
use subtle::ConstantTimeEq;

use crate::activation::Activation;
use crate::error::TokenError;
use crate::key::{KakBinding, KeyId, KeyLocation, KeyRecord};
use crate::software::MasterKey;
use crate::token::{Capabilities, CryptoToken, Health, ToBeSigned, TokenIdentity};

/// A source of the current time (tests step it; the server reads the system clock).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        UnixTime::from_secs(secs).unwrap_or(UnixTime::MAX)
    }
}

/// How many nonces the gate remembers to refuse replays within their validity.
const REMEMBERED_NONCES: usize = 100_000;
/// The longest validity an authorisation may have, in seconds.
pub const MAX_AUTHORISATION_SECS: i64 = 300;

/// A KAK-signed permission to use one user key for exactly these digests until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUseAuthorisation {
    /// The user key.
    pub key_id: KeyId,
    /// The digests it may sign.
    pub digests: Vec<Digest>,
    /// A random value, used once.
    pub nonce: [u8; 16],
    /// The end of its validity.
    pub expires_at: UnixTime,
    /// The KAK's signature over the bytes in the module documentation.
    pub signature: Vec<u8>,
}

impl KeyUseAuthorisation {
    fn signed_bytes(
        key_id: &KeyId,
        digests: &[Digest],
        nonce: &[u8; 16],
        expires_at: UnixTime,
    ) -> Vec<u8> {
        let mut out = b"sam kak authorisation v1\0".to_vec();
        let id = key_id.as_str().as_bytes();
        // Key ids have at most 128 bytes and digests at most 64: the casts cannot truncate.
        out.extend_from_slice(&(id.len() as u16).to_be_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&(digests.len() as u32).to_be_bytes());
        for d in digests {
            let index = HashAlgorithm::ALL
                .iter()
                .position(|h| *h == d.algorithm())
                .unwrap_or(usize::MAX);
            out.push(index as u8);
            out.push(d.as_bytes().len() as u8);
            out.extend_from_slice(d.as_bytes());
        }
        out.extend_from_slice(nonce);
        out.extend_from_slice(&expires_at.as_secs().to_be_bytes());
        out
    }
}

/// A token decorator that requires a KAK-signed [`KeyUseAuthorisation`] for every signature.
pub struct KakGate<T> {
    inner: T,
    master_key: MasterKey,
    kak_size: RsaKeySize,
    clock: Box<dyn Clock>,
    capabilities: Capabilities,
    seen: Mutex<SeenNonces>,
}

/// The nonces of authorisations used recently: a set to look them up, a queue to forget the
/// oldest.
#[derive(Default)]
struct SeenNonces {
    set: HashSet<[u8; 16]>,
    order: VecDeque<[u8; 16]>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for KakGate<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakGate")
            .field("inner", &self.inner)
            .field("kak_size", &self.kak_size)
            .finish_non_exhaustive()
    }
}

fn refused(key_id: &KeyId, reason: impl Into<String>) -> TokenError {
    TokenError::KakRefused {
        key_id: key_id.to_string(),
        reason: reason.into(),
    }
}

impl<T: CryptoToken> KakGate<T> {
    /// Gates `inner`: KAKs of `kak_size` bits, wrapped under `master_key`, checked against
    /// `clock`.
    pub fn new(
        inner: T,
        master_key: MasterKey,
        kak_size: RsaKeySize,
        clock: Box<dyn Clock>,
    ) -> Self {
        let mut capabilities = inner.capabilities().clone();
        capabilities.needs_kak = true;
        Self {
            inner,
            master_key,
            kak_size,
            clock,
            capabilities,
            seen: Mutex::new(SeenNonces::default()),
        }
    }

    fn binding_tag(
        &self,
        key_id: &KeyId,
        user_spki: &[u8],
        kak_spki: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        // A key for binding tags, derived from the master key (never the wrap key itself).
        let derived = self.master_key.derive(b"sam kak binding v1")?;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(derived.as_slice())
            .map_err(|e| TokenError::crypto("KAK binding", e))?;
        for part in [key_id.as_str().as_bytes(), user_spki, kak_spki] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Ok(mac.finalize().into_bytes().to_vec())
    }

    fn kak_aad(key_id: &KeyId) -> Vec<u8> {
        format!("sam kak private key v1\0{key_id}").into_bytes()
    }

    fn checked_binding<'a>(&self, key: &'a KeyRecord) -> Result<&'a KakBinding, TokenError> {
        let binding = key
            .kak
            .as_ref()
            .ok_or_else(|| refused(&key.key_id, "the key has no KAK"))?;
        let expected =
            self.binding_tag(&key.key_id, &key.public_key_der, &binding.public_key_der)?;
        if !bool::from(expected.ct_eq(&binding.binding_tag)) {
            return Err(refused(
                &key.key_id,
                "the KAK is not the one bound to this key",
            ));
        }
        Ok(binding)
    }

    /// Signs a key-use authorisation for exactly the digests of `activation`, valid for
    /// `valid_for_secs` (1 to [`MAX_AUTHORISATION_SECS`]): what the SAM does once the SAD is
    /// verified, before asking the token to sign.
    pub fn authorise(
        &self,
        key: &KeyRecord,
        activation: &Activation,
        valid_for_secs: i64,
    ) -> Result<KeyUseAuthorisation, TokenError> {
        if !(1..=MAX_AUTHORISATION_SECS).contains(&valid_for_secs) {
            return Err(refused(
                &key.key_id,
                format!("validity must be 1 to {MAX_AUTHORISATION_SECS} seconds"),
            ));
        }
        let binding = self.checked_binding(key)?;
        let pkcs8 = self
            .master_key
            .unwrap(&binding.wrapped_private_key, &Self::kak_aad(&key.key_id))
            .ok_or_else(|| TokenError::Unwrap {
                key_id: format!("{} (KAK)", key.key_id),
            })?;
        let kak = RsaPrivateKey::from_pkcs8_der(&pkcs8)
            .map_err(|e| TokenError::crypto("KAK decoding", e))?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| TokenError::Random(e.to_string()))?;
        let expires_at = self
            .clock
            .now()
            .checked_add_secs(valid_for_secs)
            .ok_or_else(|| refused(&key.key_id, "expiry out of range"))?;
        let digests = activation.digests().to_vec();
        let tbs = KeyUseAuthorisation::signed_bytes(&key.key_id, &digests, &nonce, expires_at);
        let hash = HashAlgorithm::Sha256.digest(&tbs);
        let signature = kak
            .sign_with_rng(
                &mut UnwrapErr(getrandom::SysRng),
                Pkcs1v15Sign::new::<sha2::Sha256>(),
                hash.as_bytes(),
            )
            .map_err(|e| TokenError::crypto("KAK signing", e))?;
        Ok(KeyUseAuthorisation {
            key_id: key.key_id.clone(),
            digests,
            nonce,
            expires_at,
            signature,
        })
    }

    /// Every check of the module documentation, in order; consumes the nonce on success.
    fn check(&self, key: &KeyRecord, activation: &Activation) -> Result<(), TokenError> {
        let binding = self.checked_binding(key)?;
        let auth = activation.kak_authorisation().ok_or_else(|| {
            refused(
                &key.key_id,
                "no KAK authorisation accompanies the activation",
            )
        })?;
        let public = RsaPublicKey::from_public_key_der(&binding.public_key_der)
            .map_err(|e| TokenError::crypto("KAK public key", e))?;
        let tbs = KeyUseAuthorisation::signed_bytes(
            &auth.key_id,
            &auth.digests,
            &auth.nonce,
            auth.expires_at,
        );
        let hash = HashAlgorithm::Sha256.digest(&tbs);
        public
            .verify(
                Pkcs1v15Sign::new::<sha2::Sha256>(),
                hash.as_bytes(),
                &auth.signature,
            )
            .map_err(|_| {
                refused(
                    &key.key_id,
                    "the authorisation is not signed by this key's KAK",
                )
            })?;
        if auth.key_id != key.key_id {
            return Err(refused(&key.key_id, "the authorisation is for another key"));
        }
        let same_digests = auth.digests.len() == activation.digests().len()
            && activation
                .digests()
                .iter()
                .all(|d| auth.digests.contains(d));
        if !same_digests {
            return Err(refused(
                &key.key_id,
                "the authorisation is for other digests",
            ));
        }
        if self.clock.now() >= auth.expires_at {
            return Err(refused(
                &key.key_id,
                format!("the authorisation expired at {}", auth.expires_at),
            ));
        }
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| refused(&key.key_id, "the nonce register is poisoned"))?;
        if !seen.set.insert(auth.nonce) {
            return Err(refused(&key.key_id, "the authorisation was used before"));
        }
        seen.order.push_back(auth.nonce);
        if seen.order.len() > REMEMBERED_NONCES
            && let Some(old) = seen.order.pop_front()
        {
            seen.set.remove(&old);
        }
        Ok(())
    }
}

/// How long the authorisation [`CryptoToken::authorise_key_use`] makes is valid: it is used
/// at once, by the same request.
const KEY_USE_AUTHORISATION_SECS: i64 = 60;

impl<T: CryptoToken> CryptoToken for KakGate<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn authorise_key_use(
        &self,
        key: &KeyRecord,
        activation: &Activation,
    ) -> Result<Option<KeyUseAuthorisation>, TokenError> {
        self.authorise(key, activation, KEY_USE_AUTHORISATION_SECS)
            .map(Some)
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn generate(
        &self,
        key_id: KeyId,
        spec: KeySpec,
        location: KeyLocation,
    ) -> Result<KeyRecord, TokenError> {
        let mut record = self.inner.generate(key_id, spec, location)?;
        let kak = RsaPrivateKey::new(
            &mut UnwrapErr(getrandom::SysRng),
            self.kak_size.bits() as usize,
        )
        .map_err(|e| TokenError::crypto("KAK generation", e))?;
        let pkcs8 = kak
            .to_pkcs8_der()
            .map_err(|e| TokenError::crypto("KAK encoding", e))?;
        let wrapped_private_key = self
            .master_key
            .wrap(pkcs8.as_bytes(), &Self::kak_aad(&record.key_id))?;
        let public_key_der = kak
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| TokenError::crypto("KAK encoding", e))?
            .into_vec();
        let binding_tag =
            self.binding_tag(&record.key_id, &record.public_key_der, &public_key_der)?;
        record.kak = Some(KakBinding {
            public_key_der,
            wrapped_private_key,
            binding_tag,
        });
        Ok(record)
    }

    fn sign(
        &self,
        key: &KeyRecord,
        activation: &Activation,
        padding: RsaPadding,
        inputs: &[ToBeSigned<'_>],
    ) -> Result<Vec<Vec<u8>>, TokenError> {
        crate::token::check_activation(key, activation, inputs)?;
        self.check(key, activation)?;
        self.inner.sign(key, activation, padding, inputs)
    }

    fn delete(&self, key: &KeyRecord) -> Result<(), TokenError> {
        self.inner.delete(key)
    }

    fn forget_key(&self, key: &KeyRecord) {
        self.inner.forget_key(key);
    }

    fn open_keys(&self) -> usize {
        self.inner.open_keys()
    }

    fn health(&self) -> Health {
        self.inner.health()
    }

    fn identity(&self) -> TokenIdentity {
        let mut identity = self.inner.identity();
        identity.kind = format!("{} with KAK gate", identity.kind);
        identity
    }
}
