//! Every rule of seed 001: the boundary value is accepted, the value just past it refused,
//! and the error names the field.

use sam_algorithms::{
    CurveFamily, EcCurve, HashAlgorithm, KeyAlgorithm, KeySpec, MlDsaLevel, Period, PeriodUnit,
    RsaKeySize, RsaPadding, UnixTime,
};
use sam_profile::{
    AssertionType, AuthorisationMode, DelegatedIdp, Expiry, IdpCertificate, KakAlgorithm,
    KakSettings, ProfileSettings, SadFormat, Scal, UNLIMITED_DEVICES, UserIdSource,
};

use crate::fixtures::{Env, IDP_CERTIFICATE_PEM, base, on};

fn ecdsa(family: CurveFamily, bits: u32) -> KeySpec {
    KeySpec::new(KeyAlgorithm::Ecdsa, Some(family), Some(bits), None).unwrap()
}

#[test]
fn defaults_are_the_seeds() {
    let s = base();
    let k = &s.signing_key;
    assert!(!k.load_balancing);
    assert_eq!(k.key, KeySpec::Rsa(RsaKeySize::Bits2048));
    assert_eq!(k.padding, RsaPadding::Pkcs1v15);
    assert!(!k.compute_hash_at_signing);
    assert_eq!(k.hash_algorithm, HashAlgorithm::Sha256);
    assert!(!k.bulk_signing);
    assert_eq!(k.max_hashes_per_request, 0);
    assert_eq!(k.authorisation_mode, AuthorisationMode::EveryTransaction);
    assert!(!k.remove_key_after_signing);
    assert_eq!(k.sad_expiry, None);
    assert_eq!(k.authorisation_request_expiry, None);
    assert_eq!(k.sad_hash_algorithm, HashAlgorithm::Sha256);
    let a = &s.authorisation_key;
    assert_eq!(a.key, KeySpec::Ecdsa(EcCurve::P256));
    assert_eq!(a.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(a.clock_tolerance_secs, 0);
    assert_eq!(a.max_devices_per_user, 0);
    assert_eq!(a.device_limit(), 2_147_283_647);
    assert!(!a.biometric_required && !a.secure_element_required);
    assert_eq!(KakSettings::default().key_length, RsaKeySize::Bits2048);
    Env::json().accepts(&s);
    Env::der().accepts(&s);
}

#[test]
fn one_crypto_profile_without_load_balancing() {
    let env = Env::json();
    env.accepts(&on(&["hsm-a"], false));
    let msg = env.refuses(
        &on(&["hsm-a", "hsm-b"], false),
        "signing_key.crypto_profiles",
    );
    assert!(msg.contains("need load_balancing"), "{msg}");
    env.refuses(&on(&[], false), "signing_key.crypto_profiles");
}

#[test]
fn load_balancing_needs_two_or_more() {
    let env = Env::json();
    env.accepts(&on(&["hsm-a", "hsm-b"], true));
    let msg = env.refuses(&on(&["hsm-a"], true), "signing_key.crypto_profiles");
    assert!(msg.contains("at least two"), "{msg}");
    env.refuses(
        &on(&["hsm-a", "hsm-a"], true),
        "signing_key.crypto_profiles",
    );
}

#[test]
fn load_balanced_sources_are_cc_hsms_of_one_type_slot_and_mbk() {
    let env = Env::json();
    for (other, reason) in [
        ("software", "only Common Criteria HSMs"),
        ("azure", "only Common Criteria HSMs"),
        ("hsm-not-cc", "only Common Criteria HSMs"),
        ("hsm-other-model", "of one type"),
        ("hsm-other-slot", "share the slot id"),
        ("hsm-other-mbk", "share the Master Backup Key"),
        ("hsm-no-mbk", "Master Backup Key"),
    ] {
        let msg = env.refuses(&on(&["hsm-a", other], true), "signing_key.crypto_profiles");
        assert!(msg.contains(reason), "{other}: {msg}");
    }
}

#[test]
fn selected_sources_exist_and_are_available() {
    let env = Env::json();
    let msg = env.refuses(&on(&["nowhere"], false), "signing_key.crypto_profiles");
    assert!(msg.contains("not configured"), "{msg}");
    let msg = env.refuses(&on(&["hsm-down"], false), "signing_key.crypto_profiles");
    assert!(msg.contains("not available"), "{msg}");
}

#[test]
fn ml_dsa_keys_are_software_only() {
    let env = Env::json();
    let mut s = base();
    s.signing_key.key = KeySpec::MlDsa(MlDsaLevel::Level3);
    s.signing_key.hash_algorithm = HashAlgorithm::Sha384;
    env.accepts(&s);
    let mut s = on(&["hsm-a"], false);
    s.signing_key.key = KeySpec::MlDsa(MlDsaLevel::Level3);
    s.signing_key.hash_algorithm = HashAlgorithm::Sha384;
    let msg = env.refuses(&s, "signing_key.key");
    assert!(msg.contains("software only"), "{msg}");
}

/// RFC 9882 Table 1: the digest of an ML-DSA signature in CMS offers at least the level's
/// strength — ML-DSA-44 ≥ 256 bits, ML-DSA-65 ≥ 384, ML-DSA-87 512; a profile that leaves the
/// hash out gets the level's digest.
#[test]
fn ml_dsa_digests_are_as_strong_as_the_level() {
    let env = Env::json();
    for (level, weakest_ok, too_weak) in [
        (
            MlDsaLevel::Level2,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha224,
        ),
        (
            MlDsaLevel::Level3,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha256,
        ),
        (
            MlDsaLevel::Level5,
            HashAlgorithm::Sha512,
            HashAlgorithm::Sha384,
        ),
    ] {
        let mut s = base();
        s.signing_key.key = KeySpec::MlDsa(level);
        s.signing_key.hash_algorithm = weakest_ok;
        env.accepts(&s);
        s.signing_key.hash_algorithm = too_weak;
        let msg = env.refuses(&s, "signing_key.hash_algorithm");
        assert!(
            msg.contains("RFC 9882") && msg.contains(&level.to_string()),
            "{msg}"
        );
        // SHA-3 of the same length is as strong.
        s.signing_key.hash_algorithm = match weakest_ok {
            HashAlgorithm::Sha256 => HashAlgorithm::Sha3_256,
            HashAlgorithm::Sha384 => HashAlgorithm::Sha3_384,
            _ => HashAlgorithm::Sha3_512,
        };
        env.accepts(&s);

        // Left out, the hash follows the level.
        let toml = format!(
            "name = \"PQ\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
             key = {{ algorithm = \"ml-dsa\", security_level = {} }}\n",
            level.level()
        );
        let parsed = ProfileSettings::from_toml(&toml).unwrap();
        assert_eq!(parsed.signing_key.hash_algorithm, weakest_ok, "{level}");
        env.accepts(&parsed);
    }
    // Other keys keep SHA-256 as the default.
    let parsed = ProfileSettings::from_toml(
        "name = \"EC\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 384 }\n",
    )
    .unwrap();
    assert_eq!(parsed.signing_key.hash_algorithm, HashAlgorithm::Sha256);
}

/// A source that reports its key specs (its token's capabilities) holds only those: a
/// profile asking it for another is refused, naming the source.
#[test]
fn a_source_holds_only_the_key_specs_it_reports() {
    let mut env = Env::json();
    for source in &mut env.sources {
        if source.name.as_str() == "software" {
            source.key_specs = Some(vec![
                KeySpec::Ecdsa(EcCurve::P256),
                KeySpec::Ecdsa(EcCurve::BrainpoolP256r1),
                KeySpec::Rsa(RsaKeySize::Bits2048),
            ]);
        }
    }
    let mut s = base();
    env.accepts(&s);
    s.signing_key.key = ecdsa(CurveFamily::BrainpoolR, 256);
    env.accepts(&s);
    for bits in [320, 512] {
        s.signing_key.key = ecdsa(CurveFamily::BrainpoolR, bits);
        let msg = env.refuses(&s, "signing_key.key");
        assert!(msg.contains("crypto profile software cannot hold"), "{msg}");
    }
}

#[test]
fn sec2_k_only_where_the_source_has_it() {
    let env = Env::json();
    let mut s = on(&["hsm-a"], false);
    s.signing_key.key = ecdsa(CurveFamily::Sec2K, 256);
    env.accepts(&s);
    let mut s = on(&["cp5"], false);
    s.signing_key.kak = Some(KakSettings::default());
    s.signing_key.key = ecdsa(CurveFamily::Sec2K, 256);
    env.refuses(&s, "signing_key.key");
    s.signing_key.key = ecdsa(CurveFamily::NistP, 256);
    env.accepts(&s);
}

#[test]
fn kak_exactly_when_the_source_needs_one() {
    let env = Env::json();
    let mut s = on(&["cp5"], false);
    let msg = env.refuses(&s, "signing_key.kak");
    assert!(msg.contains("cp5 activates user keys with a KAK"), "{msg}");
    s.signing_key.kak = Some(KakSettings {
        algorithm: KakAlgorithm::Rsa,
        key_length: RsaKeySize::Bits8192,
    });
    env.accepts(&s);
    let mut s = base();
    s.signing_key.kak = Some(KakSettings::default());
    env.refuses(&s, "signing_key.kak");
}

#[test]
fn kak_is_rsa_of_the_seeds_lengths() {
    let doc = |kak: &str| {
        format!("name = \"k\"\n[signing_key]\ncrypto_profiles = [\"cp5\"]\nkak = {kak}\n")
    };
    for (kak, ok) in [
        ("{ algorithm = \"rsa\", key_length = 2048 }", true),
        ("{ key_length = 8192 }", true),
        ("{}", true),
        ("{ key_length = 2047 }", false),
        ("{ key_length = 8193 }", false),
        ("{ algorithm = \"ecdsa\" }", false),
    ] {
        let parsed = ProfileSettings::from_toml(&doc(kak));
        assert_eq!(parsed.is_ok(), ok, "{kak}: {parsed:?}");
        if let Err(e) = parsed {
            assert!(e.to_string().contains("signing_key.kak"), "{e}");
        }
    }
}

#[test]
fn pss_padding_is_for_rsa_keys() {
    let env = Env::json();
    let mut s = base();
    s.signing_key.padding = RsaPadding::Pss;
    s.signing_key.compute_hash_at_signing = true;
    env.accepts(&s);
    s.signing_key.key = ecdsa(CurveFamily::NistP, 256);
    env.refuses(&s, "signing_key.padding");
    s.signing_key.padding = RsaPadding::Pkcs1v15;
    env.accepts(&s);
}

#[test]
fn sha3_only_on_sources_that_support_it() {
    let env = Env::json();
    let mut s = on(&["nshield-cc"], false);
    s.signing_key.hash_algorithm = HashAlgorithm::Sha512;
    env.accepts(&s);
    s.signing_key.hash_algorithm = HashAlgorithm::Sha3_224;
    let msg = env.refuses(&s, "signing_key.hash_algorithm");
    assert!(msg.contains("does not support SHA3-224"), "{msg}");
    for sha3 in [HashAlgorithm::Sha3_256, HashAlgorithm::Sha3_512] {
        let mut s = base();
        s.signing_key.hash_algorithm = sha3;
        env.accepts(&s);
    }
}

#[test]
fn number_of_hashes_only_with_bulk_signing() {
    let env = Env::json();
    let mut s = base();
    assert_eq!(s.signing_key.hashes_per_request_limit(), Some(1));
    s.signing_key.max_hashes_per_request = 1;
    env.refuses(&s, "signing_key.max_hashes_per_request");
    s.signing_key.bulk_signing = true;
    env.accepts(&s);
    assert_eq!(s.signing_key.hashes_per_request_limit(), Some(1));
    s.signing_key.max_hashes_per_request = u32::MAX;
    env.accepts(&s);
    s.signing_key.max_hashes_per_request = 0;
    env.accepts(&s);
    assert_eq!(
        s.signing_key.hashes_per_request_limit(),
        None,
        "0 is unlimited"
    );
}

#[test]
fn seal_mode_needs_eseals_enabled() {
    let mut s = base();
    s.signing_key.authorisation_mode = AuthorisationMode::OnceUntilSadExpiry;
    s.signing_key.scal = Scal::Scal1;
    Env::json().accepts(&s);
    let mut env = Env::json();
    env.eseals_enabled = false;
    env.refuses(&s, "signing_key.authorisation_mode");
}

#[test]
fn seal_mode_is_for_scal1_profiles() {
    let mut s = base();
    s.signing_key.authorisation_mode = AuthorisationMode::OnceUntilSadExpiry;
    assert_eq!(s.signing_key.scal, Scal::Scal2);
    let msg = Env::json().refuses(&s, "signing_key.authorisation_mode");
    assert!(msg.contains("SCAL2"), "{msg}");
    s.signing_key.scal = Scal::Scal1;
    Env::json().accepts(&s);
}

#[test]
fn a_jwt_idp_needs_its_issuer_and_names_are_bounded() {
    let mut s = base();
    s.delegated_idp = Some(DelegatedIdp {
        enabled: true,
        certificate: IdpCertificate::from_pem(IDP_CERTIFICATE_PEM).unwrap(),
        clock_tolerance_secs: 0,
        assertion_type: AssertionType::Jwt,
        user_id: UserIdSource::Subject,
        issuer: None,
        audience: None,
    });
    let msg = Env::json().refuses(&s, "delegated_idp.issuer");
    assert!(msg.contains("iss"), "{msg}");
    let idp = s.delegated_idp.as_mut().unwrap();
    idp.issuer = Some("https://idp.example".into());
    Env::json().accepts(&s);
    // SAML and a switched-off IdP need no issuer.
    let idp = s.delegated_idp.as_mut().unwrap();
    idp.issuer = None;
    idp.assertion_type = AssertionType::Saml;
    Env::json().accepts(&s);
    let idp = s.delegated_idp.as_mut().unwrap();
    idp.assertion_type = AssertionType::Jwt;
    idp.enabled = false;
    Env::json().accepts(&s);
    let idp = s.delegated_idp.as_mut().unwrap();
    idp.enabled = true;
    idp.issuer = Some("https://idp.example".into());
    idp.audience = Some("line\nbreak".into());
    Env::json().refuses(&s, "delegated_idp.audience");
    let idp = s.delegated_idp.as_mut().unwrap();
    idp.audience = Some("x".repeat(1025));
    Env::json().refuses(&s, "delegated_idp.audience");
    let idp = s.delegated_idp.as_mut().unwrap();
    idp.audience = Some("portal".into());
    Env::json().accepts(&s);
}

#[test]
fn remove_key_after_signing_only_for_seals_on_an_hsm() {
    let env = Env::json();
    let mut s = on(&["hsm-a"], false);
    s.signing_key.remove_key_after_signing = true;
    let msg = env.refuses(&s, "signing_key.remove_key_after_signing");
    assert!(msg.contains("once-until-sad-expiry"), "{msg}");
    s.signing_key.authorisation_mode = AuthorisationMode::OnceUntilSadExpiry;
    s.signing_key.scal = Scal::Scal1;
    env.accepts(&s);
    let mut s = base();
    s.signing_key.authorisation_mode = AuthorisationMode::OnceUntilSadExpiry;
    s.signing_key.scal = Scal::Scal1;
    s.signing_key.remove_key_after_signing = true;
    let msg = env.refuses(&s, "signing_key.remove_key_after_signing");
    assert!(msg.contains("HSM"), "{msg}");
}

fn with_expiry(expiry: Expiry) -> [ProfileSettings; 2] {
    let mut a = base();
    a.signing_key.sad_expiry = Some(expiry);
    let mut b = base();
    b.signing_key.authorisation_request_expiry = Some(expiry);
    [a, b]
}

const EXPIRY_FIELDS: [&str; 2] = [
    "signing_key.sad_expiry",
    "signing_key.authorisation_request_expiry",
];

#[test]
fn expiry_in_years_follows_the_seeds_example() {
    // Seed 001: from 2024, at most 9999 - 2024 = 7975 years.
    let mut env = Env::json();
    env.now = "2024-06-01T00:00:00Z".parse().unwrap();
    let years = |n| Expiry::After(Period::new(n, PeriodUnit::Years).unwrap());
    assert_eq!(Expiry::max_value(PeriodUnit::Years, env.now), 7975);
    for settings in &with_expiry(years(7975)) {
        env.accepts(settings);
    }
    for (settings, field) in with_expiry(years(7976)).iter().zip(EXPIRY_FIELDS) {
        let msg = env.refuses(settings, field);
        assert!(msg.contains("at most 7975 years"), "{msg}");
    }
}

#[test]
fn expiry_in_every_unit_stops_before_31_12_9999() {
    let env = Env::json();
    for unit in PeriodUnit::ALL {
        let max = Expiry::max_value(unit, env.now);
        let limit = Expiry::LIMIT;
        assert_eq!(limit.to_string(), "9999-12-31T00:00:00Z");
        let last = env
            .now
            .checked_add(Period::new(max, unit).unwrap())
            .unwrap();
        assert!(last < limit, "{unit}");
        let after = Expiry::After(Period::new(max, unit).unwrap());
        let past = Expiry::After(Period::new(max + 1, unit).unwrap());
        for (field, (ok, bad)) in EXPIRY_FIELDS
            .iter()
            .zip(with_expiry(after).iter().zip(with_expiry(past).iter()))
        {
            env.accepts(ok);
            env.refuses(bad, field);
        }
    }
    // The seconds boundary is exact: the last second of 30-12-9999 is allowed.
    let max_secs = Expiry::max_value(PeriodUnit::Seconds, env.now);
    assert_eq!(
        env.now.as_secs() + max_secs as i64,
        Expiry::LIMIT.as_secs() - 1
    );
}

#[test]
fn custom_expiry_date_between_now_and_31_12_9999() {
    let env = Env::json();
    let at = |t: &str| Expiry::At(t.parse::<UnixTime>().unwrap());
    for s in with_expiry(at("9999-12-30T23:59:59Z")) {
        env.accepts(&s);
    }
    for (s, field) in with_expiry(at("9999-12-31T00:00:00Z"))
        .iter()
        .zip(EXPIRY_FIELDS)
    {
        env.refuses(s, field);
    }
    let next_second = env.now.checked_add_secs(1).unwrap();
    for s in with_expiry(Expiry::At(next_second)) {
        env.accepts(&s);
    }
    for (s, field) in with_expiry(Expiry::At(env.now)).iter().zip(EXPIRY_FIELDS) {
        let msg = env.refuses(s, field);
        assert!(msg.contains("not in the future"), "{msg}");
    }
}

#[test]
fn expiry_values_start_at_one() {
    for (doc, ok) in [
        ("{ value = 1, unit = \"seconds\" }", true),
        ("{ value = 0, unit = \"seconds\" }", false),
        ("{ value = 1 }", false),
        ("{ custom_date = \"2030-01-01T00:00:00Z\" }", true),
        ("{ custom_date = \"2030-01-01\" }", false),
        (
            "{ value = 1, unit = \"days\", custom_date = \"2030-01-01T00:00:00Z\" }",
            false,
        ),
        ("{ value = 1, unit = \"fortnights\" }", false),
    ] {
        let text = format!(
            "name = \"e\"\n[signing_key]\ncrypto_profiles = [\"software\"]\nsad_expiry = {doc}\n"
        );
        let parsed = ProfileSettings::from_toml(&text);
        assert_eq!(parsed.is_ok(), ok, "{doc}: {parsed:?}");
        if let Err(e) = parsed {
            assert!(e.to_string().contains("signing_key.sad_expiry"), "{e}");
        }
    }
}

#[test]
fn sad_hash_is_sha2() {
    let env = Env::der();
    let mut s = base();
    for h in HashAlgorithm::SHA2 {
        s.signing_key.sad_hash_algorithm = h;
        s.authorisation_key.key = KeySpec::Rsa(RsaKeySize::Bits2048);
        env.accepts(&s);
    }
    s.signing_key.sad_hash_algorithm = HashAlgorithm::Sha3_256;
    env.refuses(&s, "signing_key.sad_hash_algorithm");
}

#[test]
fn device_keys_are_nist_p_rsa_or_ml_dsa() {
    let env = Env::json();
    let mut s = base();
    for spec in [
        KeySpec::Rsa(RsaKeySize::Bits8192),
        KeySpec::MlDsa(MlDsaLevel::Level5),
        KeySpec::Ecdsa(EcCurve::P256),
    ] {
        s.authorisation_key.key = spec;
        env.accepts(&s);
    }
    for family in [
        CurveFamily::Sec2K,
        CurveFamily::BrainpoolR,
        CurveFamily::BrainpoolT,
    ] {
        s.authorisation_key.key = ecdsa(family, 256);
        let msg = env.refuses(&s, "authorisation_key.key");
        assert!(msg.contains("NIST P"), "{msg}");
    }
}

#[test]
fn device_hash_is_sha2() {
    let env = Env::json();
    let mut s = base();
    s.authorisation_key.key = KeySpec::Rsa(RsaKeySize::Bits2048);
    s.authorisation_key.hash_algorithm = HashAlgorithm::Sha512;
    env.accepts(&s);
    s.authorisation_key.hash_algorithm = HashAlgorithm::Sha3_256;
    let msg = env.refuses(&s, "authorisation_key.hash_algorithm");
    assert!(msg.contains("not offered for devices"), "{msg}");
}

/// The device hash is the hash of the JOSE algorithm devices register and sign their messages
/// with (docs/device.md): it must name one for the device key — ES256/384/512 fix it by the
/// curve, RS/PS offer SHA-256/384/512, JOSE has no SHA-224 algorithm and none for P-224, and
/// pure ML-DSA has no separate hash (any SHA-2 is accepted and means nothing).
#[test]
fn device_hash_names_a_jose_algorithm_for_the_device_key() {
    let env = Env::der();
    for curve in [EcCurve::P256, EcCurve::P384, EcCurve::P521] {
        let hash = curve.matching_hash().unwrap();
        let mut s = base();
        s.authorisation_key.key = KeySpec::Ecdsa(curve);
        for candidate in HashAlgorithm::SHA2 {
            s.authorisation_key.hash_algorithm = candidate;
            if candidate == hash {
                env.accepts(&s);
            } else {
                let msg = env.refuses(&s, "authorisation_key.hash_algorithm");
                assert!(msg.contains(&format!("of {hash} (RFC 7518)")), "{msg}");
            }
        }
    }
    let mut s = base();
    s.authorisation_key.key = KeySpec::Rsa(RsaKeySize::Bits3072);
    for candidate in HashAlgorithm::SHA2 {
        s.authorisation_key.hash_algorithm = candidate;
        if candidate == HashAlgorithm::Sha224 {
            let msg = env.refuses(&s, "authorisation_key.hash_algorithm");
            assert!(msg.contains("SHA-256 or SHA-384 or SHA-512"), "{msg}");
        } else {
            env.accepts(&s);
        }
    }
    s.authorisation_key.key = KeySpec::Ecdsa(EcCurve::P224);
    s.authorisation_key.hash_algorithm = HashAlgorithm::Sha224;
    let msg = env.refuses(&s, "authorisation_key.key");
    assert!(msg.contains("no signature algorithm for"), "{msg}");
    s.authorisation_key.key = KeySpec::MlDsa(MlDsaLevel::Level3);
    for candidate in HashAlgorithm::SHA2 {
        s.authorisation_key.hash_algorithm = candidate;
        env.accepts(&s);
    }
}

#[test]
fn max_devices_up_to_the_seeds_unlimited_value() {
    let env = Env::json();
    let mut s = base();
    s.authorisation_key.max_devices_per_user = UNLIMITED_DEVICES;
    env.accepts(&s);
    assert_eq!(s.authorisation_key.device_limit(), 2_147_283_647);
    s.authorisation_key.max_devices_per_user = UNLIMITED_DEVICES + 1;
    env.refuses(&s, "authorisation_key.max_devices_per_user");
    s.authorisation_key.max_devices_per_user = 1;
    env.accepts(&s);
    assert_eq!(s.authorisation_key.device_limit(), 1);
}

#[test]
fn json_sads_need_sha256_or_stronger() {
    let mut s = base();
    s.authorisation_key.key = KeySpec::Rsa(RsaKeySize::Bits2048);
    s.signing_key.sad_hash_algorithm = HashAlgorithm::Sha256;
    Env::json().accepts(&s);
    s.signing_key.sad_hash_algorithm = HashAlgorithm::Sha224;
    let msg = Env::json().refuses(&s, "signing_key.sad_hash_algorithm");
    assert!(msg.contains("SHA-256 or stronger"), "{msg}");
    Env::der().accepts(&s);
}

#[test]
fn json_sads_match_the_ecdsa_device_key_and_the_sad_hash() {
    let env = Env::json();
    for (curve, hash) in [
        (EcCurve::P256, HashAlgorithm::Sha256),
        (EcCurve::P384, HashAlgorithm::Sha384),
        (EcCurve::P521, HashAlgorithm::Sha512),
    ] {
        let mut s = base();
        s.authorisation_key.key = KeySpec::Ecdsa(curve);
        s.authorisation_key.hash_algorithm = hash;
        for candidate in HashAlgorithm::SHA2 {
            s.signing_key.sad_hash_algorithm = candidate;
            if candidate == hash {
                env.accepts(&s);
            } else {
                env.refuses(&s, "signing_key.sad_hash_algorithm");
            }
            Env::der().accepts(&s);
        }
    }
    // P-224 would need SHA-224, which JSON SADs do not allow: no JSON SAD fits (and JOSE has
    // no algorithm for P-224 device messages either: device_hash_names_a_jose_algorithm...).
    let mut s = base();
    s.authorisation_key.key = KeySpec::Ecdsa(EcCurve::P224);
    for candidate in HashAlgorithm::SHA2 {
        s.signing_key.sad_hash_algorithm = candidate;
        let faults = env.check(&s).unwrap_err();
        assert!(
            faults
                .0
                .iter()
                .any(|f| f.field == "signing_key.sad_hash_algorithm"),
            "{faults}"
        );
    }
}

#[test]
fn json_sads_need_ecdsa_user_keys_of_256_bits_or_more() {
    // The reading of seed 001's "greater than 256" is written in docs/profiles.md.
    for family in [
        CurveFamily::NistP,
        CurveFamily::BrainpoolR,
        CurveFamily::BrainpoolT,
    ] {
        let mut s = base();
        s.signing_key.key = ecdsa(family, 256);
        Env::json().accepts(&s);
        s.signing_key.key = ecdsa(family, 224);
        let msg = Env::json().refuses(&s, "signing_key.key");
        assert!(msg.contains("at least 256 bits"), "{msg}");
        Env::der().accepts(&s);
    }
    let mut s = base();
    s.signing_key.key = ecdsa(CurveFamily::BrainpoolR, 320);
    Env::json().accepts(&s);
}

#[test]
fn every_rule_broken_is_reported_at_once() {
    let mut env = Env::json();
    env.eseals_enabled = false;
    let mut s = on(&["hsm-a"], true);
    s.signing_key.key = KeySpec::MlDsa(MlDsaLevel::Level2);
    s.signing_key.padding = RsaPadding::Pss;
    s.signing_key.max_hashes_per_request = 5;
    s.signing_key.authorisation_mode = AuthorisationMode::OnceUntilSadExpiry;
    s.authorisation_key.hash_algorithm = HashAlgorithm::Sha3_256;
    let errors = env.check(&s).unwrap_err();
    for field in [
        "signing_key.crypto_profiles",
        "signing_key.key",
        "signing_key.padding",
        "signing_key.max_hashes_per_request",
        "signing_key.authorisation_mode",
        "authorisation_key.hash_algorithm",
    ] {
        assert!(errors.has(field), "{field} missing from: {errors}");
    }
}

#[test]
fn sad_format_der_is_the_only_difference() {
    // A profile valid in DER but not JSON differs only by the JSON rules.
    let mut s = base();
    s.signing_key.sad_hash_algorithm = HashAlgorithm::Sha384;
    Env::der().accepts(&s);
    assert!(Env::json().check(&s).is_err());
    assert_eq!(SadFormat::default(), SadFormat::Json);
}

#[test]
fn the_signature_slot_only_on_sources_that_have_one() {
    let env = Env::json();
    let mut s = on(&["hsm-a"], false);
    s.signing_key.location = sam_profile::KeyLocation::Signature;
    env.accepts(&s);
    s.signing_key.location = sam_profile::KeyLocation::Default;
    env.accepts(&s);
    let mut s = base();
    s.signing_key.location = sam_profile::KeyLocation::Signature;
    let msg = env.refuses(&s, "signing_key.location");
    assert!(msg.contains("no signature slot"), "{msg}");
    assert_eq!(
        base().signing_key.location,
        sam_profile::KeyLocation::Default
    );
}
