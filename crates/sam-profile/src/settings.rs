//! The settings of one SAM profile: every configuration item of seed 001, with its default.
//!
//! The types here hold only values that are valid on their own (a [`KeySpec`] is always an
//! allowed combination, a KAK is always RSA, an [`IdpCertificate`] always parses as X.509).
//! Rules that relate several fields, or that depend on the crypto sources and global
//! settings, are checked by [`ProfileSettings::validate`](crate::ProfileSettings::validate).
//!
//! In JSON and TOML every field is `snake_case`, omitted fields take the seed's default, and
//! unknown fields are refused: a misspelt setting must not silently fall back to a default.

use core::fmt;

use der::{Decode, DecodePem, Encode, EncodePem};
use sam_algorithms::{
    EcCurve, HashAlgorithm, KeySpec, Period, PeriodUnit, RsaKeySize, RsaPadding, UnixTime,
};
pub use sam_algorithms::{KeyLocation, Scal};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use crate::names::{AttributeName, CryptoSourceName, Description, ProfileName};

/// Seed 001 *Status*: an inactive profile is not used to process requests.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileStatus {
    /// Requests may use the profile.
    #[default]
    Active,
    /// Requests that name the profile are refused.
    Inactive,
}

impl fmt::Display for ProfileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        })
    }
}

/// Seed 001's choice between signatures and seals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorisationMode {
    /// *Require user authorisation for every transaction*: each SAD is used once (SAD mode
    /// `transaction`). The default.
    #[default]
    EveryTransaction,
    /// *Require user authorisation only once until SAD expiry time*: a SAD serves many
    /// signatures until its count or expiry runs out (SAD mode `seal`). Only for eSeals, and
    /// only when eSeals are enabled.
    OnceUntilSadExpiry,
}

/// Seed 001 *KAK Algorithm*: only RSA is supported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KakAlgorithm {
    /// RSA.
    #[default]
    Rsa,
}

/// The Key Authorisation Key settings (seed 001 *KAK Algorithm*, *KAK Length*), for crypto
/// sources that need a KAK to activate user keys. The KAK itself is generated in software.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KakSettings {
    /// Always RSA.
    #[serde(default)]
    pub algorithm: KakAlgorithm,
    /// 2048 (default), 3072, 4096 or 8192 bits.
    #[serde(default = "default_kak_length")]
    pub key_length: RsaKeySize,
}

const fn default_kak_length() -> RsaKeySize {
    RsaKeySize::Bits2048
}

/// When a SAD or an authorisation request expires (seed 001 *SAD Expiry*, *Authorisation
/// Request Expiry*): a period after it is issued, or a custom date.
///
/// In configuration: `{ value = 5, unit = "minutes" }` or
/// `{ custom_date = "2030-12-31T00:00:00Z" }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ExpiryFields", into = "ExpiryFields")]
pub enum Expiry {
    /// This long after issue.
    After(Period),
    /// At this instant.
    At(UnixTime),
}

impl Expiry {
    /// The latest instant an expiry may reach: seed 001 requires it to be before 31-12-9999,
    /// so 9999-12-31T00:00:00Z itself is the first instant refused.
    pub const LIMIT: UnixTime = match UnixTime::from_secs(253_402_214_400) {
        Some(t) => t,
        None => UnixTime::MAX,
    };

    /// The instant this expiry falls at for something issued at `issued_at`, or `None` if it
    /// would be past the calendar's end.
    pub fn expires_at(self, issued_at: UnixTime) -> Option<UnixTime> {
        match self {
            Self::After(period) => issued_at.checked_add(period),
            Self::At(at) => Some(at),
        }
    }

    /// The largest `value` of `unit` that, added to `now`, stays before [`Self::LIMIT`]
    /// (the maximum seed 001 lets the screen accept; e.g. 7975 years from June 2024).
    pub fn max_value(unit: PeriodUnit, now: UnixTime) -> u64 {
        // Binary search over the monotone predicate "now + n units < LIMIT".
        let fits = |n: u64| {
            Period::new(n, unit)
                .ok()
                .and_then(|p| now.checked_add(p))
                .is_some_and(|t| t < Self::LIMIT)
        };
        let (mut lo, mut hi) = (0u64, 400_000_000_000u64);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) { lo = mid } else { hi = mid - 1 }
        }
        lo
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpiryFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<PeriodUnit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_date: Option<UnixTime>,
}

impl TryFrom<ExpiryFields> for Expiry {
    type Error = String;

    fn try_from(f: ExpiryFields) -> Result<Self, String> {
        match (f.value, f.unit, f.custom_date) {
            (Some(value), Some(unit), None) => Period::new(value, unit)
                .map(Self::After)
                .map_err(|e| e.to_string()),
            (None, None, Some(date)) => Ok(Self::At(date)),
            _ => Err("an expiry is either `value` and `unit` \
                      (seconds, minutes, hours, days, months, years), or `custom_date`"
                .into()),
        }
    }
}

impl From<Expiry> for ExpiryFields {
    fn from(e: Expiry) -> Self {
        match e {
            Expiry::After(p) => Self {
                value: Some(p.value()),
                unit: Some(p.unit()),
                custom_date: None,
            },
            Expiry::At(t) => Self {
                value: None,
                unit: None,
                custom_date: Some(t),
            },
        }
    }
}

/// Seed 001 *User Signature Key Pair Settings*: how user keys are generated and used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, from = "SigningKeySettingsWire")]
pub struct SigningKeySettings {
    /// *Enable Crypto Profiles Load Balancing*: several HSMs of one type sharing the Master
    /// Backup Key and slot id serve this profile. Default off.
    #[serde(default)]
    pub load_balancing: bool,
    /// *Crypto Profile*: exactly one source, or two or more with load balancing.
    pub crypto_profiles: Vec<CryptoSourceName>,
    /// Seed 004 `Location`: the default slot, or the signature slot with its own Sign PIN.
    #[serde(default)]
    pub location: KeyLocation,
    /// *Key Algorithm*, *Curve Type*, *Key Length*, *Security Level*. Default RSA 2048.
    #[serde(default = "default_signing_key")]
    pub key: KeySpec,
    /// *KAK Algorithm* and *KAK Length*: present exactly when the crypto source needs a KAK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kak: Option<KakSettings>,
    /// *Padding Scheme* for RSA keys: PKCS1 (default) or PSS.
    #[serde(default)]
    pub padding: RsaPadding,
    /// *Compute hash at signing time*: the client sends data and `sam` hashes it. Default off.
    #[serde(default)]
    pub compute_hash_at_signing: bool,
    /// *Hashing Algorithm*: the digest the signatures use — of data hashed at signing time,
    /// and the one a digest sent must be. Default SHA-256; for ML-DSA keys the digest of
    /// their level (RFC 9882 Table 1: SHA-256, SHA-384, SHA-512).
    #[serde(default = "default_hash")]
    pub hash_algorithm: HashAlgorithm,
    /// *Enable bulk signing*: one request may carry several hashes. Default off.
    #[serde(default)]
    pub bulk_signing: bool,
    /// *Number of hashes allowed to sign* in one bulk request; 0 (the default) is unlimited.
    #[serde(default)]
    pub max_hashes_per_request: u32,
    /// Every transaction (default) or once until SAD expiry (eSeals).
    #[serde(default)]
    pub authorisation_mode: AuthorisationMode,
    /// *Remove key from HSM after signing* each eSeal signature. Default off.
    #[serde(default)]
    pub remove_key_after_signing: bool,
    /// *SAD Expiry*; absent: the global `SAM_REQUEST_EXPIRY_PERIOD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sad_expiry: Option<Expiry>,
    /// *Authorisation Request Expiry*; absent: the global `SAM_REQUEST_EXPIRY_PERIOD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorisation_request_expiry: Option<Expiry>,
    /// *Sole Control Assurance Level*. Default SCAL2.
    #[serde(default)]
    pub scal: Scal,
    /// *Hash Algorithm for SAD*: SHA-224, SHA-256 (default), SHA-384 or SHA-512.
    #[serde(default = "default_hash")]
    pub sad_hash_algorithm: HashAlgorithm,
}

/// [`SigningKeySettings`] as written: the hash algorithm may be left out, and its default
/// then depends on the key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningKeySettingsWire {
    #[serde(default)]
    load_balancing: bool,
    crypto_profiles: Vec<CryptoSourceName>,
    #[serde(default)]
    location: KeyLocation,
    #[serde(default = "default_signing_key")]
    key: KeySpec,
    #[serde(default)]
    kak: Option<KakSettings>,
    #[serde(default)]
    padding: RsaPadding,
    #[serde(default)]
    compute_hash_at_signing: bool,
    #[serde(default)]
    hash_algorithm: Option<HashAlgorithm>,
    #[serde(default)]
    bulk_signing: bool,
    #[serde(default)]
    max_hashes_per_request: u32,
    #[serde(default)]
    authorisation_mode: AuthorisationMode,
    #[serde(default)]
    remove_key_after_signing: bool,
    #[serde(default)]
    sad_expiry: Option<Expiry>,
    #[serde(default)]
    authorisation_request_expiry: Option<Expiry>,
    #[serde(default)]
    scal: Scal,
    #[serde(default = "default_hash")]
    sad_hash_algorithm: HashAlgorithm,
}

impl From<SigningKeySettingsWire> for SigningKeySettings {
    fn from(w: SigningKeySettingsWire) -> Self {
        Self {
            load_balancing: w.load_balancing,
            crypto_profiles: w.crypto_profiles,
            location: w.location,
            key: w.key,
            kak: w.kak,
            padding: w.padding,
            compute_hash_at_signing: w.compute_hash_at_signing,
            hash_algorithm: w.hash_algorithm.unwrap_or_else(|| default_hash_for(w.key)),
            bulk_signing: w.bulk_signing,
            max_hashes_per_request: w.max_hashes_per_request,
            authorisation_mode: w.authorisation_mode,
            remove_key_after_signing: w.remove_key_after_signing,
            sad_expiry: w.sad_expiry,
            authorisation_request_expiry: w.authorisation_request_expiry,
            scal: w.scal,
            sad_hash_algorithm: w.sad_hash_algorithm,
        }
    }
}

const fn default_signing_key() -> KeySpec {
    KeySpec::Rsa(RsaKeySize::Bits2048)
}

const fn default_hash() -> HashAlgorithm {
    HashAlgorithm::Sha256
}

/// The default digest for keys of `key`: SHA-256, or for ML-DSA the digest of its level.
pub const fn default_hash_for(key: KeySpec) -> HashAlgorithm {
    match key {
        KeySpec::MlDsa(level) => level.default_hash(),
        _ => default_hash(),
    }
}

const fn default_device_key() -> KeySpec {
    KeySpec::Ecdsa(EcCurve::P256)
}

impl SigningKeySettings {
    /// The seed's defaults for a profile whose keys live in `crypto_profile`.
    pub fn with_defaults(crypto_profile: CryptoSourceName) -> Self {
        Self {
            load_balancing: false,
            crypto_profiles: vec![crypto_profile],
            location: KeyLocation::Default,
            key: default_signing_key(),
            kak: None,
            padding: RsaPadding::Pkcs1v15,
            compute_hash_at_signing: false,
            hash_algorithm: default_hash(),
            bulk_signing: false,
            max_hashes_per_request: 0,
            authorisation_mode: AuthorisationMode::EveryTransaction,
            remove_key_after_signing: false,
            sad_expiry: None,
            authorisation_request_expiry: None,
            scal: Scal::Scal2,
            sad_hash_algorithm: default_hash(),
        }
    }

    /// The most hashes one request may carry: 1 without bulk signing, `None` for unlimited.
    pub fn hashes_per_request_limit(&self) -> Option<u32> {
        match (self.bulk_signing, self.max_hashes_per_request) {
            (false, _) => Some(1),
            (true, 0) => None,
            (true, n) => Some(n),
        }
    }
}

/// Seed 001's stand-in for "unlimited" devices per user: 2,147,283,647 (sic; not
/// `i32::MAX`).
pub const UNLIMITED_DEVICES: u32 = 2_147_283_647;

/// Seed 001 *User Authorisation Key Pair Settings*: the keys on users' devices that sign
/// authorisation request messages (producing SADs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorisationKeySettings {
    /// *Key Algorithm* and *Key Length*: RSA 2048–8192, ECDSA on NIST P 224/256/384/521, or
    /// ML-DSA. Default ECDSA P-256 (what device apps generate).
    #[serde(default = "default_device_key")]
    pub key: KeySpec,
    /// *Hashing Algorithm* for signing authorisation requests: SHA-2 only (iOS has no SHA-3).
    /// Default SHA-256.
    #[serde(default = "default_hash")]
    pub hash_algorithm: HashAlgorithm,
    /// *Clock Tolerance on Certificate Validity*, in seconds; 0 (default) is none.
    #[serde(default)]
    pub clock_tolerance_secs: u32,
    /// *Maximum devices allowed to a user*; 0 (default) is unlimited, that is
    /// [`UNLIMITED_DEVICES`].
    #[serde(default)]
    pub max_devices_per_user: u32,
    /// *Device must have biometric recognition capability*. Default off.
    #[serde(default)]
    pub biometric_required: bool,
    /// *Device must have secure element*. Default off.
    #[serde(default)]
    pub secure_element_required: bool,
}

impl Default for AuthorisationKeySettings {
    fn default() -> Self {
        Self {
            key: default_device_key(),
            hash_algorithm: default_hash(),
            clock_tolerance_secs: 0,
            max_devices_per_user: 0,
            biometric_required: false,
            secure_element_required: false,
        }
    }
}

impl AuthorisationKeySettings {
    /// How many devices one user may register (0 in the settings means [`UNLIMITED_DEVICES`]).
    pub fn device_limit(&self) -> u32 {
        match self.max_devices_per_user {
            0 => UNLIMITED_DEVICES,
            n => n,
        }
    }
}

/// Seed 001 *Assertion Type* of an external IdP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssertionType {
    /// A SAML 2.0 assertion.
    Saml,
    /// A JWT (OpenID Connect ID token).
    Jwt,
}

/// Where the user id is read from in an IdP assertion (seed 001 *UserID from subject*,
/// *Identify UserID from Attribute*).
///
/// In configuration: `user_id = "subject"` or `user_id = { attribute = "email" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserIdSource {
    /// The assertion's subject (SAML `Subject/NameID`, JWT `sub`). The default.
    #[default]
    Subject,
    /// A named attribute (SAML `AttributeStatement`, a JWT claim).
    Attribute(AttributeName),
}

/// The largest IdP certificate accepted, in DER bytes.
pub const MAX_CERTIFICATE_LEN: usize = 64 * 1024;

/// An X.509 certificate that verifies an IdP's assertion signatures (seed 001 *IdP
/// Certificate*), uploaded as PEM or DER. It always parses as an RFC 5280 `Certificate`.
///
/// In configuration it is the PEM text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdpCertificate {
    der: Vec<u8>,
    subject: String,
}

impl IdpCertificate {
    /// A certificate from its DER encoding.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(format!(
                "the certificate is larger than {MAX_CERTIFICATE_LEN} bytes"
            ));
        }
        let cert =
            Certificate::from_der(der).map_err(|e| format!("not a DER X.509 certificate: {e}"))?;
        Ok(Self {
            der: der.to_vec(),
            subject: cert.tbs_certificate().subject().to_string(),
        })
    }

    /// A certificate from PEM text (`-----BEGIN CERTIFICATE-----`).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        if pem.len() > 2 * MAX_CERTIFICATE_LEN {
            return Err(format!(
                "the certificate is larger than {MAX_CERTIFICATE_LEN} bytes"
            ));
        }
        let cert = Certificate::from_pem(pem.trim())
            .map_err(|e| format!("not a PEM X.509 certificate: {e}"))?;
        let der = cert
            .to_der()
            .map_err(|e| format!("cannot re-encode the certificate: {e}"))?;
        Self::from_der(&der)
    }

    /// A certificate from an uploaded file, PEM or DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, String> {
        match core::str::from_utf8(bytes) {
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => Self::from_pem(text),
            _ => Self::from_der(bytes),
        }
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject distinguished name, for display.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The PEM encoding.
    pub fn to_pem(&self) -> Result<String, String> {
        Certificate::from_der(&self.der)
            .and_then(|c| c.to_pem(der::pem::LineEnding::LF))
            .map_err(|e| e.to_string())
    }
}

impl fmt::Debug for IdpCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpCertificate")
            .field("subject", &self.subject)
            .field("der_len", &self.der.len())
            .finish()
    }
}

impl Serialize for IdpCertificate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pem = self.to_pem().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&pem)
    }
}

impl<'de> Deserialize<'de> for IdpCertificate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pem = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_pem(&pem).map_err(serde::de::Error::custom)
    }
}

/// Seed 001 *Delegated user authentication via external IdP*: the client has the user
/// authenticated by an IdP and puts the IdP's assertion into the SAD, which `sam` verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegatedIdp {
    /// Whether clients may delegate user authentication to this IdP. Kept apart from the
    /// other fields so that an operator can switch it off without losing them.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// *IdP Certificate*: verifies the assertion signature.
    pub certificate: IdpCertificate,
    /// *Clock Tolerance* on the assertion's validity, in seconds; 0 (default) is none.
    #[serde(default)]
    pub clock_tolerance_secs: u32,
    /// *Assertion Type*: SAML or JWT.
    pub assertion_type: AssertionType,
    /// Where the user id comes from. Default: the subject.
    #[serde(default)]
    pub user_id: UserIdSource,
    /// The issuer a JWT assertion must name in `iss` (the IdP's OpenID Connect issuer
    /// identifier). Required for JWT assertions: without it any token the certificate's key
    /// signed for any audience of the IdP would do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The audience a JWT assertion must name in `aud`; absent: the id of the client that
    /// submits the SAD (the business application is the IdP's relying party).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

const fn enabled_by_default() -> bool {
    true
}

/// Everything an operator sets on one SAM profile: the document that is written in JSON or
/// TOML, validated, and stored in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// *Profile Name*: mandatory and unique.
    pub name: ProfileName,
    /// *Profile Description*: for information only.
    #[serde(default, skip_serializing_if = "Description::is_empty")]
    pub description: Description,
    /// *Status*. Default active.
    #[serde(default)]
    pub status: ProfileStatus,
    /// *User Signature Key Pair Settings*.
    pub signing_key: SigningKeySettings,
    /// *User Authorisation Key Pair Settings*.
    #[serde(default)]
    pub authorisation_key: AuthorisationKeySettings,
    /// *Delegated user authentication via external IdP*; absent: not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated_idp: Option<DelegatedIdp>,
}

impl ProfileSettings {
    /// A profile named `name` with every seed default, keeping keys in `crypto_profile`.
    pub fn with_defaults(name: ProfileName, crypto_profile: CryptoSourceName) -> Self {
        Self {
            name,
            description: Description::default(),
            status: ProfileStatus::Active,
            signing_key: SigningKeySettings::with_defaults(crypto_profile),
            authorisation_key: AuthorisationKeySettings::default(),
            delegated_idp: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_limit_is_the_start_of_31_12_9999() {
        assert_eq!(Expiry::LIMIT.to_string(), "9999-12-31T00:00:00Z");
    }

    #[test]
    fn expiry_forms() {
        let issued: UnixTime = "2026-01-31T08:00:00Z".parse().unwrap();
        let month = Expiry::After(Period::new(1, PeriodUnit::Months).unwrap());
        assert_eq!(
            month.expires_at(issued).unwrap().to_string(),
            "2026-02-28T08:00:00Z"
        );
        let at: UnixTime = "2030-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(Expiry::At(at).expires_at(issued), Some(at));
        let json = serde_json::to_string(&month).unwrap();
        assert_eq!(json, r#"{"value":1,"unit":"months"}"#);
        let json = serde_json::to_string(&Expiry::At(at)).unwrap();
        assert_eq!(json, r#"{"custom_date":"2030-01-01T00:00:00Z"}"#);
        let e = serde_json::from_str::<Expiry>(r#"{"unit":"days"}"#).unwrap_err();
        assert!(e.to_string().contains("either `value` and `unit`"), "{e}");
    }

    #[test]
    fn max_value_is_the_last_that_fits() {
        let now: UnixTime = "2024-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(Expiry::max_value(PeriodUnit::Years, now), 7975);
        assert_eq!(Expiry::max_value(PeriodUnit::Months, now), 7975 * 12 + 6);
        let days = Expiry::max_value(PeriodUnit::Days, now);
        let last = now
            .checked_add(Period::new(days, PeriodUnit::Days).unwrap())
            .unwrap();
        assert_eq!(last.to_string(), "9999-12-30T00:00:00Z");
    }

    #[test]
    fn idp_certificate_debug_shows_no_bytes() {
        let pem = include_str!("../tests/examples/idp-certificate.pem");
        let cert = IdpCertificate::from_pem(pem).unwrap();
        let debug = format!("{cert:?}");
        assert!(
            debug.contains("Example IdP") && debug.contains("der_len"),
            "{debug}"
        );
        assert_eq!(
            IdpCertificate::from_pem(&cert.to_pem().unwrap()).unwrap(),
            cert
        );
    }

    #[test]
    fn user_id_source_forms() {
        let subject: UserIdSource = serde_json::from_str(r#""subject""#).unwrap();
        assert_eq!(subject, UserIdSource::Subject);
        let attr: UserIdSource = serde_json::from_str(r#"{"attribute":"email"}"#).unwrap();
        assert_eq!(attr, UserIdSource::Attribute("email".parse().unwrap()));
        assert!(serde_json::from_str::<UserIdSource>(r#""attribute""#).is_err());
    }
}
