//! The software token: keys generated with the RustCrypto crates and kept by the caller as
//! blobs wrapped under a [`MasterKey`] (seed 001 *software mode*: "generate and store the user
//! key within the database").

mod cache;
mod master_key;

pub use cache::KeyCacheSettings;
pub use master_key::{MIN_PASSPHRASE_CHARS, MasterKey};

use std::sync::Arc;
use std::time::Instant;

use cache::{CacheKey, KeyCache};

use sam_algorithms::{HashAlgorithm, KeySpec, RsaPadding};

use crate::activation::Activation;
use crate::error::TokenError;
use crate::key::{KeyId, KeyLocation, KeyRecord, KeyReference};
use crate::token::{
    Capabilities, CryptoToken, Health, ToBeSigned, TokenIdentity, check_activation,
};
use sam_keys::{SigningKey, software_specs};
use zeroize::Zeroizing;

/// A crypto token whose keys are software keys wrapped under a master key.
///
/// ```
/// use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
/// use sam_token::{ActivationIssuer, CryptoToken, KeyId, KeyLocation, MasterKey, SoftwareToken, ToBeSigned};
///
/// let token = SoftwareToken::new("software", MasterKey::generate()?);
/// let key = token.generate(KeyId::new("alice-1")?, KeySpec::Ecdsa(EcCurve::P256), KeyLocation::Default)?;
///
/// // Only an activation for exactly this digest lets the key sign it.
/// let digest = HashAlgorithm::Sha256.digest(b"document");
/// let issuer = ActivationIssuer::take().expect("the first and only issuer");
/// let activation = issuer.activate(key.key_id.clone(), vec![digest]);
/// let signatures = token.sign(&key, &activation, RsaPadding::Pkcs1v15, &[ToBeSigned::Digest(digest)])?;
/// sam_token::verify::verify(&key.public_key_der, key.spec, RsaPadding::Pkcs1v15,
///                           &ToBeSigned::Digest(digest), &signatures[0])?;
///
/// let other = HashAlgorithm::Sha256.digest(b"another document");
/// assert!(token.sign(&key, &activation, RsaPadding::Pkcs1v15, &[ToBeSigned::Digest(other)]).is_err());
/// # Ok::<(), sam_token::TokenError>(())
/// ```
#[derive(Debug)]
pub struct SoftwareToken {
    name: String,
    master_key: MasterKey,
    capabilities: Capabilities,
    cache: KeyCache,
}

impl SoftwareToken {
    /// A software token named `name` (its crypto profile name) wrapping under `master_key`,
    /// keeping opened keys as [`KeyCacheSettings::default`] says.
    pub fn new(name: impl Into<String>, master_key: MasterKey) -> Self {
        Self::with_key_cache(name, master_key, KeyCacheSettings::default())
    }

    /// A software token keeping opened keys as `cache` says ([`KeyCacheSettings::OFF`]: none;
    /// every signature unwraps and decodes its key).
    pub fn with_key_cache(
        name: impl Into<String>,
        master_key: MasterKey,
        cache: KeyCacheSettings,
    ) -> Self {
        Self {
            name: name.into(),
            master_key,
            cache: KeyCache::new(cache),
            capabilities: Capabilities {
                key_specs: software_specs(),
                paddings: vec![RsaPadding::Pkcs1v15, RsaPadding::Pss],
                hashes: HashAlgorithm::ALL.to_vec(),
                sha3_prehash: true,
                needs_kak: false,
            },
        }
    }

    /// The master key's fingerprint.
    pub fn master_key_fingerprint(&self) -> String {
        self.master_key.fingerprint()
    }

    /// The associated data that binds a wrapped key to its id and spec.
    fn aad(key_id: &KeyId, spec: KeySpec) -> Vec<u8> {
        format!("sam-token software key v1\0{key_id}\0{spec}").into_bytes()
    }

    /// The key's PKCS #8 document, unwrapped (AES-256-GCM: a wrong master key or an altered
    /// record fails the tag).
    fn unwrap_key(&self, key: &KeyRecord) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let KeyReference::SoftwareWrapped(blob) = &key.reference else {
            return Err(TokenError::ForeignKey {
                key_id: key.key_id.to_string(),
                token: self.name.clone(),
            });
        };
        self.master_key
            .unwrap(blob, &Self::aad(&key.key_id, key.spec))
            .ok_or_else(|| TokenError::Unwrap {
                key_id: key.key_id.to_string(),
            })
    }

    /// The opened key: from the cache, or unwrapped and decoded (and then cached).
    fn open(&self, key: &KeyRecord) -> Result<Arc<SigningKey>, TokenError> {
        let id = match &key.reference {
            KeyReference::SoftwareWrapped(blob) if self.cache.enabled() => {
                let id = CacheKey::new(key.key_id.as_str(), key.spec, blob);
                if let Some(open) = self.cache.get(&id, Instant::now()) {
                    return Ok(open);
                }
                Some(id)
            }
            _ => None,
        };
        let open = Arc::new(SigningKey::from_pkcs8_der(
            key.spec,
            &self.unwrap_key(key)?,
        )?);
        if let Some(id) = id {
            self.cache.insert(id, open.clone(), Instant::now());
        }
        Ok(open)
    }

    /// How many opened keys the cache holds now (also [`CryptoToken::open_keys`]).
    pub fn cached_keys(&self) -> usize {
        self.cache.len()
    }
}

impl CryptoToken for SoftwareToken {
    fn name(&self) -> &str {
        &self.name
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
        if location != KeyLocation::Default {
            return Err(TokenError::NoSignatureSlot {
                token: self.name.clone(),
            });
        }
        let unsupported = || TokenError::UnsupportedSpec {
            token: self.name.clone(),
            spec,
            hint: "the 224-, 320- and 512-bit Brainpool curves are available through a \
                   PKCS#11 token (e.g. SoftHSM2 or an HSM)",
        };
        if !self.capabilities.supports(spec) {
            return Err(unsupported());
        }
        let private = SigningKey::generate(spec).map_err(|_| unsupported())?;
        let blob = self
            .master_key
            .wrap(&private.to_pkcs8_der()?, &Self::aad(&key_id, spec))?;
        Ok(KeyRecord {
            public_key_der: private.public_key_der()?,
            key_id,
            spec,
            reference: KeyReference::SoftwareWrapped(blob),
            kak: None,
        })
    }

    fn sign(
        &self,
        key: &KeyRecord,
        activation: &Activation,
        padding: RsaPadding,
        inputs: &[ToBeSigned<'_>],
    ) -> Result<Vec<Vec<u8>>, TokenError> {
        check_activation(key, activation, inputs)?;
        let private = self.open(key)?;
        inputs
            .iter()
            .map(|input| Ok(private.sign(padding, &input.key_input())?))
            .collect()
    }

    fn check_key(&self, key: &KeyRecord) -> Result<(), TokenError> {
        if self.cache.enabled() {
            // Opened now (and cached), the signature that follows finds it.
            self.open(key).map(drop)
        } else {
            // The GCM tag proves the master key and the record; decoding waits for the
            // signature.
            self.unwrap_key(key).map(drop)
        }
    }

    fn delete(&self, key: &KeyRecord) -> Result<(), TokenError> {
        // The wrapped blob is the caller's; the token keeps only its cache entry.
        self.cache.forget(key.key_id.as_str());
        Ok(())
    }

    fn forget_key(&self, key: &KeyRecord) {
        self.cache.forget(key.key_id.as_str());
    }

    fn open_keys(&self) -> usize {
        self.cache.len()
    }

    fn health(&self) -> Health {
        Health::Healthy
    }

    fn identity(&self) -> TokenIdentity {
        TokenIdentity {
            kind: "software".into(),
            key_domain: Some(format!("master key {}", self.master_key.fingerprint())),
            slot_id: None,
        }
    }
}
