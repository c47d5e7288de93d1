//! Property: every profile that validates reads back unchanged from its JSON and its TOML.
//!
//! The strategy builds settings that are valid by construction (it is a second, independent
//! statement of the rules), so the property also checks that validation accepts them all.

use proptest::prelude::*;
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, Period, PeriodUnit, RsaKeySize, RsaPadding};
use sam_profile::{
    AssertionType, AuthorisationKeySettings, AuthorisationMode, DelegatedIdp, Description, Expiry,
    IdpCertificate, KakSettings, ProfileSettings, ProfileStatus, Scal, SigningKeySettings,
    UserIdSource,
};

use crate::fixtures::{Env, IDP_CERTIFICATE_PEM};

fn user_key() -> impl Strategy<Value = KeySpec> {
    let specs: Vec<KeySpec> = KeySpec::all()
        .filter(|k| k.curve_family().is_none() || k.key_length().is_some_and(|b| b >= 256))
        .collect();
    proptest::sample::select(specs)
}

/// A device key with a SAD hash and a device hash that fit it (an ECDSA key's JOSE algorithm
/// fixes both; RSA and ML-DSA keys take any SHA-2 of 256 bits or more).
fn device_key_and_hashes() -> impl Strategy<Value = (KeySpec, HashAlgorithm, HashAlgorithm)> {
    let strong = [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ];
    prop_oneof![
        proptest::sample::select(vec![EcCurve::P256, EcCurve::P384, EcCurve::P521]).prop_map(|c| {
            let hash = c.matching_hash().unwrap();
            (KeySpec::Ecdsa(c), hash, hash)
        }),
        (
            proptest::sample::select(
                KeySpec::all()
                    .filter(|k| k.curve_family().is_none())
                    .collect::<Vec<_>>()
            ),
            proptest::sample::select(strong.to_vec()),
            proptest::sample::select(strong.to_vec())
        ),
    ]
}

fn expiry(now: sam_algorithms::UnixTime) -> impl Strategy<Value = Option<Expiry>> {
    prop_oneof![
        Just(None),
        (
            1u64..5000,
            proptest::sample::select(PeriodUnit::ALL.to_vec())
        )
            .prop_map(|(v, u)| Some(Expiry::After(Period::new(v, u).unwrap()))),
        (1i64..3_000_000_000).prop_map(move |s| Some(Expiry::At(now.checked_add_secs(s).unwrap()))),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Placement {
    Software,
    OneHsm,
    LoadBalanced,
    KakHsm,
}

fn signing_key() -> impl Strategy<Value = SigningKeySettings> {
    let now = crate::fixtures::now();
    (
        (
            proptest::sample::select(vec![
                Placement::Software,
                Placement::OneHsm,
                Placement::LoadBalanced,
                Placement::KakHsm,
            ]),
            user_key(),
            proptest::sample::select(RsaKeySize::ALL.to_vec()),
            any::<bool>(),
            any::<bool>(),
            proptest::sample::select(HashAlgorithm::ALL.to_vec()),
        ),
        (
            any::<bool>(),
            any::<u32>(),
            any::<bool>(),
            any::<bool>(),
            expiry(now),
            expiry(now),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (placement, key, kak_len, pss, compute, hash),
                (bulk, max_hashes, seal, remove, sad_expiry, request_expiry, scal1),
            )| {
                let (names, lb, kak): (&[&str], bool, bool) = match placement {
                    Placement::Software => (&["software"], false, false),
                    Placement::OneHsm => (&["hsm-a"], false, false),
                    Placement::LoadBalanced => (&["hsm-a", "hsm-b"], true, false),
                    Placement::KakHsm => (&["cp5"], false, true),
                };
                let hardware = !matches!(placement, Placement::Software);
                let key = match key {
                    KeySpec::MlDsa(_) if hardware => KeySpec::Rsa(RsaKeySize::Bits3072),
                    KeySpec::Ecdsa(EcCurve::Secp256k1) if kak => KeySpec::Ecdsa(EcCurve::P256),
                    other => other,
                };
                let is_rsa = matches!(key, KeySpec::Rsa(_));
                SigningKeySettings {
                    load_balancing: lb,
                    crypto_profiles: names.iter().map(|n| n.parse().unwrap()).collect(),
                    location: if hardware && seal {
                        sam_profile::KeyLocation::Signature
                    } else {
                        sam_profile::KeyLocation::Default
                    },
                    key,
                    kak: kak.then_some(KakSettings {
                        key_length: kak_len,
                        ..Default::default()
                    }),
                    padding: if pss && is_rsa {
                        RsaPadding::Pss
                    } else {
                        RsaPadding::Pkcs1v15
                    },
                    compute_hash_at_signing: compute,
                    // RFC 9882: an ML-DSA key's digest is as strong as its level.
                    hash_algorithm: match key {
                        KeySpec::MlDsa(level) if hash.output_len() < level.min_digest_len() => {
                            level.default_hash()
                        }
                        _ => hash,
                    },
                    bulk_signing: bulk,
                    max_hashes_per_request: if bulk { max_hashes } else { 0 },
                    authorisation_mode: if seal {
                        AuthorisationMode::OnceUntilSadExpiry
                    } else {
                        AuthorisationMode::EveryTransaction
                    },
                    remove_key_after_signing: remove && seal && hardware,
                    sad_expiry,
                    authorisation_request_expiry: request_expiry,
                    // Seals are SCAL1 only.
                    scal: if scal1 || seal {
                        Scal::Scal1
                    } else {
                        Scal::Scal2
                    },
                    sad_hash_algorithm: HashAlgorithm::Sha256,
                }
            },
        )
}

fn settings() -> impl Strategy<Value = ProfileSettings> {
    let certificate = IdpCertificate::from_pem(IDP_CERTIFICATE_PEM).unwrap();
    let idp = (
        any::<bool>(),
        any::<u32>(),
        any::<bool>(),
        proptest::option::of("[a-z][a-z0-9_:.-]{0,30}"),
        proptest::option::of("https://[a-z]{1,20}\\.example"),
        proptest::option::of("[a-z][a-z0-9-]{0,20}"),
    )
        .prop_map(
            move |(enabled, tolerance, saml, attribute, issuer, audience)| DelegatedIdp {
                enabled,
                certificate: certificate.clone(),
                clock_tolerance_secs: tolerance,
                assertion_type: if saml {
                    AssertionType::Saml
                } else {
                    AssertionType::Jwt
                },
                user_id: attribute.map_or(UserIdSource::Subject, |a| {
                    UserIdSource::Attribute(a.parse().unwrap())
                }),
                // An enabled JWT IdP names its issuer.
                issuer: if enabled && !saml {
                    issuer.or_else(|| Some("https://idp.example".into()))
                } else {
                    issuer
                },
                audience,
            },
        );
    (
        "[A-Za-z0-9][A-Za-z0-9 ._-]{0,40}[A-Za-z0-9]",
        "[ -~\\n\\t]{0,80}",
        any::<bool>(),
        signing_key(),
        device_key_and_hashes(),
        (
            any::<u32>(),
            0u32..=2_147_283_647,
            any::<bool>(),
            any::<bool>(),
        ),
        proptest::option::of(idp),
    )
        .prop_map(
            |(
                name,
                description,
                inactive,
                mut signing_key,
                (device_key, sad_hash, device_hash),
                (tolerance, max_devices, bio, se),
                idp,
            )| {
                signing_key.sad_hash_algorithm = sad_hash;
                ProfileSettings {
                    name: name.parse().unwrap(),
                    description: Description::new(description).unwrap(),
                    status: if inactive {
                        ProfileStatus::Inactive
                    } else {
                        ProfileStatus::Active
                    },
                    signing_key,
                    authorisation_key: AuthorisationKeySettings {
                        key: device_key,
                        hash_algorithm: device_hash,
                        clock_tolerance_secs: tolerance,
                        max_devices_per_user: max_devices,
                        biometric_required: bio,
                        secure_element_required: se,
                    },
                    delegated_idp: idp,
                }
            },
        )
}

proptest! {
    #[test]
    fn valid_profiles_round_trip_through_json_and_toml(s in settings()) {
        let env = Env::json();
        if let Err(e) = env.check(&s) {
            prop_assert!(false, "generated settings were refused: {}", e);
        }
        let json = s.to_json().unwrap();
        prop_assert_eq!(&ProfileSettings::from_json(&json).unwrap(), &s, "JSON:\n{}", json);
        let toml = s.to_toml().unwrap();
        prop_assert_eq!(&ProfileSettings::from_toml(&toml).unwrap(), &s, "TOML:\n{}", toml);
        // Stored profiles (with id and creation time) round-trip too.
        let mut catalogue = sam_profile::ProfileCatalogue::new();
        let id = catalogue.create(s, &env.ctx()).unwrap();
        let stored = catalogue.profile(id).unwrap();
        let text = sam_profile::document::to_json(stored).unwrap();
        let back: sam_profile::SamProfile = sam_profile::document::from_json(&text).unwrap();
        prop_assert_eq!(&back, stored);
        let text = sam_profile::document::to_toml(stored).unwrap();
        let back: sam_profile::SamProfile = sam_profile::document::from_toml(&text).unwrap();
        prop_assert_eq!(&back, stored);
    }
}
