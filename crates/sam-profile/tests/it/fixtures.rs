//! Crypto sources and contexts shared by the tests.

use sam_algorithms::UnixTime;
use sam_profile::{
    CryptoSourceDescriptor, CryptoSourceKind, ProfileSettings, SadFormat, ValidationContext,
    ValidationErrors,
};

pub(crate) const IDP_CERTIFICATE_PEM: &str = include_str!("../examples/idp-certificate.pem");

pub(crate) fn now() -> UnixTime {
    "2026-11-22T00:00:00Z".parse().unwrap()
}

fn hsm(name: &str, model: &str, mbk: Option<&str>, slot: Option<u64>) -> CryptoSourceDescriptor {
    CryptoSourceDescriptor {
        name: name.parse().unwrap(),
        kind: CryptoSourceKind::Hsm,
        model: model.into(),
        common_criteria: true,
        available: true,
        master_backup_key: mbk.map(Into::into),
        slot_id: slot,
        requires_kak: false,
        supports_sha3: true,
        supports_secp256k1: true,
        has_signature_slot: true,
        key_specs: None,
    }
}

/// Every kind of source the rules distinguish.
pub(crate) fn sources() -> Vec<CryptoSourceDescriptor> {
    let mut v = vec![
        CryptoSourceDescriptor::software("software".parse().unwrap()),
        hsm("hsm-a", "Luna 7", Some("mbk-1"), Some(0)),
        hsm("hsm-b", "Luna 7", Some("mbk-1"), Some(0)),
        hsm("hsm-other-model", "nShield XC", Some("mbk-1"), Some(0)),
        hsm("hsm-other-slot", "Luna 7", Some("mbk-1"), Some(1)),
        hsm("hsm-other-mbk", "Luna 7", Some("mbk-2"), Some(0)),
        hsm("hsm-no-mbk", "Luna 7", None, Some(0)),
    ];
    let mut cp5 = hsm("cp5", "CryptoServer CP5", Some("mbk-9"), Some(0));
    cp5.requires_kak = true;
    cp5.supports_secp256k1 = false;
    let mut nshield = hsm("nshield-cc", "nShield CC", Some("mbk-3"), Some(0));
    nshield.supports_sha3 = false;
    let mut down = hsm("hsm-down", "Luna 7", Some("mbk-1"), Some(0));
    down.available = false;
    let mut not_cc = hsm("hsm-not-cc", "Luna 7", Some("mbk-1"), Some(0));
    not_cc.common_criteria = false;
    let mut cloud = CryptoSourceDescriptor::software("azure".parse().unwrap());
    cloud.kind = CryptoSourceKind::CloudKeyVault;
    cloud.model = "Azure Key Vault".into();
    v.extend([cp5, nshield, down, not_cc, cloud]);
    v
}

pub(crate) struct Env {
    pub(crate) sources: Vec<CryptoSourceDescriptor>,
    pub(crate) sad_format: SadFormat,
    pub(crate) eseals_enabled: bool,
    pub(crate) now: UnixTime,
}

impl Env {
    pub(crate) fn json() -> Self {
        Self {
            sources: sources(),
            sad_format: SadFormat::Json,
            eseals_enabled: true,
            now: now(),
        }
    }

    pub(crate) fn der() -> Self {
        Self {
            sad_format: SadFormat::Der,
            ..Self::json()
        }
    }

    pub(crate) fn ctx(&self) -> ValidationContext<'_> {
        ValidationContext {
            crypto_sources: &self.sources,
            sad_format: self.sad_format,
            eseals_enabled: self.eseals_enabled,
            now: self.now,
        }
    }

    pub(crate) fn check(&self, settings: &ProfileSettings) -> Result<(), ValidationErrors> {
        settings.validate(&self.ctx())
    }

    /// Asserts that `settings` validate.
    #[track_caller]
    pub(crate) fn accepts(&self, settings: &ProfileSettings) {
        if let Err(e) = self.check(settings) {
            panic!("expected valid settings, got: {e}");
        }
    }

    /// Asserts that `settings` break a rule of `field` and only rules of `field`, and returns
    /// the messages.
    #[track_caller]
    pub(crate) fn refuses(&self, settings: &ProfileSettings, field: &str) -> String {
        match self.check(settings) {
            Ok(()) => panic!("expected {field} to be refused, but the settings validate"),
            Err(e) => {
                assert!(
                    e.0.iter().all(|f| f.field == field),
                    "expected only {field} to be at fault, got: {e}"
                );
                e.to_string()
            }
        }
    }
}

/// RSA-2048 on the software source, every other setting at its default.
pub(crate) fn base() -> ProfileSettings {
    ProfileSettings::with_defaults("Base".parse().unwrap(), "software".parse().unwrap())
}

/// `base()` with its keys on the named sources.
pub(crate) fn on(sources: &[&str], load_balancing: bool) -> ProfileSettings {
    let mut s = base();
    s.signing_key.crypto_profiles = sources.iter().map(|n| n.parse().unwrap()).collect();
    s.signing_key.load_balancing = load_balancing;
    s
}
