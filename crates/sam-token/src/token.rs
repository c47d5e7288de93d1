//! The crypto-token abstraction (seed 000: the SAM as a crypto token of the signing server).
//!
//! # Why synchronous
//!
//! Every backend is blocking by nature: RustCrypto signing is CPU-bound, and PKCS#11 calls
//! are blocking C calls on sessions that are `Send` but not `Sync`. A synchronous, object-safe
//! trait (`dyn CryptoToken`) is the honest interface; decorators (the KAK gate) and pools wrap
//! it without an async runtime, and an embedding application chooses how to call it (the
//! server uses `tokio::task::spawn_blocking`).

use sam_algorithms::{Digest, HashAlgorithm, KeySpec, RsaPadding};

use crate::activation::Activation;
use crate::error::TokenError;
use crate::key::{KeyId, KeyLocation, KeyRecord};

/// What a token can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The key specs it can generate and sign with.
    pub key_specs: Vec<KeySpec>,
    /// The RSA paddings it can sign with.
    pub paddings: Vec<RsaPadding>,
    /// The hash algorithms of digests it can sign.
    pub hashes: Vec<HashAlgorithm>,
    /// Whether it signs SHA-3 digests (some HSMs cannot).
    pub sha3_prehash: bool,
    /// Whether user keys need a Key Authorisation Key to sign.
    pub needs_kak: bool,
}

impl Capabilities {
    /// Whether the token holds keys of `spec`.
    pub fn supports(&self, spec: KeySpec) -> bool {
        self.key_specs.contains(&spec)
    }
}

/// One thing to sign: the DTBS/R, as `sam-cms` prepared it (`sam-keys`).
pub use sam_keys::ToBeSigned;

/// Whether a token can serve requests now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// It can.
    Healthy,
    /// It cannot, and why.
    Unavailable(String),
}

/// What must be equal for two tokens to serve the same keys in a pool (seed 001: crypto
/// sources of one type, sharing the Master Backup Key and the slot id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenIdentity {
    /// The kind of device (`software`, or the PKCS#11 manufacturer and model).
    pub kind: String,
    /// The key domain: what a key generated in one member needs to be usable in another (the
    /// master key's fingerprint, the wrapping key's check value). `None` for keys that live in
    /// one device only (PKCS#11 resident keys), which cannot be pooled.
    pub key_domain: Option<String>,
    /// The PKCS#11 slot id, for HSMs.
    pub slot_id: Option<u64>,
}

/// A place where user keys are generated and used (software, a PKCS#11 HSM, ...).
pub trait CryptoToken: Send + Sync {
    /// The token's name (its crypto profile name).
    fn name(&self) -> &str;

    /// What it can do.
    fn capabilities(&self) -> &Capabilities;

    /// Generates a key of `spec` named `key_id` in the slot at `location`, returning the record
    /// to store. Tokens without a signature slot refuse [`KeyLocation::Signature`].
    fn generate(
        &self,
        key_id: KeyId,
        spec: KeySpec,
        location: KeyLocation,
    ) -> Result<KeyRecord, TokenError>;

    /// Signs every input with `key`, if `activation` allows each of them; with `padding` for
    /// RSA keys. Returns one signature per input, in order: PKCS #1 for RSA, DER
    /// `ECDSA-Sig-Value` for ECDSA, the FIPS 204 encoding for ML-DSA. Nothing is signed if any
    /// input is refused.
    fn sign(
        &self,
        key: &KeyRecord,
        activation: &Activation,
        padding: RsaPadding,
        inputs: &[ToBeSigned<'_>],
    ) -> Result<Vec<Vec<u8>>, TokenError>;

    /// For a token that activates user keys with a Key Authorisation Key ([`KakGate`]): the
    /// KAK's authorisation of exactly `activation` for `key`, which the caller attaches to the
    /// activation before [`CryptoToken::sign`]. Other tokens need none (the default).
    ///
    /// [`KakGate`]: crate::KakGate
    fn authorise_key_use(
        &self,
        key: &KeyRecord,
        activation: &Activation,
    ) -> Result<Option<crate::KeyUseAuthorisation>, TokenError> {
        let _ = (key, activation);
        Ok(None)
    }

    /// Checks, without signing, that this token can use `key` now: a software token unwraps
    /// it under its master key (a wrong master key fails here). The service calls it before a
    /// SAD is spent, so that a key that cannot sign never costs the user their approval.
    /// Tokens whose keys cannot be checked more cheaply than by signing accept (the default);
    /// their key domain is checked at start instead ([`TokenIdentity::key_domain`]).
    fn check_key(&self, key: &KeyRecord) -> Result<(), TokenError> {
        let _ = key;
        Ok(())
    }

    /// Removes whatever the token holds of `key` (for a software key: nothing).
    fn delete(&self, key: &KeyRecord) -> Result<(), TokenError>;

    /// Drops whatever the token keeps open of `key` between signatures (the software token's
    /// cache of opened keys; seed 001: "the respective key handles … are also deleted from
    /// the cache"), so that the next signature opens it again. Tokens that keep nothing open
    /// do nothing (the default).
    fn forget_key(&self, key: &KeyRecord) {
        let _ = key;
    }

    /// How many keys the token keeps open between signatures now (for the metrics; 0 for
    /// tokens that keep none, the default).
    fn open_keys(&self) -> usize {
        0
    }

    /// Whether the token can serve requests now.
    fn health(&self) -> Health;

    /// What must match for this token to share keys with others in a pool.
    fn identity(&self) -> TokenIdentity;
}

/// Checks `inputs` against `activation` for `key`: the one check every token makes first.
pub fn check_activation(
    key: &KeyRecord,
    activation: &Activation,
    inputs: &[ToBeSigned<'_>],
) -> Result<(), TokenError> {
    let digests: Vec<Digest> = inputs.iter().map(ToBeSigned::digest).collect();
    activation
        .check(&key.key_id, digests.iter())
        .map_err(TokenError::from)
}
