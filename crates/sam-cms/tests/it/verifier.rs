//! Our verifier on what we write: CAdES extended (EPES) and the optional attributes, raw
//! signatures checked by OpenSSL, and every refusal a relying party relies on.

use sam_algorithms::{
    EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, SignatureAlgorithm, UnixTime,
};
use sam_cms::{
    CmsError, CommitmentType, Content, ContentHints, Detached, Format, Level, Services,
    SignaturePolicy, SignatureRequest, oids, sign, verify,
};

use crate::fixtures::{Signer, openssl_cms_verify, run, scratch, write};

const DOCUMENT: &[u8] = b"verifier test document";

fn now() -> UnixTime {
    UnixTime::parse_rfc3339("2026-11-22T13:00:00Z").unwrap()
}

fn p256() -> Signer {
    Signer::new(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    )
}

#[test]
fn cades_extended_epes_with_commitment_and_content_hints_round_trips_and_openssl_accepts_it() {
    let signer = p256();
    let policy = SignaturePolicy {
        id: "1.3.6.1.4.1.99999.2.1".parse().unwrap(),
        hash: HashAlgorithm::Sha256.digest(b"the policy document"),
        uri: Some("http://policy.example/sam-policy.pdf".into()),
    };
    let mut request = SignatureRequest::new(
        Format::CadesBB,
        signer.algorithm,
        Content::Attached(DOCUMENT),
        vec![signer.certificate.clone()],
        now(),
    );
    request.policy = Some(policy.clone());
    request.commitment_type = Some(CommitmentType::ProofOfApproval);
    request.content_hints = Some(ContentHints {
        description: Some("contract.pdf".into()),
        content_type: oids::DATA,
    });
    let der = sign(&request, &signer.local(), &Services::none()).unwrap();
    let out = openssl_cms_verify(&der, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let found = verify(&der, &Detached::None).unwrap();
    assert_eq!(found.level, Level::CadesBB);
    assert!(found.extended);
    assert_eq!(found.policy, Some(policy));
    assert_eq!(
        found.commitment_type,
        Some(CommitmentType::ProofOfApproval.oid())
    );
    assert_eq!(
        sam_cms::verify::known_commitment_type(&found),
        Some(CommitmentType::ProofOfApproval)
    );
    assert_eq!(found.content.as_deref(), Some(DOCUMENT));
    assert_eq!(
        CommitmentType::ProofOfApproval.oid().to_string(),
        "1.2.840.113549.1.9.16.6.5"
    );

    // CAdES attributes on a non-CAdES format are a mistake, not silently dropped.
    let cms = SignatureRequest {
        format: Format::Cms,
        ..request
    };
    assert!(matches!(sam_cms::prepare(&cms), Err(CmsError::Input(_))));
}

#[test]
fn raw_signatures_verify_with_openssl() {
    for (spec, hash, padding) in [
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha256,
            RsaPadding::Pss,
        ),
        (
            KeySpec::Ecdsa(EcCurve::Secp256k1),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
    ] {
        let signer = Signer::new(spec, hash, padding);
        // A raw signature may name the public key instead of a certificate.
        let mut request = SignatureRequest::new(
            Format::Raw,
            signer.algorithm,
            Content::DetachedDigest(hash.digest(DOCUMENT)),
            Vec::new(),
            now(),
        );
        request.public_key = Some(signer.key.public_key_der().unwrap());
        let sig = sign(&request, &signer.local(), &Services::none()).unwrap();
        let dir = scratch("raw");
        let cert = write(&dir, "cert.pem", signer.cert_pem().as_bytes());
        let data = write(&dir, "data.bin", DOCUMENT);
        let sig_file = write(&dir, "sig.bin", &sig);
        let mut args = vec![
            "dgst",
            "-sha256",
            "-verify",
            "/dev/stdin",
            "-signature",
            &sig_file,
        ];
        if padding == RsaPadding::Pss {
            args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
        args.push(&data);
        let pubkey = run("openssl", &["x509", "-in", &cert, "-pubkey", "-noout"]);
        let key_file = write(&dir, "pub.pem", &pubkey.stdout);
        args[3] = &key_file;
        let out = run("openssl", &args);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verified OK"),
            "{spec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_verifier_refuses_what_a_relying_party_must_not_accept() {
    let signer = p256();
    let detached = sign(
        &SignatureRequest::new(
            Format::CadesBB,
            signer.algorithm,
            Content::Detached(DOCUMENT),
            vec![signer.certificate.clone()],
            now(),
        ),
        &signer.local(),
        &Services::none(),
    )
    .unwrap();
    let attached = sign(
        &SignatureRequest::new(
            Format::CadesBB,
            signer.algorithm,
            Content::Attached(DOCUMENT),
            vec![signer.certificate.clone()],
            now(),
        ),
        &signer.local(),
        &Services::none(),
    )
    .unwrap();

    let reason = |r: Result<sam_cms::VerifiedSignature, CmsError>| r.unwrap_err().to_string();
    assert!(reason(verify(&detached, &Detached::None)).contains("give the content"));
    assert!(reason(verify(&attached, &Detached::Data(DOCUMENT))).contains("attached"));
    assert!(
        reason(verify(
            &detached,
            &Detached::Digest(HashAlgorithm::Sha384.digest(DOCUMENT))
        ))
        .contains("SHA-384")
    );
    verify(
        &detached,
        &Detached::Digest(HashAlgorithm::Sha256.digest(DOCUMENT)),
    )
    .unwrap();

    // Truncations and garbage: errors, never panics.
    for n in [0, 1, 10, detached.len() / 2, detached.len() - 1] {
        assert!(verify(&detached[..n], &Detached::Data(DOCUMENT)).is_err());
    }
    // Every changed byte of the signed attributes or of the signature value is caught.
    let found = verify(&detached, &Detached::Data(DOCUMENT)).unwrap();
    let signed_attrs = signed_attributes_as_encoded(&detached);
    for region in [signed_attrs.as_slice(), found.signature_value.as_slice()] {
        let start = detached
            .windows(region.len())
            .position(|w| w == region)
            .expect("the region is in the signature");
        for at in start..start + region.len() {
            let mut changed = detached.clone();
            changed[at] ^= 0x01;
            assert!(
                verify(&changed, &Detached::Data(DOCUMENT)).is_err(),
                "a change at byte {at} went unnoticed"
            );
        }
    }

    // A key that cannot make the algorithm's signatures, or a digest of the wrong hash.
    let rsa_algorithm = SignatureAlgorithm::RsaPkcs1v15(HashAlgorithm::Sha256);
    let wrong_key = SignatureRequest::new(
        Format::Cms,
        rsa_algorithm,
        Content::Detached(DOCUMENT),
        vec![signer.certificate.clone()],
        now(),
    );
    assert!(
        sam_cms::prepare(&wrong_key)
            .unwrap_err()
            .to_string()
            .contains("cannot make")
    );
    let wrong_digest = SignatureRequest::new(
        Format::Cms,
        signer.algorithm,
        Content::DetachedDigest(HashAlgorithm::Sha512.digest(DOCUMENT)),
        vec![signer.certificate.clone()],
        now(),
    );
    assert!(
        sam_cms::prepare(&wrong_digest)
            .unwrap_err()
            .to_string()
            .contains("SHA-512")
    );
    let no_cert = SignatureRequest::new(
        Format::CadesBB,
        signer.algorithm,
        Content::Detached(DOCUMENT),
        Vec::new(),
        now(),
    );
    assert!(
        sam_cms::prepare(&no_cert)
            .unwrap_err()
            .to_string()
            .contains("certificate")
    );
}

/// The `[0] IMPLICIT` signed attributes as they appear in the signer info.
fn signed_attributes_as_encoded(der: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    let info = cms::content_info::ContentInfo::from_der(der).unwrap();
    let signed: cms::signed_data::SignedData = info.content.decode_as().unwrap();
    let signer = signed.signer_infos.0.iter().next().unwrap();
    let mut bytes = signer.signed_attrs.as_ref().unwrap().to_der().unwrap();
    bytes[0] = 0xA0;
    bytes
}
