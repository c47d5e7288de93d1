//! CAdES-B-T with a real RFC 3161 TSA: `openssl ts -reply` behind a local HTTP responder;
//! `openssl ts -verify` accepts the token taken out of our signature.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_cms::http::HttpTransport;
use sam_cms::{
    CmsError, Content, Detached, Format, Level, Services, SignatureRequest, TimeStampAuthority,
    TimeStampClient, sign, verify,
};

use crate::fixtures::{LocalTsa, Signer, TsaBehaviour, openssl_cms_verify, openssl_ts_verify};

const DOCUMENT: &[u8] = b"a contract to time-stamp";

fn request(signer: &Signer, format: Format) -> SignatureRequest<'static> {
    SignatureRequest::new(
        format,
        signer.algorithm,
        Content::Detached(DOCUMENT),
        vec![signer.certificate.clone()],
        UnixTime::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
    )
}

#[test]
fn cades_b_t_carries_a_token_that_openssl_ts_verify_accepts() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    for (spec, hash, padding) in [
        (
            KeySpec::Ecdsa(EcCurve::P256),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        ),
        (
            KeySpec::Rsa(RsaKeySize::Bits2048),
            HashAlgorithm::Sha256,
            RsaPadding::Pss,
        ),
    ] {
        let signer = Signer::new(spec, hash, padding);
        let der = sign(
            &request(&signer, Format::CadesBT),
            &signer.local(),
            &Services::with_time_stamps(&client),
        )
        .unwrap();

        let out = openssl_cms_verify(&der, Some(DOCUMENT));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let found = verify(&der, &Detached::Data(DOCUMENT)).unwrap();
        assert_eq!(found.level, Level::CadesBT);
        let [stamp] = found.time_stamps.as_slice() else {
            panic!("one time-stamp expected")
        };
        assert_eq!(stamp.policy.to_string(), "1.3.6.1.4.1.99999.1.1");
        let out = openssl_ts_verify(&stamp.token, &found.signature_value);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The token does not time-stamp anything else.
        let out = openssl_ts_verify(&stamp.token, b"another signature value");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));
    }
    assert!(*tsa.requests.lock().unwrap() >= 2);
}

#[test]
fn a_replayed_or_failing_tsa_answer_is_refused() {
    let signer = Signer::new(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );

    let replay = LocalTsa::start(TsaBehaviour::ReplayFirst);
    let client = TimeStampClient::new(&replay.url, HttpTransport::default());
    client.time_stamp(b"first signature").unwrap();
    let err = client.time_stamp(b"second signature").unwrap_err();
    assert!(err.to_string().contains("imprint"), "{err}");

    let broken = LocalTsa::start(TsaBehaviour::Broken);
    let client = TimeStampClient::new(&broken.url, HttpTransport::default());
    let err = sign(
        &request(&signer, Format::CadesBT),
        &signer.local(),
        &Services::with_time_stamps(&client),
    )
    .unwrap_err();
    assert!(matches!(err, CmsError::Transport(_)), "{err}");
    assert!(err.to_string().contains("500"), "{err}");

    let err = sign(
        &request(&signer, Format::CadesBT),
        &signer.local(),
        &Services::none(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("needs a time-stamp authority"),
        "{err}"
    );
}

#[test]
fn a_policy_the_tsa_does_not_serve_is_refused_and_one_it_serves_is_kept() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let served = "1.3.6.1.4.1.99999.1.2".parse().unwrap();
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default()).with_policy(served);
    let token = client.time_stamp(b"signature").unwrap();
    assert_eq!(token.info().policy, served);

    let unknown = "1.3.6.1.4.1.99999.1.9".parse().unwrap();
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default()).with_policy(unknown);
    let err = client.time_stamp(b"signature").unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn a_digest_computed_elsewhere_is_time_stamped_with_the_callers_nonce() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let client = TimeStampClient::new(&tsa.url, HttpTransport::default());
    let document = b"a hash a signature application sends";
    let digest = HashAlgorithm::Sha384.digest(document);
    let nonce = [0x9a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09];

    let token = client.time_stamp_digest(&digest, Some(&nonce)).unwrap();
    let info = token.info();
    assert_eq!(info.nonce.as_ref().unwrap().as_bytes(), &nonce);
    assert_eq!(
        info.message_imprint.hashed_message.as_bytes(),
        digest.as_bytes()
    );
    assert!(info.message_imprint.matches(document).unwrap());
    // openssl hashes the data with the imprint's algorithm (SHA-384) and checks the rest.
    let out = openssl_ts_verify(&token.to_der().unwrap(), document);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a nonce of the caller's, one of sam's own still guards the exchange.
    let token = client.time_stamp_digest(&digest, None).unwrap();
    let own = token.info().nonce.as_ref().unwrap().as_bytes();
    assert!(!own.is_empty() && own.len() <= 8 && own != nonce, "{own:?}");

    for bad in [&[][..], &[1u8; sam_cms::timestamp::MAX_NONCE_LEN + 1][..]] {
        let err = client.time_stamp_digest(&digest, Some(bad)).unwrap_err();
        assert!(err.to_string().contains("nonce has 1 to 32 bytes"), "{err}");
    }

    // A TSA that answers an old token (another imprint and nonce) is refused.
    let replay = LocalTsa::start(TsaBehaviour::ReplayFirst);
    let client = TimeStampClient::new(&replay.url, HttpTransport::default());
    client.time_stamp_digest(&digest, Some(&nonce)).unwrap();
    let other = HashAlgorithm::Sha384.digest(b"another document");
    let err = client.time_stamp_digest(&other, Some(&nonce)).unwrap_err();
    assert!(err.to_string().contains("imprint"), "{err}");
}
