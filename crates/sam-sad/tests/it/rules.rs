//! Each verification rule at its boundary.

use base64ct::{Base64UrlUnpadded, Encoding};
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_sad::{AuthMethod, Id128, SadError, SadFormat, Scal, verify_sad};

use crate::fixtures::{Expected, ISSUED, client_issuer, device, p256_device, sad};

fn check_both(
    make: impl Fn(&mut sam_sad::Sad),
    expect: impl Fn(&mut Expected),
    outcome: impl Fn(Result<sam_sad::VerifiedSad, SadError>),
) {
    let (signer, key) = p256_device();
    let mut s = sad();
    make(&mut s);
    let mut e = Expected::new();
    expect(&mut e);
    outcome(verify_sad(
        &signer.sign_der(&s).unwrap(),
        SadFormat::Der,
        &key,
        &e.get(),
    ));
    outcome(verify_sad(
        signer.sign_jws(&s).unwrap().as_bytes(),
        SadFormat::Json,
        &key,
        &e.get(),
    ));
}

#[test]
fn expiry_is_exact_with_and_without_tolerance() {
    // Valid until one second before expires_at (+ tolerance).
    for tolerance in [0u32, 30] {
        let last = ISSUED + 300 + i64::from(tolerance) - 1;
        check_both(
            |_| {},
            |e| {
                e.now = last;
                e.tolerance = tolerance;
            },
            |r| assert!(r.is_ok(), "{r:?}"),
        );
        check_both(
            |_| {},
            |e| {
                e.now = last + 1;
                e.tolerance = tolerance;
            },
            |r| assert!(matches!(r, Err(SadError::Expired { .. })), "{r:?}"),
        );
        // Not before issued_at - tolerance.
        let first = ISSUED - i64::from(tolerance);
        check_both(
            |_| {},
            |e| {
                e.now = first;
                e.tolerance = tolerance;
            },
            |r| assert!(r.is_ok(), "{r:?}"),
        );
        check_both(
            |_| {},
            |e| {
                e.now = first - 1;
                e.tolerance = tolerance;
            },
            |r| assert!(matches!(r, Err(SadError::NotYetValid { .. })), "{r:?}"),
        );
    }
}

#[test]
fn a_hash_not_in_the_sad_is_refused_under_scal2() {
    check_both(
        |_| {},
        |e| e.hashes.push(HashAlgorithm::Sha256.digest(b"smuggled.pdf")),
        |r| {
            assert!(
                matches!(r, Err(SadError::HashNotAuthorised { index: 2 })),
                "{r:?}"
            )
        },
    );
    // A subset of the authorised hashes is fine.
    check_both(
        |_| {},
        |e| {
            e.hashes.pop();
        },
        |r| assert!(r.is_ok(), "{r:?}"),
    );
    // The same bytes under another algorithm are another hash.
    check_both(
        |_| {},
        |e| {
            e.hashes = vec![
                sam_algorithms::Digest::new(
                    HashAlgorithm::Sha3_256,
                    crate::fixtures::hashes()[0].as_bytes(),
                )
                .unwrap(),
            ]
        },
        |r| {
            assert!(
                matches!(r, Err(SadError::HashNotAuthorised { index: 0 })),
                "{r:?}"
            )
        },
    );
}

#[test]
fn every_binding_field_must_match() {
    type Change = Box<dyn Fn(&mut Expected)>;
    let cases: [(&str, Change); 6] = [
        (
            "audience",
            Box::new(|e| e.audience = "other.example.org".parse().unwrap()),
        ),
        ("subject", Box::new(|e| e.subject = "bob".parse().unwrap())),
        (
            "key_id",
            Box::new(|e| e.key_id = "alice-sign-2".parse().unwrap()),
        ),
        ("profile_id", Box::new(|e| e.profile_id = 8)),
        (
            "request_id",
            Box::new(|e| e.request_id = Id128::from_bytes([3; 16])),
        ),
        ("scal", Box::new(|e| e.scal = Scal::Scal1)),
    ];
    for (field, change) in cases {
        check_both(
            |_| {},
            &change,
            |r| match r {
                Err(SadError::Mismatch { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            },
        );
    }
}

#[test]
fn issuers_are_allowed_only_their_methods() {
    let (signer, device_key) = p256_device();
    let client_key = client_issuer(&device_key);
    let e = Expected::new();
    // A device may not claim an OTP; a client may not claim a device authorisation.
    let mut s = sad();
    s.auth_method = AuthMethod::Otp;
    let r = verify_sad(
        &signer.sign_der(&s).unwrap(),
        SadFormat::Der,
        &device_key,
        &e.get(),
    );
    assert!(matches!(r, Err(SadError::IssuerNotAllowed { .. })), "{r:?}");
    let mut s = sad();
    s.issuer = client_key.issuer.clone();
    let r = verify_sad(
        &signer.sign_der(&s).unwrap(),
        SadFormat::Der,
        &client_key,
        &e.get(),
    );
    assert!(matches!(r, Err(SadError::IssuerNotAllowed { .. })), "{r:?}");
    // A client with OTP evidence is fine.
    s.auth_method = AuthMethod::Otp;
    assert!(
        verify_sad(
            &signer.sign_der(&s).unwrap(),
            SadFormat::Der,
            &client_key,
            &e.get()
        )
        .is_ok()
    );
    // The SAD must name the issuer whose key verifies it.
    let r = verify_sad(
        &signer.sign_der(&sad()).unwrap(),
        SadFormat::Der,
        &client_key,
        &e.get(),
    );
    assert!(matches!(r, Err(SadError::OtherIssuer { .. })), "{r:?}");
}

#[test]
fn another_key_does_not_verify() {
    let (signer, _) = p256_device();
    let (_, other) = p256_device();
    let e = Expected::new();
    for (encoded, encoding) in [
        (signer.sign_der(&sad()).unwrap(), SadFormat::Der),
        (
            signer.sign_jws(&sad()).unwrap().into_bytes(),
            SadFormat::Json,
        ),
    ] {
        assert_eq!(
            verify_sad(&encoded, encoding, &other, &e.get()),
            Err(SadError::BadSignature)
        );
    }
}

/// Re-signs `sad`'s JWS with a header of our choosing: what an attacker can send.
fn jws_with_header(header: &str, signer_sig: &str, payload: &str) -> String {
    format!(
        "{}.{payload}.{signer_sig}",
        Base64UrlUnpadded::encode_string(header.as_bytes())
    )
}

#[test]
fn the_algorithm_comes_from_the_key_never_from_the_header() {
    let (signer, key) = p256_device();
    let jws = signer.sign_jws(&sad()).unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    let e = Expected::new();
    // alg none, with or without a signature: not even parsed.
    for token in [
        jws_with_header(r#"{"alg":"none","typ":"sad+jwt"}"#, "", parts[1]),
        jws_with_header(r#"{"alg":"none","typ":"sad+jwt"}"#, parts[2], parts[1]),
        jws_with_header(r#"{"alg":"HS256","typ":"sad+jwt"}"#, parts[2], parts[1]),
    ] {
        let r = verify_sad(token.as_bytes(), SadFormat::Json, &key, &e.get());
        assert!(matches!(r, Err(SadError::Malformed { .. })), "{r:?}");
    }
    // A header alg that disagrees with the registered key.
    let token = jws_with_header(r#"{"alg":"ES384","typ":"sad+jwt"}"#, parts[2], parts[1]);
    let r = verify_sad(token.as_bytes(), SadFormat::Json, &key, &e.get());
    assert!(
        matches!(r, Err(SadError::AlgorithmMismatch { .. })),
        "{r:?}"
    );
    // An RSA key registered for PSS does not accept an RS256 SAD (no algorithm switching).
    let (rs_signer, _) = device(
        KeySpec::Rsa(RsaKeySize::Bits2048),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let mut ps_key = device(
        KeySpec::Rsa(RsaKeySize::Bits2048),
        HashAlgorithm::Sha256,
        RsaPadding::Pss,
    )
    .1;
    ps_key.spki_der = rs_signer.public_key_der().unwrap();
    let r = verify_sad(
        rs_signer.sign_jws(&sad()).unwrap().as_bytes(),
        SadFormat::Json,
        &ps_key,
        &e.get(),
    );
    assert!(
        matches!(r, Err(SadError::AlgorithmMismatch { .. })),
        "{r:?}"
    );
    // Other typ, extra header parameters: refused.
    for header in [
        r#"{"alg":"ES256","typ":"JWT"}"#,
        r#"{"alg":"ES256","typ":"sad+jwt","crit":["x"]}"#,
    ] {
        let token = jws_with_header(header, parts[2], parts[1]);
        assert!(
            verify_sad(token.as_bytes(), SadFormat::Json, &key, &e.get()).is_err(),
            "{header}"
        );
    }
}

#[test]
fn json_sads_follow_seed_001s_hash_rules() {
    let e = |hash| {
        let mut e = Expected::new();
        e.signature_hash = hash;
        e
    };
    // A P-384 device key must use SHA-384 for JSON SADs (DER SADs are not bound by it).
    let (signer, key) = device(
        KeySpec::Ecdsa(EcCurve::P384),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let der = signer.sign_der(&sad()).unwrap();
    assert!(verify_sad(&der, SadFormat::Der, &key, &e(HashAlgorithm::Sha256).get()).is_ok());
    // (The signer cannot even produce such a JWS: JOSE has no P-384/SHA-256 algorithm.)
    assert!(signer.sign_jws(&sad()).is_err());
    // SHA-224 for an RSA key: fine in DER, refused for JSON.
    let (signer, key) = device(
        KeySpec::Rsa(RsaKeySize::Bits2048),
        HashAlgorithm::Sha224,
        RsaPadding::Pkcs1v15,
    );
    assert!(
        verify_sad(
            &signer.sign_der(&sad()).unwrap(),
            SadFormat::Der,
            &key,
            &e(HashAlgorithm::Sha224).get()
        )
        .is_ok()
    );
    let (signer256, key256) = device(
        KeySpec::Rsa(RsaKeySize::Bits2048),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    );
    let jws = signer256.sign_jws(&sad()).unwrap();
    let r = verify_sad(
        jws.as_bytes(),
        SadFormat::Json,
        &key256,
        &e(HashAlgorithm::Sha224).get(),
    );
    assert!(matches!(r, Err(SadError::JsonRule(_))), "{r:?}");
}

#[test]
fn structural_rules_hold_when_signing() {
    let (signer, _) = p256_device();
    let mut s = sad();
    s.expires_at = s.issued_at;
    assert!(signer.sign_der(&s).is_err());
    let mut s = sad();
    s.hashes.clear();
    assert!(signer.sign_jws(&s).is_err(), "SCAL2 without hashes");
    let mut s = sad();
    s.auth_method = AuthMethod::Idp;
    s.issuer = "client:bank".parse().unwrap();
    assert!(signer.sign_der(&s).is_err(), "IdP without an assertion");
    s.assertion = Some("eyJ...".into());
    assert!(signer.sign_der(&s).is_ok());
    let mut s = sad();
    s.num_signatures = 3;
    assert!(
        signer.sign_der(&s).is_err(),
        "more signatures than hashes in a transaction SAD"
    );
    let mut s = sad();
    s.issued_at = UnixTime::from_secs(-1).unwrap();
    assert!(signer.sign_der(&s).is_err());
}

/// The hash binding has one home, `Sad::authorises`: SCAL2 always binds; a SCAL1 SAD binds
/// exactly when it names hashes (then it cannot name something else); one that names none
/// binds nothing (a seal, or a request authorised as a whole).
#[test]
fn the_hash_binding_is_one_rule_for_both_scals() {
    let named = crate::fixtures::hashes();
    let other = [HashAlgorithm::Sha256.digest(b"something else")];
    let mut scal2 = sad();
    assert!(scal2.authorises(&named).is_ok());
    assert!(matches!(
        scal2.authorises(&other),
        Err(SadError::HashNotAuthorised { index: 0 })
    ));
    scal2.hashes.clear();
    assert!(scal2.authorises(&named).is_err(), "SCAL2 without hashes");
    let mut scal1 = sad();
    scal1.scal = Scal::Scal1;
    scal1.auth_method = AuthMethod::Pin;
    assert!(scal1.authorises(&named).is_ok());
    assert!(
        scal1.authorises(&other).is_err(),
        "a SCAL1 SAD naming hashes binds them"
    );
    scal1.hashes.clear();
    assert!(scal1.authorises(&other).is_ok(), "names none: binds none");
    assert!(scal1.authorises(&[]).is_ok());
}
