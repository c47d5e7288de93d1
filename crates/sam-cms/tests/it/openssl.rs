//! `openssl cms -verify` accepts `cms` and `cades-*` output, detached and attached, for every
//! classical key family, and rejects it after one byte of the content changes.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_cms::{Content, Detached, Format, Level, Services, SignatureRequest, sign, verify};

use crate::fixtures::{Signer, openssl_cms_verify};

const DOCUMENT: &[u8] = b"%PDF-1.7 sam test document\n\x00\x01\x02 binary bytes \xff\xfe\n";

fn matrix() -> Vec<(KeySpec, HashAlgorithm, RsaPadding)> {
    vec![
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha384,
            RsaPadding::Pss,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P256),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P384),
            HashAlgorithm::Sha384,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P521),
            HashAlgorithm::Sha512,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Ecdsa(EcCurve::Secp256k1),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Ecdsa(EcCurve::P224),
            HashAlgorithm::Sha224,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Ecdsa(EcCurve::BrainpoolP256r1),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
    ]
}

fn flip_one_byte(data: &[u8], at: usize) -> Vec<u8> {
    let mut changed = data.to_vec();
    changed[at] ^= 0x01;
    changed
}

#[test]
fn openssl_accepts_cms_and_cades_b_b_for_every_key_family_detached_and_attached() {
    let now = UnixTime::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    for (spec, hash, padding) in matrix() {
        let signer = Signer::new(spec, hash, padding);
        for format in [Format::Cms, Format::CadesBB] {
            let contents = [
                ("attached", Content::Attached(DOCUMENT)),
                ("detached", Content::Detached(DOCUMENT)),
                (
                    "detached digest",
                    Content::DetachedDigest(hash.digest(DOCUMENT)),
                ),
            ];
            for (how, content) in contents {
                let label = format!("{spec} {} {format} {how}", signer.algorithm);
                let request = SignatureRequest::new(
                    format,
                    signer.algorithm,
                    content,
                    vec![signer.certificate.clone()],
                    now,
                );
                let der = sign(&request, &signer.local(), &Services::none()).unwrap();
                let attached = matches!(content, Content::Attached(_));

                // OpenSSL accepts it ...
                let ok = openssl_cms_verify(&der, (!attached).then_some(DOCUMENT));
                assert!(
                    ok.status.success(),
                    "{label}: {}",
                    String::from_utf8_lossy(&ok.stderr)
                );
                // ... and so does our verifier, at the expected level.
                let detached = if attached {
                    Detached::None
                } else {
                    Detached::Data(DOCUMENT)
                };
                let found = verify(&der, &detached).unwrap();
                let level = if format == Format::Cms {
                    Level::Cms
                } else {
                    Level::CadesBB
                };
                assert_eq!(found.level, level, "{label}");
                assert_eq!(found.signing_time, Some(now), "{label}");

                // One changed byte of the content: both refuse.
                if attached {
                    let at = der
                        .windows(DOCUMENT.len())
                        .position(|w| w == DOCUMENT)
                        .expect("attached content is in the signature")
                        + 5;
                    let tampered = flip_one_byte(&der, at);
                    assert!(
                        !openssl_cms_verify(&tampered, None).status.success(),
                        "{label}"
                    );
                    assert!(verify(&tampered, &Detached::None).is_err(), "{label}");
                } else {
                    let changed = flip_one_byte(DOCUMENT, 3);
                    assert!(
                        !openssl_cms_verify(&der, Some(&changed)).status.success(),
                        "{label}"
                    );
                    let err = verify(&der, &Detached::Data(&changed)).unwrap_err();
                    assert!(err.to_string().contains("message digest"), "{label}: {err}");
                }
            }
        }
    }
}
