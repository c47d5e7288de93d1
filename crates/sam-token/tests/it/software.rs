//! The software token: every spec it holds signs, and two independent verifiers agree.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding};
use sam_token::{
    CryptoToken, KeyId, KeyLocation, MasterKey, SoftwareToken, ToBeSigned, verify::verify,
};

use crate::fixtures::{issuer, openssl_verify, python_verify_ml_dsa};

fn token() -> SoftwareToken {
    SoftwareToken::new("software", MasterKey::generate().unwrap())
}

/// Generates a key of `spec`, signs two digests of `hash` under one activation, and checks
/// both signatures with RustCrypto and with OpenSSL; a flipped signature fails both.
fn round_trip(
    token: &SoftwareToken,
    spec: KeySpec,
    hashes: &[HashAlgorithm],
    paddings: &[RsaPadding],
) {
    let key = token
        .generate(
            KeyId::new(format!("k-{}", spec.to_string().replace(' ', "-"))).unwrap(),
            spec,
            KeyLocation::Default,
        )
        .unwrap();
    for &hash in hashes {
        for &padding in paddings {
            let inputs = [
                ToBeSigned::Digest(hash.digest(b"document one")),
                ToBeSigned::Digest(hash.digest(b"document two")),
            ];
            let activation = issuer().activate(
                key.key_id.clone(),
                inputs.iter().map(ToBeSigned::digest).collect(),
            );
            let sigs = token.sign(&key, &activation, padding, &inputs).unwrap();
            assert_eq!(sigs.len(), 2);
            for (input, sig) in inputs.iter().zip(&sigs) {
                let what = format!("{spec} {hash} {padding}");
                verify(&key.public_key_der, spec, padding, input, sig)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(
                    openssl_verify(&key, padding, input, sig),
                    "openssl refused {what}"
                );
                let mut flipped = sig.clone();
                let last = flipped.len() - 1;
                flipped[last / 2] ^= 0x01;
                assert!(
                    verify(&key.public_key_der, spec, padding, input, &flipped).is_err(),
                    "{what}"
                );
                assert!(!openssl_verify(&key, padding, input, &flipped), "{what}");
            }
            // The two signatures are over different digests: swapping them fails.
            assert!(verify(&key.public_key_der, spec, padding, &inputs[0], &sigs[1]).is_err());
        }
    }
}

#[test]
fn rsa_2048_with_every_hash_and_both_paddings() {
    round_trip(
        &token(),
        KeySpec::Rsa(RsaKeySize::Bits2048),
        &HashAlgorithm::ALL,
        &[RsaPadding::Pkcs1v15, RsaPadding::Pss],
    );
}

#[test]
fn rsa_3072_and_4096() {
    let token = token();
    for size in [RsaKeySize::Bits3072, RsaKeySize::Bits4096] {
        round_trip(
            &token,
            KeySpec::Rsa(size),
            &[HashAlgorithm::Sha256, HashAlgorithm::Sha3_512],
            &[RsaPadding::Pkcs1v15, RsaPadding::Pss],
        );
    }
}

#[test]
fn rsa_8192() {
    round_trip(
        &token(),
        KeySpec::Rsa(RsaKeySize::Bits8192),
        &[HashAlgorithm::Sha512],
        &[RsaPadding::Pkcs1v15, RsaPadding::Pss],
    );
}

#[test]
fn every_software_ecdsa_curve_with_every_hash() {
    let token = token();
    let curves = [
        EcCurve::P224,
        EcCurve::P256,
        EcCurve::P384,
        EcCurve::P521,
        EcCurve::Secp256k1,
        EcCurve::BrainpoolP256r1,
        EcCurve::BrainpoolP384r1,
        EcCurve::BrainpoolP256t1,
        EcCurve::BrainpoolP384t1,
    ];
    for curve in curves {
        assert!(
            token.capabilities().supports(KeySpec::Ecdsa(curve)),
            "{curve}"
        );
        round_trip(
            &token,
            KeySpec::Ecdsa(curve),
            &HashAlgorithm::ALL,
            &[RsaPadding::Pkcs1v15],
        );
    }
}

#[test]
fn ml_dsa_at_every_level_verified_by_python_cryptography() {
    let token = token();
    for level in MlDsaLevel::ALL {
        let spec = KeySpec::MlDsa(level);
        let key = token
            .generate(
                KeyId::new(format!("ml-{}", level.level())).unwrap(),
                spec,
                KeyLocation::Default,
            )
            .unwrap();
        // A message (e.g. CMS signed attributes), authorised by its SHA-512 digest.
        let message = b"DER of the signed attributes".as_slice();
        let input = ToBeSigned::Message {
            data: message.into(),
            bound_by: HashAlgorithm::Sha512,
        };
        let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
        let sigs = token
            .sign(
                &key,
                &activation,
                RsaPadding::Pkcs1v15,
                std::slice::from_ref(&input),
            )
            .unwrap();
        verify(
            &key.public_key_der,
            spec,
            RsaPadding::Pkcs1v15,
            &input,
            &sigs[0],
        )
        .unwrap();
        assert!(python_verify_ml_dsa(&key, message, &sigs[0]), "{level}");
        assert!(
            !python_verify_ml_dsa(&key, b"another message", &sigs[0]),
            "{level}"
        );

        // Hedged: signing the same message twice gives two different valid signatures.
        let again = token
            .sign(
                &key,
                &activation,
                RsaPadding::Pkcs1v15,
                std::slice::from_ref(&input),
            )
            .unwrap();
        assert_ne!(again[0], sigs[0]);
        assert!(python_verify_ml_dsa(&key, message, &again[0]));

        // A digest input is signed as the message bytes of the digest.
        let digest = HashAlgorithm::Sha256.digest(b"document");
        let activation = issuer().activate(key.key_id.clone(), vec![digest]);
        let sig = token
            .sign(
                &key,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(digest)],
            )
            .unwrap();
        assert!(
            python_verify_ml_dsa(&key, digest.as_bytes(), &sig[0]),
            "{level}"
        );
    }
}

#[test]
fn specs_the_software_token_lacks_are_refused_with_a_pointer() {
    let token = token();
    for curve in [
        EcCurve::BrainpoolP224r1,
        EcCurve::BrainpoolP320r1,
        EcCurve::BrainpoolP512t1,
    ] {
        let spec = KeySpec::Ecdsa(curve);
        assert!(!token.capabilities().supports(spec));
        let err = token
            .generate(KeyId::new("x").unwrap(), spec, KeyLocation::Default)
            .unwrap_err();
        assert!(err.to_string().contains("PKCS#11"), "{err}");
    }
}

#[test]
fn public_keys_are_spki_der_that_openssl_reads() {
    let token = token();
    for spec in [
        KeySpec::Rsa(RsaKeySize::Bits2048),
        KeySpec::Ecdsa(EcCurve::BrainpoolP384t1),
        KeySpec::Ecdsa(EcCurve::Secp256k1),
    ] {
        let key = token
            .generate(KeyId::new("spki").unwrap(), spec, KeyLocation::Default)
            .unwrap();
        let dir = crate::fixtures::TempDir::new("spki");
        let path = dir.file("public.der", &key.public_key_der);
        let out = std::process::Command::new("openssl")
            .args([
                "pkey", "-pubin", "-inform", "DER", "-in", &path, "-noout", "-text",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{spec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The cache of opened keys: a signature or a key check keeps its key open, a record that
/// differs (another blob under the same id) is never served the cached key, `forget_key` and
/// `delete` drop it, and a cache that is off keeps nothing. Every signature still verifies.
#[test]
fn opened_keys_are_cached_per_record_and_forgotten() {
    use sam_token::{KeyCacheSettings, KeyReference};
    let token = SoftwareToken::with_key_cache(
        "software",
        MasterKey::generate().unwrap(),
        KeyCacheSettings {
            entries: 8,
            idle: std::time::Duration::from_secs(600),
        },
    );
    let spec = KeySpec::Ecdsa(EcCurve::P256);
    let make = |id: &str| {
        token
            .generate(KeyId::new(id).unwrap(), spec, KeyLocation::Default)
            .unwrap()
    };
    let (a, b) = (make("cache-a"), make("cache-b"));
    let sign = |key: &sam_token::KeyRecord| {
        let input = ToBeSigned::Digest(HashAlgorithm::Sha256.digest(b"document"));
        let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
        token
            .sign(
                key,
                &activation,
                RsaPadding::Pkcs1v15,
                std::slice::from_ref(&input),
            )
            .map(|sigs| {
                assert!(openssl_verify(key, RsaPadding::Pkcs1v15, &input, &sigs[0]));
            })
    };
    assert_eq!(token.cached_keys(), 0);
    sign(&a).unwrap();
    sign(&a).unwrap();
    assert_eq!(token.cached_keys(), 1);
    token.check_key(&b).unwrap();
    assert_eq!(token.cached_keys(), 2);

    // `b`'s blob under `a`'s id: not `a`'s cached key, and its wrapping refuses the swap.
    let swapped = sam_token::KeyRecord {
        reference: b.reference.clone(),
        ..a.clone()
    };
    assert!(matches!(
        swapped.reference,
        KeyReference::SoftwareWrapped(_)
    ));
    assert!(sign(&swapped).is_err());
    assert!(token.check_key(&swapped).is_err());

    token.forget_key(&a);
    assert_eq!(token.cached_keys(), 1);
    token.delete(&b).unwrap();
    assert_eq!(token.cached_keys(), 0);
    // Forgotten keys open again.
    sign(&a).unwrap();
    assert_eq!(token.cached_keys(), 1);

    let off = SoftwareToken::with_key_cache(
        "software",
        MasterKey::generate().unwrap(),
        KeyCacheSettings::OFF,
    );
    let key = off
        .generate(KeyId::new("off").unwrap(), spec, KeyLocation::Default)
        .unwrap();
    let input = ToBeSigned::Digest(HashAlgorithm::Sha256.digest(b"document"));
    let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
    off.sign(&key, &activation, RsaPadding::Pkcs1v15, &[input])
        .unwrap();
    assert_eq!(off.cached_keys(), 0);
}
