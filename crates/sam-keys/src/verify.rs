//! Signature verification with the RustCrypto crates, for every spec the software token
//! holds: RSA PKCS #1 v1.5 and PSS (RFC 8017 §8), ECDSA over a digest (FIPS 186-5), and pure
//! ML-DSA with an empty context (FIPS 204 Algorithm 3).
//!
//! [`verify_ecdsa_message`] verifies ECDSA over a message (a SAD's signed bytes): P-256 with
//! SHA-256 and P-384 with SHA-384 — ES256 and ES384, what devices sign — with *ring*'s
//! assembly (about 2.5 times RustCrypto's speed here, docs/performance.md; verification handles
//! nothing secret), every other pair with RustCrypto over the message's digest. Both accept
//! exactly the same signatures (a property test holds them to it).

use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, MlDsaParams};
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaPadding};
use signature::hazmat::PrehashVerifier;
use spki::DecodePublicKey;

use crate::Input;
use crate::error::KeyError;

/// The spec of a public key, from its DER `SubjectPublicKeyInfo`: RSA of an allowed size,
/// ECDSA on a known named curve, or ML-DSA.
pub fn public_key_spec(spki_der: &[u8]) -> Result<KeySpec, KeyError> {
    use der::Decode;
    use sam_algorithms::signature::{EC_PUBLIC_KEY, RSA_ENCRYPTION};
    use sam_algorithms::{RsaKeySize, SignatureAlgorithm};
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(key_error)?;
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        let key = RsaPublicKey::from_public_key_der(spki_der).map_err(key_error)?;
        let bits = rsa::traits::PublicKeyParts::size(&key) * 8;
        let bits = u32::try_from(bits).map_err(key_error)?;
        return RsaKeySize::from_bits(bits)
            .map(KeySpec::Rsa)
            .map_err(|e| KeyError::Input(e.to_string()));
    }
    if oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters_oid()
            .map_err(|_| KeyError::Input("an EC key without a named curve".into()))?;
        return EcCurve::from_oid(&curve)
            .map(KeySpec::Ecdsa)
            .map_err(|e| KeyError::Input(e.to_string()));
    }
    MlDsaLevel::ALL
        .into_iter()
        .find(|l| SignatureAlgorithm::MlDsa(*l).oid() == oid)
        .map(KeySpec::MlDsa)
        .ok_or_else(|| KeyError::Input(format!("unknown public key algorithm {oid}")))
}

fn bad(e: impl ToString) -> KeyError {
    KeyError::BadSignature(e.to_string())
}

fn key_error(e: impl ToString) -> KeyError {
    KeyError::crypto("public key decoding", e)
}

/// Verifies `signature` over `input` under the public key `spki_der` of `spec`.
pub fn verify(
    spki_der: &[u8],
    spec: KeySpec,
    padding: RsaPadding,
    input: &Input<'_>,
    signature: &[u8],
) -> Result<(), KeyError> {
    match spec {
        KeySpec::Rsa(_) => {
            let Input::Digest(digest) = input else {
                return Err(KeyError::Input(
                    "RSA keys sign digests, not messages".into(),
                ));
            };
            let key = RsaPublicKey::from_public_key_der(spki_der).map_err(key_error)?;
            verify_rsa(
                &key,
                padding,
                digest.algorithm(),
                digest.as_bytes(),
                signature,
            )
        }
        KeySpec::Ecdsa(curve) => {
            let Input::Digest(digest) = input else {
                return Err(KeyError::Input(
                    "ECDSA keys sign digests, not messages".into(),
                ));
            };
            verify_ecdsa(curve, spki_der, digest.as_bytes(), signature)
        }
        KeySpec::MlDsa(level) => {
            let message = match input {
                Input::Digest(d) => d.as_bytes(),
                Input::Message(data) => data,
            };
            match level {
                MlDsaLevel::Level2 => verify_ml_dsa::<MlDsa44>(spki_der, message, signature),
                MlDsaLevel::Level3 => verify_ml_dsa::<MlDsa65>(spki_der, message, signature),
                MlDsaLevel::Level5 => verify_ml_dsa::<MlDsa87>(spki_der, message, signature),
                _ => Err(KeyError::Input(format!("{level} is not supported"))),
            }
        }
        _ => Err(KeyError::Input(format!("{spec} is not supported"))),
    }
}

/// Verifies an ECDSA `signature` (DER `ECDSA-Sig-Value`) over `message` hashed with `hash`
/// by the key in `spki_der`, on `curve` (see the module documentation for who verifies).
pub fn verify_ecdsa_message(
    spki_der: &[u8],
    curve: EcCurve,
    hash: HashAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    let algorithm: &'static ring::signature::EcdsaVerificationAlgorithm = match (curve, hash) {
        (EcCurve::P256, HashAlgorithm::Sha256) => &ring::signature::ECDSA_P256_SHA256_ASN1,
        (EcCurve::P384, HashAlgorithm::Sha384) => &ring::signature::ECDSA_P384_SHA384_ASN1,
        _ => return verify_ecdsa(curve, spki_der, hash.digest(message).as_bytes(), signature),
    };
    match uncompressed_point(spki_der, curve) {
        Some(point) => ring::signature::UnparsedPublicKey::new(algorithm, point)
            .verify(message, signature)
            .map_err(|_| KeyError::BadSignature("the ECDSA signature does not verify".into())),
        // Compressed points, and whatever is not a key on `curve`: RustCrypto decides (and
        // names what is wrong).
        None => verify_ecdsa(curve, spki_der, hash.digest(message).as_bytes(), signature),
    }
}

/// The uncompressed SEC1 point of an EC key on `curve`, if `spki_der` is one.
fn uncompressed_point(spki_der: &[u8], curve: EcCurve) -> Option<&[u8]> {
    use der::Decode;
    use sam_algorithms::signature::EC_PUBLIC_KEY;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    if spki.algorithm.oid != EC_PUBLIC_KEY
        || EcCurve::from_oid(&spki.algorithm.parameters_oid().ok()?).ok()? != curve
    {
        return None;
    }
    let point = spki.subject_public_key.as_bytes()?;
    let coordinate = usize::try_from(curve.bits().div_ceil(8)).ok()?;
    (point.len() == 1 + 2 * coordinate && point.first() == Some(&0x04)).then_some(point)
}

fn verify_rsa(
    key: &RsaPublicKey,
    padding: RsaPadding,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    macro_rules! by_hash {
        ($make:ident) => {
            match hash {
                HashAlgorithm::Sha224 => key.verify($make::<sha2::Sha224>(), digest, signature),
                HashAlgorithm::Sha256 => key.verify($make::<sha2::Sha256>(), digest, signature),
                HashAlgorithm::Sha384 => key.verify($make::<sha2::Sha384>(), digest, signature),
                HashAlgorithm::Sha512 => key.verify($make::<sha2::Sha512>(), digest, signature),
                HashAlgorithm::Sha3_224 => key.verify($make::<sha3::Sha3_224>(), digest, signature),
                HashAlgorithm::Sha3_256 => key.verify($make::<sha3::Sha3_256>(), digest, signature),
                HashAlgorithm::Sha3_384 => key.verify($make::<sha3::Sha3_384>(), digest, signature),
                HashAlgorithm::Sha3_512 => key.verify($make::<sha3::Sha3_512>(), digest, signature),
                _ => return Err(KeyError::Input(format!("{hash} is not supported for RSA"))),
            }
        };
    }
    fn pkcs1<D: sha2::Digest + const_oid::AssociatedOid>() -> Pkcs1v15Sign {
        Pkcs1v15Sign::new::<D>()
    }
    fn pss<D: sha2::Digest + sha2::digest::FixedOutputReset + 'static>() -> Pss<D> {
        Pss::<D>::new()
    }
    let result = match padding {
        RsaPadding::Pkcs1v15 => by_hash!(pkcs1),
        RsaPadding::Pss => by_hash!(pss),
        _ => {
            return Err(KeyError::Input(format!(
                "padding {padding} is not supported"
            )));
        }
    };
    result.map_err(bad)
}

fn verify_ecdsa(
    curve: EcCurve,
    spki_der: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    // Standard ECDSA (FIPS 186-5, X.509, CMS) accepts both (r, s) and (r, n - s); `k256`
    // alone insists on the low s (a Bitcoin rule), which HSMs do not follow. So signatures
    // are normalised first, which is harmless on every curve: both forms verify alike.
    macro_rules! check {
        ($curve:ty) => {{
            let key =
                ecdsa::VerifyingKey::<$curve>::from_public_key_der(spki_der).map_err(key_error)?;
            let sig = ecdsa::Signature::<$curve>::from_der(signature).map_err(bad)?;
            key.verify_prehash(digest, &sig.normalize_s()).map_err(bad)
        }};
    }
    match curve {
        EcCurve::P256 => check!(p256::NistP256),
        EcCurve::P224 => check!(p224::NistP224),
        EcCurve::P384 => check!(p384::NistP384),
        EcCurve::P521 => check!(p521::NistP521),
        EcCurve::Secp256k1 => check!(k256::Secp256k1),
        EcCurve::BrainpoolP256r1 => check!(bp256::BrainpoolP256r1),
        EcCurve::BrainpoolP384r1 => check!(bp384::BrainpoolP384r1),
        EcCurve::BrainpoolP256t1 => check!(bp256::BrainpoolP256t1),
        EcCurve::BrainpoolP384t1 => check!(bp384::BrainpoolP384t1),
        other => Err(KeyError::Input(format!(
            "no RustCrypto verifier for {other}; verify with OpenSSL"
        ))),
    }
}

fn verify_ml_dsa<P: MlDsaParams>(
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), KeyError>
where
    ml_dsa::VerifyingKey<P>: DecodePublicKey,
{
    let key = ml_dsa::VerifyingKey::<P>::from_public_key_der(spki_der).map_err(key_error)?;
    let encoded = ml_dsa::EncodedSignature::<P>::try_from(signature)
        .map_err(|_| bad("wrong ML-DSA signature length"))?;
    let sig = ml_dsa::Signature::<P>::decode(&encoded)
        .ok_or_else(|| bad("malformed ML-DSA signature"))?;
    if key.verify_with_context(message, &[], &sig) {
        Ok(())
    } else {
        Err(bad("ML-DSA verification failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sam_algorithms::{EcCurve, HashAlgorithm};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A secp256k1 signature with a high s, as SoftHSM2 (OpenSSL) produces half the time,
    /// over SHA-256("m0"): valid ECDSA, and accepted by OpenSSL.
    #[test]
    fn high_s_secp256k1_signatures_from_an_hsm_verify() {
        let spki = hex(
            "3056301006072a8648ce3d020106052b8104000a0342000444777d4aede2aacd140090751e4407f1\
             5710fc54f5adfb383e7776fa419c55dc344f1d30cc9e2a4a0a240cb65bd3013b022150a05e5cafe9\
             59cb46fcb96a6583",
        );
        let sig = hex(
            "3046022100c87857d3e53ed6327c02554b37a8bb86f7c76b30489ba6b466daee973a3ea739022100\
             c0f71726b5af1ff4017f062ab17906dfa419c8cbc9bf4539bd1c5daab865e0f3",
        );
        let digest = Input::Digest(HashAlgorithm::Sha256.digest(b"m0"));
        let spec = KeySpec::Ecdsa(EcCurve::Secp256k1);
        verify(&spki, spec, RsaPadding::Pkcs1v15, &digest, &sig).unwrap();
        let other = Input::Digest(HashAlgorithm::Sha256.digest(b"m1"));
        assert!(verify(&spki, spec, RsaPadding::Pkcs1v15, &other, &sig).is_err());
    }

    /// Who verifies an ES256/ES384 message — *ring*, or RustCrypto over its digest — must not
    /// change what is accepted: valid signatures (also with the high s), a flipped byte of the
    /// signature or of the message, and garbage, on P-256 and P-384.
    mod ring_and_rustcrypto_agree {
        use super::super::*;
        use crate::SigningKey;
        use proptest::prelude::*;

        fn both(
            spki: &[u8],
            curve: EcCurve,
            hash: HashAlgorithm,
            message: &[u8],
            signature: &[u8],
        ) -> (bool, bool) {
            (
                verify_ecdsa_message(spki, curve, hash, message, signature).is_ok(),
                verify_ecdsa(curve, spki, hash.digest(message).as_bytes(), signature).is_ok(),
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn on_valid_tampered_and_random_signatures(
                message in proptest::collection::vec(any::<u8>(), 0..200),
                p384 in any::<bool>(),
                at in any::<usize>(),
                bit in 0u8..8,
                garbage in proptest::collection::vec(any::<u8>(), 0..110),
            ) {
                let (curve, hash) = if p384 {
                    (EcCurve::P384, HashAlgorithm::Sha384)
                } else {
                    (EcCurve::P256, HashAlgorithm::Sha256)
                };
                let key = SigningKey::generate(KeySpec::Ecdsa(curve)).unwrap();
                let spki = key.public_key_der().unwrap();
                let signature = key
                    .sign(RsaPadding::Pkcs1v15, &Input::Digest(hash.digest(&message)))
                    .unwrap();
                prop_assert_eq!(both(&spki, curve, hash, &message, &signature), (true, true));

                let mut flipped = signature.clone();
                let i = at % flipped.len();
                flipped[i] ^= 1 << bit;
                let (a, b) = both(&spki, curve, hash, &message, &flipped);
                prop_assert_eq!(a, b);
                prop_assert!(!a, "a flipped signature verified");

                let mut other = message.clone();
                other.push(0x5a);
                prop_assert_eq!(both(&spki, curve, hash, &other, &signature), (false, false));

                let (a, b) = both(&spki, curve, hash, &message, &garbage);
                prop_assert_eq!(a, b);
                prop_assert!(!a);
            }
        }

        #[test]
        fn a_high_s_p256_signature_verifies_with_both() {
            let message = b"a SAD";
            let key = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
            let spki = key.public_key_der().unwrap();
            let der = key
                .sign(
                    RsaPadding::Pkcs1v15,
                    &Input::Digest(HashAlgorithm::Sha256.digest(message)),
                )
                .unwrap();
            let low = p256::ecdsa::Signature::from_der(&der).unwrap();
            let (r, s) = low.split_scalars();
            let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
            for sig in [low, high] {
                let der = sig.to_der();
                assert_eq!(
                    both(
                        &spki,
                        EcCurve::P256,
                        HashAlgorithm::Sha256,
                        message,
                        der.as_bytes()
                    ),
                    (true, true)
                );
            }
        }

        #[test]
        fn a_key_of_another_curve_or_kind_is_refused() {
            let p384 = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P384)).unwrap();
            let spki = p384.public_key_der().unwrap();
            let der = p384
                .sign(
                    RsaPadding::Pkcs1v15,
                    &Input::Digest(HashAlgorithm::Sha256.digest(b"m")),
                )
                .unwrap();
            // A P-384 key named as P-256: no point of P-256 in it, and RustCrypto refuses.
            assert!(
                verify_ecdsa_message(&spki, EcCurve::P256, HashAlgorithm::Sha256, b"m", &der)
                    .is_err()
            );
            assert!(uncompressed_point(&spki, EcCurve::P256).is_none());
            assert!(uncompressed_point(&spki, EcCurve::P384).is_some());
        }
    }
}
