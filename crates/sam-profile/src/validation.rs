//! The rules of seed 001 that relate several settings to each other, to the configured
//! crypto sources and to the global settings (SAD format, eSeal licence, the current time).
//!
//! [`ProfileSettings::validate`] checks them all and reports every rule broken, each with the
//! dotted path of the field at fault. The readings of the seed that needed a decision are in
//! `docs/profiles.md` ("How the rules are read").

pub use sam_algorithms::SadFormat;
use sam_algorithms::{
    CurveFamily, EcCurve, HashAlgorithm, JwsAlgorithm, KeyAlgorithm, KeySpec, RsaPadding, UnixTime,
};

use crate::crypto_source::{CryptoSourceDescriptor, CryptoSourceKind};
use crate::error::ValidationErrors;
use crate::settings::{
    AuthorisationKeySettings, AuthorisationMode, Expiry, KeyLocation, ProfileSettings, Scal,
    SigningKeySettings, UNLIMITED_DEVICES,
};

/// What profile validation needs from outside the profile.
#[derive(Clone, Copy, Debug)]
pub struct ValidationContext<'a> {
    /// Every configured crypto source.
    pub crypto_sources: &'a [CryptoSourceDescriptor],
    /// The global SAD format.
    pub sad_format: SadFormat,
    /// Whether eSeals are enabled (seed 001: licence-controlled), which allows authorisation
    /// once until SAD expiry.
    pub eseals_enabled: bool,
    /// The current time, for expiry limits and custom dates.
    pub now: UnixTime,
}

impl<'a> ValidationContext<'a> {
    fn source(&self, name: &str) -> Option<&'a CryptoSourceDescriptor> {
        self.crypto_sources.iter().find(|s| s.name.as_str() == name)
    }
}

/// The smallest SAD hash with JSON SADs (seed 001: "greater than or equal to SHA256").
const JSON_MIN_SAD_HASH_BITS: u32 = 256;
/// The smallest ECDSA user key with JSON SADs (seed 001; see `docs/profiles.md` for the
/// reading of "greater than 256").
const JSON_MIN_ECDSA_USER_KEY_BITS: u32 = 256;

impl ProfileSettings {
    /// Checks every rule of seed 001 against `ctx`; on failure, lists every rule broken.
    ///
    /// ```
    /// use sam_algorithms::UnixTime;
    /// use sam_profile::{CryptoSourceDescriptor, ProfileSettings, SadFormat, ValidationContext};
    ///
    /// let sources = [CryptoSourceDescriptor::software("software".parse()?)];
    /// let ctx = ValidationContext {
    ///     crypto_sources: &sources,
    ///     sad_format: SadFormat::Json,
    ///     eseals_enabled: false,
    ///     now: "2026-11-22T00:00:00Z".parse()?,
    /// };
    /// let mut settings = ProfileSettings::with_defaults("RSA".parse()?, "software".parse()?);
    /// assert!(settings.validate(&ctx).is_ok());
    ///
    /// settings.signing_key.max_hashes_per_request = 10; // without bulk signing
    /// let errors = settings.validate(&ctx).unwrap_err();
    /// assert!(errors.has("signing_key.max_hashes_per_request"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        validate_signing_key(&self.signing_key, ctx, &mut errors);
        validate_authorisation_key(&self.authorisation_key, &mut errors);
        if let Some(idp) = &self.delegated_idp {
            validate_idp(idp, &mut errors);
        }
        if ctx.sad_format == SadFormat::Json {
            validate_json_sad_rules(self, &mut errors);
        }
        if errors.0.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The longest IdP issuer or audience accepted.
const MAX_IDP_NAME_LEN: usize = 1024;

fn validate_idp(idp: &crate::settings::DelegatedIdp, e: &mut ValidationErrors) {
    let issuer = idp.issuer.as_deref().unwrap_or_default();
    if idp.enabled && idp.assertion_type == crate::settings::AssertionType::Jwt && issuer.is_empty()
    {
        e.push(
            "delegated_idp.issuer",
            "JWT assertions are checked against the IdP's issuer (the iss claim): set issuer",
        );
    }
    for (field, value) in [("issuer", &idp.issuer), ("audience", &idp.audience)] {
        if let Some(v) = value
            && (v.is_empty() || v.len() > MAX_IDP_NAME_LEN || v.chars().any(char::is_control))
        {
            e.push(
                &format!("delegated_idp.{field}"),
                format!("1 to {MAX_IDP_NAME_LEN} characters, no control characters"),
            );
        }
    }
}

fn validate_signing_key(
    s: &SigningKeySettings,
    ctx: &ValidationContext<'_>,
    e: &mut ValidationErrors,
) {
    let sources = validate_crypto_profiles(s, ctx, e);
    let key = s.key;

    if key.algorithm() == KeyAlgorithm::MlDsa
        && sources
            .iter()
            .any(|src| src.kind != CryptoSourceKind::Software)
    {
        e.push(
            "signing_key.key",
            "ML-DSA keys are generated in software only: choose a software crypto profile",
        );
    }
    for src in &sources {
        if let Some(specs) = &src.key_specs
            && !specs.contains(&key)
        {
            e.push(
                "signing_key.key",
                format!(
                    "crypto profile {} cannot hold {key} keys (it reports: {})",
                    src.name,
                    specs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    if key == KeySpec::Ecdsa(EcCurve::Secp256k1) {
        for src in sources.iter().filter(|src| !src.supports_secp256k1) {
            e.push(
                "signing_key.key",
                format!(
                    "crypto profile {} does not support the SEC2 K curve",
                    src.name
                ),
            );
        }
    }

    if s.location == KeyLocation::Signature {
        for src in sources.iter().filter(|src| !src.has_signature_slot) {
            e.push(
                "signing_key.location",
                format!("crypto profile {} has no signature slot", src.name),
            );
        }
    }

    let needs_kak: Vec<_> = sources.iter().filter(|src| src.requires_kak).collect();
    match (&s.kak, needs_kak.is_empty(), sources.is_empty()) {
        (None, false, _) => e.push(
            "signing_key.kak",
            format!(
                "crypto profile {} activates user keys with a KAK: set kak (RSA, 2048 to 8192 bits)",
                needs_kak.first().map(|s| s.name.as_str()).unwrap_or_default()
            ),
        ),
        (Some(_), true, false) => e.push(
            "signing_key.kak",
            "a KAK is only for crypto profiles that need one; remove kak",
        ),
        _ => {}
    }

    if s.padding == RsaPadding::Pss && key.algorithm() != KeyAlgorithm::Rsa {
        e.push(
            "signing_key.padding",
            format!(
                "PSS padding applies to RSA keys only, not {}",
                key.algorithm()
            ),
        );
    }
    if let KeySpec::MlDsa(level) = key
        && s.hash_algorithm.output_len() < level.min_digest_len()
    {
        let strong: Vec<String> = HashAlgorithm::ALL
            .iter()
            .filter(|h| h.output_len() >= level.min_digest_len())
            .map(ToString::to_string)
            .collect();
        e.push(
            "signing_key.hash_algorithm",
            format!(
                "RFC 9882 (ML-DSA in CMS): {level} signs digests of at least {} bits, not {}: \
                 choose {}",
                level.min_digest_len() * 8,
                s.hash_algorithm,
                strong.join(", ")
            ),
        );
    }
    if s.hash_algorithm.is_sha3() {
        for src in sources.iter().filter(|src| !src.supports_sha3) {
            e.push(
                "signing_key.hash_algorithm",
                format!(
                    "crypto profile {} does not support {}: choose a SHA-2 algorithm",
                    src.name, s.hash_algorithm
                ),
            );
        }
    }
    if !s.bulk_signing && s.max_hashes_per_request != 0 {
        e.push(
            "signing_key.max_hashes_per_request",
            "the number of hashes applies only with bulk_signing; set it to 0 or enable bulk signing",
        );
    }
    if s.authorisation_mode == AuthorisationMode::OnceUntilSadExpiry && !ctx.eseals_enabled {
        e.push(
            "signing_key.authorisation_mode",
            "once-until-sad-expiry needs eSeals to be enabled; use every-transaction",
        );
    }
    if s.authorisation_mode == AuthorisationMode::OnceUntilSadExpiry && s.scal == Scal::Scal2 {
        e.push(
            "signing_key.authorisation_mode",
            "once-until-sad-expiry authorises signatures over hashes not known when the user \
             approves, which SCAL2 rules out (the SAD binds each hash): use scal = \"scal1\"",
        );
    }
    if s.remove_key_after_signing {
        if s.authorisation_mode != AuthorisationMode::OnceUntilSadExpiry {
            e.push(
                "signing_key.remove_key_after_signing",
                "removing the key after signing applies only with authorisation_mode once-until-sad-expiry",
            );
        }
        if sources.iter().any(|src| !src.is_hardware()) {
            e.push(
                "signing_key.remove_key_after_signing",
                "removing the key after signing applies only to HSM crypto profiles",
            );
        }
    }
    validate_expiry("signing_key.sad_expiry", s.sad_expiry, ctx.now, e);
    validate_expiry(
        "signing_key.authorisation_request_expiry",
        s.authorisation_request_expiry,
        ctx.now,
        e,
    );
    if s.sad_hash_algorithm.is_sha3() {
        e.push(
            "signing_key.sad_hash_algorithm",
            format!(
                "{} is not offered for SADs: choose sha224, sha256, sha384 or sha512",
                s.sad_hash_algorithm
            ),
        );
    }
}

/// Checks the crypto profile selection and returns the descriptors of the sources found.
fn validate_crypto_profiles<'a>(
    s: &SigningKeySettings,
    ctx: &ValidationContext<'a>,
    e: &mut ValidationErrors,
) -> Vec<&'a CryptoSourceDescriptor> {
    const FIELD: &str = "signing_key.crypto_profiles";
    let names = &s.crypto_profiles;
    match (s.load_balancing, names.len()) {
        (_, 0) => e.push(FIELD, "select a crypto profile"),
        (false, 1) | (true, 2..) => {}
        (false, n) => e.push(
            FIELD,
            format!("{n} crypto profiles need load_balancing; without it select exactly one"),
        ),
        (true, _) => e.push(FIELD, "load balancing needs at least two crypto profiles"),
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            e.push(FIELD, format!("crypto profile {name} is selected twice"));
        }
    }

    let mut found = Vec::new();
    for name in names {
        match ctx.source(name.as_str()) {
            None => e.push(FIELD, format!("crypto profile {name} is not configured")),
            Some(src) if !src.available => {
                e.push(FIELD, format!("crypto profile {name} is not available"));
            }
            Some(src) => found.push(src),
        }
    }

    if s.load_balancing {
        for src in &found {
            if !src.is_hardware() || !src.common_criteria {
                e.push(
                    FIELD,
                    format!(
                        "crypto profile {} cannot be load-balanced: only Common Criteria HSMs can",
                        src.name
                    ),
                );
            }
        }
        if let Some((first, rest)) = found.split_first() {
            for src in rest {
                if src.model != first.model {
                    e.push(
                        FIELD,
                        format!(
                            "load-balanced crypto profiles must be of one type: {} is {:?}, {} is {:?}",
                            first.name, first.model, src.name, src.model
                        ),
                    );
                }
                if src.slot_id != first.slot_id {
                    e.push(
                        FIELD,
                        format!(
                            "load-balanced crypto profiles must share the slot id: {} and {} differ",
                            first.name, src.name
                        ),
                    );
                }
                if src.master_backup_key != first.master_backup_key {
                    e.push(
                        FIELD,
                        format!(
                            "load-balanced crypto profiles must share the Master Backup Key: {} and {} differ",
                            first.name, src.name
                        ),
                    );
                }
            }
            for src in &found {
                if src.master_backup_key.is_none() {
                    e.push(
                        FIELD,
                        format!(
                            "crypto profile {} has no Master Backup Key, which load balancing needs",
                            src.name
                        ),
                    );
                }
            }
        }
    }
    found
}

fn validate_expiry(field: &str, expiry: Option<Expiry>, now: UnixTime, e: &mut ValidationErrors) {
    let Some(expiry) = expiry else { return };
    match expiry {
        Expiry::After(period) => match now.checked_add(period) {
            Some(at) if at < Expiry::LIMIT => {}
            _ => e.push(
                field,
                format!(
                    "{period} from now reaches 31-12-9999 or later; at most {} {} is allowed",
                    Expiry::max_value(period.unit(), now),
                    period.unit()
                ),
            ),
        },
        Expiry::At(at) => {
            if at <= now {
                e.push(field, format!("custom date {at} is not in the future"));
            } else if at >= Expiry::LIMIT {
                e.push(field, format!("custom date {at} is not before 9999-12-31"));
            }
        }
    }
}

fn validate_authorisation_key(a: &AuthorisationKeySettings, e: &mut ValidationErrors) {
    if let Some(family) = a.key.curve_family()
        && family != CurveFamily::NistP
    {
        e.push(
            "authorisation_key.key",
            format!(
                "device keys use NIST P curves (224, 256, 384, 521), not {}",
                family.name()
            ),
        );
    }
    if a.hash_algorithm.is_sha3() {
        e.push(
            "authorisation_key.hash_algorithm",
            format!(
                "{} is not offered for devices: choose sha256, sha384 or sha512",
                a.hash_algorithm
            ),
        );
    } else if !matches!(a.key, KeySpec::MlDsa(_))
        && a.key
            .curve_family()
            .is_none_or(|family| family == CurveFamily::NistP)
    {
        // Devices sign their messages with the JOSE algorithm they registered (RFC 7518 §3.1),
        // whose hash is this setting: it must name one (pure ML-DSA has no separate hash).
        let fits = |hash| {
            [RsaPadding::Pkcs1v15, RsaPadding::Pss]
                .into_iter()
                .any(|padding| JwsAlgorithm::for_key(a.key, hash, padding).is_some())
        };
        let usable: Vec<String> = HashAlgorithm::SHA2
            .into_iter()
            .filter(|&hash| fits(hash))
            .map(|hash| hash.to_string())
            .collect();
        if usable.is_empty() {
            e.push(
                "authorisation_key.key",
                format!(
                    "JOSE (RFC 7518) has no signature algorithm for {} keys, and devices sign \
                     with JOSE algorithms: choose P-256, P-384, P-521, RSA or ML-DSA",
                    a.key
                ),
            );
        } else if !fits(a.hash_algorithm) {
            e.push(
                "authorisation_key.hash_algorithm",
                format!(
                    "{} device keys sign with a JOSE algorithm of {} (RFC 7518), not {}",
                    a.key,
                    usable.join(" or "),
                    a.hash_algorithm
                ),
            );
        }
    }
    if a.max_devices_per_user > UNLIMITED_DEVICES {
        e.push(
            "authorisation_key.max_devices_per_user",
            format!("at most {UNLIMITED_DEVICES}; 0 means unlimited"),
        );
    }
}

/// Seed 001's rules "in case where SAD_FORMAT is set to JSON".
fn validate_json_sad_rules(p: &ProfileSettings, e: &mut ValidationErrors) {
    let sad_hash = p.signing_key.sad_hash_algorithm;
    if sad_hash.output_bits() < JSON_MIN_SAD_HASH_BITS {
        e.push(
            "signing_key.sad_hash_algorithm",
            format!("with JSON SADs the SAD hash must be SHA-256 or stronger, not {sad_hash}"),
        );
    }
    if let KeySpec::Ecdsa(curve) = p.authorisation_key.key
        && curve.matching_hash() != Some(sad_hash)
    {
        let wanted = curve
            .matching_hash()
            .map_or_else(|| "none".to_owned(), |h: HashAlgorithm| h.name().to_owned());
        e.push(
            "signing_key.sad_hash_algorithm",
            format!(
                "with JSON SADs and ECDSA device keys the SAD hash must match the {curve} key ({wanted}), not {}",
                sad_hash.name()
            ),
        );
    }
    if let KeySpec::Ecdsa(curve) = p.signing_key.key
        && curve.bits() < JSON_MIN_ECDSA_USER_KEY_BITS
    {
        e.push(
            "signing_key.key",
            format!(
                "with JSON SADs ECDSA user keys must be at least {JSON_MIN_ECDSA_USER_KEY_BITS} bits, not {}",
                curve.bits()
            ),
        );
    }
}
