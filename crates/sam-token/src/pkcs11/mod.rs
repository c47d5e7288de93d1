//! A PKCS#11 token (OASIS PKCS #11 v2.40/3.0 through `cryptoki`): an HSM slot, and optionally
//! a separate signature slot with its own Sign PIN (seed 004).
//!
//! - The module is loaded once per process and path, and initialised once
//!   (`CKR_CRYPTOKI_ALREADY_INITIALIZED` is tolerated), because modules such as SoftHSM2
//!   misbehave under concurrent `C_Initialize` (SECURITY.md).
//! - Each slot has one long-lived primary session that holds the process's login and serves
//!   administration, and a pool of up to eight further sessions for concurrent signing
//!   (`cryptoki` sessions are `Send`, not `Sync`, so each request has one to itself).
//! - Keys are *resident*: generated as token objects, private keys sensitive and
//!   non-extractable, found again by `CKA_ID` = key id.
//! - RSA PKCS #1 v1.5 signs a DER `DigestInfo` with `CKM_RSA_PKCS` (RFC 8017 §9.2), RSA-PSS
//!   signs the digest with `CKM_RSA_PKCS_PSS` (salt = hash length, MGF1 with the hash), and
//!   ECDSA signs the digest with `CKM_ECDSA`, whose `r ‖ s` output is re-encoded as the DER
//!   `ECDSA-Sig-Value` (RFC 5480 §2.2).
//! - Capabilities come from the slot's mechanism list and key-size ranges.

mod encoding;
mod handles;
mod module;
mod pin;

pub use pin::{PinPolicy, PinSource};

use handles::{HandleCache, Wanted};
pub use module::MAX_POOLED_SESSIONS;
use module::{LoginError, SharedSlot};

use std::path::PathBuf;
use std::sync::{Arc, MutexGuard};

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use der::Encode;
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding};

use crate::activation::Activation;
use crate::error::TokenError;
use crate::key::{KeyId, KeyLocation, KeyRecord, KeyReference};
use crate::token::{
    Capabilities, CryptoToken, Health, ToBeSigned, TokenIdentity, check_activation,
};

/// How to find a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotSelector {
    /// By PKCS#11 slot id.
    Id(u64),
    /// By position among the slots with an initialised token.
    Index(usize),
    /// By token label.
    Label(String),
}

/// The separate signature slot (seed 004): keys generated with [`KeyLocation::Signature`] go
/// there, and only its Sign PIN unlocks them.
#[derive(Clone, Debug)]
pub struct SignatureSlotConfig {
    /// Which slot.
    pub slot: SlotSelector,
    /// Where the Sign PIN comes from.
    pub sign_pin: PinSource,
}

/// Everything needed to open a PKCS#11 token.
#[derive(Clone, Debug)]
pub struct Pkcs11Config {
    /// The token's name (its crypto profile name).
    pub name: String,
    /// The PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The default slot.
    pub slot: SlotSelector,
    /// Where the user PIN of the default slot comes from.
    pub pin: PinSource,
    /// The optional signature slot.
    pub signature_slot: Option<SignatureSlotConfig>,
    /// The policy new PINs and Sign PINs must match (seed 004, e.g. `[0-9]{4,}`).
    pub pin_policy: Option<PinPolicy>,
    /// Where new keys are kept.
    pub storage: KeyStorage,
}

/// Where a PKCS#11 token keeps the keys it generates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KeyStorage {
    /// As token objects in the HSM (non-extractable).
    #[default]
    Resident,
    /// Wrapped under the AES key labelled `wrapping_key` and handed to the caller as blobs:
    /// keys scale with the database, not the HSM, and several HSMs sharing the wrapping key
    /// serve the same keys (ARCHITECTURE.md, scale-out).
    Wrapped {
        /// The label of the AES-256 wrapping key in each slot.
        wrapping_key: String,
    },
}

/// A crypto token in a PKCS#11 module.
pub struct Pkcs11Token {
    name: String,
    pkcs11: Arc<Pkcs11>,
    default: Arc<SharedSlot>,
    signature: Option<Arc<SharedSlot>>,
    pin_policy: Option<PinPolicy>,
    storage: KeyStorage,
    capabilities: Capabilities,
    handles: HandleCache,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("name", &self.name)
            .field("slot", &self.default.slot.id())
            .field(
                "signature_slot",
                &self.signature.as_ref().map(|s| s.slot.id()),
            )
            .finish_non_exhaustive()
    }
}

impl Pkcs11Token {
    /// Loads the module (once per process), finds the slots, and logs in to each.
    pub fn open(config: Pkcs11Config) -> Result<Self, TokenError> {
        let name = config.name.clone();
        let pkcs11 = module::load(&config.module).map_err(|reason| TokenError::Config {
            token: name.clone(),
            reason,
        })?;
        let module = config.module.clone();
        let default = open_slot(&pkcs11, &module, &name, &config.slot, &config.pin, "PIN")?;
        let signature = config
            .signature_slot
            .as_ref()
            .map(|s| open_slot(&pkcs11, &module, &name, &s.slot, &s.sign_pin, "Sign PIN"))
            .transpose()?;
        let capabilities = read_capabilities(&pkcs11, default.slot, &name)?;
        Ok(Self {
            name,
            pkcs11,
            default,
            signature,
            pin_policy: config.pin_policy,
            storage: config.storage,
            capabilities,
            handles: HandleCache::default(),
        })
    }

    fn slot(&self, location: KeyLocation) -> Result<&Arc<SharedSlot>, TokenError> {
        match location {
            KeyLocation::Default => Ok(&self.default),
            KeyLocation::Signature => {
                self.signature
                    .as_ref()
                    .ok_or_else(|| TokenError::NoSignatureSlot {
                        token: self.name.clone(),
                    })
            }
        }
    }

    fn session(&self, location: KeyLocation) -> Result<MutexGuard<'_, Session>, TokenError> {
        let slot = self.slot(location)?;
        slot.session.lock().map_err(|_| TokenError::Pkcs11 {
            token: self.name.clone(),
            operation: "session lock",
            reason: "a previous operation panicked".into(),
        })
    }

    /// A session of the slot at `location` for one request (see [`SharedSlot::lease`]).
    fn lease(&self, location: KeyLocation) -> Result<module::Lease<'_>, TokenError> {
        self.slot(location)?
            .lease()
            .map_err(|reason| TokenError::Pkcs11 {
                token: self.name.clone(),
                operation: "session",
                reason: reason.into(),
            })
    }

    /// Sessions open on the slot at `location` (the primary one and the pooled ones).
    pub fn open_sessions(&self, location: KeyLocation) -> Result<usize, TokenError> {
        Ok(self.slot(location)?.open_sessions())
    }

    fn fail(&self, operation: &'static str) -> impl Fn(cryptoki::error::Error) -> TokenError + '_ {
        move |e| TokenError::Pkcs11 {
            token: self.name.clone(),
            operation,
            reason: e.to_string(),
        }
    }

    /// Changes the user PIN (`KeyLocation::Default`) or the Sign PIN
    /// (`KeyLocation::Signature`) from `old` to `new`, which must match the PIN policy.
    pub fn change_pin(
        &self,
        location: KeyLocation,
        old: &str,
        new: &str,
    ) -> Result<(), TokenError> {
        let which = pin_name(location);
        self.check_policy(which, new)?;
        let session = self.session(location)?;
        session
            .set_pin(&old.into(), &new.into())
            .map_err(|e| pin_error(&self.name, which, e))?;
        self.slot(location)?.set_pin(new);
        Ok(())
    }

    /// Sets a new user PIN or Sign PIN with the slot's SO PIN (the PUK of seed 004), e.g.
    /// after the PIN was locked by wrong tries.
    pub fn unblock_pin(
        &self,
        location: KeyLocation,
        so_pin: &str,
        new: &str,
    ) -> Result<(), TokenError> {
        let which = pin_name(location);
        self.check_policy(which, new)?;
        let slot = self.slot(location)?;
        // A separate session: the SO cannot log in while the user is logged in on this
        // application's long-lived session, so log that one out for the duration.
        let session = self.session(location)?;
        let _ = session.logout();
        let so = self
            .pkcs11
            .open_rw_session(slot.slot)
            .map_err(self.fail("C_OpenSession"))?;
        let result = so
            .login(UserType::So, Some(&so_pin.into()))
            .map_err(|e| pin_error(&self.name, "SO PIN", e))
            .and_then(|()| so.init_pin(&new.into()).map_err(self.fail("C_InitPIN")));
        let _ = so.logout();
        drop(so);
        // Log back in: with the new PIN if the unblock worked, else with the one before.
        if result.is_ok() {
            slot.set_pin(new);
        }
        let pin = slot.pin().ok_or_else(|| TokenError::Pkcs11 {
            token: self.name.clone(),
            operation: "login",
            reason: "the slot's PIN record is poisoned".into(),
        })?;
        session
            .login(UserType::User, Some(&pin.as_str().into()))
            .map_err(|e| pin_error(&self.name, which, e))?;
        result
    }

    /// Generates the AES-256 wrapping key `label` in the slot at `location`: sensitive,
    /// non-extractable, for wrapping and unwrapping only.
    pub fn generate_wrapping_key(
        &self,
        location: KeyLocation,
        label: &str,
    ) -> Result<(), TokenError> {
        let session = self.session(location)?;
        let mut template = wrapping_key_template(label);
        template.push(Attribute::ValueLen(32u64.into()));
        session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(self.fail("C_GenerateKey (wrapping key)"))?;
        Ok(())
    }

    /// Imports the AES-256 wrapping key `label` with the given value into the slot at
    /// `location`, so that several HSMs share one wrapping key (as an HSM cluster restores its
    /// master key from a backup). The value should come from a key ceremony, not a file.
    pub fn import_wrapping_key(
        &self,
        location: KeyLocation,
        label: &str,
        value: &zeroize::Zeroizing<[u8; 32]>,
    ) -> Result<(), TokenError> {
        let session = self.session(location)?;
        let mut template = wrapping_key_template(label);
        template.push(Attribute::Value(value.to_vec()));
        session
            .create_object(&template)
            .map_err(self.fail("C_CreateObject (wrapping key)"))?;
        Ok(())
    }

    /// Destroys the wrapping key `label` in the slot at `location` (decommissioning an HSM):
    /// every key wrapped under it becomes unusable on this device.
    pub fn delete_wrapping_key(
        &self,
        location: KeyLocation,
        label: &str,
    ) -> Result<(), TokenError> {
        let session = self.session(location)?;
        let handle = self.wrapping_key(&session, location, label)?;
        self.handles
            .forget(&Wanted::WrappingKey(location, label.as_bytes().to_vec()));
        session
            .destroy_object(handle)
            .map_err(self.fail("C_DestroyObject (wrapping key)"))
    }

    /// The handle of `wanted`: the kept one if it still names that object (one
    /// `C_GetAttributeValue`), else found by `search` and kept (see [`handles`]).
    fn cached_handle(
        &self,
        session: &Session,
        wanted: Wanted,
        search: impl FnOnce() -> Result<ObjectHandle, TokenError>,
    ) -> Result<ObjectHandle, TokenError> {
        if let Some(handle) = self.handles.get(&wanted) {
            let (class, expected) = match &wanted {
                Wanted::PrivateKey(_, id) => (ObjectClass::PRIVATE_KEY, Attribute::Id(id.clone())),
                Wanted::WrappingKey(_, label) => {
                    (ObjectClass::SECRET_KEY, Attribute::Label(label.clone()))
                }
            };
            let what = [AttributeType::Class, expected.attribute_type()];
            match session.get_attributes(handle, &what) {
                Ok(found) if found == [Attribute::Class(class), expected] => return Ok(handle),
                // Gone, or now another object: search again.
                _ => self.handles.forget(&wanted),
            }
        }
        let handle = search()?;
        self.handles.insert(wanted, handle);
        Ok(handle)
    }

    fn wrapping_key(
        &self,
        session: &Session,
        location: KeyLocation,
        label: &str,
    ) -> Result<ObjectHandle, TokenError> {
        let wanted = Wanted::WrappingKey(location, label.as_bytes().to_vec());
        self.cached_handle(session, wanted, || self.search_wrapping_key(session, label))
    }

    fn search_wrapping_key(
        &self,
        session: &Session,
        label: &str,
    ) -> Result<ObjectHandle, TokenError> {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(self.fail("C_FindObjects (wrapping key)"))?;
        match found[..] {
            [handle] => Ok(handle),
            [] => Err(TokenError::Config {
                token: self.name.clone(),
                reason: format!("no wrapping key labelled {label:?} in the slot"),
            }),
            _ => Err(TokenError::Config {
                token: self.name.clone(),
                reason: format!("several wrapping keys are labelled {label:?}"),
            }),
        }
    }

    /// Signs with a wrapped key: unwrap into a session object, sign, destroy, then check
    /// every signature against the record's public key, so that a blob moved to another
    /// record (the wrap format cannot bind the key id) never yields a signature.
    fn sign_wrapped(
        &self,
        key: &KeyRecord,
        location: KeyLocation,
        blob: &[u8],
        padding: RsaPadding,
        inputs: &[ToBeSigned<'_>],
    ) -> Result<Vec<Vec<u8>>, TokenError> {
        let KeyStorage::Wrapped { wrapping_key } = &self.storage else {
            return Err(TokenError::Config {
                token: self.name.clone(),
                reason: "the token is not configured for wrapped keys".into(),
            });
        };
        let session = self.lease(location)?;
        let wrap_handle = self.wrapping_key(&session, location, wrapping_key)?;
        let key_type = match key.spec {
            KeySpec::Rsa(_) => KeyType::RSA,
            _ => KeyType::EC,
        };
        let template = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(key_type),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ];
        let handle = session
            .unwrap_key(&Mechanism::AesKeyWrapPad, wrap_handle, blob, &template)
            .map_err(|_| TokenError::Unwrap {
                key_id: key.key_id.to_string(),
            })?;
        let signatures: Result<Vec<_>, _> = inputs
            .iter()
            .map(|input| self.sign_one(&session, handle, key.spec, padding, input))
            .collect();
        // The session object goes whatever happened.
        let destroyed = session
            .destroy_object(handle)
            .map_err(self.fail("C_DestroyObject"));
        let signatures = signatures?;
        destroyed?;
        for (input, signature) in inputs.iter().zip(&signatures) {
            crate::verify::verify(&key.public_key_der, key.spec, padding, input, signature)
                .map_err(|_| TokenError::KeyMismatch {
                    key_id: key.key_id.to_string(),
                })?;
        }
        Ok(signatures)
    }

    fn check_policy(&self, which: &'static str, new: &str) -> Result<(), TokenError> {
        match &self.pin_policy {
            Some(policy) if !policy.allows(new) => Err(TokenError::PinPolicy {
                which,
                policy: policy.to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn find_private_key(
        &self,
        session: &Session,
        location: KeyLocation,
        object_id: &[u8],
        key_id: &KeyId,
    ) -> Result<ObjectHandle, TokenError> {
        let wanted = Wanted::PrivateKey(location, object_id.to_vec());
        self.cached_handle(session, wanted, || {
            self.search_private_key(session, object_id, key_id)
        })
    }

    fn search_private_key(
        &self,
        session: &Session,
        object_id: &[u8],
        key_id: &KeyId,
    ) -> Result<ObjectHandle, TokenError> {
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(object_id.to_vec()),
            ])
            .map_err(self.fail("C_FindObjects"))?;
        match found[..] {
            [handle] => Ok(handle),
            [] => Err(TokenError::Pkcs11 {
                token: self.name.clone(),
                operation: "find key",
                reason: format!("no private key {key_id} in this slot"),
            }),
            _ => Err(TokenError::Pkcs11 {
                token: self.name.clone(),
                operation: "find key",
                reason: format!("several private keys have id {key_id}"),
            }),
        }
    }

    fn sign_one(
        &self,
        session: &Session,
        handle: ObjectHandle,
        spec: KeySpec,
        padding: RsaPadding,
        input: &ToBeSigned<'_>,
    ) -> Result<Vec<u8>, TokenError> {
        let ToBeSigned::Digest(digest) = input else {
            return Err(TokenError::Input(format!(
                "{spec} keys on PKCS#11 tokens sign digests, not messages"
            )));
        };
        match (spec, padding) {
            (KeySpec::Rsa(_), RsaPadding::Pkcs1v15) => {
                let digest_info = encoding::digest_info(digest)?;
                session
                    .sign(&Mechanism::RsaPkcs, handle, &digest_info)
                    .map_err(self.fail("C_Sign (CKM_RSA_PKCS)"))
            }
            (KeySpec::Rsa(_), RsaPadding::Pss) => {
                let (hash_alg, mgf) = pss_params(digest.algorithm()).ok_or_else(|| {
                    TokenError::Input(format!(
                        "RSA-PSS with {} is not available through PKCS#11 here",
                        digest.algorithm()
                    ))
                })?;
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (digest.algorithm().output_len() as u64).into(),
                };
                session
                    .sign(&Mechanism::RsaPkcsPss(params), handle, digest.as_bytes())
                    .map_err(self.fail("C_Sign (CKM_RSA_PKCS_PSS)"))
            }
            (KeySpec::Ecdsa(_), _) => {
                let raw = session
                    .sign(&Mechanism::Ecdsa, handle, digest.as_bytes())
                    .map_err(self.fail("C_Sign (CKM_ECDSA)"))?;
                encoding::ecdsa_raw_to_der(&raw)
            }
            _ => Err(TokenError::Input(format!(
                "{spec} is not supported by PKCS#11 tokens"
            ))),
        }
    }
}

fn wrapping_key_template(label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

/// Whether the software verifiers can check signatures of `spec` (wrapped keys need it).
fn software_verifiable(spec: KeySpec) -> bool {
    sam_keys::software_specs().contains(&spec)
}

fn pin_name(location: KeyLocation) -> &'static str {
    match location {
        KeyLocation::Default => "PIN",
        KeyLocation::Signature => "Sign PIN",
    }
}

fn pin_error(token: &str, which: &'static str, e: cryptoki::error::Error) -> TokenError {
    use cryptoki::error::{Error, RvError};
    let reason = match e {
        Error::Pkcs11(RvError::PinIncorrect, _) => "incorrect".to_owned(),
        Error::Pkcs11(RvError::PinLocked, _) => "locked; unblock it with the SO PIN".to_owned(),
        Error::Pkcs11(RvError::PinLenRange, _) => {
            "of a length the token does not accept".to_owned()
        }
        Error::Pkcs11(RvError::PinInvalid, _) => {
            "made of characters the token does not accept".to_owned()
        }
        other => other.to_string(),
    };
    TokenError::Pin {
        token: token.to_owned(),
        which,
        reason,
    }
}

fn pss_params(hash: HashAlgorithm) -> Option<(MechanismType, PkcsMgfType)> {
    Some(match hash {
        HashAlgorithm::Sha224 => (MechanismType::SHA224, PkcsMgfType::MGF1_SHA224),
        HashAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        HashAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        HashAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
        _ => return None,
    })
}

fn find_slot(pkcs11: &Pkcs11, token: &str, selector: &SlotSelector) -> Result<Slot, TokenError> {
    let config = |reason: String| TokenError::Config {
        token: token.to_owned(),
        reason,
    };
    let slots = pkcs11
        .get_slots_with_initialized_token()
        .map_err(|e| config(format!("cannot list slots: {e}")))?;
    match selector {
        SlotSelector::Id(id) => slots
            .into_iter()
            .find(|s| s.id() == *id)
            .ok_or_else(|| config(format!("no initialised token in slot {id}"))),
        SlotSelector::Index(i) => slots
            .get(*i)
            .copied()
            .ok_or_else(|| config(format!("no initialised token at slot index {i}"))),
        SlotSelector::Label(label) => slots
            .into_iter()
            .find(|s| {
                pkcs11
                    .get_token_info(*s)
                    .is_ok_and(|info| info.label().trim_end() == label)
            })
            .ok_or_else(|| config(format!("no token labelled {label:?}"))),
    }
}

fn open_slot(
    pkcs11: &Arc<Pkcs11>,
    module: &std::path::Path,
    token: &str,
    selector: &SlotSelector,
    pin: &PinSource,
    which: &'static str,
) -> Result<Arc<SharedSlot>, TokenError> {
    let slot = find_slot(pkcs11, token, selector)?;
    let secret = pin.read().map_err(|reason| TokenError::Config {
        token: token.to_owned(),
        reason,
    })?;
    module::login(pkcs11, module, slot, &secret).map_err(|e| match e {
        LoginError::Pin(e) => pin_error(token, which, e),
        LoginError::PinMismatch => TokenError::Pin {
            token: token.to_owned(),
            which,
            reason: "incorrect (it differs from the PIN this process logged the slot in with)"
                .into(),
        },
        LoginError::Other(operation, e) => TokenError::Pkcs11 {
            token: token.to_owned(),
            operation,
            reason: e.to_string(),
        },
        LoginError::Poisoned => TokenError::Pkcs11 {
            token: token.to_owned(),
            operation: "login",
            reason: "the slot registry is poisoned".into(),
        },
    })
}

/// Every seed 001 spec whose mechanisms and key size the slot offers. ML-DSA is not offered
/// through PKCS#11 (seed 001: ML-DSA keys are software-only).
fn read_capabilities(pkcs11: &Pkcs11, slot: Slot, token: &str) -> Result<Capabilities, TokenError> {
    let mechanisms = pkcs11
        .get_mechanism_list(slot)
        .map_err(|e| TokenError::Pkcs11 {
            token: token.to_owned(),
            operation: "C_GetMechanismList",
            reason: e.to_string(),
        })?;
    let has = |m: MechanismType| mechanisms.contains(&m);
    let range = |m: MechanismType| {
        pkcs11
            .get_mechanism_info(slot, m)
            .ok()
            .map(|i| (i.min_key_size(), i.max_key_size()))
    };
    let mut key_specs = Vec::new();
    if has(MechanismType::RSA_PKCS_KEY_PAIR_GEN) && has(MechanismType::RSA_PKCS) {
        let (min, max) = range(MechanismType::RSA_PKCS_KEY_PAIR_GEN).unwrap_or((0, usize::MAX));
        key_specs.extend(
            RsaKeySize::ALL
                .into_iter()
                .filter(|s| (min..=max).contains(&(s.bits() as usize)))
                .map(KeySpec::Rsa),
        );
    }
    if has(MechanismType::ECC_KEY_PAIR_GEN) && has(MechanismType::ECDSA) {
        let (min, max) = range(MechanismType::ECC_KEY_PAIR_GEN).unwrap_or((0, usize::MAX));
        key_specs.extend(
            EcCurve::ALL
                .into_iter()
                .filter(|c| (min..=max).contains(&(c.bits() as usize)))
                .map(KeySpec::Ecdsa),
        );
    }
    let mut paddings = vec![RsaPadding::Pkcs1v15];
    if has(MechanismType::RSA_PKCS_PSS) {
        paddings.push(RsaPadding::Pss);
    }
    Ok(Capabilities {
        key_specs,
        paddings,
        hashes: HashAlgorithm::ALL.to_vec(),
        sha3_prehash: true,
        needs_kak: false,
    })
}

impl CryptoToken for Pkcs11Token {
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
        if !self.capabilities.supports(spec) {
            return Err(TokenError::UnsupportedSpec {
                token: self.name.clone(),
                spec,
                hint: "ML-DSA keys are software-only; other specs need a token whose mechanism \
                       list offers them",
            });
        }
        let resident = self.storage == KeyStorage::Resident;
        if !resident && !software_verifiable(spec) {
            return Err(TokenError::UnsupportedSpec {
                token: self.name.clone(),
                spec,
                hint: "wrapped keys are checked after every signature by a software verifier,                        which this curve lacks; use resident keys for it",
            });
        }
        let session = self.lease(location)?;
        let object_id = key_id.as_str().as_bytes().to_vec();
        if resident
            && !session
                .find_objects(&[Attribute::Id(object_id.clone())])
                .map_err(self.fail("C_FindObjects"))?
                .is_empty()
        {
            return Err(TokenError::Pkcs11 {
                token: self.name.clone(),
                operation: "generate",
                reason: format!("a key with id {key_id} exists already"),
            });
        }
        let label = object_id.clone();
        let common_public = [
            Attribute::Token(resident),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Id(object_id.clone()),
            Attribute::Label(label.clone()),
        ];
        let private = [
            Attribute::Token(resident),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            // A wrapped key must be extractable to be wrapped; it exists only as a session
            // object until then.
            Attribute::Extractable(!resident),
            Attribute::Sign(true),
            Attribute::Id(object_id.clone()),
            Attribute::Label(label),
        ];
        let (mechanism, mut public) = match spec {
            KeySpec::Rsa(size) => (
                Mechanism::RsaPkcsKeyPairGen,
                vec![
                    Attribute::ModulusBits(u64::from(size.bits()).into()),
                    Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                ],
            ),
            KeySpec::Ecdsa(curve) => (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(
                    curve
                        .oid()
                        .to_der()
                        .map_err(|e| TokenError::crypto("curve OID encoding", e))?,
                )],
            ),
            _ => {
                return Err(TokenError::UnsupportedSpec {
                    token: self.name.clone(),
                    spec,
                    hint: "ML-DSA keys are software-only",
                });
            }
        };
        public.extend(common_public);
        let (public_handle, private_handle) = session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(self.fail("C_GenerateKeyPair"))?;
        let wrapped = match &self.storage {
            KeyStorage::Resident => None,
            KeyStorage::Wrapped { wrapping_key } => {
                let blob = self
                    .wrapping_key(&session, location, wrapping_key)
                    .and_then(|wrap_handle| {
                        session
                            .wrap_key(&Mechanism::AesKeyWrapPad, wrap_handle, private_handle)
                            .map_err(self.fail("C_WrapKey"))
                    });
                // The private half leaves the HSM only wrapped; the session object goes now.
                let destroyed = session
                    .destroy_object(private_handle)
                    .map_err(self.fail("C_DestroyObject"));
                Some((blob?, destroyed))
            }
        };
        let public_key_der = match spec {
            KeySpec::Ecdsa(curve) => {
                let attrs = session
                    .get_attributes(public_handle, &[AttributeType::EcPoint])
                    .map_err(self.fail("C_GetAttributeValue (CKA_EC_POINT)"))?;
                let Some(Attribute::EcPoint(point)) = attrs.into_iter().next() else {
                    return Err(TokenError::crypto("public key", "CKA_EC_POINT missing"));
                };
                encoding::ec_spki(curve, &point)?
            }
            _ => {
                let attrs = session
                    .get_attributes(
                        public_handle,
                        &[AttributeType::Modulus, AttributeType::PublicExponent],
                    )
                    .map_err(self.fail("C_GetAttributeValue (CKA_MODULUS)"))?;
                let mut modulus = None;
                let mut exponent = None;
                for a in attrs {
                    match a {
                        Attribute::Modulus(n) => modulus = Some(n),
                        Attribute::PublicExponent(e) => exponent = Some(e),
                        _ => {}
                    }
                }
                let (Some(n), Some(e)) = (modulus, exponent) else {
                    return Err(TokenError::crypto(
                        "public key",
                        "RSA modulus or exponent missing",
                    ));
                };
                encoding::rsa_spki(&n, &e)?
            }
        };
        let reference = match wrapped {
            None => KeyReference::Pkcs11Resident {
                location,
                object_id,
            },
            Some((blob, destroyed)) => {
                destroyed?;
                session
                    .destroy_object(public_handle)
                    .map_err(self.fail("C_DestroyObject"))?;
                KeyReference::Pkcs11Wrapped { location, blob }
            }
        };
        Ok(KeyRecord {
            key_id,
            spec,
            public_key_der,
            reference,
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
        let (location, object_id) = match &key.reference {
            KeyReference::Pkcs11Resident {
                location,
                object_id,
            } => (location, object_id),
            KeyReference::Pkcs11Wrapped { location, blob } => {
                return self.sign_wrapped(key, *location, blob, padding, inputs);
            }
            _ => {
                return Err(TokenError::ForeignKey {
                    key_id: key.key_id.to_string(),
                    token: self.name.clone(),
                });
            }
        };
        let session = self.lease(*location)?;
        let handle = self.find_private_key(&session, *location, object_id, &key.key_id)?;
        inputs
            .iter()
            .map(|input| self.sign_one(&session, handle, key.spec, padding, input))
            .collect()
    }

    fn delete(&self, key: &KeyRecord) -> Result<(), TokenError> {
        let (location, object_id) = match &key.reference {
            KeyReference::Pkcs11Resident {
                location,
                object_id,
            } => (location, object_id),
            // A wrapped key is not in the HSM between signatures: the caller's blob is all.
            KeyReference::Pkcs11Wrapped { .. } => return Ok(()),
            _ => {
                return Err(TokenError::ForeignKey {
                    key_id: key.key_id.to_string(),
                    token: self.name.clone(),
                });
            }
        };
        let session = self.session(*location)?;
        self.handles
            .forget(&Wanted::PrivateKey(*location, object_id.clone()));
        for handle in session
            .find_objects(&[Attribute::Id(object_id.clone())])
            .map_err(self.fail("C_FindObjects"))?
        {
            session
                .destroy_object(handle)
                .map_err(self.fail("C_DestroyObject"))?;
        }
        Ok(())
    }

    fn health(&self) -> Health {
        let health = self.check_health();
        if matches!(health, Health::Unavailable(_)) {
            // Whatever the handles named may be gone with the token: find them again.
            self.handles.clear();
        }
        health
    }

    fn identity(&self) -> TokenIdentity {
        self.read_identity()
    }
}

impl Pkcs11Token {
    fn check_health(&self) -> Health {
        let session = match self.session(KeyLocation::Default) {
            Ok(session) => session,
            Err(e) => return Health::Unavailable(e.to_string()),
        };
        if let KeyStorage::Wrapped { wrapping_key } = &self.storage
            && let Err(e) = self.wrapping_key(&session, KeyLocation::Default, wrapping_key)
        {
            return Health::Unavailable(e.to_string());
        }
        match session.get_session_info() {
            Ok(info) if info.session_state() == cryptoki::session::SessionState::RwUser => {
                Health::Healthy
            }
            // Logged out (e.g. the HSM restarted the session's login): log in again.
            Ok(_) => {
                let relogin = self
                    .default
                    .pin()
                    .ok_or_else(|| "PIN record poisoned".to_owned())
                    .and_then(|pin| {
                        session
                            .login(UserType::User, Some(&pin.as_str().into()))
                            .map_err(|e| e.to_string())
                    });
                match relogin {
                    Ok(()) => Health::Healthy,
                    Err(e) => Health::Unavailable(format!("not logged in, and login failed: {e}")),
                }
            }
            Err(e) => Health::Unavailable(e.to_string()),
        }
    }

    fn read_identity(&self) -> TokenIdentity {
        let kind = self
            .pkcs11
            .get_token_info(self.default.slot)
            .map(|i| format!("pkcs11 {} {}", i.manufacturer_id().trim(), i.model().trim()))
            .unwrap_or_else(|_| "pkcs11 (token info unavailable)".into());
        let key_domain = match &self.storage {
            KeyStorage::Resident => None,
            KeyStorage::Wrapped { wrapping_key } => {
                self.session(KeyLocation::Default).ok().and_then(|session| {
                    let handle = self
                        .wrapping_key(&session, KeyLocation::Default, wrapping_key)
                        .ok()?;
                    match session
                        .get_attributes(handle, &[AttributeType::CheckValue])
                        .ok()?
                        .pop()?
                    {
                        Attribute::CheckValue(kcv) => Some(format!(
                            "wrapping key {wrapping_key} check value {}",
                            kcv.iter().map(|b| format!("{b:02x}")).collect::<String>()
                        )),
                        _ => None,
                    }
                })
            }
        };
        TokenIdentity {
            kind,
            key_domain,
            slot_id: Some(self.default.slot.id()),
        }
    }
}
