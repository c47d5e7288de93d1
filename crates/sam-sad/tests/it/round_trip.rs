//! Every algorithm signs SADs in both encodings, and they verify to the same SAD.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, RsaPadding};
use sam_sad::{SadFormat, verify_sad};

use crate::fixtures::{Expected, device, sad};

fn both_encodings(spec: KeySpec, hash: HashAlgorithm, padding: RsaPadding, json: bool) {
    let (signer, key) = device(spec, hash, padding);
    let mut expected = Expected::new();
    expected.signature_hash = hash;
    let der = signer.sign_der(&sad()).unwrap();
    let verified = verify_sad(&der, SadFormat::Der, &key, &expected.get())
        .unwrap_or_else(|e| panic!("DER {spec} {hash} {padding}: {e}"));
    assert_eq!(verified.sad(), &sad());
    if json {
        let jws = signer.sign_jws(&sad()).unwrap();
        let verified = verify_sad(jws.as_bytes(), SadFormat::Json, &key, &expected.get())
            .unwrap_or_else(|e| panic!("JWS {spec} {hash} {padding}: {e}"));
        assert_eq!(verified.sad(), &sad());
        assert_eq!(jws.split('.').count(), 3);
    } else {
        assert!(
            signer.sign_jws(&sad()).is_err(),
            "{spec} {hash}: no JOSE algorithm"
        );
    }
}

#[test]
fn ecdsa_es256_es384_es512_es256k_and_brainpool_der() {
    both_encodings(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
        true,
    );
    both_encodings(
        KeySpec::Ecdsa(EcCurve::P384),
        HashAlgorithm::Sha384,
        RsaPadding::Pkcs1v15,
        true,
    );
    both_encodings(
        KeySpec::Ecdsa(EcCurve::P521),
        HashAlgorithm::Sha512,
        RsaPadding::Pkcs1v15,
        true,
    );
    both_encodings(
        KeySpec::Ecdsa(EcCurve::Secp256k1),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
        true,
    );
    both_encodings(
        KeySpec::Ecdsa(EcCurve::BrainpoolP256r1),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
        false,
    );
}

#[test]
fn rsa_rs_and_ps_algorithms() {
    for hash in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        for padding in [RsaPadding::Pkcs1v15, RsaPadding::Pss] {
            both_encodings(KeySpec::Rsa(RsaKeySize::Bits2048), hash, padding, true);
        }
    }
}

#[test]
fn ml_dsa_at_every_level() {
    for level in MlDsaLevel::ALL {
        both_encodings(
            KeySpec::MlDsa(level),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
            true,
        );
    }
}

#[test]
fn jws_headers_name_the_algorithm_and_type() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let (signer, _) = device(
        KeySpec::Rsa(RsaKeySize::Bits2048),
        HashAlgorithm::Sha384,
        RsaPadding::Pss,
    );
    let jws = signer.sign_jws(&sad()).unwrap();
    let header = Base64UrlUnpadded::decode_vec(jws.split('.').next().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        r#"{"alg":"PS384","typ":"sad+jwt"}"#
    );
    let (signer, _) = device(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let jws = signer.sign_jws(&sad()).unwrap();
    let sig = Base64UrlUnpadded::decode_vec(jws.rsplit('.').next().unwrap()).unwrap();
    assert_eq!(sig.len(), 64, "ES256 signatures are raw r ‖ s");
}
