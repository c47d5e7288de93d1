//! Signature algorithms: RSA paddings, algorithm identifiers with their object identifiers and
//! parameters, and JOSE names.
//!
//! | algorithm | identifier | parameters |
//! | --- | --- | --- |
//! | RSA PKCS #1 v1.5 with SHA-2 | `sha*WithRSAEncryption` (RFC 4055 §5, RFC 8017 App. C) | NULL |
//! | RSA PKCS #1 v1.5 with SHA-3 | `id-rsassa-pkcs1-v1_5-with-sha3-*` (NIST CSOR `sigAlgs`, RFC 9688) | absent (NULL, which OpenSSL 3.0 writes, is accepted) |
//! | RSASSA-PSS | `id-RSASSA-PSS` (RFC 4055 §3.1, RFC 8017 App. A.2.3) | hash (NULL parameters, as OpenSSL writes), MGF1 with the same hash, salt = hash length, trailer 1 |
//! | ECDSA with SHA-2 | `ecdsa-with-SHA*` (RFC 5758 §3.2) | absent |
//! | ECDSA with SHA-3 | `id-ecdsa-with-sha3-*` (NIST CSOR `sigAlgs`) | absent |
//! | ML-DSA | `id-ml-dsa-44/65/87` (FIPS 204, RFC 9881 §2) | absent |
//!
//! Decoding accepts NULL or absent parameters where RFC 4055 §2.1 asks implementations to
//! accept both, and only the PSS parameter form above (the one every `sam` signer produces).
//! JOSE names are those of RFC 7518 §3.1, RFC 8812 §3.2 (`ES256K`) and the ML-DSA names of the
//! IETF JOSE/COSE ML-DSA specification (`ML-DSA-44`, `ML-DSA-65`, `ML-DSA-87`). Brainpool
//! curves have no registered JWS algorithm, so a JSON SAD cannot be signed with them.

use core::fmt;
use core::str::FromStr;

use const_oid::ObjectIdentifier;
use der::asn1::Any;
use der::{Decode, Encode, Sequence};
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;

use crate::Error;
use crate::hash::HashAlgorithm;
use crate::key::{EcCurve, KeyAlgorithm, KeySpec, MlDsaLevel};

/// The RSA signature padding scheme of the profile's *Padding Scheme*.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[non_exhaustive]
pub enum RsaPadding {
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2); the seed's default.
    #[default]
    #[serde(rename = "pkcs1")]
    Pkcs1v15,
    /// RSASSA-PSS (RFC 8017 §8.1), MGF1 with the message hash, salt as long as the hash.
    #[serde(rename = "pss")]
    Pss,
}

impl fmt::Display for RsaPadding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pkcs1v15 => "PKCS1",
            Self::Pss => "PSS",
        })
    }
}

/// `rsaEncryption` (RFC 8017 App. C), the SPKI algorithm of every RSA key.
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480 §2.1.1), the SPKI algorithm of every EC key.
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `id-RSASSA-PSS` (RFC 4055 §3.1).
pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// `id-mgf1` (RFC 4055 §2.2).
pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");

/// A complete signature algorithm: what a CMS `SignerInfo.signatureAlgorithm`, an X.509
/// `signatureAlgorithm` or a DER SAD names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with the given hash.
    RsaPkcs1v15(HashAlgorithm),
    /// RSASSA-PSS with the given hash (MGF1 with the same hash, salt as long as the hash).
    RsaPss(HashAlgorithm),
    /// ECDSA with the given hash.
    Ecdsa(HashAlgorithm),
    /// Pure ML-DSA (the message is signed as is; FIPS 204 Algorithm 2).
    MlDsa(MlDsaLevel),
}

impl SignatureAlgorithm {
    /// Every signature algorithm `sam` can name.
    pub fn all() -> impl Iterator<Item = Self> {
        HashAlgorithm::ALL
            .into_iter()
            .flat_map(|h| [Self::RsaPkcs1v15(h), Self::RsaPss(h), Self::Ecdsa(h)])
            .chain(MlDsaLevel::ALL.into_iter().map(Self::MlDsa))
    }

    /// The algorithm that a key of `spec` uses with `hash`; `padding` matters only for RSA.
    /// ML-DSA signs the message itself, so `hash` does not change the algorithm.
    pub const fn for_key(spec: KeySpec, hash: HashAlgorithm, padding: RsaPadding) -> Self {
        match (spec, padding) {
            (KeySpec::Rsa(_), RsaPadding::Pkcs1v15) => Self::RsaPkcs1v15(hash),
            (KeySpec::Rsa(_), RsaPadding::Pss) => Self::RsaPss(hash),
            (KeySpec::Ecdsa(_), _) => Self::Ecdsa(hash),
            (KeySpec::MlDsa(level), _) => Self::MlDsa(level),
        }
    }

    /// The key algorithm that produces this signature.
    pub const fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Self::RsaPkcs1v15(_) | Self::RsaPss(_) => KeyAlgorithm::Rsa,
            Self::Ecdsa(_) => KeyAlgorithm::Ecdsa,
            Self::MlDsa(_) => KeyAlgorithm::MlDsa,
        }
    }

    /// The hash the signature is computed over, if the algorithm hashes first.
    pub const fn hash_algorithm(self) -> Option<HashAlgorithm> {
        match self {
            Self::RsaPkcs1v15(h) | Self::RsaPss(h) | Self::Ecdsa(h) => Some(h),
            Self::MlDsa(_) => None,
        }
    }

    /// The algorithm object identifier.
    pub const fn oid(self) -> ObjectIdentifier {
        use HashAlgorithm as H;
        match self {
            Self::RsaPkcs1v15(h) => match h {
                H::Sha256 => ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
                H::Sha384 => ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12"),
                H::Sha512 => ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13"),
                H::Sha224 => ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.14"),
                H::Sha3_224 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.13"),
                H::Sha3_256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.14"),
                H::Sha3_384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.15"),
                H::Sha3_512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.16"),
            },
            Self::RsaPss(_) => RSASSA_PSS,
            Self::Ecdsa(h) => match h {
                H::Sha224 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.1"),
                H::Sha256 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
                H::Sha384 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
                H::Sha512 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4"),
                H::Sha3_224 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.9"),
                H::Sha3_256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.10"),
                H::Sha3_384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.11"),
                H::Sha3_512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.12"),
            },
            Self::MlDsa(level) => match level {
                MlDsaLevel::Level2 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17"),
                MlDsaLevel::Level3 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18"),
                MlDsaLevel::Level5 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.19"),
            },
        }
    }

    /// The `AlgorithmIdentifier` (RFC 5280 §4.1.1.2) with the parameters the table in the
    /// module documentation gives.
    pub fn algorithm_identifier(self) -> Result<AlgorithmIdentifierOwned, Error> {
        let parameters = match self {
            Self::RsaPkcs1v15(h) if !h.is_sha3() => Some(Any::null()),
            Self::RsaPss(h) => {
                Some(Any::encode_from(&RsassaPssParams::for_hash(h)?).map_err(|e| pss_error(&e))?)
            }
            _ => None,
        };
        Ok(AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters,
        })
    }

    /// The DER encoding of [`Self::algorithm_identifier`].
    pub fn to_der(self) -> Result<Vec<u8>, Error> {
        self.algorithm_identifier()?
            .to_der()
            .map_err(|e| Error::Parameters {
                algorithm: "AlgorithmIdentifier",
                reason: e.to_string(),
            })
    }

    /// The algorithm an `AlgorithmIdentifier` names, checking its parameters.
    pub fn from_algorithm_identifier(id: &AlgorithmIdentifierOwned) -> Result<Self, Error> {
        if id.oid == RSASSA_PSS {
            let params = id.parameters.as_ref().ok_or_else(|| Error::Parameters {
                algorithm: "RSASSA-PSS",
                reason: "parameters are required".into(),
            })?;
            let params: RsassaPssParams = params.decode_as().map_err(|e| pss_error(&e))?;
            return params.hash().map(Self::RsaPss);
        }
        let found = Self::all()
            .filter(|a| !matches!(a, Self::RsaPss(_)))
            .find(|a| a.oid() == id.oid)
            .ok_or(Error::UnknownOid {
                kind: "signature algorithm",
                oid: id.oid,
            })?;
        let null_allowed = matches!(found, Self::RsaPkcs1v15(_));
        match &id.parameters {
            None => Ok(found),
            Some(p) if null_allowed && p.is_null() => Ok(found),
            Some(_) => Err(Error::Parameters {
                algorithm: "signature algorithm",
                reason: format!("{found} takes no parameters"),
            }),
        }
    }

    /// The algorithm a DER `AlgorithmIdentifier` names.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let id = AlgorithmIdentifierOwned::from_der(der).map_err(|e| Error::Parameters {
            algorithm: "AlgorithmIdentifier",
            reason: e.to_string(),
        })?;
        Self::from_algorithm_identifier(&id)
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RsaPkcs1v15(h) => write!(f, "RSA PKCS#1 v1.5 with {h}"),
            Self::RsaPss(h) => write!(f, "RSASSA-PSS with {h}"),
            Self::Ecdsa(h) => write!(f, "ECDSA with {h}"),
            Self::MlDsa(l) => write!(f, "{l}"),
        }
    }
}

fn pss_error(e: &der::Error) -> Error {
    Error::Parameters {
        algorithm: "RSASSA-PSS",
        reason: e.to_string(),
    }
}

/// `RSASSA-PSS-params` (RFC 8017 App. A.2.3, RFC 4055 §3.1):
///
/// ```text
/// RSASSA-PSS-params ::= SEQUENCE {
///     hashAlgorithm      [0] HashAlgorithm      DEFAULT sha1,
///     maskGenAlgorithm   [1] MaskGenAlgorithm   DEFAULT mgf1SHA1,
///     saltLength         [2] INTEGER            DEFAULT 20,
///     trailerField       [3] TrailerField       DEFAULT trailerFieldBC }
/// ```
///
/// SHA-1 is never used by `sam`, so the three first fields are always present; the trailer
/// field is left at its default (1), which DER omits.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct RsassaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

impl RsassaPssParams {
    fn hash_identifier(hash: HashAlgorithm) -> AlgorithmIdentifierOwned {
        // RFC 4055 §2.1 lets either NULL or absent parameters be generated; NULL is what
        // OpenSSL writes inside PSS parameters, so verifiers everywhere accept it.
        AlgorithmIdentifierOwned {
            oid: hash.oid(),
            parameters: Some(Any::null()),
        }
    }

    fn for_hash(hash: HashAlgorithm) -> Result<Self, Error> {
        let mgf1_hash =
            Any::encode_from(&Self::hash_identifier(hash)).map_err(|e| pss_error(&e))?;
        Ok(Self {
            hash_algorithm: Some(Self::hash_identifier(hash)),
            mask_gen_algorithm: Some(AlgorithmIdentifierOwned {
                oid: MGF1,
                parameters: Some(mgf1_hash),
            }),
            // At most 64: always fits.
            salt_length: Some(hash.output_len() as u32),
            trailer_field: None,
        })
    }

    /// The hash of the one parameter form `sam` accepts (see the struct documentation).
    fn hash(&self) -> Result<HashAlgorithm, Error> {
        let bad = |reason: &str| Error::Parameters {
            algorithm: "RSASSA-PSS",
            reason: reason.into(),
        };
        let hash_id = self
            .hash_algorithm
            .as_ref()
            .ok_or_else(|| bad("hashAlgorithm is absent (SHA-1 is not supported)"))?;
        let hash = HashAlgorithm::from_oid(&hash_id.oid)?;
        if hash_id.parameters.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(bad("hash parameters must be absent or NULL"));
        }
        let mgf = self
            .mask_gen_algorithm
            .as_ref()
            .ok_or_else(|| bad("maskGenAlgorithm is absent (MGF1 with SHA-1 is not supported)"))?;
        if mgf.oid != MGF1 {
            return Err(bad("maskGenAlgorithm is not MGF1"));
        }
        let mgf_hash: AlgorithmIdentifierOwned = mgf
            .parameters
            .as_ref()
            .ok_or_else(|| bad("MGF1 hash is absent"))?
            .decode_as()
            .map_err(|e| pss_error(&e))?;
        if mgf_hash.oid != hash.oid() {
            return Err(bad("MGF1 hash differs from the message hash"));
        }
        if self.salt_length != Some(hash.output_len() as u32) {
            return Err(bad("saltLength differs from the hash length"));
        }
        if self.trailer_field.is_some_and(|t| t != 1) {
            return Err(bad("trailerField is not 1"));
        }
        Ok(hash)
    }
}

/// A JWS `alg` value (RFC 7515 §4.1.1) that a JSON SAD may be signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(missing_docs)] // the variant names are the registered algorithm names
pub enum JwsAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    Es256K,
    MlDsa44,
    MlDsa65,
    MlDsa87,
}

impl JwsAlgorithm {
    /// Every JWS algorithm `sam` accepts.
    pub const ALL: [Self; 13] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::Es256K,
        Self::MlDsa44,
        Self::MlDsa65,
        Self::MlDsa87,
    ];

    /// The registered `alg` name (case-sensitive, RFC 7515 §4.1.1).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::Es256K => "ES256K",
            Self::MlDsa44 => "ML-DSA-44",
            Self::MlDsa65 => "ML-DSA-65",
            Self::MlDsa87 => "ML-DSA-87",
        }
    }

    /// The signature algorithm this name stands for.
    pub const fn signature_algorithm(self) -> SignatureAlgorithm {
        use HashAlgorithm as H;
        use SignatureAlgorithm as S;
        match self {
            Self::Rs256 => S::RsaPkcs1v15(H::Sha256),
            Self::Rs384 => S::RsaPkcs1v15(H::Sha384),
            Self::Rs512 => S::RsaPkcs1v15(H::Sha512),
            Self::Ps256 => S::RsaPss(H::Sha256),
            Self::Ps384 => S::RsaPss(H::Sha384),
            Self::Ps512 => S::RsaPss(H::Sha512),
            Self::Es256 | Self::Es256K => S::Ecdsa(H::Sha256),
            Self::Es384 => S::Ecdsa(H::Sha384),
            Self::Es512 => S::Ecdsa(H::Sha512),
            Self::MlDsa44 => S::MlDsa(MlDsaLevel::Level2),
            Self::MlDsa65 => S::MlDsa(MlDsaLevel::Level3),
            Self::MlDsa87 => S::MlDsa(MlDsaLevel::Level5),
        }
    }

    /// The curve an `ES*` algorithm is pinned to (RFC 7518 §3.4, RFC 8812 §3.2).
    pub const fn curve(self) -> Option<EcCurve> {
        match self {
            Self::Es256 => Some(EcCurve::P256),
            Self::Es384 => Some(EcCurve::P384),
            Self::Es512 => Some(EcCurve::P521),
            Self::Es256K => Some(EcCurve::Secp256k1),
            _ => None,
        }
    }

    /// The JWS algorithm for a key of `spec` signing with `hash` (and `padding`, for RSA), if
    /// JOSE has one. ECDSA names fix both curve and hash; ML-DSA ignores `hash`.
    pub fn for_key(spec: KeySpec, hash: HashAlgorithm, padding: RsaPadding) -> Option<Self> {
        let wanted = SignatureAlgorithm::for_key(spec, hash, padding);
        Self::ALL.into_iter().find(|j| {
            j.signature_algorithm() == wanted
                && match spec {
                    KeySpec::Ecdsa(curve) => j.curve() == Some(curve),
                    _ => true,
                }
        })
    }

    /// Whether a key of `spec` can verify (or produce) a signature of this algorithm.
    pub fn fits_key(self, spec: KeySpec) -> bool {
        let sig = self.signature_algorithm();
        match spec {
            KeySpec::Ecdsa(curve) => self.curve() == Some(curve),
            KeySpec::MlDsa(level) => sig == SignatureAlgorithm::MlDsa(level),
            KeySpec::Rsa(_) => sig.key_algorithm() == KeyAlgorithm::Rsa,
        }
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JwsAlgorithm {
    type Err = Error;

    /// Exact, case-sensitive match of a registered name; `none` and anything else is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|j| j.name() == s)
            .ok_or_else(|| Error::UnknownName {
                kind: "JWS algorithm",
                name: s.chars().take(32).collect(),
                expected: "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, \
                           ES256K, ML-DSA-44, ML-DSA-65, ML-DSA-87",
            })
    }
}

impl Serialize for JwsAlgorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for JwsAlgorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::RsaKeySize;
    use hex_literal::hex;

    #[test]
    fn every_algorithm_round_trips_through_der() {
        let mut oids = std::collections::HashSet::new();
        for alg in SignatureAlgorithm::all() {
            let der = alg.to_der().unwrap();
            assert_eq!(SignatureAlgorithm::from_der(&der).unwrap(), alg, "{alg}");
            if !matches!(alg, SignatureAlgorithm::RsaPss(_)) {
                assert!(oids.insert(alg.oid()), "duplicate OID for {alg}");
            }
        }
    }

    #[test]
    fn encodings_match_the_rfcs_byte_for_byte() {
        // sha256WithRSAEncryption with NULL parameters (RFC 4055 §5).
        assert_eq!(
            SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256)
                .to_der()
                .unwrap(),
            hex!("300d06092a864886f70d01010b0500")
        );
        // ecdsa-with-SHA256 with absent parameters (RFC 5758 §3.2).
        assert_eq!(
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256)
                .to_der()
                .unwrap(),
            hex!("300a06082a8648ce3d040302")
        );
        // id-ml-dsa-65 with absent parameters (RFC 9881 §2).
        assert_eq!(
            SignatureAlgorithm::MlDsa(MlDsaLevel::Level3)
                .to_der()
                .unwrap(),
            hex!("300b0609608648016503040312")
        );
        // RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32: byte for byte what OpenSSL 3.0 writes
        // for `openssl req -x509 -sha256 -sigopt rsa_padding_mode:pss
        // -sigopt rsa_pss_saltlen:digest`.
        assert_eq!(
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256)
                .to_der()
                .unwrap(),
            hex!(
                "304106092a864886f70d01010a3034a00f300d06096086480165030402010500"
                "a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120"
            )
        );
    }

    #[test]
    fn null_or_absent_parameters_are_accepted_where_rfc_4055_says_so() {
        // sha256WithRSAEncryption without parameters.
        assert_eq!(
            SignatureAlgorithm::from_der(&hex!("300b06092a864886f70d01010b")).unwrap(),
            SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256)
        );
        // ecdsa-with-SHA256 with a NULL parameter is refused (RFC 5758: MUST omit).
        assert!(SignatureAlgorithm::from_der(&hex!("300c06082a8648ce3d0403020500")).is_err());
    }

    #[test]
    fn foreign_pss_parameters_are_refused() {
        // PSS with all defaults (SHA-1, MGF1-SHA-1, salt 20).
        assert!(SignatureAlgorithm::from_der(&hex!("300f06092a864886f70d01010a3002")).is_err());
        // PSS without parameters.
        assert!(SignatureAlgorithm::from_der(&hex!("300b06092a864886f70d01010a")).is_err());
        // SHA-256 but salt 20.
        let mut der = SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256)
            .to_der()
            .unwrap();
        let n = der.len();
        der[n - 1] = 20;
        let err = SignatureAlgorithm::from_der(&der).unwrap_err();
        assert!(err.to_string().contains("saltLength"), "{err}");
        // Truncated and garbage input give errors, not panics.
        for cut in 0..der.len() {
            assert!(SignatureAlgorithm::from_der(&der[..cut]).is_err());
        }
    }

    #[test]
    fn jws_names() {
        for j in JwsAlgorithm::ALL {
            assert_eq!(j.name().parse::<JwsAlgorithm>().unwrap(), j);
            let json = serde_json::to_string(&j).unwrap();
            assert_eq!(serde_json::from_str::<JwsAlgorithm>(&json).unwrap(), j);
        }
        for refused in ["none", "None", "HS256", "es256", "EdDSA", ""] {
            assert!(refused.parse::<JwsAlgorithm>().is_err(), "{refused}");
        }
        use HashAlgorithm as H;
        let p256 = KeySpec::Ecdsa(EcCurve::P256);
        let rsa = KeySpec::Rsa(RsaKeySize::Bits3072);
        assert_eq!(
            JwsAlgorithm::for_key(p256, H::Sha256, RsaPadding::Pkcs1v15),
            Some(JwsAlgorithm::Es256)
        );
        assert_eq!(
            JwsAlgorithm::for_key(p256, H::Sha384, RsaPadding::Pkcs1v15),
            None
        );
        assert_eq!(
            JwsAlgorithm::for_key(KeySpec::Ecdsa(EcCurve::P521), H::Sha512, RsaPadding::Pss),
            Some(JwsAlgorithm::Es512)
        );
        assert_eq!(
            JwsAlgorithm::for_key(
                KeySpec::Ecdsa(EcCurve::Secp256k1),
                H::Sha256,
                RsaPadding::Pss
            ),
            Some(JwsAlgorithm::Es256K)
        );
        assert_eq!(
            JwsAlgorithm::for_key(
                KeySpec::Ecdsa(EcCurve::BrainpoolP256r1),
                H::Sha256,
                RsaPadding::Pkcs1v15
            ),
            None
        );
        assert_eq!(
            JwsAlgorithm::for_key(rsa, H::Sha384, RsaPadding::Pss),
            Some(JwsAlgorithm::Ps384)
        );
        assert_eq!(JwsAlgorithm::for_key(rsa, H::Sha224, RsaPadding::Pss), None);
        assert_eq!(
            JwsAlgorithm::for_key(
                KeySpec::MlDsa(MlDsaLevel::Level5),
                H::Sha256,
                RsaPadding::Pss
            ),
            Some(JwsAlgorithm::MlDsa87)
        );
        assert!(JwsAlgorithm::Es256.fits_key(p256));
        assert!(!JwsAlgorithm::Es384.fits_key(p256));
        assert!(!JwsAlgorithm::Rs256.fits_key(p256));
        assert!(JwsAlgorithm::Ps512.fits_key(rsa));
        assert!(!JwsAlgorithm::MlDsa44.fits_key(KeySpec::MlDsa(MlDsaLevel::Level3)));
    }

    #[test]
    fn for_key_respects_padding_only_for_rsa() {
        let rsa = KeySpec::Rsa(RsaKeySize::Bits2048);
        assert_eq!(
            SignatureAlgorithm::for_key(rsa, HashAlgorithm::Sha3_256, RsaPadding::Pss),
            SignatureAlgorithm::RsaPss(HashAlgorithm::Sha3_256)
        );
        let ml = KeySpec::MlDsa(MlDsaLevel::Level2);
        assert_eq!(
            SignatureAlgorithm::for_key(ml, HashAlgorithm::Sha512, RsaPadding::Pkcs1v15),
            SignatureAlgorithm::MlDsa(MlDsaLevel::Level2)
        );
    }

    proptest::proptest! {
        /// The fuzz harness of `fuzz/fuzz_targets/algorithm_identifier.rs`, on stable.
        #[test]
        fn from_der_is_total(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..96)) {
            if let Ok(alg) = SignatureAlgorithm::from_der(&bytes) {
                let der = alg.to_der().unwrap();
                proptest::prop_assert_eq!(SignatureAlgorithm::from_der(&der).unwrap(), alg);
            }
        }

        /// Single-byte changes to every valid encoding decode to an algorithm or an error.
        #[test]
        fn mutated_identifiers_never_panic(index in 0usize..128, byte in proptest::num::u8::ANY, pick in 0usize..40) {
            let all: Vec<_> = SignatureAlgorithm::all().collect();
            let mut der = all[pick % all.len()].to_der().unwrap();
            let i = index % der.len();
            der[i] = byte;
            let _ = SignatureAlgorithm::from_der(&der);
        }
    }
}
