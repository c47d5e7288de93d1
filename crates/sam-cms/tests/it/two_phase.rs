//! prepare/complete: the hash from `prepare`, signed by an external signer (OpenSSL), gives
//! output identical to the one-call API with the same clock; the state survives storage.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_cms::{
    CmsError, Content, Format, PreparedState, Services, SignatureRequest, ToBeSigned, complete,
    prepare, sign,
};

use crate::fixtures::{Signer, run_ok, scratch, write};

const DOCUMENT: &[u8] = b"two-phase document";

/// `openssl pkeyutl -sign` over a digest, with the key in a PKCS#8 file.
fn openssl_sign_digest(signer: &Signer, input: &ToBeSigned) -> Vec<u8> {
    let ToBeSigned::Digest(digest) = input else {
        panic!("OpenSSL signs digests here")
    };
    let dir = scratch("external");
    let pkcs8 = signer.key.to_pkcs8_der().unwrap();
    let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &pkcs8).unwrap();
    let key = write(&dir, "key.pem", pem.as_bytes());
    let input_file = write(&dir, "digest.bin", digest.as_bytes());
    let out = dir.join("sig.bin").to_string_lossy().into_owned();
    let digest_opt = format!("digest:{}", digest.algorithm().name());
    run_ok(
        "openssl",
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            &key,
            "-in",
            &input_file,
            "-out",
            &out,
            "-pkeyopt",
            &digest_opt,
        ],
    );
    let sig = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    sig
}

#[test]
fn an_external_signature_over_the_prepared_hash_completes_to_the_one_call_output() {
    let now = UnixTime::parse_rfc3339("2026-11-22T11:00:00Z").unwrap();
    // RSA PKCS#1 v1.5 (OpenSSL and sam-keys are both deterministic); ECDSA with RFC 6979 in
    // sam-keys is deterministic too, but OpenSSL's is not: its output must verify, and the
    // one-call output must equal a second two-phase run with sam-keys as the signer.
    let rsa = Signer::new(
        KeySpec::Rsa(RsaKeySize::Bits2048),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    for format in [Format::Raw, Format::Cms, Format::CadesBB] {
        let content = if format == Format::Raw {
            Content::DetachedDigest(HashAlgorithm::Sha256.digest(DOCUMENT))
        } else {
            Content::Attached(DOCUMENT)
        };
        let request = SignatureRequest::new(
            format,
            rsa.algorithm,
            content,
            vec![rsa.certificate.clone()],
            now,
        );
        let one_call = sign(&request, &rsa.local(), &Services::none()).unwrap();

        let prepared = prepare(&request).unwrap();
        // The state goes through storage between the phases.
        let stored = prepared.state.to_der().unwrap();
        let external = openssl_sign_digest(&rsa, &prepared.to_be_signed);
        let state = PreparedState::from_der(&stored).unwrap();
        let two_phase = complete(&state, &external, &Services::none()).unwrap();
        assert_eq!(two_phase, one_call, "{format}");
    }

    let ec = Signer::new(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let request = SignatureRequest::new(
        Format::CadesBB,
        ec.algorithm,
        Content::Detached(DOCUMENT),
        vec![ec.certificate.clone()],
        now,
    );
    let prepared = prepare(&request).unwrap();
    let external = openssl_sign_digest(&ec, &prepared.to_be_signed);
    let der = complete(&prepared.state, &external, &Services::none()).unwrap();
    sam_cms::verify(&der, &sam_cms::Detached::Data(DOCUMENT)).unwrap();
    assert_eq!(
        sam_cms::sign_prepared(&prepared.state, &ec.local(), &Services::none()).unwrap(),
        sign(&request, &ec.local(), &Services::none()).unwrap()
    );
}

#[test]
fn the_dtbsr_is_the_digest_of_the_signed_attributes_and_a_wrong_value_is_refused() {
    let now = UnixTime::parse_rfc3339("2026-11-22T11:00:00Z").unwrap();
    let signer = Signer::new(
        KeySpec::Ecdsa(EcCurve::P384),
        HashAlgorithm::Sha384,
        RsaPadding::Pkcs1v15,
    );
    let request = SignatureRequest::new(
        Format::CadesBB,
        signer.algorithm,
        Content::Detached(DOCUMENT),
        vec![signer.certificate.clone()],
        now,
    );
    let prepared = prepare(&request).unwrap();
    let ToBeSigned::Digest(dtbsr) = &prepared.to_be_signed else {
        panic!("a digest")
    };
    // Not the document digest: the user authorises what the key signs.
    assert_ne!(*dtbsr, HashAlgorithm::Sha384.digest(DOCUMENT));
    // The same request at another time is another DTBS/R.
    let later = SignatureRequest {
        signing_time: now.checked_add_secs(1).unwrap(),
        ..request.clone()
    };
    assert_ne!(prepare(&later).unwrap().to_be_signed, prepared.to_be_signed);

    // A signature over another DTBS/R is refused, nothing is written.
    let other =
        sam_cms::Signer::sign(&signer.local(), &prepare(&later).unwrap().to_be_signed).unwrap();
    let err = complete(&prepared.state, &other, &Services::none()).unwrap_err();
    assert!(matches!(err, CmsError::Signer(_)), "{err}");
    assert!(complete(&prepared.state, b"", &Services::none()).is_err());

    // A damaged state is refused: at read time, or at completion when the stored signer
    // certificate no longer matches the signed ESS attribute.
    let good = sam_cms::Signer::sign(&signer.local(), &prepared.to_be_signed).unwrap();
    complete(&prepared.state, &good, &Services::none()).unwrap();
    let mut stored = prepared.state.to_der().unwrap();
    let last = stored.len() - 1;
    stored[last] ^= 0xff;
    let damaged = PreparedState::from_der(&stored).unwrap();
    let err = complete(&damaged, &good, &Services::none()).unwrap_err();
    assert!(err.to_string().contains("signing-certificate-v2"), "{err}");
    assert!(PreparedState::from_der(&stored[..10]).is_err());
}

#[test]
fn a_state_names_the_digest_of_the_document_it_signs() {
    let now = UnixTime::parse_rfc3339("2026-11-22T11:00:00Z").unwrap();
    let signer = Signer::new(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let document = HashAlgorithm::Sha256.digest(DOCUMENT);
    for (format, content) in [
        (Format::Raw, Content::DetachedDigest(document)),
        (Format::Cms, Content::Detached(DOCUMENT)),
        (Format::CadesBB, Content::DetachedDigest(document)),
        (Format::CadesBB, Content::Attached(DOCUMENT)),
    ] {
        let request = SignatureRequest::new(
            format,
            signer.algorithm,
            content,
            vec![signer.certificate.clone()],
            now,
        );
        let prepared = prepare(&request).unwrap();
        let stored = PreparedState::from_der(&prepared.state.to_der().unwrap()).unwrap();
        assert_eq!(stored.content_digest().unwrap(), document, "{format}");
        if format != Format::Raw {
            // The DTBS/R is the signed attributes' digest, not the document's.
            assert_ne!(prepared.to_be_signed.digest(), document, "{format}");
        }
    }
}
