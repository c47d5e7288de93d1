//! Key algorithms, elliptic curves and the [`KeySpec`] that combines them.
//!
//! The allowed combinations are those of the SAM profile's *User Signature Key Pair Settings*
//! (seed 001): RSA with a 2048, 3072, 4096 or 8192 bit modulus; ECDSA over NIST P
//! (224/256/384/521), SEC2 K (256), Brainpool R and Brainpool T (224/256/320/384/512); ML-DSA
//! at security level 2, 3 or 5 (FIPS 204 ML-DSA-44, ML-DSA-65, ML-DSA-87). A [`KeySpec`] can
//! hold nothing else.
//!
//! Curve object identifiers: SEC 2 v2 §A.2 and RFC 5480 §2.1.1.1 (NIST P, secp256k1),
//! RFC 5639 §4.1 (Brainpool).

use core::fmt;
use core::str::FromStr;

use const_oid::ObjectIdentifier;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::hash::HashAlgorithm;

/// A public key algorithm a SAM key can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA (PKCS #1, RFC 8017).
    Rsa,
    /// ECDSA (FIPS 186-5, SEC 1).
    Ecdsa,
    /// ML-DSA (FIPS 204).
    MlDsa,
}

impl KeyAlgorithm {
    /// Every key algorithm, in a stable order.
    pub const ALL: [Self; 3] = [Self::Rsa, Self::Ecdsa, Self::MlDsa];

    /// The name used in configuration files and APIs: `rsa`, `ecdsa`, `ml-dsa`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ecdsa => "ecdsa",
            Self::MlDsa => "ml-dsa",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rsa => "RSA",
            Self::Ecdsa => "ECDSA",
            Self::MlDsa => "ML-DSA",
        })
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s) || a.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownName {
                kind: "key algorithm",
                name: s.into(),
                expected: "rsa, ecdsa, ml-dsa",
            })
    }
}

/// The curve families of seed 001's *Curve Type*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CurveFamily {
    /// NIST prime curves (FIPS 186-5 / SEC 2 `secpXXXr1`).
    NistP,
    /// SEC 2 Koblitz curves; only `secp256k1`.
    Sec2K,
    /// Brainpool "random" curves `brainpoolPXXXr1` (RFC 5639).
    BrainpoolR,
    /// Brainpool twisted curves `brainpoolPXXXt1` (RFC 5639).
    BrainpoolT,
}

impl CurveFamily {
    /// Every curve family, in a stable order.
    pub const ALL: [Self; 4] = [Self::NistP, Self::Sec2K, Self::BrainpoolR, Self::BrainpoolT];

    /// The name used in configuration files: `nist-p`, `sec2-k`, `brainpool-r`, `brainpool-t`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NistP => "nist-p",
            Self::Sec2K => "sec2-k",
            Self::BrainpoolR => "brainpool-r",
            Self::BrainpoolT => "brainpool-t",
        }
    }

    /// The key lengths (in bits) this family offers, ascending.
    pub const fn key_lengths(self) -> &'static [u32] {
        match self {
            Self::NistP => &[224, 256, 384, 521],
            Self::Sec2K => &[256],
            Self::BrainpoolR | Self::BrainpoolT => &[224, 256, 320, 384, 512],
        }
    }

    /// The curve of this family with `bits`, if the family has one.
    pub fn curve(self, bits: u32) -> Option<EcCurve> {
        EcCurve::ALL
            .into_iter()
            .find(|c| c.family() == self && c.bits() == bits)
    }
}

impl fmt::Display for CurveFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NistP => "NIST P",
            Self::Sec2K => "SEC2 K",
            Self::BrainpoolR => "Brainpool R",
            Self::BrainpoolT => "Brainpool T",
        })
    }
}

/// A named elliptic curve for ECDSA keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(missing_docs)] // the variant names are the curve names
pub enum EcCurve {
    P224,
    P256,
    P384,
    P521,
    Secp256k1,
    BrainpoolP224r1,
    BrainpoolP256r1,
    BrainpoolP320r1,
    BrainpoolP384r1,
    BrainpoolP512r1,
    BrainpoolP224t1,
    BrainpoolP256t1,
    BrainpoolP320t1,
    BrainpoolP384t1,
    BrainpoolP512t1,
}

/// RFC 5639 §4.1: `ecStdCurvesAndGeneration ... versionOne(1)` arc of the Brainpool curves.
const fn brainpool(last: u32) -> ObjectIdentifier {
    // 1.3.36.3.3.2.8.1.1.{last}; `last` is a small constant, so the arc is always valid.
    match last {
        5 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.5"),
        6 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.6"),
        7 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7"),
        8 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.8"),
        9 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.9"),
        10 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.10"),
        11 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.11"),
        12 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.12"),
        13 => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.13"),
        _ => ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.14"),
    }
}

impl EcCurve {
    /// Every curve, in a stable order.
    pub const ALL: [Self; 15] = [
        Self::P224,
        Self::P256,
        Self::P384,
        Self::P521,
        Self::Secp256k1,
        Self::BrainpoolP224r1,
        Self::BrainpoolP256r1,
        Self::BrainpoolP320r1,
        Self::BrainpoolP384r1,
        Self::BrainpoolP512r1,
        Self::BrainpoolP224t1,
        Self::BrainpoolP256t1,
        Self::BrainpoolP320t1,
        Self::BrainpoolP384t1,
        Self::BrainpoolP512t1,
    ];

    /// The family this curve belongs to.
    pub const fn family(self) -> CurveFamily {
        match self {
            Self::P224 | Self::P256 | Self::P384 | Self::P521 => CurveFamily::NistP,
            Self::Secp256k1 => CurveFamily::Sec2K,
            Self::BrainpoolP224r1
            | Self::BrainpoolP256r1
            | Self::BrainpoolP320r1
            | Self::BrainpoolP384r1
            | Self::BrainpoolP512r1 => CurveFamily::BrainpoolR,
            Self::BrainpoolP224t1
            | Self::BrainpoolP256t1
            | Self::BrainpoolP320t1
            | Self::BrainpoolP384t1
            | Self::BrainpoolP512t1 => CurveFamily::BrainpoolT,
        }
    }

    /// The size of the curve's group order in bits (the profile's *Key Length*).
    pub const fn bits(self) -> u32 {
        match self {
            Self::P224 | Self::BrainpoolP224r1 | Self::BrainpoolP224t1 => 224,
            Self::P256 | Self::Secp256k1 | Self::BrainpoolP256r1 | Self::BrainpoolP256t1 => 256,
            Self::BrainpoolP320r1 | Self::BrainpoolP320t1 => 320,
            Self::P384 | Self::BrainpoolP384r1 | Self::BrainpoolP384t1 => 384,
            Self::BrainpoolP512r1 | Self::BrainpoolP512t1 => 512,
            Self::P521 => 521,
        }
    }

    /// The curve's standard name (`P-256`, `secp256k1`, `brainpoolP256r1`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::P224 => "P-224",
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::Secp256k1 => "secp256k1",
            Self::BrainpoolP224r1 => "brainpoolP224r1",
            Self::BrainpoolP256r1 => "brainpoolP256r1",
            Self::BrainpoolP320r1 => "brainpoolP320r1",
            Self::BrainpoolP384r1 => "brainpoolP384r1",
            Self::BrainpoolP512r1 => "brainpoolP512r1",
            Self::BrainpoolP224t1 => "brainpoolP224t1",
            Self::BrainpoolP256t1 => "brainpoolP256t1",
            Self::BrainpoolP320t1 => "brainpoolP320t1",
            Self::BrainpoolP384t1 => "brainpoolP384t1",
            Self::BrainpoolP512t1 => "brainpoolP512t1",
        }
    }

    /// The `namedCurve` object identifier (RFC 5480 §2.1.1.1, RFC 5639 §4.1).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::P224 => ObjectIdentifier::new_unwrap("1.3.132.0.33"),
            Self::P256 => ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
            Self::P384 => ObjectIdentifier::new_unwrap("1.3.132.0.34"),
            Self::P521 => ObjectIdentifier::new_unwrap("1.3.132.0.35"),
            Self::Secp256k1 => ObjectIdentifier::new_unwrap("1.3.132.0.10"),
            Self::BrainpoolP224r1 => brainpool(5),
            Self::BrainpoolP224t1 => brainpool(6),
            Self::BrainpoolP256r1 => brainpool(7),
            Self::BrainpoolP256t1 => brainpool(8),
            Self::BrainpoolP320r1 => brainpool(9),
            Self::BrainpoolP320t1 => brainpool(10),
            Self::BrainpoolP384r1 => brainpool(11),
            Self::BrainpoolP384t1 => brainpool(12),
            Self::BrainpoolP512r1 => brainpool(13),
            Self::BrainpoolP512t1 => brainpool(14),
        }
    }

    /// The curve named by a `namedCurve` object identifier.
    pub fn from_oid(oid: &ObjectIdentifier) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|c| c.oid() == *oid)
            .ok_or(Error::UnknownOid {
                kind: "elliptic curve",
                oid: *oid,
            })
    }

    /// The SHA-2 hash whose output has the size of this curve's order, if there is one
    /// (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, ...). 320-bit curves have none.
    pub const fn matching_hash(self) -> Option<HashAlgorithm> {
        match self.bits() {
            224 => Some(HashAlgorithm::Sha224),
            256 => Some(HashAlgorithm::Sha256),
            384 => Some(HashAlgorithm::Sha384),
            512 | 521 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for EcCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An RSA modulus size allowed for SAM keys and KAKs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RsaKeySize {
    /// 2048-bit modulus (the seed's default).
    #[default]
    Bits2048,
    /// 3072-bit modulus.
    Bits3072,
    /// 4096-bit modulus.
    Bits4096,
    /// 8192-bit modulus.
    Bits8192,
}

impl RsaKeySize {
    /// Every allowed size, ascending.
    pub const ALL: [Self; 4] = [
        Self::Bits2048,
        Self::Bits3072,
        Self::Bits4096,
        Self::Bits8192,
    ];
    /// The allowed sizes in bits, ascending.
    pub const LENGTHS: [u32; 4] = [2048, 3072, 4096, 8192];

    /// The modulus size in bits.
    pub const fn bits(self) -> u32 {
        match self {
            Self::Bits2048 => 2048,
            Self::Bits3072 => 3072,
            Self::Bits4096 => 4096,
            Self::Bits8192 => 8192,
        }
    }

    /// The size with `bits`, or an error listing the allowed sizes.
    pub fn from_bits(bits: u32) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.bits() == bits)
            .ok_or(Error::KeyLength {
                what: "RSA",
                length: bits,
                allowed: &Self::LENGTHS,
            })
    }
}

impl Serialize for RsaKeySize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.bits())
    }
}

impl<'de> Deserialize<'de> for RsaKeySize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bits = u32::deserialize(deserializer)?;
        Self::from_bits(bits).map_err(serde::de::Error::custom)
    }
}

/// An ML-DSA security level (FIPS 204 Table 1): 2, 3 or 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MlDsaLevel {
    /// Security level 2: ML-DSA-44.
    Level2,
    /// Security level 3: ML-DSA-65.
    Level3,
    /// Security level 5: ML-DSA-87.
    Level5,
}

impl MlDsaLevel {
    /// Every level, ascending.
    pub const ALL: [Self; 3] = [Self::Level2, Self::Level3, Self::Level5];
    /// The allowed levels as numbers.
    pub const LEVELS: [u32; 3] = [2, 3, 5];

    /// The NIST security level number.
    pub const fn level(self) -> u8 {
        match self {
            Self::Level2 => 2,
            Self::Level3 => 3,
            Self::Level5 => 5,
        }
    }

    /// The shortest digest, in bytes, that a CMS signature with this parameter set may use
    /// (RFC 9882 section 3.3, Table 1: the digest offers at least the level's collision
    /// strength — ML-DSA-44: 256 bits, ML-DSA-65: 384, ML-DSA-87: 512).
    pub const fn min_digest_len(self) -> usize {
        match self {
            Self::Level2 => 32,
            Self::Level3 => 48,
            Self::Level5 => 64,
        }
    }

    /// The SHA-2 digest that matches the level (RFC 9882 Table 1): SHA-256, SHA-384, SHA-512.
    pub const fn default_hash(self) -> crate::HashAlgorithm {
        match self {
            Self::Level2 => crate::HashAlgorithm::Sha256,
            Self::Level3 => crate::HashAlgorithm::Sha384,
            Self::Level5 => crate::HashAlgorithm::Sha512,
        }
    }

    /// The parameter set name: `ML-DSA-44`, `ML-DSA-65`, `ML-DSA-87`.
    pub const fn parameter_set(self) -> &'static str {
        match self {
            Self::Level2 => "ML-DSA-44",
            Self::Level3 => "ML-DSA-65",
            Self::Level5 => "ML-DSA-87",
        }
    }

    /// The level numbered `level`, or an error listing 2, 3, 5.
    pub fn from_level(level: u32) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|l| u32::from(l.level()) == level)
            .ok_or(Error::SecurityLevel { level })
    }
}

impl fmt::Display for MlDsaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter_set())
    }
}

/// A key type a SAM profile may ask for: only the combinations seed 001 allows.
///
/// In configuration files a `KeySpec` is a table of the profile screen's fields:
///
/// ```
/// use sam_algorithms::{EcCurve, KeySpec};
///
/// let spec: KeySpec = serde_json::from_str(
///     r#"{ "algorithm": "ecdsa", "curve_type": "brainpool-r", "key_length": 384 }"#,
/// )?;
/// assert_eq!(spec, KeySpec::Ecdsa(EcCurve::BrainpoolP384r1));
///
/// // A key length the curve family does not offer is refused, naming what is allowed.
/// let err = serde_json::from_str::<KeySpec>(
///     r#"{ "algorithm": "ecdsa", "curve_type": "sec2-k", "key_length": 384 }"#,
/// )
/// .unwrap_err();
/// assert!(err.to_string().contains("key_length 384 is not one of 256"));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Omitted fields take the seed's defaults: RSA 2048, ECDSA NIST P 256. ML-DSA has no
/// default level; `security_level` is required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "KeySpecFields", into = "KeySpecFields")]
#[non_exhaustive]
pub enum KeySpec {
    /// An RSA key.
    Rsa(RsaKeySize),
    /// An ECDSA key on a named curve.
    Ecdsa(EcCurve),
    /// An ML-DSA key.
    MlDsa(MlDsaLevel),
}

impl KeySpec {
    /// The default key for `algorithm` (seed 001: RSA 2048, ECDSA 256 on NIST P); ML-DSA
    /// has none.
    pub const fn default_for(algorithm: KeyAlgorithm) -> Option<Self> {
        match algorithm {
            KeyAlgorithm::Rsa => Some(Self::Rsa(RsaKeySize::Bits2048)),
            KeyAlgorithm::Ecdsa => Some(Self::Ecdsa(EcCurve::P256)),
            KeyAlgorithm::MlDsa => None,
        }
    }

    /// Builds a spec from the profile screen's fields, refusing any combination seed 001 does
    /// not allow. `curve_type` applies only to ECDSA (default NIST P), `key_length` only to
    /// RSA and ECDSA (default 2048 and 256), `security_level` only to ML-DSA (required).
    pub fn new(
        algorithm: KeyAlgorithm,
        curve_type: Option<CurveFamily>,
        key_length: Option<u32>,
        security_level: Option<u32>,
    ) -> Result<Self, Error> {
        let misplaced = |field: &'static str| Error::FieldNotApplicable { field, algorithm };
        match algorithm {
            KeyAlgorithm::Rsa => {
                if curve_type.is_some() {
                    return Err(misplaced("curve_type"));
                }
                if security_level.is_some() {
                    return Err(misplaced("security_level"));
                }
                Ok(Self::Rsa(RsaKeySize::from_bits(
                    key_length.unwrap_or(2048),
                )?))
            }
            KeyAlgorithm::Ecdsa => {
                if security_level.is_some() {
                    return Err(misplaced("security_level"));
                }
                let family = curve_type.unwrap_or(CurveFamily::NistP);
                let bits = key_length.unwrap_or(256);
                family.curve(bits).map(Self::Ecdsa).ok_or(Error::KeyLength {
                    what: family.name(),
                    length: bits,
                    allowed: family.key_lengths(),
                })
            }
            KeyAlgorithm::MlDsa => {
                if curve_type.is_some() {
                    return Err(misplaced("curve_type"));
                }
                if key_length.is_some() {
                    return Err(misplaced("key_length"));
                }
                let level = security_level.ok_or(Error::MissingField {
                    field: "security_level",
                    algorithm,
                })?;
                Ok(Self::MlDsa(MlDsaLevel::from_level(level)?))
            }
        }
    }

    /// Every spec seed 001 allows: 4 RSA, 15 ECDSA, 3 ML-DSA.
    pub fn all() -> impl Iterator<Item = Self> {
        RsaKeySize::ALL
            .into_iter()
            .map(Self::Rsa)
            .chain(EcCurve::ALL.into_iter().map(Self::Ecdsa))
            .chain(MlDsaLevel::ALL.into_iter().map(Self::MlDsa))
    }

    /// The key algorithm.
    pub const fn algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Rsa(_) => KeyAlgorithm::Rsa,
            Self::Ecdsa(_) => KeyAlgorithm::Ecdsa,
            Self::MlDsa(_) => KeyAlgorithm::MlDsa,
        }
    }

    /// The curve family of an ECDSA key.
    pub const fn curve_family(self) -> Option<CurveFamily> {
        match self {
            Self::Ecdsa(c) => Some(c.family()),
            _ => None,
        }
    }

    /// The profile's *Key Length*: RSA modulus or curve size in bits. ML-DSA has none.
    pub const fn key_length(self) -> Option<u32> {
        match self {
            Self::Rsa(s) => Some(s.bits()),
            Self::Ecdsa(c) => Some(c.bits()),
            Self::MlDsa(_) => None,
        }
    }

    /// The ML-DSA security level.
    pub const fn security_level(self) -> Option<MlDsaLevel> {
        match self {
            Self::MlDsa(l) => Some(l),
            _ => None,
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(s) => write!(f, "RSA-{}", s.bits()),
            Self::Ecdsa(c) => write!(f, "ECDSA {c}"),
            Self::MlDsa(l) => write!(f, "{l}"),
        }
    }
}

/// The serialised shape of a [`KeySpec`]: the profile screen's fields.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpecFields {
    algorithm: KeyAlgorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    curve_type: Option<CurveFamily>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    security_level: Option<u32>,
}

impl TryFrom<KeySpecFields> for KeySpec {
    type Error = Error;

    fn try_from(f: KeySpecFields) -> Result<Self, Error> {
        Self::new(f.algorithm, f.curve_type, f.key_length, f.security_level)
    }
}

impl From<KeySpec> for KeySpecFields {
    fn from(spec: KeySpec) -> Self {
        Self {
            algorithm: spec.algorithm(),
            curve_type: spec.curve_family(),
            key_length: spec.key_length(),
            security_level: spec.security_level().map(|l| u32::from(l.level())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ml_dsa_digest_minimums_follow_rfc_9882() {
        let bits: Vec<usize> = MlDsaLevel::ALL
            .iter()
            .map(|l| l.min_digest_len() * 8)
            .collect();
        assert_eq!(bits, [256, 384, 512]);
        for level in MlDsaLevel::ALL {
            assert_eq!(level.default_hash().output_len(), level.min_digest_len());
        }
    }

    #[test]
    fn allowed_combinations_are_exactly_the_seeds() {
        let mut allowed = Vec::new();
        for bits in [2048, 3072, 4096, 8192] {
            allowed.push((KeyAlgorithm::Rsa, None, Some(bits), None));
        }
        for bits in [224, 256, 384, 521] {
            allowed.push((
                KeyAlgorithm::Ecdsa,
                Some(CurveFamily::NistP),
                Some(bits),
                None,
            ));
        }
        allowed.push((
            KeyAlgorithm::Ecdsa,
            Some(CurveFamily::Sec2K),
            Some(256),
            None,
        ));
        for family in [CurveFamily::BrainpoolR, CurveFamily::BrainpoolT] {
            for bits in [224, 256, 320, 384, 512] {
                allowed.push((KeyAlgorithm::Ecdsa, Some(family), Some(bits), None));
            }
        }
        for level in [2, 3, 5] {
            allowed.push((KeyAlgorithm::MlDsa, None, None, Some(level)));
        }
        assert_eq!(allowed.len(), KeySpec::all().count());

        // Exhaustive over a grid that includes every near miss: each combination is accepted
        // exactly when it is in the seed's list.
        let lengths = [
            0, 1, 160, 192, 223, 224, 225, 255, 256, 257, 320, 384, 512, 521, 1024, 2047, 2048,
            2049, 3072, 4096, 8192, 8193, 16384,
        ];
        for algorithm in KeyAlgorithm::ALL {
            for curve in [None].into_iter().chain(CurveFamily::ALL.map(Some)) {
                for length in [None].into_iter().chain(lengths.map(Some)) {
                    for level in [None, Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)] {
                        let result = KeySpec::new(algorithm, curve, length, level);
                        let explicit = match algorithm {
                            KeyAlgorithm::Rsa => (algorithm, curve, length.or(Some(2048)), level),
                            KeyAlgorithm::Ecdsa => (
                                algorithm,
                                curve.or(Some(CurveFamily::NistP)),
                                length.or(Some(256)),
                                level,
                            ),
                            KeyAlgorithm::MlDsa => (algorithm, curve, length, level),
                        };
                        assert_eq!(
                            result.is_ok(),
                            allowed.contains(&explicit),
                            "{explicit:?} -> {result:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn errors_name_the_field_and_the_allowed_values() {
        let e = KeySpec::new(KeyAlgorithm::Rsa, None, Some(3000), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "key_length 3000 is not one of 2048, 3072, 4096, 8192 for RSA"
        );
        let e = KeySpec::new(
            KeyAlgorithm::Ecdsa,
            Some(CurveFamily::BrainpoolT),
            Some(521),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "key_length 521 is not one of 224, 256, 320, 384, 512 for brainpool-t"
        );
        let e = KeySpec::new(KeyAlgorithm::MlDsa, None, None, Some(4)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "security_level 4 is not one of 2, 3, 5 for ML-DSA"
        );
        let e = KeySpec::new(KeyAlgorithm::MlDsa, None, None, None).unwrap_err();
        assert_eq!(e.to_string(), "security_level is required for ML-DSA keys");
        let e = KeySpec::new(KeyAlgorithm::Rsa, Some(CurveFamily::NistP), None, None).unwrap_err();
        assert_eq!(e.to_string(), "curve_type does not apply to RSA keys");
    }

    #[test]
    fn defaults_follow_the_seed() {
        assert_eq!(
            KeySpec::new(KeyAlgorithm::Rsa, None, None, None).unwrap(),
            KeySpec::Rsa(RsaKeySize::Bits2048)
        );
        assert_eq!(
            KeySpec::new(KeyAlgorithm::Ecdsa, None, None, None).unwrap(),
            KeySpec::Ecdsa(EcCurve::P256)
        );
        assert_eq!(
            KeySpec::new(
                KeyAlgorithm::Ecdsa,
                Some(CurveFamily::BrainpoolT),
                None,
                None
            )
            .unwrap(),
            KeySpec::Ecdsa(EcCurve::BrainpoolP256t1)
        );
        assert_eq!(KeySpec::default_for(KeyAlgorithm::MlDsa), None);
    }

    #[test]
    fn every_spec_round_trips_through_json_and_its_fields() {
        for spec in KeySpec::all() {
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(
                serde_json::from_str::<KeySpec>(&json).unwrap(),
                spec,
                "{json}"
            );
            let again = KeySpec::new(
                spec.algorithm(),
                spec.curve_family(),
                spec.key_length(),
                spec.security_level().map(|l| u32::from(l.level())),
            )
            .unwrap();
            assert_eq!(again, spec);
        }
        assert!(
            serde_json::from_str::<KeySpec>(r#"{"algorithm":"rsa","key_size":2048}"#).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn curve_oids_round_trip_and_are_distinct() {
        for curve in EcCurve::ALL {
            assert_eq!(EcCurve::from_oid(&curve.oid()).unwrap(), curve);
            assert_eq!(curve.family().curve(curve.bits()), Some(curve));
        }
        let mut oids: Vec<_> = EcCurve::ALL.iter().map(|c| c.oid()).collect();
        oids.sort();
        oids.dedup();
        assert_eq!(oids.len(), EcCurve::ALL.len());
        assert_eq!(EcCurve::P256.oid().to_string(), "1.2.840.10045.3.1.7");
        assert_eq!(
            EcCurve::BrainpoolP256r1.oid().to_string(),
            "1.3.36.3.3.2.8.1.1.7"
        );
        assert_eq!(
            EcCurve::BrainpoolP512t1.oid().to_string(),
            "1.3.36.3.3.2.8.1.1.14"
        );
        assert!(EcCurve::from_oid(&ObjectIdentifier::new_unwrap("1.3.132.0.39")).is_err());
    }

    #[test]
    fn matching_hashes() {
        assert_eq!(EcCurve::P256.matching_hash(), Some(HashAlgorithm::Sha256));
        assert_eq!(EcCurve::P521.matching_hash(), Some(HashAlgorithm::Sha512));
        assert_eq!(EcCurve::BrainpoolP320r1.matching_hash(), None);
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "ML-DSA".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::MlDsa
        );
        assert_eq!(
            "ecdsa".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::Ecdsa
        );
        assert!("dsa".parse::<KeyAlgorithm>().is_err());
    }
}
