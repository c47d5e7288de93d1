//! What a profile needs to know about the crypto sources (seed 001 *Crypto Profile*) it may
//! name, without depending on the token crate: a [`CryptoSourceDescriptor`] per source.
//!
//! The descriptors describe capabilities, not vendors. Seed 001's vendor notes become
//! capability flags: a Utimaco CryptoServer CP5 needs a KAK and lacks SEC2 K curves; an
//! nCipher nShield CC lacks SHA-3; only Common Criteria HSMs may be load-balanced. Whoever
//! configures a source (the token crate, `samd`'s configuration) fills these in.

use serde::{Deserialize, Serialize};

use crate::names::CryptoSourceName;

/// Where a crypto source keeps keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CryptoSourceKind {
    /// Keys generated in software and stored wrapped in the database.
    Software,
    /// A hardware security module reached through PKCS#11.
    Hsm,
    /// A cloud key vault (seed 001 names Azure Key Vault).
    CloudKeyVault,
}

/// One configured crypto source, as profile validation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSourceDescriptor {
    /// The name profiles use to select it.
    pub name: CryptoSourceName,
    /// Software, HSM or cloud.
    pub kind: CryptoSourceKind,
    /// The device type (e.g. `SoftHSM 2.6`, `CryptoServer CP5`); load-balanced sources must
    /// all be of one type.
    pub model: String,
    /// Whether the device is Common Criteria certified (only those may be load-balanced).
    pub common_criteria: bool,
    /// Whether the source is reachable now (seed 001: an unavailable source cannot be
    /// selected).
    pub available: bool,
    /// The identifier of the Master Backup Key, for sources that have one.
    pub master_backup_key: Option<String>,
    /// The PKCS#11 slot id, for HSMs.
    pub slot_id: Option<u64>,
    /// Whether user keys need a Key Authorisation Key to be activated (e.g. Utimaco CP5).
    pub requires_kak: bool,
    /// Whether it can sign SHA-3 prehashes (nCipher nShield CC cannot).
    pub supports_sha3: bool,
    /// Whether it has the SEC2 K curve `secp256k1` (Utimaco CP5 has not).
    pub supports_secp256k1: bool,
    /// Whether it has a separate signature slot with its own Sign PIN (seed 004).
    #[serde(default)]
    pub has_signature_slot: bool,
    /// The key specs it can generate and sign with, as the source itself reports them (e.g.
    /// from its mechanism list); `None` when not known, and then not checked.
    #[serde(default)]
    pub key_specs: Option<Vec<sam_algorithms::KeySpec>>,
}

impl CryptoSourceDescriptor {
    /// A software source: keys in the database, wrapped; every algorithm; no KAK.
    pub fn software(name: CryptoSourceName) -> Self {
        Self {
            name,
            kind: CryptoSourceKind::Software,
            model: "software".into(),
            common_criteria: false,
            available: true,
            master_backup_key: None,
            slot_id: None,
            requires_kak: false,
            supports_sha3: true,
            supports_secp256k1: true,
            has_signature_slot: false,
            key_specs: None,
        }
    }

    /// Whether this is a hardware source (an HSM).
    pub fn is_hardware(&self) -> bool {
        self.kind == CryptoSourceKind::Hsm
    }
}
