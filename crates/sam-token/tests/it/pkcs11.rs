//! The PKCS#11 token against a real SoftHSM2, set up by scripts/test: tokens `sam-main`
//! (PIN 123456), `sam-sign` (Sign PIN 246810), and `sam-pin-main` / `sam-pin-sign` for the PIN
//! management tests, `sam-pool-a` (PIN 555555) and `sam-pool-b` (PIN 777777) for keys wrapped
//! under a shared wrapping key.

use std::sync::OnceLock;

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding};
use sam_token::pkcs11::{KeyStorage, PinPolicy, PinSource, SignatureSlotConfig, SlotSelector};
use sam_token::{
    CryptoToken, KeyId, KeyLocation, KeyRecord, Pkcs11Config, Pkcs11Token, ToBeSigned, TokenError,
};
use zeroize::Zeroizing;

use crate::fixtures::{issuer, openssl_verify};

fn module() -> std::path::PathBuf {
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_some(),
        "SOFTHSM2_CONF is not set: run the PKCS#11 tests through scripts/test, which creates \
         the SoftHSM2 tokens they use"
    );
    std::env::var("SAM_TEST_SOFTHSM_MODULE")
        .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into())
        .into()
}

fn pin(value: &str) -> PinSource {
    PinSource::Value(Zeroizing::new(value.into()))
}

fn config(label: &str, user_pin: &str, signature: Option<(&str, &str)>) -> Pkcs11Config {
    Pkcs11Config {
        name: format!("softhsm-{label}"),
        module: module(),
        slot: SlotSelector::Label(label.into()),
        pin: pin(user_pin),
        signature_slot: signature.map(|(l, p)| SignatureSlotConfig {
            slot: SlotSelector::Label(l.into()),
            sign_pin: pin(p),
        }),
        pin_policy: Some(PinPolicy::new("[0-9]{4,}").unwrap()),
        storage: KeyStorage::Resident,
    }
}

fn wrapped(mut config: Pkcs11Config, wrapping_key: &str) -> Pkcs11Config {
    config.storage = KeyStorage::Wrapped {
        wrapping_key: wrapping_key.into(),
    };
    config
}

/// The shared token on `sam-main` with its signature slot `sam-sign`: one long-lived session
/// per slot for the whole test binary, as in the server.
fn token() -> &'static Pkcs11Token {
    static TOKEN: OnceLock<Pkcs11Token> = OnceLock::new();
    TOKEN.get_or_init(|| {
        Pkcs11Token::open(config("sam-main", "123456", Some(("sam-sign", "246810")))).unwrap()
    })
}

fn key_id(tag: &str) -> KeyId {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    KeyId::new(format!("{tag}-{}-{n}", std::process::id())).unwrap()
}

/// Signs digests of each hash with `key` and checks every signature with OpenSSL (and with
/// RustCrypto where it has the curve); a flipped signature must fail.
fn sign_and_check(
    token: &Pkcs11Token,
    key: &KeyRecord,
    hashes: &[HashAlgorithm],
    padding: RsaPadding,
) {
    for &hash in hashes {
        let input = ToBeSigned::Digest(hash.digest(b"signed through PKCS#11"));
        let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
        let sig = token
            .sign(key, &activation, padding, std::slice::from_ref(&input))
            .unwrap()
            .remove(0);
        let what = format!("{} {hash} {padding}", key.spec);
        assert!(
            openssl_verify(key, padding, &input, &sig),
            "openssl refused {what}"
        );
        let software_curve = token_free_verifier(key.spec);
        if software_curve {
            sam_token::verify::verify(&key.public_key_der, key.spec, padding, &input, &sig)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
        let mut flipped = sig.clone();
        let i = flipped.len() / 2;
        flipped[i] ^= 1;
        assert!(!openssl_verify(key, padding, &input, &flipped), "{what}");
    }
}

/// Whether RustCrypto has a verifier for `spec` (see `sam_keys::verify`).
fn token_free_verifier(spec: KeySpec) -> bool {
    sam_keys::software_specs().contains(&spec)
}

#[test]
fn softhsm_offers_every_curve_and_rsa_size_of_seed_001() {
    let _hsm = crate::fixtures::hsm_lock();
    let caps = token().capabilities();
    for curve in EcCurve::ALL {
        assert!(caps.supports(KeySpec::Ecdsa(curve)), "{curve}");
    }
    for size in RsaKeySize::ALL {
        assert!(caps.supports(KeySpec::Rsa(size)), "RSA-{}", size.bits());
    }
    assert!(caps.paddings.contains(&RsaPadding::Pss));
}

#[test]
fn every_curve_signs_and_verifies() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    for curve in EcCurve::ALL {
        let key = token
            .generate(key_id("ec"), KeySpec::Ecdsa(curve), KeyLocation::Default)
            .unwrap();
        sign_and_check(
            token,
            &key,
            &[
                HashAlgorithm::Sha256,
                HashAlgorithm::Sha512,
                HashAlgorithm::Sha3_384,
            ],
            RsaPadding::Pkcs1v15,
        );
        token.delete(&key).unwrap();
    }
}

#[test]
fn rsa_2048_to_4096_with_both_paddings() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    for size in [
        RsaKeySize::Bits2048,
        RsaKeySize::Bits3072,
        RsaKeySize::Bits4096,
    ] {
        let key = token
            .generate(key_id("rsa"), KeySpec::Rsa(size), KeyLocation::Default)
            .unwrap();
        sign_and_check(token, &key, &HashAlgorithm::ALL, RsaPadding::Pkcs1v15);
        sign_and_check(token, &key, &HashAlgorithm::SHA2, RsaPadding::Pss);
        token.delete(&key).unwrap();
    }
}

#[test]
fn rsa_8192() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    let key = token
        .generate(
            key_id("rsa8k"),
            KeySpec::Rsa(RsaKeySize::Bits8192),
            KeyLocation::Default,
        )
        .unwrap();
    sign_and_check(token, &key, &[HashAlgorithm::Sha512], RsaPadding::Pkcs1v15);
    sign_and_check(token, &key, &[HashAlgorithm::Sha256], RsaPadding::Pss);
    token.delete(&key).unwrap();
}

#[test]
fn ml_dsa_is_refused_with_a_reason() {
    let _hsm = crate::fixtures::hsm_lock();
    let err = token()
        .generate(
            key_id("ml"),
            KeySpec::MlDsa(sam_algorithms::MlDsaLevel::Level3),
            KeyLocation::Default,
        )
        .unwrap_err();
    assert!(err.to_string().contains("software-only"), "{err}");
}

#[test]
fn resident_keys_are_sensitive_and_deleted_for_good() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    let key = token
        .generate(
            key_id("del"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    let digest = HashAlgorithm::Sha256.digest(b"x");
    let activation = issuer().activate(key.key_id.clone(), vec![digest]);
    assert!(
        token
            .sign(
                &key,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(digest)]
            )
            .is_ok()
    );
    // The same id cannot be generated twice.
    assert!(
        token
            .generate(
                key.key_id.clone(),
                KeySpec::Ecdsa(EcCurve::P256),
                KeyLocation::Default
            )
            .is_err()
    );
    token.delete(&key).unwrap();
    let err = token
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(digest)],
        )
        .unwrap_err();
    assert!(err.to_string().contains("no private key"), "{err}");
}

/// The token keeps the handle it found for a key, but checks it before each use: when another
/// instance (another samd node's view of the same HSM) deletes the key and makes a new one under
/// the same id, the next signature is made with the new key, not refused and not made with
/// whatever the old handle names now.
#[test]
fn a_kept_key_handle_is_checked_before_use_and_found_again_when_stale() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    let other =
        Pkcs11Token::open(config("sam-main", "123456", Some(("sam-sign", "246810")))).unwrap();
    let spec = KeySpec::Ecdsa(EcCurve::P256);
    let old = token
        .generate(key_id("stale"), spec, KeyLocation::Default)
        .unwrap();
    // The first signature finds the key and keeps its handle; the second uses it.
    sign_and_check(token, &old, &[HashAlgorithm::Sha256], RsaPadding::Pkcs1v15);
    sign_and_check(token, &old, &[HashAlgorithm::Sha256], RsaPadding::Pkcs1v15);
    other.delete(&old).unwrap();
    let new = other
        .generate(old.key_id.clone(), spec, KeyLocation::Default)
        .unwrap();
    assert_ne!(new.public_key_der, old.public_key_der);
    // openssl checks the signature against the new key's public key.
    sign_and_check(token, &new, &[HashAlgorithm::Sha256], RsaPadding::Pkcs1v15);
    // Deleted through this instance: its kept handle goes with it.
    token.delete(&new).unwrap();
    let digest = HashAlgorithm::Sha256.digest(b"x");
    let activation = issuer().activate(new.key_id.clone(), vec![digest]);
    let err = token
        .sign(
            &new,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(digest)],
        )
        .unwrap_err();
    assert!(err.to_string().contains("no private key"), "{err}");
}

#[test]
fn a_digest_outside_the_activation_is_refused_before_the_hsm_is_asked() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    let key = token
        .generate(
            key_id("act"),
            KeySpec::Ecdsa(EcCurve::P384),
            KeyLocation::Default,
        )
        .unwrap();
    let activation = issuer().activate(
        key.key_id.clone(),
        vec![HashAlgorithm::Sha384.digest(b"ok")],
    );
    let err = token
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(HashAlgorithm::Sha384.digest(b"not ok"))],
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::NotActivated(_)), "{err}");
    token.delete(&key).unwrap();
}

#[test]
fn signature_slot_keys_need_the_sign_pin() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    let key = token
        .generate(
            key_id("qes"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Signature,
        )
        .unwrap();
    assert!(matches!(
        key.reference,
        sam_token::KeyReference::Pkcs11Resident {
            location: KeyLocation::Signature,
            ..
        }
    ));
    sign_and_check(token, &key, &[HashAlgorithm::Sha256], RsaPadding::Pkcs1v15);

    // The key is not in the default slot: a record pointing there finds nothing.
    let sam_token::KeyReference::Pkcs11Resident { object_id, .. } = key.reference.clone() else {
        unreachable!()
    };
    let misplaced = KeyRecord {
        reference: sam_token::KeyReference::Pkcs11Resident {
            location: KeyLocation::Default,
            object_id,
        },
        ..key.clone()
    };
    let digest = HashAlgorithm::Sha256.digest(b"y");
    let activation = issuer().activate(key.key_id.clone(), vec![digest]);
    assert!(
        token
            .sign(
                &misplaced,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(digest)]
            )
            .is_err()
    );

    // The default PIN does not open the signature slot.
    let err = Pkcs11Token::open(config("sam-sign", "123456", None)).unwrap_err();
    assert!(matches!(err, TokenError::Pin { .. }), "{err}");
    token.delete(&key).unwrap();
}

#[test]
fn tokens_without_a_signature_slot_refuse_signature_keys() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = Pkcs11Token::open(config("sam-main", "123456", None)).unwrap();
    let err = token
        .generate(
            key_id("nosig"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Signature,
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::NoSignatureSlot { .. }), "{err}");
}

#[test]
fn slots_are_found_by_label_id_or_index_and_unknown_ones_refused() {
    let _hsm = crate::fixtures::hsm_lock();
    let err = Pkcs11Token::open(config("no-such-token", "123456", None)).unwrap_err();
    assert!(err.to_string().contains("no token labelled"), "{err}");
    let mut by_index = config("sam-main", "123456", None);
    by_index.slot = SlotSelector::Index(usize::MAX);
    assert!(Pkcs11Token::open(by_index).is_err());
    let mut by_id = config("sam-main", "123456", None);
    by_id.slot = SlotSelector::Id(u64::MAX);
    assert!(Pkcs11Token::open(by_id).is_err());
    let mut missing_module = config("sam-main", "123456", None);
    missing_module.module = "/nonexistent/libpkcs11.so".into();
    assert!(matches!(
        Pkcs11Token::open(missing_module),
        Err(TokenError::Config { .. })
    ));
}

#[test]
fn pin_and_sign_pin_management() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = Pkcs11Token::open(config(
        "sam-pin-main",
        "111111",
        Some(("sam-pin-sign", "333333")),
    ))
    .unwrap();
    for (location, current, so_pin) in [
        (KeyLocation::Default, "111111", "22222222"),
        (KeyLocation::Signature, "333333", "44444444"),
    ] {
        // The policy is checked before the token is asked.
        let err = token.change_pin(location, current, "12a4").unwrap_err();
        assert!(matches!(err, TokenError::PinPolicy { .. }), "{err}");
        let err = token.change_pin(location, current, "123").unwrap_err();
        assert!(matches!(err, TokenError::PinPolicy { .. }), "{err}");
        // A wrong old PIN is refused by the token.
        let err = token.change_pin(location, "999999", "5555").unwrap_err();
        assert!(err.to_string().contains("incorrect"), "{err}");
        // A policy-conforming change works, and the new PIN opens the slot.
        token.change_pin(location, current, "5555").unwrap();
        let label = match location {
            KeyLocation::Default => "sam-pin-main",
            KeyLocation::Signature => "sam-pin-sign",
        };
        assert!(Pkcs11Token::open(config(label, "5555", None)).is_ok());
        assert!(matches!(
            Pkcs11Token::open(config(label, current, None)),
            Err(TokenError::Pin { .. })
        ));
        // Unblock with the SO PIN (the PUK) sets it back.
        let err = token
            .unblock_pin(location, "00000000", current)
            .unwrap_err();
        assert!(err.to_string().contains("SO PIN"), "{err}");
        token.unblock_pin(location, so_pin, current).unwrap();
        assert!(Pkcs11Token::open(config(label, current, None)).is_ok());
    }
}

/// A token on `sam-main` that keeps keys wrapped under `wrap-main`, created once.
fn wrapped_token() -> &'static Pkcs11Token {
    static TOKEN: OnceLock<Pkcs11Token> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let token =
            Pkcs11Token::open(wrapped(config("sam-main", "123456", None), "wrap-main")).unwrap();
        token
            .generate_wrapping_key(KeyLocation::Default, "wrap-main")
            .unwrap();
        token
    })
}

#[test]
fn wrapped_keys_sign_and_leave_nothing_in_the_hsm() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = wrapped_token();
    for spec in [
        KeySpec::Rsa(RsaKeySize::Bits2048),
        KeySpec::Ecdsa(EcCurve::P256),
        KeySpec::Ecdsa(EcCurve::P521),
        KeySpec::Ecdsa(EcCurve::Secp256k1),
        KeySpec::Ecdsa(EcCurve::BrainpoolP384t1),
    ] {
        let key = token
            .generate(key_id("wrapped"), spec, KeyLocation::Default)
            .unwrap();
        let sam_token::KeyReference::Pkcs11Wrapped { blob, .. } = &key.reference else {
            panic!("{spec}: expected a wrapped key, got {:?}", key.reference)
        };
        assert!(blob.len() > 32, "{spec}");
        sign_and_check(
            token,
            &key,
            &[HashAlgorithm::Sha256, HashAlgorithm::Sha384],
            RsaPadding::Pkcs1v15,
        );
        if let KeySpec::Rsa(_) = spec {
            sign_and_check(token, &key, &[HashAlgorithm::Sha512], RsaPadding::Pss);
        }
        // Nothing of the key stays in the HSM: as a resident key it is not found.
        let resident = KeyRecord {
            reference: sam_token::KeyReference::Pkcs11Resident {
                location: KeyLocation::Default,
                object_id: key.key_id.as_str().as_bytes().to_vec(),
            },
            ..key.clone()
        };
        let digest = HashAlgorithm::Sha256.digest(b"z");
        let activation = issuer().activate(key.key_id.clone(), vec![digest]);
        let err = token
            .sign(
                &resident,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(digest)],
            )
            .unwrap_err();
        assert!(err.to_string().contains("no private key"), "{spec}: {err}");
    }
}

#[test]
fn a_wrapped_blob_moved_or_altered_is_refused() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = wrapped_token();
    let a = token
        .generate(
            key_id("wa"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    let b = token
        .generate(
            key_id("wb"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    let digest = HashAlgorithm::Sha256.digest(b"approved for b");
    let activation = issuer().activate(b.key_id.clone(), vec![digest]);
    // B's record with A's blob: the HSM signs with A's key, and the signature is withheld.
    let swapped = KeyRecord {
        reference: a.reference.clone(),
        ..b.clone()
    };
    let err = token
        .sign(
            &swapped,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(digest)],
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::KeyMismatch { .. }), "{err}");
    // An altered blob does not unwrap.
    let sam_token::KeyReference::Pkcs11Wrapped { location, blob } = b.reference.clone() else {
        unreachable!()
    };
    let mut bad = blob.clone();
    bad[blob.len() / 2] ^= 1;
    let altered = KeyRecord {
        reference: sam_token::KeyReference::Pkcs11Wrapped {
            location,
            blob: bad,
        },
        ..b.clone()
    };
    let err = token
        .sign(
            &altered,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(digest)],
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::Unwrap { .. }), "{err}");
    // The untouched record still signs.
    assert!(
        token
            .sign(
                &b,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(digest)]
            )
            .is_ok()
    );
}

#[test]
fn wrapped_mode_refuses_curves_without_a_software_verifier() {
    let _hsm = crate::fixtures::hsm_lock();
    let err = wrapped_token()
        .generate(
            key_id("w224"),
            KeySpec::Ecdsa(EcCurve::BrainpoolP224r1),
            KeyLocation::Default,
        )
        .unwrap_err();
    assert!(err.to_string().contains("resident keys"), "{err}");
}

#[test]
fn a_wrapped_key_opens_in_another_hsm_that_shares_the_wrapping_key() {
    let _hsm = crate::fixtures::hsm_lock();
    let a =
        Pkcs11Token::open(wrapped(config("sam-pool-a", "555555", None), "shared-wrap")).unwrap();
    let b =
        Pkcs11Token::open(wrapped(config("sam-pool-b", "777777", None), "shared-wrap")).unwrap();
    // Before the shared key exists, nothing can be wrapped.
    assert!(
        a.generate(
            key_id("early"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default
        )
        .is_err()
    );
    let mut value = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(value.as_mut_slice()).unwrap();
    a.import_wrapping_key(KeyLocation::Default, "shared-wrap", &value)
        .unwrap();
    b.import_wrapping_key(KeyLocation::Default, "shared-wrap", &value)
        .unwrap();
    let key = a
        .generate(
            key_id("shared"),
            KeySpec::Rsa(RsaKeySize::Bits2048),
            KeyLocation::Default,
        )
        .unwrap();
    sign_and_check(&b, &key, &[HashAlgorithm::Sha256], RsaPadding::Pkcs1v15);
    sign_and_check(&a, &key, &[HashAlgorithm::Sha256], RsaPadding::Pss);
    // One wrapping key, one key domain: the two may serve one crypto profile.
    assert!(a.identity().key_domain.is_some());
    assert_eq!(a.identity().key_domain, b.identity().key_domain);
}

/// The key domain of a wrapped-key token is its wrapping key's check value (CKA_CHECK_VALUE):
/// the service records it at setup and refuses to start with another wrapping key
/// (`Service::check_key_domains`). Two HSMs that share the wrapping key have one domain; a
/// token on the same HSM with another wrapping key has another, and cannot open the first
/// one's keys.
#[test]
fn a_wrapping_key_is_known_by_its_check_value() {
    let _hsm = crate::fixtures::hsm_lock();
    let main = wrapped_token();
    let main_domain = main
        .identity()
        .key_domain
        .expect("SoftHSM2 gives an AES key a check value");
    assert!(
        main_domain.starts_with("wrapping key wrap-main check value "),
        "{main_domain}"
    );
    assert_eq!(main.identity().key_domain.as_ref(), Some(&main_domain));

    let other =
        Pkcs11Token::open(wrapped(config("sam-main", "123456", None), "wrap-other")).unwrap();
    assert_eq!(
        other.identity().key_domain,
        None,
        "no wrapping key yet: no domain to record"
    );
    other
        .generate_wrapping_key(KeyLocation::Default, "wrap-other")
        .unwrap();
    let other_domain = other.identity().key_domain.unwrap();
    assert_ne!(other_domain, main_domain);

    let key = main
        .generate(
            key_id("domain"),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    sign_and_check(main, &key, &[HashAlgorithm::Sha256], RsaPadding::Pkcs1v15);
    let digest = HashAlgorithm::Sha256.digest(b"domain");
    let activation = issuer().activate(key.key_id.clone(), vec![digest]);
    let refused = other
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(digest)],
        )
        .unwrap_err();
    assert!(
        !matches!(refused, TokenError::NotActivated(_)),
        "a key wrapped under wrap-main does not open under wrap-other: {refused}"
    );
    other
        .delete_wrapping_key(KeyLocation::Default, "wrap-other")
        .unwrap();
}

#[test]
fn concurrent_requests_get_sessions_of_their_own() {
    let _hsm = crate::fixtures::hsm_lock();
    let token = token();
    let key = token
        .generate(
            key_id("par"),
            KeySpec::Rsa(RsaKeySize::Bits3072),
            KeyLocation::Default,
        )
        .unwrap();
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let (key, start) = (&key, &start);
            scope.spawn(move || {
                start.wait();
                for n in 0..4u8 {
                    let input = ToBeSigned::Digest(HashAlgorithm::Sha256.digest(&[t, n]));
                    let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
                    let sig = token
                        .sign(
                            key,
                            &activation,
                            RsaPadding::Pkcs1v15,
                            std::slice::from_ref(&input),
                        )
                        .unwrap();
                    sam_token::verify::verify(
                        &key.public_key_der,
                        key.spec,
                        RsaPadding::Pkcs1v15,
                        &input,
                        &sig[0],
                    )
                    .unwrap();
                }
            });
        }
    });
    let open = token.open_sessions(KeyLocation::Default).unwrap();
    assert!(
        (2..=1 + sam_token::pkcs11::MAX_POOLED_SESSIONS).contains(&open),
        "{open} sessions"
    );
    token.delete(&key).unwrap();
}
