//! Software private keys over the pinned RustCrypto crates: generation, PKCS#8 (RFC 5958)
//! encoding for wrapping, and signing.
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
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaPadding};
use signature::Keypair;
use signature::hazmat::PrehashSigner;
use spki::EncodePublicKey;
use zeroize::Zeroizing;

use crate::error::TokenError;

/// Every spec the software token holds: all of seed 001's but P-224 (its crate is not
/// released in the pinned generation) and the 224/320/512-bit Brainpool curves (no RustCrypto
/// crate). Those are served by PKCS#11 tokens.
pub(crate) fn software_specs() -> Vec<KeySpec> {
    KeySpec::all()
        .filter(|spec| match spec {
            KeySpec::Ecdsa(curve) => matches!(
                curve,
                EcCurve::P256
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

/// A software private key of any supported spec.
pub(crate) enum PrivateKey {
    Rsa(Box<RsaPrivateKey>),
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
            PrivateKey::P256($k) => $body,
            PrivateKey::P384($k) => $body,
            PrivateKey::P521($k) => $body,
            PrivateKey::K256($k) => $body,
            PrivateKey::Bp256r1($k) => $body,
            PrivateKey::Bp384r1($k) => $body,
            PrivateKey::Bp256t1($k) => $body,
            PrivateKey::Bp384t1($k) => $body,
            _ => $other,
        }
    };
}

fn ml_dsa_seed() -> Result<ml_dsa::Seed, TokenError> {
    let mut seed = ml_dsa::Seed::default();
    getrandom::fill(seed.as_mut_slice()).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(seed)
}

impl PrivateKey {
    /// A new key of `spec`; `None` for specs the software token does not hold.
    pub(crate) fn generate(spec: KeySpec) -> Result<Option<Self>, TokenError> {
        let mut rng = rng();
        Ok(Some(match spec {
            KeySpec::Rsa(size) => Self::Rsa(Box::new(
                RsaPrivateKey::new(&mut rng, size.bits() as usize)
                    .map_err(|e| TokenError::crypto("RSA key generation", e))?,
            )),
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
            _ => return Ok(None),
        }))
    }

    /// The PKCS#8 `OneAsymmetricKey` encoding (ML-DSA in its seed form, RFC 9881 §6).
    pub(crate) fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let doc = with_ecdsa!(self, k => k.to_pkcs8_der(), else match self {
            Self::Rsa(k) => k.to_pkcs8_der(),
            Self::MlDsa44(k) => k.to_pkcs8_der(),
            Self::MlDsa65(k) => k.to_pkcs8_der(),
            Self::MlDsa87(k) => k.to_pkcs8_der(),
            _ => return Err(TokenError::crypto("PKCS#8 encoding", "unknown key type")),
        })
        .map_err(|e| TokenError::crypto("PKCS#8 encoding", e))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key of `spec` from its PKCS#8 encoding.
    pub(crate) fn from_pkcs8(spec: KeySpec, der: &[u8]) -> Result<Self, TokenError> {
        let fail = |e: pkcs8::Error| TokenError::crypto("PKCS#8 decoding", e);
        Ok(match spec {
            KeySpec::Rsa(size) => {
                let key = RsaPrivateKey::from_pkcs8_der(der).map_err(fail)?;
                if rsa::traits::PublicKeyParts::n_bits_precision(&key) != size.bits() {
                    return Err(TokenError::crypto(
                        "PKCS#8 decoding",
                        "RSA modulus size differs from the spec",
                    ));
                }
                Self::Rsa(Box::new(key))
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
                return Err(TokenError::crypto(
                    "PKCS#8 decoding",
                    format!("{spec} is not a software key"),
                ));
            }
        })
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, TokenError> {
        let doc = with_ecdsa!(self, k => k.verifying_key().to_public_key_der(), else match self {
            Self::Rsa(k) => k.to_public_key().to_public_key_der(),
            Self::MlDsa44(k) => k.verifying_key().to_public_key_der(),
            Self::MlDsa65(k) => k.verifying_key().to_public_key_der(),
            Self::MlDsa87(k) => k.verifying_key().to_public_key_der(),
            _ => return Err(TokenError::crypto("public key encoding", "unknown key type")),
        })
        .map_err(|e| TokenError::crypto("public key encoding", e))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Signs a digest (RSA, ECDSA: as a prehash; ML-DSA: its bytes as the message) or, for
    /// ML-DSA, a message.
    pub(crate) fn sign(
        &self,
        padding: RsaPadding,
        digest: Option<(HashAlgorithm, &[u8])>,
        message: Option<&[u8]>,
    ) -> Result<Vec<u8>, TokenError> {
        if let Self::Rsa(key) = self {
            let (hash, prehash) = digest
                .ok_or_else(|| TokenError::Input("RSA keys sign digests, not messages".into()))?;
            return sign_rsa(key, padding, hash, prehash);
        }
        if let Some(msg) = message.or(digest.map(|(_, d)| d)) {
            let mut rng = rng();
            let ml = |r: Result<Vec<u8>, ml_dsa::Error>| {
                r.map_err(|e| TokenError::crypto("ML-DSA signing", e))
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
            .ok_or_else(|| TokenError::Input("ECDSA keys sign digests, not messages".into()))?;
        with_ecdsa!(self, k => {
            let sig: ecdsa::Signature<_> = k
                .sign_prehash(prehash)
                .map_err(|e| TokenError::crypto("ECDSA signing", e))?;
            Ok(sig.to_der().as_bytes().to_vec())
        }, else Err(TokenError::crypto("signing", "unknown key type")))
    }
}

fn sign_rsa(
    key: &RsaPrivateKey,
    padding: RsaPadding,
    hash: HashAlgorithm,
    prehash: &[u8],
) -> Result<Vec<u8>, TokenError> {
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
                _ => Err(TokenError::Input(format!(
                    "{hash} is not supported for RSA"
                ))),
            }
        };
    }
    fn pkcs1<D: sha2::Digest + const_oid::AssociatedOid>(
        key: &RsaPrivateKey,
        prehash: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        key.sign_with_rng(&mut rng(), Pkcs1v15Sign::new::<D>(), prehash)
            .map_err(|e| TokenError::crypto("RSA PKCS#1 v1.5 signing", e))
    }
    fn pss<D: sha2::Digest + sha2::digest::FixedOutputReset + 'static>(
        key: &RsaPrivateKey,
        prehash: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        key.sign_with_rng(&mut rng(), Pss::<D>::new(), prehash)
            .map_err(|e| TokenError::crypto("RSASSA-PSS signing", e))
    }
    match padding {
        RsaPadding::Pkcs1v15 => by_hash!(pkcs1),
        RsaPadding::Pss => by_hash!(pss),
        _ => Err(TokenError::Input(format!(
            "padding {padding} is not supported"
        ))),
    }
}
