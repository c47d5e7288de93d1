//! Software private keys over the pinned RustCrypto crates: generation, PKCS#8 (RFC 5958)
//! encoding, and signing.
//!
//! - RSA: RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017 §8), blinded (`rsa` 0.10 release
//!   candidate; RUSTSEC-2023-0071 concerns decryption, which `sam` never does).
//! - ECDSA: FIPS 186-5 with RFC 6979 deterministic nonces, over the digest (prehash), DER
//!   `ECDSA-Sig-Value` output (RFC 5480 §2.2 / RFC 3279 §2.2.3).
//! - ML-DSA: FIPS 204 hedged signing (Algorithm 2 with fresh randomness), empty context.
//!
//! Every key type zeroizes its secret on drop (the crates implement `ZeroizeOnDrop`); the
//! PKCS#8 encodings are `Zeroizing`.

use ecdsa::elliptic_curve::Generate;
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::UnwrapErr;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding};
use signature::Keypair;
use signature::hazmat::PrehashSigner;
use spki::EncodePublicKey;
use zeroize::Zeroizing;

use crate::Input;
use crate::error::KeyError;

/// Every spec available in software: all of seed 001's but the 224/320/512-bit Brainpool
/// curves (no RustCrypto crate), which PKCS#11 tokens serve.
pub fn software_specs() -> Vec<KeySpec> {
    KeySpec::all()
        .filter(|spec| match spec {
            KeySpec::Ecdsa(curve) => matches!(
                curve,
                EcCurve::P224
                    | EcCurve::P256
                    | EcCurve::P384
                    | EcCurve::P521
                    | EcCurve::Secp256k1
                    | EcCurve::BrainpoolP256r1
                    | EcCurve::BrainpoolP384r1
                    | EcCurve::BrainpoolP256t1
                    | EcCurve::BrainpoolP384t1
            ),
            _ => true,
        })
        .collect()
}

/// The operating system's RNG, as the infallible RNG the crates ask for. A failing system
/// RNG leaves no safe way to go on, so `UnwrapErr` turning its error into a panic is the
/// intended behaviour (as inside the `rsa` crate's own default-RNG paths).
fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

/// A software private key of any spec in [`software_specs`]. Its secret is zeroized on drop
/// and never shown by `Debug`.
pub struct SigningKey(Inner);

enum Inner {
    Rsa(Box<RsaPrivateKey>),
    P224(p224::ecdsa::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
    Bp256r1(ecdsa::SigningKey<bp256::BrainpoolP256r1>),
    Bp384r1(ecdsa::SigningKey<bp384::BrainpoolP384r1>),
    Bp256t1(ecdsa::SigningKey<bp256::BrainpoolP256t1>),
    Bp384t1(ecdsa::SigningKey<bp384::BrainpoolP384t1>),
    MlDsa44(Box<ml_dsa::SigningKey<MlDsa44>>),
    MlDsa65(Box<ml_dsa::SigningKey<MlDsa65>>),
    MlDsa87(Box<ml_dsa::SigningKey<MlDsa87>>),
}

/// Applies `$body` to the ECDSA signing key inside `$key`, whatever its curve.
macro_rules! with_ecdsa {
    ($key:expr, $k:ident => $body:expr, else $other:expr) => {
        match $key {
            Inner::P224($k) => $body,
            Inner::P256($k) => $body,
            Inner::P384($k) => $body,
            Inner::P521($k) => $body,
            Inner::K256($k) => $body,
            Inner::Bp256r1($k) => $body,
            Inner::Bp384r1($k) => $body,
            Inner::Bp256t1($k) => $body,
            Inner::Bp384t1($k) => $body,
            _ => $other,
        }
    };
}

fn ml_dsa_seed() -> Result<ml_dsa::Seed, KeyError> {
    let mut seed = ml_dsa::Seed::default();
    getrandom::fill(seed.as_mut_slice()).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(seed)
}

impl Inner {
    fn generate(spec: KeySpec) -> Result<Self, KeyError> {
        let mut rng = rng();
        Ok(match spec {
            KeySpec::Rsa(size) => Self::Rsa(Box::new(
                RsaPrivateKey::new(&mut rng, size.bits() as usize)
                    .map_err(|e| KeyError::crypto("RSA key generation", e))?,
            )),
            KeySpec::Ecdsa(EcCurve::P224) => {
                Self::P224(p224::ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::P256) => {
                Self::P256(p256::ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::P384) => {
                Self::P384(p384::ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::P521) => {
                Self::P521(p521::ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::Secp256k1) => {
                Self::K256(k256::ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP256r1) => {
                Self::Bp256r1(ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP384r1) => {
                Self::Bp384r1(ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP256t1) => {
                Self::Bp256t1(ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP384t1) => {
                Self::Bp384t1(ecdsa::SigningKey::generate_from_rng(&mut rng))
            }
            KeySpec::MlDsa(MlDsaLevel::Level2) => {
                Self::MlDsa44(Box::new(ml_dsa::SigningKey::from_seed(&ml_dsa_seed()?)))
            }
            KeySpec::MlDsa(MlDsaLevel::Level3) => {
                Self::MlDsa65(Box::new(ml_dsa::SigningKey::from_seed(&ml_dsa_seed()?)))
            }
            KeySpec::MlDsa(MlDsaLevel::Level5) => {
                Self::MlDsa87(Box::new(ml_dsa::SigningKey::from_seed(&ml_dsa_seed()?)))
            }
            _ => return Err(KeyError::UnsupportedSpec { spec }),
        })
    }

    fn spec(&self) -> KeySpec {
        match self {
            Self::Rsa(k) => {
                let bits = rsa::traits::PublicKeyParts::n_bits_precision(k.as_ref());
                RsaKeySize::from_bits(bits).map_or(KeySpec::Rsa(RsaKeySize::Bits2048), KeySpec::Rsa)
            }
            Self::P224(_) => KeySpec::Ecdsa(EcCurve::P224),
            Self::P256(_) => KeySpec::Ecdsa(EcCurve::P256),
            Self::P384(_) => KeySpec::Ecdsa(EcCurve::P384),
            Self::P521(_) => KeySpec::Ecdsa(EcCurve::P521),
            Self::K256(_) => KeySpec::Ecdsa(EcCurve::Secp256k1),
            Self::Bp256r1(_) => KeySpec::Ecdsa(EcCurve::BrainpoolP256r1),
            Self::Bp384r1(_) => KeySpec::Ecdsa(EcCurve::BrainpoolP384r1),
            Self::Bp256t1(_) => KeySpec::Ecdsa(EcCurve::BrainpoolP256t1),
            Self::Bp384t1(_) => KeySpec::Ecdsa(EcCurve::BrainpoolP384t1),
            Self::MlDsa44(_) => KeySpec::MlDsa(MlDsaLevel::Level2),
            Self::MlDsa65(_) => KeySpec::MlDsa(MlDsaLevel::Level3),
            Self::MlDsa87(_) => KeySpec::MlDsa(MlDsaLevel::Level5),
        }
    }

    /// The PKCS#8 `OneAsymmetricKey` encoding (ML-DSA in its seed form, RFC 9881 §6).
    fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let doc = with_ecdsa!(self, k => k.to_pkcs8_der(), else match self {
            Self::Rsa(k) => k.to_pkcs8_der(),
            Self::MlDsa44(k) => k.to_pkcs8_der(),
            Self::MlDsa65(k) => k.to_pkcs8_der(),
            Self::MlDsa87(k) => k.to_pkcs8_der(),
            _ => return Err(KeyError::crypto("PKCS#8 encoding", "unknown key type")),
        })
        .map_err(|e| KeyError::crypto("PKCS#8 encoding", e))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key of `spec` from its PKCS#8 encoding.
    fn from_pkcs8_der(spec: KeySpec, der: &[u8]) -> Result<Self, KeyError> {
        let fail = |e: pkcs8::Error| KeyError::crypto("PKCS#8 decoding", e);
        Ok(match spec {
            KeySpec::Rsa(size) => {
                let key = RsaPrivateKey::from_pkcs8_der(der).map_err(fail)?;
                if rsa::traits::PublicKeyParts::n_bits_precision(&key) != size.bits() {
                    return Err(KeyError::crypto(
                        "PKCS#8 decoding",
                        "RSA modulus size differs from the spec",
                    ));
                }
                Self::Rsa(Box::new(key))
            }
            KeySpec::Ecdsa(EcCurve::P224) => {
                Self::P224(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::P256) => {
                Self::P256(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::P384) => {
                Self::P384(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::P521) => {
                Self::P521(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::Secp256k1) => {
                Self::K256(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP256r1) => {
                Self::Bp256r1(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP384r1) => {
                Self::Bp384r1(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP256t1) => {
                Self::Bp256t1(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::Ecdsa(EcCurve::BrainpoolP384t1) => {
                Self::Bp384t1(DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?)
            }
            KeySpec::MlDsa(MlDsaLevel::Level2) => Self::MlDsa44(Box::new(
                DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?,
            )),
            KeySpec::MlDsa(MlDsaLevel::Level3) => Self::MlDsa65(Box::new(
                DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?,
            )),
            KeySpec::MlDsa(MlDsaLevel::Level5) => Self::MlDsa87(Box::new(
                DecodePrivateKey::from_pkcs8_der(der).map_err(fail)?,
            )),
            _ => {
                return Err(KeyError::crypto(
                    "PKCS#8 decoding",
                    format!("{spec} is not a software key"),
                ));
            }
        })
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    fn public_key_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = with_ecdsa!(self, k => k.verifying_key().to_public_key_der(), else match self {
            Self::Rsa(k) => k.to_public_key().to_public_key_der(),
            Self::MlDsa44(k) => k.verifying_key().to_public_key_der(),
            Self::MlDsa65(k) => k.verifying_key().to_public_key_der(),
            Self::MlDsa87(k) => k.verifying_key().to_public_key_der(),
            _ => return Err(KeyError::crypto("public key encoding", "unknown key type")),
        })
        .map_err(|e| KeyError::crypto("public key encoding", e))?;
        Ok(doc.as_bytes().to_vec())
    }

    fn sign(&self, padding: RsaPadding, input: &Input<'_>) -> Result<Vec<u8>, KeyError> {
        let (digest, message) = match input {
            Input::Digest(d) => (Some((d.algorithm(), d.as_bytes())), None),
            Input::Message(m) => (None, Some(*m)),
        };
        if let Self::Rsa(key) = self {
            let (hash, prehash) = digest
                .ok_or_else(|| KeyError::Input("RSA keys sign digests, not messages".into()))?;
            return sign_rsa(key, padding, hash, prehash);
        }
        if let Some(msg) = message.or(digest.map(|(_, d)| d)) {
            let mut rng = rng();
            let ml = |r: Result<Vec<u8>, ml_dsa::Error>| {
                r.map_err(|e| KeyError::crypto("ML-DSA signing", e))
            };
            match self {
                Self::MlDsa44(k) => {
                    return ml(k
                        .expanded_key()
                        .sign_randomized(msg, &[], &mut rng)
                        .map(|s| s.encode().to_vec()));
                }
                Self::MlDsa65(k) => {
                    return ml(k
                        .expanded_key()
                        .sign_randomized(msg, &[], &mut rng)
                        .map(|s| s.encode().to_vec()));
                }
                Self::MlDsa87(k) => {
                    return ml(k
                        .expanded_key()
                        .sign_randomized(msg, &[], &mut rng)
                        .map(|s| s.encode().to_vec()));
                }
                _ => {}
            }
        }
        let (_, prehash) = digest
            .ok_or_else(|| KeyError::Input("ECDSA keys sign digests, not messages".into()))?;
        with_ecdsa!(self, k => {
            let sig: ecdsa::Signature<_> = k
                .sign_prehash(prehash)
                .map_err(|e| KeyError::crypto("ECDSA signing", e))?;
            Ok(sig.to_der().as_bytes().to_vec())
        }, else Err(KeyError::crypto("signing", "unknown key type")))
    }
}

fn sign_rsa(
    key: &RsaPrivateKey,
    padding: RsaPadding,
    hash: HashAlgorithm,
    prehash: &[u8],
) -> Result<Vec<u8>, KeyError> {
    macro_rules! by_hash {
        ($scheme:ident) => {
            match hash {
                HashAlgorithm::Sha224 => $scheme::<sha2::Sha224>(key, prehash),
                HashAlgorithm::Sha256 => $scheme::<sha2::Sha256>(key, prehash),
                HashAlgorithm::Sha384 => $scheme::<sha2::Sha384>(key, prehash),
                HashAlgorithm::Sha512 => $scheme::<sha2::Sha512>(key, prehash),
                HashAlgorithm::Sha3_224 => $scheme::<sha3::Sha3_224>(key, prehash),
                HashAlgorithm::Sha3_256 => $scheme::<sha3::Sha3_256>(key, prehash),
                HashAlgorithm::Sha3_384 => $scheme::<sha3::Sha3_384>(key, prehash),
                HashAlgorithm::Sha3_512 => $scheme::<sha3::Sha3_512>(key, prehash),
                _ => Err(KeyError::Input(format!("{hash} is not supported for RSA"))),
            }
        };
    }
    fn pkcs1<D: sha2::Digest + const_oid::AssociatedOid>(
        key: &RsaPrivateKey,
        prehash: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        key.sign_with_rng(&mut rng(), Pkcs1v15Sign::new::<D>(), prehash)
            .map_err(|e| KeyError::crypto("RSA PKCS#1 v1.5 signing", e))
    }
    fn pss<D: sha2::Digest + sha2::digest::FixedOutputReset + 'static>(
        key: &RsaPrivateKey,
        prehash: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        key.sign_with_rng(&mut rng(), Pss::<D>::new(), prehash)
            .map_err(|e| KeyError::crypto("RSASSA-PSS signing", e))
    }
    match padding {
        RsaPadding::Pkcs1v15 => by_hash!(pkcs1),
        RsaPadding::Pss => by_hash!(pss),
        _ => Err(KeyError::Input(format!(
            "padding {padding} is not supported"
        ))),
    }
}

impl SigningKey {
    /// A new random key of `spec` (one of [`software_specs`]).
    pub fn generate(spec: KeySpec) -> Result<Self, KeyError> {
        Inner::generate(spec).map(Self)
    }

    /// The spec of this key.
    pub fn spec(&self) -> KeySpec {
        self.0.spec()
    }

    /// The PKCS#8 `OneAsymmetricKey` encoding (ML-DSA in its seed form, RFC 9881 §6).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.0.to_pkcs8_der()
    }

    /// The key of `spec` from its PKCS#8 encoding; refuses an encoding of another spec.
    pub fn from_pkcs8_der(spec: KeySpec, der: &[u8]) -> Result<Self, KeyError> {
        Inner::from_pkcs8_der(spec, der).map(Self)
    }

    /// The public key as a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    pub fn public_key_der(&self) -> Result<Vec<u8>, KeyError> {
        self.0.public_key_der()
    }

    /// Signs `input`: a digest (RSA with `padding`, ECDSA as a prehash, ML-DSA its bytes as the
    /// message) or, for ML-DSA only, a message. Output: PKCS #1 for RSA, DER `ECDSA-Sig-Value`,
    /// the FIPS 204 encoding for ML-DSA.
    pub fn sign(&self, padding: RsaPadding, input: &Input<'_>) -> Result<Vec<u8>, KeyError> {
        self.0.sign(padding, input)
    }
}

impl SigningKey {
    /// The P-256 key with this 32-byte big-endian scalar (for fixed test vectors and imported
    /// keys); refuses zero and values not below the group order.
    pub fn from_p256_scalar(scalar: &[u8]) -> Result<Self, KeyError> {
        p256::ecdsa::SigningKey::from_slice(scalar)
            .map(|k| Self(Inner::P256(k)))
            .map_err(|e| KeyError::crypto("P-256 key from scalar", e))
    }

    /// The ML-DSA key of `level` derived from a 32-byte seed (FIPS 204 `ML-DSA.KeyGen_internal`).
    pub fn from_ml_dsa_seed(level: MlDsaLevel, seed: &[u8]) -> Result<Self, KeyError> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| KeyError::Input("an ML-DSA seed has 32 bytes".into()))?;
        let seed = ml_dsa::Seed::from(seed);
        Ok(Self(match level {
            MlDsaLevel::Level2 => Inner::MlDsa44(Box::new(ml_dsa::SigningKey::from_seed(&seed))),
            MlDsaLevel::Level3 => Inner::MlDsa65(Box::new(ml_dsa::SigningKey::from_seed(&seed))),
            MlDsaLevel::Level5 => Inner::MlDsa87(Box::new(ml_dsa::SigningKey::from_seed(&seed))),
            _ => {
                return Err(KeyError::UnsupportedSpec {
                    spec: KeySpec::MlDsa(level),
                });
            }
        }))
    }
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SigningKey({})", self.spec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify;

    #[test]
    fn every_software_spec_signs_and_verifies() {
        for spec in software_specs() {
            if matches!(spec, KeySpec::Rsa(size) if size.bits() > 2048) {
                continue; // larger RSA keys: sam-token's integration tests
            }
            let key = SigningKey::generate(spec).unwrap();
            assert_eq!(key.spec(), spec);
            assert_eq!(
                crate::public_key_spec(&key.public_key_der().unwrap()).unwrap(),
                spec
            );
            let input = Input::Digest(HashAlgorithm::Sha384.digest(b"document"));
            let sig = key.sign(RsaPadding::Pkcs1v15, &input).unwrap();
            let spki = key.public_key_der().unwrap();
            verify(&spki, spec, RsaPadding::Pkcs1v15, &input, &sig).unwrap();
            let other = Input::Digest(HashAlgorithm::Sha384.digest(b"other"));
            assert!(
                verify(&spki, spec, RsaPadding::Pkcs1v15, &other, &sig).is_err(),
                "{spec}"
            );
        }
    }

    #[test]
    fn pkcs8_round_trips_and_refuses_another_spec() {
        let key = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P384)).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let again = SigningKey::from_pkcs8_der(key.spec(), &der).unwrap();
        assert_eq!(
            again.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
        assert!(SigningKey::from_pkcs8_der(KeySpec::Ecdsa(EcCurve::P256), &der).is_err());
        assert!(SigningKey::from_pkcs8_der(KeySpec::MlDsa(MlDsaLevel::Level2), &der).is_err());
        assert!(SigningKey::from_pkcs8_der(key.spec(), &der[..der.len() - 1]).is_err());
    }

    #[test]
    fn unsupported_specs_and_debug() {
        let err = SigningKey::generate(KeySpec::Ecdsa(EcCurve::BrainpoolP224r1)).unwrap_err();
        assert_eq!(
            err,
            KeyError::UnsupportedSpec {
                spec: KeySpec::Ecdsa(EcCurve::BrainpoolP224r1)
            }
        );
        let key = SigningKey::generate(KeySpec::MlDsa(MlDsaLevel::Level2)).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(ML-DSA-44)");
        // ML-DSA signs messages; RSA and ECDSA refuse them.
        assert!(
            key.sign(RsaPadding::Pkcs1v15, &Input::Message(b"m"))
                .is_ok()
        );
        let ec = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        assert!(matches!(
            ec.sign(RsaPadding::Pkcs1v15, &Input::Message(b"m")),
            Err(KeyError::Input(_))
        ));
    }
}
